"""Finding a masked LM's vocabulary head, so it can run at the mask positions only.

Running the encoder alone and the output head only where the prompt reads
(:mod:`mrekv.prompt.backbone`) saves the ``(batch, seq, vocab)`` logits tensor.
The split is checked numerically against the full forward, so an unknown
architecture falls back to the full forward rather than giving wrong logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

#: Attribute names under which Hugging Face masked LMs keep their output head
#: (hidden states -> vocabulary logits): BERT ``cls``, RoBERTa/XLM-R ``lm_head``,
#: ALBERT ``predictions``. Whatever is found is checked numerically before use.
HEAD_ATTRIBUTES = ("cls", "lm_head", "predictions")


def locate_mlm_head(model: Any, probe_ids: Sequence[int]) -> tuple[nn.Module, nn.Module] | None:
    """Find ``(encoder, head)`` such that ``head(encoder(ids).last_hidden_state)`` are the logits.

    Running the encoder alone and the vocabulary head only at the mask
    positions saves the (batch, seq, vocab) logits tensor. The pair is checked
    numerically against the full forward on ``probe_ids``, so an unknown
    architecture gets None (use the full forward) rather than wrong logits.

    Args:
        model: a Hugging Face masked LM.
        probe_ids: a short input (token ids) to check the split on.

    Returns:
        ``(model.base_model, head)`` or None when no head could be verified.
    """
    import torch

    encoder = getattr(model, "base_model", None)
    if encoder is None or encoder is model:
        return None
    was_training = model.training
    model.eval()
    try:
        ids = torch.tensor([list(probe_ids)], device=model.device)
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            full = model(input_ids=ids, attention_mask=mask).logits
            hidden = encoder(input_ids=ids, attention_mask=mask)[0]
            for name in HEAD_ATTRIBUTES:
                head = getattr(model, name, None)
                if not isinstance(head, torch.nn.Module):
                    continue
                try:
                    logits = head(hidden)
                except Exception:  # noqa: BLE001 - a head with another signature: try the next
                    continue
                if torch.is_tensor(logits) and logits.shape == full.shape and torch.allclose(
                    logits, full, rtol=1e-4, atol=1e-5
                ):
                    return encoder, head
    finally:
        model.train(was_training)
    return None
