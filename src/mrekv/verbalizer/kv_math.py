"""The knowledgeable verbalizer's math as pure functions (formulas: :mod:`.knowledgeable`).

Label-word distribution (optionally calibrated), per-class word weights, the
calibration prior, KPT's shared-word removal on :class:`LabelWords`, and the
supervised relevance score of mrekv's own refinement.
"""

from __future__ import annotations

import torch

from mrekv.verbalizer.kpt import shared_word_keep
from mrekv.verbalizer.label_words import LabelWord, LabelWords


def label_word_log_probs(
    word_scores: torch.Tensor,
    active: torch.Tensor,
    prior: torch.Tensor | None = None,
    eps: float = 0.0,
) -> torch.Tensor:
    """Log of the (calibrated) label-word distribution over the active words.

    Args:
        word_scores: ``(batch, W)`` word log-scores.
        active: ``(W,)`` bool, the words in use.
        prior: ``(W,)`` positive calibration prior of the active words, or None.
        eps: 0 (mrekv) or OpenPrompt's smoothing ``1e-15``: then ``p = softmax(s)``,
            ``p' = (p / (prior + eps)) / Z`` and the result is ``log(p' + eps)``, which
            differs from the exact value only where ``p'`` is below about ``1e3 * eps``.

    Returns:
        ``(batch, W)``: ``log softmax_w(s_w - log prior_w)`` over active words,
        0 at inactive words (so they add nothing to a weighted sum).
    """
    scores = torch.where(active, word_scores, float("-inf"))
    if eps > 0:
        probs = torch.softmax(scores, dim=-1)
        if prior is not None:
            probs = probs / (torch.where(active, prior, 1.0) + eps)
            probs = probs / probs.sum(dim=-1, keepdim=True)
        return torch.where(active, torch.log(probs + eps), 0.0)
    if prior is not None:
        scores = scores - torch.log(torch.where(active, prior, 1.0))
    return torch.where(active, torch.log_softmax(scores, dim=-1), 0.0)


def class_word_weights(
    word_logits: torch.Tensor, membership: torch.Tensor, active: torch.Tensor
) -> torch.Tensor:
    """Softmax of the word logits within each class, over its active words.

    Args:
        word_logits: ``(W,)`` learnable logits.
        membership: ``(C, W)`` bool, word ``w`` belongs to class ``c``.
        active: ``(W,)`` bool.

    Returns:
        ``(C, W)`` weights; each row sums to 1 over the class's active words, 0 elsewhere.
    """
    mask = membership & active.unsqueeze(0)
    logits = torch.where(mask, word_logits.unsqueeze(0), float("-inf"))
    return torch.where(mask, torch.softmax(logits, dim=-1), 0.0)


def label_word_prior(word_scores: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Mean label-word distribution over texts: ``(N, W)`` scores -> ``(W,)`` (0 if inactive).

    With ``N = 1`` and the word scores of the mean mask logits, this is
    ``prior="mean-logits"`` (OpenPrompt's prior).
    """
    probs = torch.softmax(torch.where(active, word_scores, float("-inf")), dim=-1).mean(dim=0)
    return torch.where(active, probs.clamp_min(torch.finfo(probs.dtype).tiny), 0.0)


def drop_shared(label_words: LabelWords) -> LabelWords:
    """``label_words`` after one pass of :func:`mrekv.verbalizer.kpt.drop_shared_words`."""
    lists = label_words.as_lists()
    keep = shared_word_keep(lists)
    words: dict[str, tuple[LabelWord, ...]] = {
        c: tuple(label_words.words[c][i] for i in k)
        for c, k in zip(label_words.classes, keep, strict=True)
    }
    return LabelWords(label_words.classes, words, label_words.provenance)


def relevance_scores(
    probs: torch.Tensor, labels: torch.Tensor, word_class: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """mrekv's own supervised relevance of each word to its class (not KPT's tfidf filter).

    The formula is in :mod:`mrekv.verbalizer.knowledgeable`.

    Args:
        probs: ``(N, W)`` label-word probabilities on the support texts.
        labels: ``(N,)`` class index of each support text.
        word_class: ``(W,)`` class index of each word.
        num_classes: number of classes.

    Returns:
        ``(W,)`` relevance; ``inf`` where every other class has cosine 0, ``nan``
        where the word's own class has no support text.
    """
    indicator = torch.nn.functional.one_hot(labels, num_classes).to(probs.dtype)  # (N, C)
    dots = probs.t() @ indicator  # (W, C)
    norms = probs.norm(dim=0).unsqueeze(1) * indicator.norm(dim=0).unsqueeze(0)
    cos = torch.where(norms > 0, dots / norms.clamp_min(1e-30), 0.0)
    own = cos.gather(1, word_class.unsqueeze(1)).squeeze(1)
    others = (cos.sum(dim=1) - own) / max(num_classes - 1, 1)
    relevance = own / others
    has_own = indicator.sum(dim=0)[word_class] > 0
    return torch.where(has_own, relevance, float("nan"))
