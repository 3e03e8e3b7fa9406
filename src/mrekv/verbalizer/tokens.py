"""Label words -> sub-token ids, and scoring multi-token words at the mask(s).

Shared by :class:`~mrekv.verbalizer.manual.ManualVerbalizer` and
:class:`~mrekv.verbalizer.knowledgeable.KnowledgeableVerbalizer`.

**Tokenizing a label word.** With ``leading_space=True`` (the default, as in
KPT) the word is tokenized as ``" " + word``: the form it has after a space in a
sentence (``Ġgood`` for byte-level BPE, ``▁good`` for SentencePiece; WordPiece
and MeCab ignore the space). With ``leading_space=False`` it is tokenized right
after a mask token (``"<mask>" + word``, the mask id removed): the form of a
word glued to the previous one, as in ``"这句话很{mask}。"``. A word whose ids
are empty or all the unknown token is dropped (and counted). Only the first
``max_word_tokens`` sub-tokens of a word are used (``None``: all).

**Scoring a word** (all in log space, from the vocabulary logits at the masks):

* ``first``: log p(first sub-token) at the first mask;
* ``mean``: the mean of the sub-tokens' log-probabilities at the first mask
  (so ``exp`` of it is their geometric mean);
* ``max``: the largest sub-token log-probability at the first mask;
* ``multi-mask``: the template holds ``num_masks`` = (longest word's length,
  capped by ``max_word_tokens``) masks per slot, and a word of ``n`` sub-tokens
  scores ``mean_{i<n} log p(token_i at mask_i)`` (a shorter word uses its
  first ``n`` masks only).

* ``exact`` / ``exact-mean`` (causal LMs only, computed by teacher forcing in
  :mod:`mrekv.prompt.exact`, not from one position's logits): the word's full
  log-probability ``log p(t_1 .. t_n | prompt)``, or that divided by ``n`` (the mean
  per-token log-probability, which does not favour short words).

Single-token words score ``log p(token)`` in every mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from mrekv.errors import ConfigError, unknown_choice
from mrekv.verbalizer.base import Verbalizer

Aggregate = Literal["first", "mean", "max", "multi-mask", "exact", "exact-mean"]
AGGREGATES: tuple[str, ...] = ("first", "mean", "max", "multi-mask", "exact", "exact-mean")
#: Aggregates computed by teacher forcing through a causal LM (:mod:`mrekv.prompt.exact`).
EXACT_AGGREGATES: tuple[str, ...] = ("exact", "exact-mean")
#: Aggregates computed from the vocabulary logits at the mask(s) alone.
LOGIT_AGGREGATES: tuple[str, ...] = ("first", "mean", "max", "multi-mask")
LeadingSpace = bool | Literal["auto"]


def check_leading_space(value: Any) -> LeadingSpace:
    """Return ``value`` (True, False or ``"auto"``) or raise :class:`ConfigError`."""
    if value is True or value is False or value == "auto":
        return value  # type: ignore[no-any-return]
    raise ConfigError(unknown_choice("leading_space", value, (True, False, "auto")))


def check_aggregate(aggregate: str) -> str:
    """Return ``aggregate`` or raise :class:`ConfigError` listing the valid ones."""
    if aggregate not in AGGREGATES:
        raise ConfigError(unknown_choice("aggregate", aggregate, AGGREGATES))
    return aggregate


def _spaced_script(word: str) -> bool:
    """True when ``word`` has a letter of a script written with spaces (Latin, Cyrillic...)."""
    return any(ch.isalpha() and ord(ch) < 0x2E80 for ch in word)


def tokenize_word(tokenizer: Any, word: str, *, leading_space: LeadingSpace = True) -> list[int]:
    """Sub-token ids of one label word as it appears in a sentence (see the module docstring).

    ``leading_space="auto"`` picks per word: the after-a-space form for words in
    a script written with spaces (``" great"``), none for Japanese / Chinese
    words (``"很好"``), which follow the prompt directly.

    Returns:
        The ids; empty when the word is empty or only unknown tokens.
    """
    if not word.strip():
        return []
    if leading_space == "auto":
        leading_space = _spaced_script(word)
    if not leading_space and tokenizer.mask_token is None:
        # no mask to anchor on (causal tokenizers): anchor on another special token, since
        # SentencePiece tokenizers that mark a text's start ("▁很好") would add a space
        ids = _glued_ids(tokenizer, word)
    elif leading_space:
        ids = list(tokenizer(" " + word, add_special_tokens=False)["input_ids"])
    else:
        mask = tokenizer.mask_token
        ids = list(tokenizer(mask + word, add_special_tokens=False)["input_ids"])
        if not ids or ids[0] != tokenizer.mask_token_id:
            raise ConfigError(f"tokenizer did not keep the mask token in front of {word!r}")
        ids = ids[1:]
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is not None and all(i == unk for i in ids):
        return []
    return ids


def _glued_ids(tokenizer: Any, word: str) -> list[int]:
    """``word``'s ids right after a special token (EOS, BOS, pad or unknown), without it."""
    for anchor in (tokenizer.eos_token, tokenizer.bos_token, tokenizer.pad_token,
                   tokenizer.unk_token):
        if not isinstance(anchor, str):
            continue
        anchor_id = tokenizer.convert_tokens_to_ids(anchor)
        ids = list(tokenizer(anchor + word, add_special_tokens=False)["input_ids"])
        if ids and ids[0] == anchor_id:
            return ids[1:]
    return list(tokenizer(word, add_special_tokens=False)["input_ids"])


