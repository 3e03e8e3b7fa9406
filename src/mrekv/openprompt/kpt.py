"""KPT's relevance refinement, ``tfidf_filter``, with the signature of KPT's ``filter_method``.

The rule is :func:`mrekv.verbalizer.kpt.tfidf_keep` (formulas there): each
class keeps its words most specific to it against each class's first word,
**in score order**, and the lists are set again (one more shared-word pass).

:func:`tfidf_filter` returns KPT's record string, so KPT's ``zeroshot.py`` line
``myrecord += tfidf_filter(...)`` works; per class it lists the words kept and
the words removed (in score order, spelled as the verbalizer holds them, with
their prefix), then ``Phase 3`` and the number of words each class has after
the lists are set again::

    Class 0 [' sports', ' match']
    Class 0 rm: [' soccer', ' goal']
    Class 1 [' politics']
    Class 1 rm: [' senate']
    Phase 3 [2, 1]

:func:`tfidf_filter_record` does the same and returns a :class:`TfidfRecord`
(the chosen cut rate, the norm order and the word lists as data). Unlike KPT,
neither prints, the learned weights of the kept words are kept, every class
down to one word raises :class:`~mrekv.errors.ConfigError` (KPT: IndexError),
and the verbalizer is not moved to CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mrekv.verbalizer.kpt import tfidf_keep

__all__ = ["TfidfRecord", "tfidf_filter", "tfidf_filter_record"]


@dataclass(frozen=True)
class TfidfRecord:
    """What :func:`tfidf_filter_record` did; ``str()`` gives KPT's record string.

    Attributes:
        optimal_cut_rate: the chosen rate.
        norm_ord: the norm order ``p``.
        label_words_kept: the words of each class after the refinement (after the
            lists were set again), without prefix.
        selected: the words each class kept, in score order, with their prefix, before
            the lists were set again (KPT's ``Class <c> [...]`` lines).
        removed: the words each class lost, in score order, with their prefix (KPT's
            ``Class <c> rm: [...]`` lines).
    """

    optimal_cut_rate: float
    norm_ord: float
    label_words_kept: list[list[str]]
    selected: list[list[str]]
    removed: list[list[str]]

    def __str__(self) -> str:
        lines = []
        for c, (kept, removed) in enumerate(zip(self.selected, self.removed, strict=True)):
            lines.append(f"Class {c} {kept}\n")
            lines.append(f"Class {c} rm: {removed}\n")
        lines.append(f"Phase 3 {[len(ws) for ws in self.label_words_kept]}\n")
        return "".join(lines)


def tfidf_filter_record(
    myverbalizer: Any, cc_logits: torch.Tensor, class_labels: Any
) -> TfidfRecord:
    """Refine a KnowledgeableVerbalizer's words by relevance; return what was done as data.

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
        >>> record = tfidf_filter_record(myverbalizer, cc_logits, classes)  # doctest: +SKIP
        >>> record.optimal_cut_rate, record.label_words_kept  # doctest: +SKIP
    """
    with torch.no_grad():
        projected = myverbalizer.project(cc_logits.detach())  # (N, C, W), padded
    num_classes, width = projected.shape[1], projected.shape[2]
    words = [list(ws) for ws in myverbalizer.label_words]
    lengths = [len(ws) for ws in words]
    word_class = [c if i < lengths[c] else -1 for c in range(num_classes) for i in range(width)]
    first = [c * width for c in range(num_classes)]
    result = tfidf_keep(projected.reshape(projected.shape[0], -1), word_class, first)
    # the full score order of each class (the same stable sort tfidf_keep keeps the top of)
    order = [sorted(range(len(s)), key=lambda i, s=s: -s[i]) for s in result.scores]  # type: ignore[misc]
    selected = [[ws[i] for i in keep] for ws, keep in zip(words, result.kept, strict=True)]
    removed = [
        [ws[i] for i in o[len(keep) :]]
        for ws, o, keep in zip(words, order, result.kept, strict=True)
    ]
    myverbalizer.set_words_keeping_weights(result.kept)
    kept = [[w.lstrip(" ") for w in ws] for ws in myverbalizer.label_words]
    return TfidfRecord(result.cut_rate, result.norm_ord, kept, selected, removed)


def tfidf_filter(myverbalizer: Any, cc_logits: torch.Tensor, class_labels: Any) -> str:
    """Refine a KnowledgeableVerbalizer's words by relevance, as KPT's ``tfidf_filter``.

    Args:
        myverbalizer: a :class:`~mrekv.openprompt.prompts.KnowledgeableVerbalizer`.
        cc_logits: ``(N, vocab)`` mask logits of the support texts
            (:func:`mrekv.openprompt.utils.calibrate.calibrate`).
        class_labels: the class names (kept for KPT's signature).

    Returns:
        KPT's record string (module docstring); the verbalizer is changed in place.

    Raises:
        ConfigError: fewer than two classes, or every class has one word.

    Example:
        >>> myrecord = ""
        >>> myrecord += tfidf_filter(myverbalizer, cc_logits, class_labels)  # doctest: +SKIP
    """
    return str(tfidf_filter_record(myverbalizer, cc_logits, class_labels))
