"""OpenPrompt's tokenizer wrappers: filled template pieces -> padded model inputs.

Each piece is tokenised on its own (``tokenizer(text, add_special_tokens=False)``;
template special tokens such as ``<mask>`` and ``<sep>`` become the tokenizer's
token). If the pieces plus the tokenizer's special tokens exceed
``max_seq_length`` by ``n > 0`` tokens, the *shortenable* pieces are cut
(:func:`truncate`); then the tokenizer's special tokens are added and
everything is right-padded to ``max_seq_length`` (``loss_ids`` is -100 at the
added special tokens, 0 at padding).

A soft-token piece (``soft_token_ids`` > 0, from :class:`~mrekv.openprompt.prompts.MixedTemplate`)
becomes one placeholder id 0, whose embedding the template supplies; the features
then carry ``soft_token_ids`` (0 at every other token, special tokens and padding).

Truncation, always from the end of a piece:

* ``tail``: from the last shortenable piece backwards; a piece is emptied
  before an earlier one is touched (for ``text_a ... text_b``, text_b goes first);
* ``head``: from the first shortenable piece forwards;
* ``balanced``: piece ``i`` of length ``l_i`` gives ``ceil(n * l_i / sum l)``
  tokens, left to right, capped so that the amounts add up to ``n``.

OpenPrompt crashes with ``IndexError`` when ``head`` meets an empty piece
before it is done, or ``balanced`` meets any empty piece; mrekv raises
:class:`~mrekv.errors.ConfigError` there, and where the non-shortenable pieces
alone do not fit (OpenPrompt: ``ValueError``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mrekv.errors import ConfigError, unknown_choice

TRUNCATE_METHODS = ("tail", "head", "balanced")
SPECIALS = {
    "<mask>": "mask_token",
    "<sep>": "sep_token",
    "<cls>": "cls_token",
    "<eos>": "eos_token",
    "<bos>": "bos_token",
    "<pad>": "pad_token",
}


def truncate(
    parts: Sequence[Sequence[int]], shortenable: Sequence[int], n: int, method: str = "tail"
) -> list[list[int]]:
    """Cut ``n`` tokens from the shortenable parts, OpenPrompt's way (module docstring).

    Args:
        parts: the token ids of each piece.
        shortenable: 1 for a piece that may be cut, 0 otherwise.
        n: how many tokens to remove.
        method: ``"tail"``, ``"head"`` or ``"balanced"``.

    Returns:
        New lists (``parts`` is not modified).

    Raises:
        ConfigError: an unknown method, or an empty piece where OpenPrompt crashes.

    Example:
        >>> truncate([[1, 2, 3], [9], [4, 5]], [1, 0, 1], 3, "tail")
        [[1, 2], [9], []]
    """
    out = [list(p) for p in parts]
    if n <= 0:
        return out
    if method in ("tail", "head"):  # cut whole pieces' ends, from the last or the first piece
        order = reversed(range(len(out))) if method == "tail" else range(len(out))
        for i in order:
            if not out[i] and method == "head":
                raise ConfigError(
                    f"truncate_method 'head' meets the empty piece {i} before it has cut enough "
                    "(OpenPrompt fails here with IndexError); use 'tail', or fill the piece"
                )
            if not out[i] or not shortenable[i]:
                continue
            length = len(out[i])
            out[i] = out[i][: length - min(n, length)]
            n -= length
            if n <= 0:
                break
    elif method == "balanced":
        if any(not p for p in out):
            raise ConfigError(
                "truncate_method 'balanced' cannot cut an input with an empty piece "
                "(OpenPrompt fails here with IndexError); use 'tail', or fill the piece"
            )
        lengths = [len(p) if s else 0 for p, s in zip(out, shortenable, strict=True)]
        total = sum(lengths)
        left = n
        for i, length in enumerate(lengths):
            if total == 0:
                break
            amount = min(math.ceil(length / total * n), left)
            left -= amount
            out[i] = out[i][: len(out[i]) - min(amount, len(out[i]))]
    else:
        raise ConfigError(unknown_choice("truncate_method", method, TRUNCATE_METHODS))
    return out


def soft_ids_of(pieces: Sequence[dict[str, Any]]) -> list[int] | None:
    """Each piece's ``soft_token_ids`` (0 where absent), or None when no piece has the key."""
    if not any("soft_token_ids" in p for p in pieces):
        return None
    return [int(p.get("soft_token_ids", 0)) for p in pieces]