def tokenize_words(
    tokenizer: Any,
    words: Sequence[str],
    *,
    leading_space: LeadingSpace = True,
    max_word_tokens: int | None = None,
) -> list[tuple[int, ...]]:
    """Sub-token ids of each word, cut to ``max_word_tokens``; ``()`` for a dropped word."""
    if max_word_tokens is not None and max_word_tokens < 1:
        raise ConfigError(f"max_word_tokens must be >= 1 or None, got {max_word_tokens}")
    out = []
    for word in words:
        ids = tokenize_word(tokenizer, word, leading_space=leading_space)
        out.append(tuple(ids[:max_word_tokens] if max_word_tokens else ids))
    return out


def pad_token_ids(token_ids: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad ragged id lists: returns ids ``(W, T)`` (padding 0) and a bool mask ``(W, T)``.

    A dropped word (no ids) gets one masked-out column so shapes stay valid.
    """
    width = max([len(ids) for ids in token_ids] + [1])
    ids = torch.zeros((len(token_ids), width), dtype=torch.long)
    mask = torch.zeros((len(token_ids), width), dtype=torch.bool)
    for w, row in enumerate(token_ids):
        if row:
            ids[w, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[w, : len(row)] = True
    return ids, mask


def word_log_probs(
    mask_logits: torch.Tensor,
    token_ids: torch.Tensor,
    token_mask: torch.Tensor,
    aggregate: str = "first",
) -> torch.Tensor:
    """Score every label word from the vocabulary logits at the mask(s).

    Args:
        mask_logits: ``(batch, num_masks, vocab)`` MLM logits at the mask positions.
        token_ids: ``(W, T)`` sub-token ids of the words (padded).
        token_mask: ``(W, T)`` bool, True where ``token_ids`` is a real sub-token;
            a row without any True is a dropped word and scores ``-inf``.
        aggregate: ``"first"``, ``"mean"``, ``"max"`` or ``"multi-mask"``.

    Returns:
        ``(batch, W)`` word log-scores (see the module docstring).

    Example:
        >>> logits = torch.zeros(1, 1, 4)            # uniform over 4 tokens
        >>> ids, mask = pad_token_ids([[1], [2, 3]])
        >>> word_log_probs(logits, ids, mask, "mean").exp()
        tensor([[0.2500, 0.2500]])
    """
    check_aggregate(aggregate)
    if aggregate in EXACT_AGGREGATES:
        raise ConfigError(f"aggregate {aggregate!r} is computed by teacher forcing, not from "
                          "logits")
    if mask_logits.dim() != 3:
        raise ValueError(
            f"mask_logits must be (batch, num_masks, vocab), got {tuple(mask_logits.shape)}"
        )
    log_probs = torch.log_softmax(mask_logits.float(), dim=-1)
    if aggregate == "multi-mask":
        width = token_ids.shape[1]
        if log_probs.shape[1] < width:
            raise ValueError(
                f"multi-mask scoring needs {width} masks per slot, got {log_probs.shape[1]}"
            )
        batch = log_probs.shape[0]
        index = token_ids.t().unsqueeze(0).expand(batch, width, token_ids.shape[0])
        gathered = torch.gather(log_probs[:, :width, :], 2, index).permute(0, 2, 1)
    else:
        gathered = log_probs[:, 0, :][:, token_ids]  # (batch, W, T)
    mask = token_mask.unsqueeze(0)
    if aggregate == "first":
        scores = gathered[:, :, 0]
    elif aggregate == "max":
        scores = torch.where(mask, gathered, float("-inf")).amax(dim=-1)
    else:
        count = token_mask.sum(dim=-1).clamp_min(1)
        scores = torch.where(mask, gathered, 0.0).sum(dim=-1) / count
    return torch.where(token_mask.any(dim=-1), scores, float("-inf"))


class LabelWordVerbalizer(Verbalizer):
    """Base of the verbalizers that score label words from the vocabulary logits.

    Holds the words (flattened over classes, in class order), tokenizes them in
    :meth:`prepare`, and scores them with :func:`word_log_probs`.

    Args:
        classes: the class names.
        words: the words of each class, in class order.
        aggregate: how multi-token words are scored (module docstring).
        max_word_tokens: use only a word's first sub-tokens (``None``: all).
        leading_space: tokenize words in their after-a-space form (True), glued to
            the previous token (False), or by script (``"auto"``: a space for Latin-script
            words, none for Japanese / Chinese ones).
    """

    input_kind = "logits"
    membership: torch.Tensor
    token_ids: torch.Tensor
    token_mask: torch.Tensor
    tokenized: torch.Tensor

    def __init__(
        self,
        classes: Sequence[str],
        words: Sequence[Sequence[str]],
        *,
        aggregate: str = "first",
        max_word_tokens: int | None = None,
        leading_space: LeadingSpace = "auto",
    ) -> None:
        super().__init__(list(classes))
        if len(words) != len(self.classes):
            raise ConfigError(f"{len(self.classes)} classes but {len(words)} word lists")
        for name, ws in zip(self.classes, words, strict=True):
            if isinstance(ws, str) or not ws:
                raise ConfigError(f"class {name!r} needs a non-empty list of words, got {ws!r}")
        if max_word_tokens is not None and max_word_tokens < 1:
            raise ConfigError(f"max_word_tokens must be >= 1 or None, got {max_word_tokens}")
        self.aggregate = check_aggregate(aggregate)
        self.max_word_tokens = max_word_tokens
        self.leading_space = check_leading_space(leading_space)
        self.flat_words: tuple[str, ...] = tuple(w for ws in words for w in ws)
        self.word_class: tuple[int, ...] = tuple(c for c, ws in enumerate(words) for _ in ws)
        self.word_token_ids: list[tuple[int, ...]] | None = None
        membership = torch.zeros((len(self.classes), len(self.flat_words)), dtype=torch.bool)
        membership[list(self.word_class), list(range(len(self.flat_words)))] = True
        self.register_buffer("membership", membership, persistent=False)
        self.register_buffer("token_ids", torch.zeros((0, 1), dtype=torch.long), persistent=False)
        self.register_buffer("token_mask", torch.zeros((0, 1), dtype=torch.bool), persistent=False)
        #: (W,) bool: the word survived tokenization (all True before :meth:`prepare`).
        self.register_buffer(
            "tokenized", torch.ones(len(self.flat_words), dtype=torch.bool), persistent=False
        )

    def words_of(self, c: int) -> list[str]:
        """The words given for class index ``c``."""
        return [w for w, k in zip(self.flat_words, self.word_class, strict=True) if k == c]

    @property
    def num_masks(self) -> int:
        """Masks per ``{mask}`` slot: 1, or the longest word's sub-tokens with ``"multi-mask"``."""
        if self.aggregate != "multi-mask":
            return 1
        if self.word_token_ids is None:
            raise RuntimeError(
                "call prepare(tokenizer) before asking a multi-mask verbalizer for num_masks"
            )
        return max(len(ids) for ids in self.word_token_ids)

    def prepare(self, tokenizer: Any, model: Any | None = None) -> LabelWordVerbalizer:
        """Tokenize the label words; return self.

        Raises:
            ConfigError: every word of some class was dropped (the message names
                the class and its words).
        """
        ids = tokenize_words(
            tokenizer,
            self.flat_words,
            leading_space=self.leading_space,
            max_word_tokens=self.max_word_tokens,
        )
        for c, name in enumerate(self.classes):
            if not any(ids[w] for w in range(len(ids)) if self.word_class[w] == c):
                raise ConfigError(
                    f"no label word of class {name!r} survives tokenization "
                    f"(all empty or unknown): {self.words_of(c)!r}"
                )
        padded, mask = pad_token_ids(ids)
        device = self.membership.device
        self.word_token_ids = ids
        self.token_ids = padded.to(device)
        self.token_mask = mask.to(device)
        self.tokenized = mask.any(dim=-1).to(device)
        self._after_prepare()
        return self

    def _after_prepare(self) -> None:
        """Hook for subclasses (recompute masks that depend on tokenization)."""

    def word_scores(self, mask_inputs: torch.Tensor) -> torch.Tensor:
        """``(batch, num_masks, vocab)`` -> ``(batch, W)`` word log-scores (-inf: dropped)."""
        if self.word_token_ids is None:
            raise RuntimeError(f"call {type(self).__name__}.prepare(tokenizer) before forward")
        if self.aggregate in EXACT_AGGREGATES:
            raise ConfigError(
                f"aggregate={self.aggregate!r} scores words by teacher forcing through a causal "
                "LM, not from the logits at one position: use it inside a PromptClassifier with a "
                "causal backbone, or pass word scores to class_scores()"
            )
        return word_log_probs(mask_inputs, self.token_ids, self.token_mask, self.aggregate)

    def forward(self, mask_inputs: torch.Tensor) -> torch.Tensor:
        """``(batch, num_masks, vocab)`` logits -> ``(batch, num_classes)`` class log-scores."""
        return self.class_scores(self.word_scores(mask_inputs))

    def class_scores(self, word_scores: torch.Tensor) -> torch.Tensor:
        """``(batch, W)`` word log-scores -> ``(batch, num_classes)`` class log-scores."""
        raise NotImplementedError

    def calibrate(self, mask_inputs: torch.Tensor) -> LabelWordVerbalizer:
        """Set the calibration prior from unlabeled texts' mask logits ``(N, num_masks, vocab)``."""
        return self.calibrate_words(self.word_scores(mask_inputs))

    def calibrate_words(self, word_scores: torch.Tensor) -> LabelWordVerbalizer:
        """Set the calibration prior from unlabeled texts' word log-scores ``(N, W)``."""
        raise NotImplementedError

    def active(self) -> torch.Tensor:
        """``(W,)`` bool: the words the verbalizer uses now."""
        return self.tokenized

    def words_kept(self) -> dict[str, int]:
        """How many words each class uses now (after tokenization and any refinement)."""
        active = self.active().cpu()
        return {
            name: int(active[self.membership[c].cpu()].sum()) for c, name in enumerate(self.classes)
        }

    def word_report(self) -> dict[str, dict[str, Any]]:
        """Per class: words given, kept, and those dropped by tokenization."""
        tokenized = self.tokenized.cpu()
        kept = self.words_kept()
        report = {}
        for c, name in enumerate(self.classes):
            idx = [w for w in range(len(self.flat_words)) if self.word_class[w] == c]
            report[name] = {
                "given": len(idx),
                "kept": kept[name],
                "dropped_tokenization": [self.flat_words[w] for w in idx if not tokenized[w]],
            }
        return report

    def _word_options(self) -> dict[str, Any]:
        return {
            "aggregate": self.aggregate,
            "max_word_tokens": self.max_word_tokens,
            "leading_space": self.leading_space,
        }
