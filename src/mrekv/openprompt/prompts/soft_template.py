"""OpenPrompt's ``SoftTemplate``: ``num_tokens`` trainable embeddings before every input.

Prompt tuning (Lester et al. 2021). The template text is a
:class:`~mrekv.openprompt.prompts.ManualTemplate` (default
``{"placeholder":"text_a"} {"mask"}``, with ``text_b`` when the example has one);
:meth:`SoftTemplate.process_batch` embeds the encoded input and puts the
``(num_tokens, hidden)`` parameter :attr:`SoftTemplate.soft_embeds` in front of it,
extending ``attention_mask`` with ones:

* ``initialize_from_vocab=True`` (default): the soft tokens start as the input
  embeddings of vocabulary ids ``0 .. num_tokens - 1``, as OpenPrompt;
* ``False``: uniform in ``[-random_range, random_range]``.

For a masked or causal LM the outputs then have ``num_tokens`` extra leading
positions; :meth:`SoftTemplate.post_processing_outputs` drops them from the logits
**and** the hidden states, so ``loss_ids`` still point at the mask (OpenPrompt
drops them from the logits only, which misplaces the mask for verbalizers that
read hidden states, such as ``SoftVerbalizer``). For an encoder-decoder model the
mask is read from the decoder and nothing is dropped.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt.data_utils import InputExample, InputFeatures
from mrekv.openprompt.prompts.manual_template import ManualTemplate

DEFAULT_TEXT = '{"placeholder":"text_a"} {"mask"}'
DEFAULT_PAIR_TEXT = '{"placeholder":"text_a"} {"placeholder":"text_b"} {"mask"}'


def default_text(example: InputExample) -> str:
    """The template OpenPrompt's soft templates fall back to for ``example``."""
    return DEFAULT_PAIR_TEXT if example.text_b else DEFAULT_TEXT


class SoftTemplate(ManualTemplate):
    """OpenPrompt's ``SoftTemplate`` (module docstring).

    Args:
        model: the pretrained model.
        tokenizer: the model's tokenizer.
        text: the hard template around the input (default in the module docstring).
        mask_token: kept for OpenPrompt's signature (the mask is ``{"mask"}``).
        num_tokens: how many soft tokens to prepend (0: none).
        initialize_from_vocab: start from the first ``num_tokens`` vocabulary embeddings.
        random_range: the uniform range otherwise.
        placeholder_mapping: template placeholder -> example field.

    Raises:
        ConfigError: a negative ``num_tokens``, or more than the vocabulary has.

    Example:
        >>> t = SoftTemplate(model=plm, tokenizer=tokenizer, num_tokens=20,
        ...     text='{"placeholder":"text_a"} It was {"mask"}.')  # doctest: +SKIP
        >>> t.soft_embeds.shape  # doctest: +SKIP
        torch.Size([20, 768])
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        text: str | list[dict[str, Any]] | None = None,
        mask_token: str = "<mask>",
        num_tokens: int = 20,
        initialize_from_vocab: bool = True,
        random_range: float = 0.5,
        placeholder_mapping: dict[str, str] | None = None,
    ) -> None:
        super().__init__(tokenizer=tokenizer, text=text, placeholder_mapping=placeholder_mapping)
        self.raw_embedding: nn.Embedding = model.get_input_embeddings()
        self.model_is_encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
        self.mask_token = mask_token
        self.num_tokens = int(num_tokens)
        self.initialize_from_vocab = initialize_from_vocab
        self.random_range = random_range
        weight = self.raw_embedding.weight
        if not 0 <= self.num_tokens <= weight.shape[0]:
            raise ConfigError(
                f"num_tokens must be between 0 and the vocabulary size {weight.shape[0]}, "
                f"got {num_tokens}"
            )
        if self.num_tokens > 0:
            self.generate_parameters()

    def generate_parameters(self) -> None:
        """Set :attr:`soft_embeds` ``(num_tokens, hidden)`` (module docstring)."""
        weight = self.raw_embedding.weight
        if self.initialize_from_vocab:
            start = weight[: self.num_tokens].detach().clone()
        else:
            start = torch.empty(
                (self.num_tokens, weight.shape[1]), device=weight.device, dtype=weight.dtype
            ).uniform_(-self.random_range, self.random_range)
        self.soft_embeds = nn.Parameter(start, requires_grad=True)

    def wrap_one_example(self, example: InputExample) -> list[Any]:
        """As :meth:`ManualTemplate.wrap_one_example`; a template without text gets the default."""
        if not self.text:
            self.text = default_text(example)  # type: ignore[assignment]
        return super().wrap_one_example(example)

    def process_batch(self, batch: InputFeatures) -> InputFeatures:
        """``inputs_embeds`` = ``[soft_embeds; embed(input_ids)]``, ``attention_mask`` extended.

        Returns:
            A new batch (``input_ids`` None, ``inputs_embeds`` ``(batch, num_tokens + seq,
            hidden)``); the given one is not modified.
        """
        embeds = self.raw_embedding(batch["input_ids"])
        out = InputFeatures(batch)
        out["input_ids"] = None
        if self.num_tokens > 0:
            size = embeds.shape[0]
            soft = self.soft_embeds.unsqueeze(0).expand(size, -1, -1).to(embeds.dtype)
            embeds = torch.cat([soft, embeds], dim=1)
            mask = batch.get("attention_mask")
            if mask is not None:
                ones = torch.ones((size, self.num_tokens), dtype=mask.dtype, device=mask.device)
                out["attention_mask"] = torch.cat([ones, mask], dim=-1)
        out["inputs_embeds"] = embeds
        return out

    def post_processing_outputs(self, outputs: Any) -> Any:
        """Drop the soft positions from ``logits`` and ``hidden_states`` (masked / causal LMs)."""
        if self.model_is_encoder_decoder or self.num_tokens == 0:
            return outputs
        n = self.num_tokens
        outputs["logits"] = outputs["logits"][:, n:, :]
        if outputs.get("hidden_states") is not None:
            outputs["hidden_states"] = tuple(h[:, n:, :] for h in outputs["hidden_states"])
        return outputs
