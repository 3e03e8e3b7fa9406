"""Exact multi-token label-word scores for causal LMs, by teacher forcing.

A label word of ``n`` sub-tokens ``t_1 .. t_n`` after a prompt ``x`` scores

    log p(t_1 .. t_n | x) = log p(t_1 | x) + sum_{i=2..n} log p(t_i | x, t_1 .. t_{i-1})

which is the word's probability as a continuation, not an approximation by its
first sub-token. For a single-token word it is exactly the ``first`` score.
``exact-mean`` divides it by ``n`` (:func:`per_token_mean`): a sum of ``n``
negative terms favours short words, the mean per-token log-probability does not.

Cost: the prompt runs once (its keys and values are cached); every distinct
proper prefix ``t_1 .. t_{i}`` of the words then needs the LM's distribution
after it. Words sharing prefixes (``不错``, ``不好`` -> ``不``) share one row, so
one batch of ``P`` prefix rows (``P`` = distinct proper prefixes, depth =
longest word - 1) runs on top of the prompt's cache repeated ``P`` times, and
the vocabulary head runs only at each prefix's last token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class PrefixPlan:
    """The prefix rows of a word list and where each word's tokens are read.

    Attributes:
        prefixes: ``(P, D)`` token ids of the distinct proper prefixes, right-padded with 0,
            shortest first.
        prefix_mask: ``(P, D)`` 1 on real prefix tokens.
        prefix_last: ``(P,)`` index of each prefix's last token.
        first_ids: ``(W,)`` each word's first token (0 for an empty word).
        reads: ``(R, 3)`` rows ``(word, prefix row, token)``: add ``log p(token | prefix)``
            to the word's score.
        empty: ``(W,)`` bool, words without tokens (score ``-inf``).
    """

    prefixes: torch.Tensor
    prefix_mask: torch.Tensor
    prefix_last: torch.Tensor
    first_ids: torch.Tensor
    reads: torch.Tensor
    empty: torch.Tensor


def plan_prefixes(words: Sequence[Sequence[int]]) -> PrefixPlan:
    """Build the :class:`PrefixPlan` of a list of word token-id sequences."""
    seen: dict[tuple[int, ...], None] = {}
    for ids in words:
        for i in range(1, len(ids)):
            seen.setdefault(tuple(int(t) for t in ids[:i]), None)
    # rows ordered by length: a chunk of rows is padded only to its own longest prefix
    index = {prefix: row for row, prefix in enumerate(sorted(seen, key=len))}
    reads: list[tuple[int, int, int]] = []
    for w, ids in enumerate(words):
        for i in range(1, len(ids)):
            reads.append((w, index[tuple(int(t) for t in ids[:i])], int(ids[i])))
    depth = max([len(p) for p in index] + [1])
    prefixes = torch.zeros((len(index), depth), dtype=torch.long)
    mask = torch.zeros((len(index), depth), dtype=torch.long)
    for prefix, row in index.items():
        prefixes[row, : len(prefix)] = torch.tensor(prefix)
        mask[row, : len(prefix)] = 1
    return PrefixPlan(
        prefixes,
        mask,
        (mask.sum(dim=1) - 1).clamp_min(0),
        torch.tensor([int(ids[0]) if len(ids) else 0 for ids in words], dtype=torch.long),
        torch.tensor(reads, dtype=torch.long).reshape(-1, 3),
        torch.tensor([len(ids) == 0 for ids in words], dtype=torch.bool),
    )


def exact_word_log_probs(
    model: Any,
    prompt_ids: torch.Tensor,
    plan: PrefixPlan,
    *,
    max_rows: int = 256,
) -> torch.Tensor:
    """``log p(word | prompt)`` of every planned word after one prompt.

    Args:
        model: a Hugging Face causal LM (``base_model`` + ``get_output_embeddings()``).
        prompt_ids: ``(L,)`` the prompt's token ids (no padding).
        plan: from :func:`plan_prefixes`.
        max_rows: prefix rows per continuation batch (bounds memory).

    Returns:
        ``(W,)`` float32 log-probabilities (``-inf`` for empty words); keeps the
        autograd graph when called with gradients enabled.
    """
    device = prompt_ids.device
    body, head = model.base_model, model.get_output_embeddings()
    ids = prompt_ids.reshape(1, -1)
    out = body(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=True)
    first = torch.log_softmax(head(out.last_hidden_state[:, -1]).float(), dim=-1)[0]
    scores = first[plan.first_ids.to(device)]
    rows = plan.prefixes.shape[0]
    if rows:
        length = ids.shape[1]
        extra = torch.zeros(rows, dtype=torch.float32, device=device)
        prefix_lp = []
        for start in range(0, rows, max_rows):
            stop = min(start + max_rows, rows)
            n = stop - start
            cache = _repeat_cache(_output_cache(out), n, last_chunk=stop == rows)
            width = int(plan.prefix_mask[start:stop].sum(dim=1).max())  # rows sorted by length
            cont = plan.prefixes[start:stop, :width].to(device)
            cont_mask = plan.prefix_mask[start:stop, :width].to(device)
            attention = torch.cat(
                [torch.ones((n, length), dtype=cont_mask.dtype, device=device), cont_mask], dim=1
            )
            positions = (length + torch.arange(cont.shape[1], device=device)).expand(n, -1)
            hidden = body(
                input_ids=cont, attention_mask=attention, position_ids=positions,
                use_cache=True, **{_cache_argument(body): cache},
            ).last_hidden_state
            picked = hidden[torch.arange(n, device=device), plan.prefix_last[start:stop].to(device)]
            prefix_lp.append(torch.log_softmax(head(picked).float(), dim=-1))
        table = torch.cat(prefix_lp)  # (P, V)
        reads = plan.reads.to(device)
        if reads.numel():
            values = table[reads[:, 1], reads[:, 2]]
            extra = torch.zeros(len(plan.first_ids), dtype=values.dtype, device=device)
            extra = extra.index_add(0, reads[:, 0], values)
            scores = scores + extra
    return torch.where(plan.empty.to(device), float("-inf"), scores)


def per_token_mean(scores: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
    """``exact`` word scores ``(..., W)`` -> ``exact-mean`` scores (divided by each length).

    ``token_mask`` is the verbalizer's ``(W, T)`` mask of real sub-tokens; a word without
    tokens keeps its ``-inf``.
    """
    lengths = token_mask.sum(dim=-1).clamp_min(1).to(scores.device, scores.dtype)
    return scores / lengths


def _cache_argument(body: Any) -> str:
    """``cache`` (transformers >= 5.2) or ``past_key_values`` (earlier)."""
    import inspect

    params = inspect.signature(body.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _output_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def _repeat_cache(cache: Any, n: int, *, last_chunk: bool) -> Any:
    """The prompt's cache repeated ``n`` times (a copy unless it is the last use)."""
    import copy

    target = cache if last_chunk else copy.deepcopy(cache)
    target.batch_repeat_interleave(n)
    return target
