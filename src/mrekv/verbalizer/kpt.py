"""KPT's (Hu et al. 2022) word-list rules, as pure functions over label words and logits.

These are the rules of the KPT reference code and OpenPrompt's
``KnowledgeableVerbalizer``; mrekv's own defaults differ (see
:mod:`mrekv.verbalizer.knowledgeable`). They back the native options
``shared_words="drop"``, ``prior="mean-logits"`` and ``refine="kpt"`` of
:class:`~mrekv.verbalizer.knowledgeable.KnowledgeableVerbalizer`, and the
OpenPrompt-compatible layer :mod:`mrekv.openprompt`.

* :func:`drop_shared_words`: count every raw string over all classes (repeats
  inside a class included); for every string counted at least twice, remove from
  **each** class one occurrence, the first at position >= 1 (position 0, the class
  name in KPT's files, is never removed). A word shared by two classes therefore
  survives only where it is first; a word repeated ``k`` times in one class loses
  one copy per pass.
* :func:`project_logits`: a word's *raw-logit* score ``s_w = handler(z[t_1..t_k])``
  (``first``: ``z[t_1]``; ``mean``: ``sum_i z[t_i] / (k + 1e-15)``; ``max``:
  ``max_i z[t_i]``), with ``z`` the vocabulary logits, not log-probabilities.
* :func:`vocab_rank_cut` (KPT's frequency refinement): with ``m`` the mean mask
  logits over unlabeled texts, the ``int(fraction * V)`` vocabulary ids with the
  lowest ``m`` are cut; a word is removed if **any** of its sub-tokens is cut.
* :func:`tfidf_keep` (KPT's relevance refinement, ``tfidf_filter``): with
  ``L[w]`` word ``w``'s raw-logit scores over the N support texts, centred over
  the texts, and ``cos[w, c']`` the cosine with the vector of class ``c'``'s
  first word: ``tf = cos[w, c(w)]``, ``idf = (C-1)^(1/p) / ||cos[w, c' != c(w)]||_p``
  with ``p = 10 / (C - 2 + 0.01) + 1`` computed naively in float64 (so
  ``|x|^p`` underflows to 0 and ``idf = inf`` for small cosines when ``p`` is
  large, as in KPT), ``tfidf = tf * idf`` (``-100`` where ``tf < 0``). Each class
  is sorted by descending tfidf (stable); for ``r = k / M`` (``k = 0..M-1``,
  ``M`` the longest class) the loss is ``sum_c (sorted_c[int(r * n_c)] - 1)^2``;
  the smallest ``r`` with the least loss wins and class ``c`` keeps its top
  ``max(1, int(n_c * r))`` words, in score order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mrekv.errors import ConfigError


def drop_shared_words(word_lists: Sequence[Sequence[str]]) -> list[list[str]]:
    """One pass of KPT's shared / repeated word removal (module docstring); returns new lists.

    Args:
        word_lists: the words of each class, in class order (not modified).

    Returns:
        New lists, order kept.

    Example:
        >>> drop_shared_words([["bad", "fine", "awful", "awful"], ["good", "fine"]])
        [['bad', 'awful'], ['good']]
    """
    keep = shared_word_keep(word_lists)
    return [[ws[i] for i in k] for ws, k in zip(word_lists, keep, strict=True)]


def shared_word_keep(word_lists: Sequence[Sequence[str]]) -> list[list[int]]:
    """The indices :func:`drop_shared_words` keeps in each class."""
    counts = Counter(w for ws in word_lists for w in ws)
    keep = [list(range(len(ws))) for ws in word_lists]
    for word, n in counts.items():
        if n < 2:
            continue
        for ws, k in zip(word_lists, keep, strict=True):
            later = [i for i in k if i >= 1 and ws[i] == word]
            if later:
                k.remove(later[0])
    return keep


def project_logits(
    mask_logits: torch.Tensor,
    token_ids: torch.Tensor,
    token_mask: torch.Tensor,
    handler: str = "first",
) -> torch.Tensor:
    """Raw-logit score of every word (module docstring).

    Args:
        mask_logits: ``(batch, vocab)`` logits at the mask.
        token_ids: ``(W, T)`` sub-token ids (padded with 0).
        token_mask: ``(W, T)`` bool or 0/1, real sub-tokens.
        handler: ``"first"``, ``"mean"`` or ``"max"``.

    Returns:
        ``(batch, W)`` scores.

    Raises:
        ConfigError: an unknown ``handler``.
    """
    gathered = mask_logits[:, token_ids]  # (batch, W, T)
    mask = token_mask.to(gathered.dtype)
    if handler == "first":
        return gathered[:, :, 0]
    if handler == "mean":
        return (gathered * mask).sum(dim=-1) / (mask.sum(dim=-1) + 1e-15)
    if handler == "max":
        return (gathered - 1000 * (1 - mask)).max(dim=-1).values
    raise ConfigError(
        f"unknown multi_token_handler {handler!r}; valid choices: 'first', 'mean', 'max'"
    )


def vocab_rank_cut(
    mean_logits: torch.Tensor,
    token_ids: torch.Tensor,
    token_mask: torch.Tensor,
    fraction: float,
) -> torch.Tensor:
    """KPT's frequency cut: which words have a sub-token among the lowest-ranked vocabulary ids.

    Args:
        mean_logits: ``(vocab,)`` mean mask logits over unlabeled texts.
        token_ids: ``(W, T)`` sub-token ids.
        token_mask: ``(W, T)`` bool, real sub-tokens.
        fraction: the share of the vocabulary cut, in ``[0, 1]``.

    Returns:
        ``(W,)`` bool, True for a removed word.

    Raises:
        ConfigError: ``fraction`` outside ``[0, 1]``.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"candidate fraction must be in [0, 1], got {fraction}")
    n_cut = int(fraction * mean_logits.shape[-1])
    cut = torch.zeros(mean_logits.shape[-1], dtype=torch.bool, device=mean_logits.device)
    cut[torch.argsort(mean_logits)[:n_cut]] = True
    return (cut[token_ids] & token_mask.bool()).any(dim=-1)


