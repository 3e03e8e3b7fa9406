"""OpenPrompt's ``PrefixTuningTemplate``: trainable keys and values before every attention layer.

Prefix tuning (Li & Liang 2021). ``num_token`` prefix positions get, in every
layer, a key and a value computed from a reparameterisation::

    E = nn.Embedding(num_token, hidden)                       # wte
    T = Linear(hidden, mid_dim) - Tanh - Linear(mid_dim, layers * 2 * kv_heads * head_dim)
    T(E)  ->  (layers * 2, batch, kv_heads, num_token, head_dim)  ->  (key, value) per layer

(``prefix_dropout`` is applied to ``T(E)``). :meth:`PrefixTuningTemplate.process_batch`
puts them in a transformers ``DynamicCache``, so the model attends to them as to
earlier tokens, and prepends ``num_token`` ones to ``attention_mask``:

* **causal LMs** (GPT-2, Llama, Gemma, ...): the cache is the model's past, as in
  OpenPrompt; the input's positions start after the prefix, as for any past;
* **masked LMs** (BERT, RoBERTa and others whose attention takes a cache): OpenPrompt
  has no prefix tuning for them; mrekv adds the prefix to each self-attention layer
  and passes ``position_ids = 0 .. seq - 1``, so the input's own positions do not move;
* **encoder-decoder LMs** (T5): the decoder's self-attention gets the prefix
  (``using_decoder_past_key_values``). An encoder-side prefix
  (``using_encoder_past_key_values``, OpenPrompt's default) needs T5's attention
  patched at run time (transformers 5's T5 encoder drops any cache it is given); it is
  not supported: pass ``using_encoder_past_key_values=False``.

Which architectures work is decided by their ``forward`` taking a cache (``cache``
on transformers >= 5.x, ``past_key_values`` before); others raise
:class:`~mrekv.errors.ConfigError` when the template is built.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt.data_utils import InputExample, InputFeatures
from mrekv.openprompt.prompts.manual_template import ManualTemplate
from mrekv.openprompt.prompts.soft_template import default_text


def cache_argument(model: Any) -> str:
    """The name under which ``model`` takes past keys and values: ``cache`` or ``past_key_values``.

    Raises:
        ConfigError: the model's forward takes neither.
    """
    for module in (model, getattr(model, "base_model", model)):
        params = inspect.signature(module.forward).parameters
        for name in ("cache", "past_key_values"):
            if name in params:
                return name
    raise ConfigError(
        f"{type(model).__name__} takes no past keys and values (no 'cache' or "
        "'past_key_values' argument), so PrefixTuningTemplate cannot add a prefix to it"
    )


def split_prefix(
    flat: torch.Tensor, layers: int, heads: int, head_dim: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(batch, n, layers * 2 * heads * head_dim)`` -> per layer ``(key, value)``.

    Each of ``key`` and ``value`` is ``(batch, heads, n, head_dim)``.

    Example:
        >>> kv = split_prefix(torch.zeros(3, 5, 2 * 2 * 4 * 8), layers=2, heads=4, head_dim=8)
        >>> len(kv), kv[0][0].shape
        (2, torch.Size([3, 4, 5, 8]))
    """
    batch, n, _ = flat.shape
    stacked = flat.view(batch, n, layers * 2, heads, head_dim).permute(2, 0, 3, 1, 4)
    return [(stacked[2 * i], stacked[2 * i + 1]) for i in range(layers)]


