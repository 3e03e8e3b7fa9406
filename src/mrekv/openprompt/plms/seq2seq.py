"""OpenPrompt's T5 wrappers: the mask is read from the decoder, right after a sentinel.

:class:`T5TokenizerWrapper` (span-corruption T5): the ``k``-th ``<mask>`` of the
template becomes the sentinel ``<extra_id_k>`` in the encoder input, and the
decoder input is ``<pad> <extra_id_0> <extra_id_1> ...``; ``loss_ids`` marks each
sentinel of the **decoder**, so the decoder's logits there are its prediction of the
first token that fills that span. For one mask::

    encoder:  A fun movie ! It was <extra_id_0> . </s> <pad> ...
    decoder:  <pad> <extra_id_0> <pad> ...      loss_ids: 0 1 0 ...

:class:`T5LMTokenizerWrapper` (LM-adapted T5): the encoder input stops before the
mask (pieces after it are dropped) and the decoder input is
``<pad> <extra_id_0> </s>``, read at ``<extra_id_0>``.

The decoder input is cut to ``decoder_max_length - 1`` tokens, then ``</s>`` is
appended where OpenPrompt appends it (always for ``T5LMTokenizerWrapper``, with
``predict_eos_token`` for ``T5TokenizerWrapper``), and it is padded to
``decoder_max_length``. ``decoder_max_length < 1`` (the loader's default, ``-1``,
which leaves OpenPrompt's wrappers with an empty decoder input) means "no padding":
the decoder input is as long as it needs to be. Encoder-side rules (pieces,
truncation, special tokens, padding to ``max_seq_length``) are those of
:mod:`mrekv.openprompt.plms.utils`; ``loss_ids`` and ``decoder_input_ids`` are the
decoder's. Teacher forcing (generation) is not supported.
"""

from __future__ import annotations

from typing import Any

from mrekv.errors import ConfigError
from mrekv.openprompt.plms.utils import TokenizerWrapper, soft_ids_of

__all__ = ["T5LMTokenizerWrapper", "T5TokenizerWrapper"]


