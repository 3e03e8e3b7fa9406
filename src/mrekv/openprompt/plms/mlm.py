"""OpenPrompt's ``MLMTokenizerWrapper``: masked-LM inputs with the mask token at ``{"mask"}``."""

from __future__ import annotations

from typing import Any

from mrekv.openprompt.plms.utils import TokenizerWrapper, soft_ids_of


class MLMTokenizerWrapper(TokenizerWrapper):
    """Tokenize a wrapped example for a masked LM (rules in :mod:`mrekv.openprompt.plms.utils`).

    Example:
        >>> w = MLMTokenizerWrapper(max_seq_length=32, tokenizer=tok)      # doctest: +SKIP
        >>> w.tokenize_one_example(template.wrap_one_example(ex), False)   # doctest: +SKIP
    """

    def tokenize_one_example(
        self, wrapped_example: Any, teacher_forcing: bool = False
    ) -> dict[str, Any]:
        """``wrap_one_example``'s output -> padded ``input_ids``, ``attention_mask``, ``loss_ids``.

        Raises:
            ConfigError: the example cannot be truncated to ``max_seq_length``.
        """
        pieces, others = wrapped_example
        parts = [self.piece_ids(p["text"], p.get("soft_token_ids", 0)) for p in pieces]
        loss = [[int(p["loss_ids"])] * len(ids) for p, ids in zip(pieces, parts, strict=True)]
        shortenable = [int(p["shortenable_ids"]) for p in pieces]
        return self._finish(parts, loss, shortenable, dict(others), soft_ids_of(pieces))