class PrefixTuningTemplate(ManualTemplate):
    """OpenPrompt's ``PrefixTuningTemplate`` (module docstring).

    Args:
        model: the pretrained model.
        tokenizer: the model's tokenizer.
        mapping_hook: kept for OpenPrompt's signature (unused there too).
        text: the hard template (default ``{"placeholder":"text_a"} {"mask"}``).
        num_token: the prefix length.
        placeholder_mapping: template placeholder -> example field.
        prefix_dropout: dropout on the computed keys and values.
        mid_dim: the reparameterisation's hidden size.
        using_encoder_past_key_values: encoder-side prefix of an encoder-decoder model
            (not supported; must be False for T5).
        using_decoder_past_key_values: decoder-side prefix of an encoder-decoder model.

    Raises:
        ConfigError: a model that takes no cache, an encoder-side prefix for an
            encoder-decoder model, or neither side chosen.

    Example:
        >>> t = PrefixTuningTemplate(model=plm, tokenizer=tokenizer, num_token=5,
        ...     text='{"placeholder":"text_a"} It was {"mask"}.')  # doctest: +SKIP
    """

    input_tokens: torch.Tensor

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        mapping_hook: nn.Module | None = None,
        text: str | list[dict[str, Any]] | None = None,
        num_token: int = 5,
        placeholder_mapping: dict[str, str] | None = None,
        prefix_dropout: float = 0.0,
        mid_dim: int = 512,
        using_encoder_past_key_values: bool = True,
        using_decoder_past_key_values: bool = True,
    ) -> None:
        super().__init__(tokenizer=tokenizer, text=text, placeholder_mapping=placeholder_mapping)
        config = model.config
        self.config = config
        self.mapping_hook = mapping_hook
        self.num_token = int(num_token)
        self.mid_dim = int(mid_dim)
        self.prefix_dropout = prefix_dropout
        self.dropout = nn.Dropout(prefix_dropout)
        self.model_is_encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
        self.using_encoder_past_key_values = using_encoder_past_key_values
        self.using_decoder_past_key_values = using_decoder_past_key_values
        if self.num_token < 1:
            raise ConfigError(f"num_token must be >= 1, got {num_token}")
        if self.model_is_encoder_decoder:
            if using_encoder_past_key_values:
                raise ConfigError(
                    "an encoder-side prefix (using_encoder_past_key_values=True) is not "
                    "supported for encoder-decoder models on transformers 5; pass "
                    "using_encoder_past_key_values=False to tune the decoder's prefix"
                )
            if not using_decoder_past_key_values:
                raise ConfigError(
                    "using_encoder_past_key_values and using_decoder_past_key_values cannot "
                    "both be False"
                )
        self.is_causal = not self.model_is_encoder_decoder and _is_causal(model)
        self.cache_argument = cache_argument(model)
        self.n_embd = int(config.hidden_size if hasattr(config, "hidden_size") else config.d_model)
        heads = int(getattr(config, "num_attention_heads", 0) or config.num_heads)
        self.n_head = int(getattr(config, "num_key_value_heads", None) or heads)
        self.head_dim = int(
            getattr(config, "head_dim", None)
            or getattr(config, "d_kv", None)
            or self.n_embd // heads
        )
        if self.model_is_encoder_decoder:
            self.n_layer = int(getattr(config, "num_decoder_layers", None) or config.num_layers)
        else:
            self.n_layer = int(config.num_hidden_layers)
        weight = model.get_input_embeddings().weight
        self.generate_parameters()
        self.to(device=weight.device)

    @property
    def _prefix_names(self) -> tuple[str, str]:
        """OpenPrompt's names (``decoder_wte``... for a decoder's prefix, else ``wte``...)."""
        if self.model_is_encoder_decoder or self.is_causal:
            return "decoder_wte", "decoder_control_trans"
        return "wte", "control_trans"

    def generate_parameters(self) -> None:
        """The prefix embedding and its reparameterisation (module docstring)."""
        self.register_buffer("input_tokens", torch.arange(self.num_token), persistent=False)
        wte, trans = self._prefix_names
        setattr(self, wte, nn.Embedding(self.num_token, self.n_embd))
        setattr(
            self,
            trans,
            nn.Sequential(
                nn.Linear(self.n_embd, self.mid_dim),
                nn.Tanh(),
                nn.Linear(self.mid_dim, self.n_layer * 2 * self.n_head * self.head_dim),
            ),
        )

    def get_past_key_values(self, batch_size: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer ``(key, value)``, each ``(batch_size, kv_heads, num_token, head_dim)``."""
        wte, trans = (getattr(self, name) for name in self._prefix_names)
        flat = self.dropout(trans(wte(self.input_tokens)))
        flat = flat.unsqueeze(0).expand(batch_size, -1, -1)
        return split_prefix(flat, self.n_layer, self.n_head, self.head_dim)

    def wrap_one_example(self, example: InputExample) -> list[Any]:
        """As :meth:`ManualTemplate.wrap_one_example`; a template without text gets the default."""
        if not self.text:
            self.text = default_text(example)  # type: ignore[assignment]
        return super().wrap_one_example(example)

    def process_batch(self, batch: InputFeatures) -> InputFeatures:
        """Add the prefix cache (and for masked / causal LMs the prefix's attention and positions).

        Returns:
            A new batch; the given one is not modified.
        """
        from transformers import DynamicCache, EncoderDecoderCache

        ids = batch["input_ids"]
        size = ids.shape[0]
        cache = DynamicCache(config=self.config)
        for layer, (key, value) in enumerate(self.get_past_key_values(size)):
            cache.update(key, value, layer)
        out = InputFeatures(batch)
        if self.model_is_encoder_decoder:
            out[self.cache_argument] = EncoderDecoderCache(cache, DynamicCache(config=self.config))
            return out
        out[self.cache_argument] = cache
        mask = batch.get("attention_mask")
        if mask is not None:
            ones = torch.ones((size, self.num_token), dtype=mask.dtype, device=mask.device)
            out["attention_mask"] = torch.cat([ones, mask], dim=-1)
        if not self.is_causal:
            positions = torch.arange(ids.shape[1], device=ids.device)
            out["position_ids"] = positions.unsqueeze(0).expand(size, -1)
        return out


def _is_causal(model: Any) -> bool:
    from mrekv.models import detect_backbone

    try:
        return detect_backbone(model) == "causal"
    except ConfigError:
        return bool(getattr(model.config, "is_decoder", False))
