"""OpenPrompt's ``LMTokenizerWrapper``: causal-LM inputs that end where the mask word is predicted.

The ``<mask>`` piece is not written: the token before it gets ``loss_ids = 1``,
so the LM's logits there are its next-token prediction for the mask; pieces
after the mask are dropped (a causal LM could not use them for it).
"""

from __future__ import annotations

from typing import Any

from mrekv.errors import ConfigError
from mrekv.openprompt.plms.utils import TokenizerWrapper


class LMTokenizerWrapper(TokenizerWrapper):
    """Tokenize a wrapped example for a causal LM (module docstring).

    Example:
        >>> w = LMTokenizerWrapper(max_seq_length=64, tokenizer=tok)      # doctest: +SKIP
    """

    def tokenize_one_example(
        self, wrapped_example: Any, teacher_forcing: bool = False
    ) -> dict[str, Any]:
        """``[pieces, others]`` -> padded ``input_ids``, ``attention_mask``, ``loss_ids``.

        Raises:
            ConfigError: teacher forcing (generation is not supported), a mask with
                no token before it, or an example that cannot be truncated.
        """
        if teacher_forcing:
            raise ConfigError("teacher_forcing (generation) is not supported by mrekv.openprompt")
        pieces, others = wrapped_example
        parts: list[list[int]] = []
        loss: list[list[int]] = []
        shortenable: list[int] = []
        soft: list[int] = []
        for piece in pieces:
            if piece["loss_ids"] == 1:
                filled = [i for i, p in enumerate(parts) if p]
                if not filled:
                    raise ConfigError(
                        "a causal LM needs a token before the mask to predict it from"
                    )
                loss[filled[-1]][-1] = 1
                shortenable[filled[-1]] = 0  # the predicting token must survive truncation
                break  # what follows the mask cannot inform its prediction
            ids = self.piece_ids(piece["text"], piece.get("soft_token_ids", 0))
            parts.append(ids)
            loss.append([0] * len(ids))
            shortenable.append(int(piece["shortenable_ids"]))
            soft.append(int(piece.get("soft_token_ids", 0)))
        has_soft = any("soft_token_ids" in p for p in pieces)
        return self._finish(parts, loss, shortenable, dict(others), soft if has_soft else None)
