"""KPT's relevance refinement, ``tfidf_filter``, with the signature of KPT's ``filter_method``.

The rule is :func:`mrekv.verbalizer.kpt.tfidf_keep` (formulas there): each
class keeps its words most specific to it against each class's first word,
**in score order**, and the lists are set again (one more shared-word pass).
Unlike KPT the learned weights of the kept words are kept, every class
down to one word raises :class:`~mrekv.errors.ConfigError` (KPT: IndexError), and
the verbalizer is not moved to CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mrekv.verbalizer.kpt import tfidf_keep


@dataclass(frozen=True)
class TfidfRecord:
    """What :func:`tfidf_filter` did; ``str()`` gives KPT's record line.

    Attributes:
        optimal_cut_rate: the chosen rate.
        norm_ord: the norm order ``p``.
        label_words_kept: the words kept per class, without prefix.
    """

    optimal_cut_rate: float
    norm_ord: float
    label_words_kept: list[list[str]]

    def __str__(self) -> str:
        return f"norm_ord {self.norm_ord} optimal_cut rate is {self.optimal_cut_rate}"


def tfidf_filter(myverbalizer: Any, cc_logits: torch.Tensor, class_labels: Any) -> TfidfRecord:
    """Refine a KnowledgeableVerbalizer's words by relevance, as KPT's ``tfidf_filter``.

    Args:
        myverbalizer: a :class:`~mrekv.openprompt.prompts.KnowledgeableVerbalizer`.
        cc_logits: ``(N, vocab)`` mask logits of the support texts
            (:func:`mrekv.openprompt.utils.calibrate.calibrate`).
        class_labels: the class names (kept for KPT's signature).

    Returns:
        The record (the verbalizer is changed in place, as in KPT).

    Raises:
        ConfigError: fewer than two classes, or every class has one word.

    Example:
        >>> record = tfidf_filter(myverbalizer, cc_logits, dataset_classes)  # doctest: +SKIP
    """
    with torch.no_grad():
        projected = myverbalizer.project(cc_logits.detach())  # (N, C, W), padded
    num_classes, width = projected.shape[1], projected.shape[2]
    lengths = [len(ws) for ws in myverbalizer.label_words]
    word_class = [c if i < lengths[c] else -1 for c in range(num_classes) for i in range(width)]
    first = [c * width for c in range(num_classes)]
    result = tfidf_keep(projected.reshape(projected.shape[0], -1), word_class, first)
    myverbalizer.set_words_keeping_weights(result.kept)
    kept = [[w.lstrip(" ") for w in ws] for ws in myverbalizer.label_words]
    return TfidfRecord(result.cut_rate, result.norm_ord, kept)