@dataclass(frozen=True)
class TfidfResult:
    """What :func:`tfidf_keep` decided.

    Attributes:
        kept: per class, the indices (into that class's words) kept, in score order.
        cut_rate: the chosen rate ``r``.
        norm_ord: the norm order ``p``.
        scores: per class, the tfidf score of every word (in the given order).
    """

    kept: list[list[int]]
    cut_rate: float
    norm_ord: float
    scores: list[list[float]]


def tfidf_keep(
    word_scores: torch.Tensor, word_class: Sequence[int], first: Sequence[int]
) -> TfidfResult:
    """KPT's relevance refinement (module docstring) over the support texts.

    Args:
        word_scores: ``(N, W)`` raw-logit word scores on the N support texts
            (:func:`project_logits`).
        word_class: ``(W,)`` class index of each word; classes in order. ``-1`` marks a
            padding row, which takes part in the cosine computation (as KPT's padded
            matrix does) but is never scored or kept.
        first: for each class, the index (into W) of its first word, the class-name word.

    Returns:
        The kept words of each class, the cut rate and the scores.

    Raises:
        ConfigError: fewer than two classes, or every class has a single word (KPT's
            code fails there with an IndexError).
    """
    from sklearn.metrics.pairwise import cosine_similarity

    num_classes = len(first)
    if num_classes < 2:
        raise ConfigError("the relevance (tfidf) refinement needs at least two classes")
    members = [[w for w, c in enumerate(word_class) if c == k] for k in range(num_classes)]
    if all(len(m) == 1 for m in members):
        raise ConfigError(
            "the relevance (tfidf) refinement needs a class with more than one label word; "
            "every class has one (KPT's tfidf_filter fails here with an IndexError)"
        )
    centred = word_scores.detach().float()
    centred = centred - centred.mean(dim=0, keepdim=True)
    vectors = centred.t().cpu().numpy()  # (W, N)
    cos = cosine_similarity(vectors, vectors[list(first)]).astype(np.float64)  # (W, C)
    norm_ord = 10 / (num_classes - 2 + 0.01) + 1
    scores: list[list[float]] = []
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for k, idx in enumerate(members):
            row = []
            for w in idx:
                tf = float(cos[w, k])
                others = np.abs(np.delete(cos[w], k))
                norm = np.add.reduce(others**norm_ord) ** (1.0 / norm_ord)
                idf = float(1 / (norm / np.power(num_classes - 1, 1 / norm_ord)))
                row.append(-100.0 if tf < 0 else tf * idf)
            scores.append(row)
    order = [sorted(range(len(s)), key=lambda i, s=s: -s[i]) for s in scores]  # type: ignore[misc]
    longest = max(len(m) for m in members)
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(longest):
            rate = step / longest
            values = [
                s[o[min(int(rate * len(s)), len(s) - 1)]]
                for s, o in zip(scores, order, strict=True)
            ]
            losses.append(float(np.sum((np.asarray(values, dtype=np.float64) - 1) ** 2)))
    best_rate = int(np.argmin(losses)) / longest
    kept = [o[: max(1, int(len(o) * best_rate))] for o in order]
    return TfidfResult(kept, best_rate, norm_ord, scores)
