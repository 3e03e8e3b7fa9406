"""Backbone adapters: what differs between a masked and a causal LM in prompting.

The classifier, its training loop, batching, verbalizers and saving are one
path for both kinds; the differences live here:

* **encoding** (:func:`encode_prompts`): a masked LM gets the template with
  ``[MASK]`` token(s) and reads their positions; a causal LM gets the prompt
  before ``{mask}`` (which must end the template) and reads its last token
  (:mod:`mrekv.prompt.causal_template`). Both give ``EncodedPrompt``'s with
  ``mask_positions``, so batches are the same right-padded, length-sorted ones
  (for a causal LM the padding comes after the position read, which causal
  attention never sees).
* **the vocabulary head at the position only**: ``base_model`` + the output
  head, verified numerically against the full forward on a probe input
  (:func:`mrekv.mlm_head.locate_mlm_head`), else the full forward.
* **exact multi-token scores** (``aggregate="exact"`` or ``"exact-mean"``, causal
  only): teacher forcing through the LM after the prompt (:mod:`mrekv.prompt.exact`).

:class:`PromptModule` is the ``nn.Module`` the shared training loop trains:
``forward(input_ids, attention_mask, positions) -> (batch, num_classes)``. It is a
module-level name (so that pickling finds it) built on first access, so that
importing this module needs no torch.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mrekv.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from mrekv.prompt.template import EncodedPrompt, Template


def encode_prompts(
    backbone: str,
    template: Template,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int,
    num_masks: int = 1,
) -> list[EncodedPrompt]:
    """Encode texts for a ``"masked"`` or ``"causal"`` backbone (module docstring)."""
    if isinstance(texts, str):
        raise TypeError("expected a sequence of texts, got a single string")
    if backbone == "causal":
        from mrekv.prompt.causal_template import encode_causal

        return encode_causal(template, tokenizer, list(texts), max_length=max_length)
    return list(
        template.encode_batch(tokenizer, list(texts), max_length=max_length, num_masks=num_masks)
    )


def check_pairing(backbone: str, template: Template, tokenizer: Any, aggregate: str | None) -> None:
    """Refuse a template / aggregate the backbone cannot use, before any text is seen.

    ``tokenizer`` None (not loaded yet) skips the check of its mask token.

    Raises:
        ConfigError: a causal template error, a masked LM without mask token, or
            ``aggregate="exact"`` (causal only) / ``"multi-mask"`` (masked only) on the
            other kind.
    """
    if backbone == "causal":
        from mrekv.prompt.causal_template import check_causal

        check_causal(template)
        if aggregate == "multi-mask":
            raise ConfigError("aggregate='multi-mask' needs a masked LM; for a causal LM use "
                              "'exact' (teacher forcing) or 'first' / 'mean' / 'max'")
    else:
        if tokenizer is not None and tokenizer.mask_token_id is None:
            raise ConfigError(f"tokenizer {type(tokenizer).__name__} has no mask token; a "
                              "masked LM is needed (or pass backbone='causal')")
        from mrekv.verbalizer.tokens import EXACT_AGGREGATES

        if aggregate in EXACT_AGGREGATES:
            raise ConfigError(f"aggregate={aggregate!r} needs a causal LM; for a masked LM use "
                              "'multi-mask' or 'first' / 'mean' / 'max'")


def prompt_module(model: Any, verbalizer: Any, head_name: str | None, backbone: str) -> Any:
    """Build the :class:`PromptModule` (defined lazily so importing this needs no torch)."""
    return _module_class()(model, verbalizer, head_name, backbone)


def __getattr__(name: str) -> Any:
    """``PromptModule``, built on first access (PEP 562): pickles find it here."""
    if name == "PromptModule":
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _module_class() -> type:
    import torch
    from torch import nn

    from mrekv.prompt.exact import exact_word_log_probs, per_token_mean, plan_prefixes
    from mrekv.verbalizer.tokens import EXACT_AGGREGATES

    class PromptModule(nn.Module):
        """LM + verbalizer; forward: (input_ids, attention_mask, positions) -> class scores.

        ``head_name`` names the LM's vocabulary head when the body/head split was
        verified, else None (full forward, then pick the positions).
        """

        def __init__(self, lm: nn.Module, verbalizer: nn.Module, head_name: str | None,
                     backbone: str) -> None:
            super().__init__()
            self.mlm: Any = lm  # the attribute name saved folders' state dicts use
            self.verbalizer: Any = verbalizer
            self.head_name = head_name
            self.backbone = backbone
            self._plan: Any = None

        def mask_inputs(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
        ) -> torch.Tensor:
            """(batch, seq) ids -> (batch, positions, vocab or hidden) at the read positions."""
            rows = torch.arange(input_ids.shape[0], device=input_ids.device)[:, None]
            hidden_kind = self.verbalizer.input_kind == "hidden"
            if self.head_name is not None:
                hidden = self.mlm.base_model(input_ids=input_ids, attention_mask=attention_mask)[0]
                picked = hidden[rows, positions]
                return picked if hidden_kind else getattr(self.mlm, self.head_name)(picked)
            out = self.mlm(
                input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=hidden_kind
            )
            source = out.hidden_states[-1] if hidden_kind else out.logits
            return source[rows, positions]

        def read_states(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
        ) -> torch.Tensor:
            """(batch, H + 1): the vocabulary layer's input at the first read position and the
            log-normaliser of its logits (``logsumexp``), so that any word's first-token
            log-probability is ``state @ E[id] + bias[id] - lse`` without keeping the logits."""
            out_layer = self.mlm.get_output_embeddings()
            seen: list[torch.Tensor] = []
            hook = out_layer.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
            try:
                logits = self.mask_inputs_logits(input_ids, attention_mask, positions)
            finally:
                hook.remove()
            state = seen[-1]
            if state.dim() == 3 and state.shape[1] != logits.shape[1]:  # full forward
                rows = torch.arange(input_ids.shape[0], device=input_ids.device)[:, None]
                state = state[rows, positions]
            lse = torch.logsumexp(logits[:, 0].float(), dim=-1, keepdim=True)
            return torch.cat([state[:, 0].float(), lse], dim=-1)

        def mask_inputs_logits(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
        ) -> torch.Tensor:
            """(batch, positions, vocab) logits at the read positions, whatever the verbalizer."""
            rows = torch.arange(input_ids.shape[0], device=input_ids.device)[:, None]
            if self.head_name is not None:
                hidden = self.mlm.base_model(input_ids=input_ids, attention_mask=attention_mask)[0]
                return getattr(self.mlm, self.head_name)(hidden[rows, positions])
            out = self.mlm(input_ids=input_ids, attention_mask=attention_mask)
            return out.logits[rows, positions]

        def exact_plan(self) -> Any:
            if self._plan is None:
                self._plan = plan_prefixes(self.verbalizer.word_token_ids)
            return self._plan

        def word_inputs(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
        ) -> torch.Tensor:
            """(batch, W) label-word log-scores (exact teacher forcing, or from the logits)."""
            aggregate = getattr(self.verbalizer, "aggregate", None)
            if aggregate not in EXACT_AGGREGATES:
                return self.verbalizer.word_scores(
                    self.mask_inputs(input_ids, attention_mask, positions)
                )
            plan = self.exact_plan()
            if plan.prefixes.shape[0] == 0:  # every word is one token: exact == first, batched
                from mrekv.verbalizer.tokens import word_log_probs

                logits = self.mask_inputs(input_ids, attention_mask, positions)
                return word_log_probs(logits, self.verbalizer.token_ids,
                                      self.verbalizer.token_mask, "first")
            rows = [
                exact_word_log_probs(self.mlm, input_ids[b, : int(positions[b, 0]) + 1], plan)
                for b in range(input_ids.shape[0])
            ]
            scores = torch.stack(rows)
            if aggregate == "exact-mean":
                return per_token_mean(scores, self.verbalizer.token_mask)
            return scores

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
        ) -> torch.Tensor:
            if getattr(self.verbalizer, "aggregate", None) in EXACT_AGGREGATES:
                return self.verbalizer.class_scores(
                    self.word_inputs(input_ids, attention_mask, positions)
                )
            return self.verbalizer(self.mask_inputs(input_ids, attention_mask, positions))

    PromptModule.__qualname__ = "PromptModule"  # pickles look it up as backbone.PromptModule
    return PromptModule


def locate_head_name(model: Any, tokenizer: Any) -> str | None:
    """The attribute name of the LM's verified vocabulary head, or None (full forward)."""
    from mrekv.mlm_head import HEAD_ATTRIBUTES, locate_mlm_head

    probe = tokenizer("a probe", add_special_tokens=True)["input_ids"]
    split = locate_mlm_head(model, probe)
    if split is None:
        return None
    return next((n for n in HEAD_ATTRIBUTES if getattr(model, n, None) is split[1]), None)