class TokenizerWrapper:
    """Shared part of :class:`MLMTokenizerWrapper` and :class:`LMTokenizerWrapper`.

    Args:
        max_seq_length: the padded length of every example.
        tokenizer: a Hugging Face tokenizer.
        truncate_method: ``"tail"``, ``"head"`` or ``"balanced"``.
        create_token_type_ids: also return ``token_type_ids`` (all 0).

    Raises:
        ConfigError: an unknown ``truncate_method``.
    """

    def __init__(
        self,
        max_seq_length: int,
        tokenizer: Any,
        truncate_method: str = "tail",
        create_token_type_ids: bool = False,
        **kwargs: Any,
    ) -> None:
        if truncate_method not in TRUNCATE_METHODS:
            raise ConfigError(unknown_choice("truncate_method", truncate_method, TRUNCATE_METHODS))
        self.max_seq_length = int(max_seq_length)
        self.tokenizer = tokenizer
        self.truncate_method = truncate_method
        self.create_token_type_ids = create_token_type_ids
        self.num_truncated_sentences = 0
        self.total_passed_sentences = 0
        self._frame: tuple[list[int], list[int]] | None = None

    @property
    def truncate_rate(self) -> float | None:
        """The share of examples that were truncated so far (None before any)."""
        if self.total_passed_sentences == 0:
            return None
        return self.num_truncated_sentences / self.total_passed_sentences

    @property
    def num_special_tokens_to_add(self) -> int:
        """How many special tokens the tokenizer adds to one sequence."""
        before, after = self.special_frame()
        return len(before) + len(after)

    def special_frame(self) -> tuple[list[int], list[int]]:
        """The special token ids the tokenizer puts before and after one sequence.

        Read from a probe text, since transformers 5 has no ``build_inputs_with_special_tokens``.
        """
        if self._frame is None:
            plain = list(self.tokenizer("x", add_special_tokens=False)["input_ids"])
            full = list(self.tokenizer("x", add_special_tokens=True)["input_ids"])
            at = next(
                (i for i in range(len(full) - len(plain) + 1) if full[i : i + len(plain)] == plain),
                None,
            )
            if at is None:
                raise ConfigError("cannot tell which special tokens the tokenizer adds")
            self._frame = (full[:at], full[at + len(plain) :])
        return self._frame

    def tokenize_one_example(
        self, wrapped_example: Any, teacher_forcing: bool = False
    ) -> dict[str, Any]:  # pragma: no cover - abstract
        """``[pieces, others]`` from ``wrap_one_example`` -> padded model inputs."""
        raise NotImplementedError

    def piece_ids(self, text: str, soft_token_id: int = 0) -> list[int]:
        """Token ids of one filled piece (a template special token -> the tokenizer's).

        A soft token (``soft_token_id`` > 0) is the placeholder id 0, as in OpenPrompt.
        """
        if soft_token_id:
            return [0]
        if text in SPECIALS:
            token = getattr(self.tokenizer, SPECIALS[text], None)
            if token is None:
                raise ConfigError(f"the tokenizer has no {SPECIALS[text]} for {text!r}")
            return [int(self.tokenizer.convert_tokens_to_ids(token))]
        if not text:
            return []
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _finish(
        self,
        parts: list[list[int]],
        loss: list[list[int]],
        shortenable: list[int],
        others: dict[str, Any],
        soft: list[int] | None = None,
    ) -> dict[str, Any]:
        """Truncate, add special tokens, check the length and pad.

        ``soft`` is each part's soft-token id (0 for text), or None for a template
        without soft tokens (then the features have no ``soft_token_ids``).
        """
        self.total_passed_sentences += 1
        n = sum(len(p) for p in parts) + self.num_special_tokens_to_add - self.max_seq_length
        if n > 0:
            self.num_truncated_sentences += 1
            parts = truncate(parts, shortenable, n, self.truncate_method)
        ids = [i for p in parts for i in p]
        loss_ids = [x for p, lo in zip(parts, loss, strict=True) for x in lo[: len(p)]]
        soft_ids = [s for p, s in zip(parts, soft or [0] * len(parts), strict=True) for _ in p]
        before, after = self.special_frame()
        with_special = before + ids + after
        loss_full = [-100] * len(before) + loss_ids + [-100] * len(after)
        if len(with_special) > self.max_seq_length:
            raise ConfigError(
                f"the example needs {len(with_special)} tokens after truncation, more than "
                f"max_seq_length={self.max_seq_length}: the template's non-shortenable pieces "
                "do not fit (OpenPrompt raises ValueError here)"
            )
        pad = self.max_seq_length - len(with_special)
        pad_id = self.tokenizer.pad_token_id
        pad_id = 0 if pad_id is None else int(pad_id)
        out: dict[str, Any] = {
            "input_ids": with_special + [pad_id] * pad,
            "attention_mask": [1] * len(with_special) + [0] * pad,
            "loss_ids": loss_full + [0] * pad,
        }
        if soft is not None:
            out["soft_token_ids"] = [0] * len(before) + soft_ids + [0] * (len(after) + pad)
        if self.create_token_type_ids:
            out["token_type_ids"] = [0] * self.max_seq_length
        out.update({k: v for k, v in others.items() if v is not None})
        return out