class _Seq2SeqWrapper(TokenizerWrapper):
    """The decoder side shared by the two T5 wrappers.

    Args:
        max_seq_length: the padded length of the encoder input.
        tokenizer: a T5 tokenizer (with ``<extra_id_0>``... sentinels).
        truncate_method: ``"tail"``, ``"head"`` or ``"balanced"`` (encoder input).
        decoder_max_length: the padded length of the decoder input (< 1: no padding).
        decode_from_pad: start the decoder input with the pad token (T5's start token).
        predict_eos_token: also mark the appended ``</s>`` in ``loss_ids``.
    """

    #: Whether ``</s>`` ends the decoder input even without ``predict_eos_token``.
    always_eos = False

    def __init__(
        self,
        max_seq_length: int,
        tokenizer: Any,
        truncate_method: str = "tail",
        decoder_max_length: int = 128,
        decode_from_pad: bool = True,
        predict_eos_token: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(max_seq_length, tokenizer, truncate_method, **kwargs)
        self.decoder_max_length = int(decoder_max_length)
        self.decode_from_pad = decode_from_pad
        self.predict_eos = predict_eos_token

    def mask_token(self, i: int) -> str:
        """The ``i``-th sentinel, ``<extra_id_i>``."""
        return f"<extra_id_{i}>"

    def mask_token_ids(self, i: int) -> int:
        """The id of the ``i``-th sentinel.

        Raises:
            ConfigError: the tokenizer has no such sentinel token.
        """
        token = self.mask_token(i)
        found = self.tokenizer.convert_tokens_to_ids(token)
        if found is None or found == self.tokenizer.unk_token_id:
            raise ConfigError(
                f"the tokenizer has no sentinel token {token!r}: a T5 wrapper needs a T5 "
                "tokenizer (load the model with load_plm('t5', ...))"
            )
        return int(found)

    def _decoder(self, sentinels: list[int]) -> tuple[list[int], list[int]]:
        """Decoder input ids and ``loss_ids`` for the sentinels that are read."""
        pad = self.tokenizer.pad_token_id
        pad = 0 if pad is None else int(pad)
        ids, loss = list(sentinels), [1] * len(sentinels)
        if self.decode_from_pad:
            ids, loss = [pad, *ids], [0, *loss]
        if self.decoder_max_length >= 1:
            ids, loss = ids[: self.decoder_max_length - 1], loss[: self.decoder_max_length - 1]
        if self.predict_eos or self.always_eos:
            ids.append(int(self.tokenizer.eos_token_id))
            loss.append(1 if self.predict_eos else 0)
        fill = max(self.decoder_max_length - len(ids), 0)
        return ids + [pad] * fill, loss + [0] * fill

    def _encode(
        self, pieces: list[dict[str, Any]], others: dict[str, Any], stop_at_mask: bool
    ) -> dict[str, Any]:
        parts: list[list[int]] = []
        shortenable: list[int] = []
        sentinels: list[int] = []
        used: list[dict[str, Any]] = []
        for piece in pieces:
            if piece["loss_ids"] == 1:
                sentinels.append(self.mask_token_ids(len(sentinels)))
                if stop_at_mask:
                    break
                ids = [sentinels[-1]]
            else:
                ids = self.piece_ids(piece["text"], piece.get("soft_token_ids", 0))
            parts.append(ids)
            shortenable.append(int(piece["shortenable_ids"]))
            used.append(piece)
        if not sentinels:
            raise ConfigError('a T5 wrapper needs a template with a {"mask"}')
        loss = [[0] * len(ids) for ids in parts]
        out = self._finish(parts, loss, shortenable, dict(others), soft_ids_of(used))
        out["decoder_input_ids"], out["loss_ids"] = self._decoder(sentinels)
        return out


class T5TokenizerWrapper(_Seq2SeqWrapper):
    """Encoder input with a sentinel per mask; read at the decoder's sentinels (module docstring).

    Example:
        >>> w = T5TokenizerWrapper(max_seq_length=64, decoder_max_length=3, tokenizer=tok)
        ... # doctest: +SKIP
        >>> w.tokenize_one_example(template.wrap_one_example(ex))["decoder_input_ids"]
        ... # doctest: +SKIP
        [0, 32099, 0]
    """

    def tokenize_one_example(
        self, wrapped_example: Any, teacher_forcing: bool = False
    ) -> dict[str, Any]:
        """``[pieces, others]`` -> encoder ``input_ids``, ``attention_mask``, decoder inputs.

        Raises:
            ConfigError: teacher forcing, a template without a mask, a tokenizer without
                sentinels, or an example that cannot be truncated.
        """
        if teacher_forcing:
            raise ConfigError("teacher_forcing (generation) is not supported by mrekv.openprompt")
        pieces, others = wrapped_example
        return self._encode(pieces, others, stop_at_mask=False)


class T5LMTokenizerWrapper(_Seq2SeqWrapper):
    """The text before the mask as encoder input; read at ``<extra_id_0>`` (module docstring).

    Example:
        >>> w = T5LMTokenizerWrapper(max_seq_length=64, decoder_max_length=3, tokenizer=tok)
        ... # doctest: +SKIP
    """

    always_eos = True

    def tokenize_one_example(
        self, wrapped_example: Any, teacher_forcing: bool = False
    ) -> dict[str, Any]:
        """``[pieces, others]`` -> encoder inputs up to the mask, and the decoder inputs.

        Raises:
            ConfigError: teacher forcing, a template without a mask, or an example that
                cannot be truncated.
        """
        if teacher_forcing:
            raise ConfigError("teacher_forcing (generation) is not supported by mrekv.openprompt")
        pieces, others = wrapped_example
        return self._encode(pieces, others, stop_at_mask=True)
