"""OpenPrompt's ``PtuningTemplate``: P-tuning's soft tokens, produced by a prompt encoder.

The template text is :class:`~mrekv.openprompt.prompts.MixedTemplate`'s. Its ``n``
soft positions (counted in order; a reused ``soft_id`` counts again) get the
embeddings ``head(E)`` of a new ``nn.Embedding(n, hidden)`` ``E`` (Liu et al. 2021,
"GPT Understands, Too"):

* ``prompt_encoder_type="lstm"``: a 2-layer bidirectional LSTM (hidden size =
  embedding size) followed by ``Linear(2h, h) - ReLU - Linear(h, h)``;
* ``"mlp"``: ``Linear(h, h) - ReLU - Linear(h, h)``.

Position ``k`` of every example gets the ``k``-th output, so every example of a
batch must keep all ``n`` soft tokens. As in OpenPrompt, the words of
``{"soft": "..."}`` do not initialise anything here (the encoder's input is random).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import torch
from torch import nn

from mrekv.errors import ConfigError, unknown_choice
from mrekv.openprompt.data_utils import InputFeatures
from mrekv.openprompt.prompts.mixed_template import MixedTemplate

PromptEncoderType = Literal["lstm", "mlp"]
ENCODER_TYPES: tuple[str, ...] = get_args(PromptEncoderType)


class PtuningTemplate(MixedTemplate):
    """OpenPrompt's ``PtuningTemplate`` (module docstring).

    Args:
        model: the pretrained model.
        tokenizer: the model's tokenizer.
        text: a template string in :class:`MixedTemplate`'s language.
        prompt_encoder_type: ``"lstm"`` or ``"mlp"``.
        placeholder_mapping: template placeholder -> example field.

    Raises:
        ConfigError: an unknown ``prompt_encoder_type``, or a malformed template.

    Example:
        >>> t = PtuningTemplate(model=plm, tokenizer=tokenizer, prompt_encoder_type="lstm",
        ...     text='{"placeholder":"text_a"} {"soft"} {"soft"} {"mask"}.')  # doctest: +SKIP
    """

    new_ids: torch.Tensor

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        text: str | list[dict[str, Any]] | None = None,
        prompt_encoder_type: str = "lstm",
        placeholder_mapping: dict[str, str] | None = None,
    ) -> None:
        if prompt_encoder_type not in ENCODER_TYPES:
            raise ConfigError(
                unknown_choice("prompt_encoder_type", prompt_encoder_type, ENCODER_TYPES)
            )
        super().__init__(model, tokenizer, placeholder_mapping=placeholder_mapping)
        self.prompt_encoder_type = prompt_encoder_type
        if text is not None:
            self.text = text  # type: ignore[assignment]

    def generate_parameters(self, init: dict[int, int]) -> None:
        """Build the encoder: ``new_embedding``, ``new_lstm_head`` (lstm), ``new_mlp_head``."""
        n = sum(1 for i in self.soft_token_ids if i)
        self.num_soft_token = n
        h = self.embedding_size
        weight = self.raw_embedding.weight
        self.new_embedding = nn.Embedding(max(n, 1), h)
        self.register_buffer("new_ids", torch.arange(n, dtype=torch.long), persistent=False)
        if self.prompt_encoder_type == "lstm":
            self.new_lstm_head: nn.Module | None = nn.LSTM(
                input_size=h, hidden_size=h, num_layers=2, bidirectional=True, batch_first=True
            )
            first = 2 * h
        else:
            self.new_lstm_head = None
            first = h
        self.new_mlp_head = nn.Sequential(nn.Linear(first, h), nn.ReLU(), nn.Linear(h, h))
        self.to(device=weight.device, dtype=weight.dtype)

    def prompt_embeddings(self) -> torch.Tensor:
        """``(n, hidden)``: the encoder's output, one row per soft position."""
        new = self.new_embedding(self.new_ids).unsqueeze(0)
        if self.new_lstm_head is not None:
            new = self.new_lstm_head(new)[0]
        return self.new_mlp_head(new)[0]  # type: ignore[no-any-return]

    def process_batch(self, batch: InputFeatures) -> InputFeatures:
        """``input_ids`` -> ``inputs_embeds``; the ``k``-th soft position gets the ``k``-th output.

        Raises:
            ConfigError: an example without exactly ``n`` soft tokens (one was truncated).
        """
        embeds = self.raw_embedding(batch["input_ids"])
        out = InputFeatures(batch)
        out["input_ids"] = None
        if self.num_soft_token == 0:
            out["inputs_embeds"] = embeds
            return out
        is_soft = self._soft_ids(batch) > 0
        counts = is_soft.sum(dim=1)
        if bool((counts != self.num_soft_token).any()):
            raise ConfigError(
                f"every example needs the template's {self.num_soft_token} soft tokens, found "
                f"{counts.tolist()}: make the soft pieces non-shortenable or raise max_seq_length"
            )
        order = (is_soft.long().cumsum(dim=1) - 1).clamp(min=0)
        prompt = self.prompt_embeddings()[order]
        out["inputs_embeds"] = torch.where(is_soft.unsqueeze(-1), prompt, embeds)
        return out
