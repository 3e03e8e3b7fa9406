"""Contextualized calibration: the mask logits of unlabeled texts (KPT's ``calibrate``)."""

from __future__ import annotations

from typing import Any

import torch


@torch.no_grad()
def calibrate(prompt_model: Any, dataloader: Any) -> torch.Tensor:
    """The mask logits of every text in ``dataloader``, for ``register_calibrate_logits``.

    Runs ``prompt_model.forward_without_verbalize`` on each batch (in eval mode;
    the previous mode is restored) and concatenates the results.

    Args:
        prompt_model: a :class:`~mrekv.openprompt.PromptForClassification`.
        dataloader: a :class:`~mrekv.openprompt.PromptDataLoader` of unlabeled texts.

    Returns:
        ``(N, vocab)`` logits; pass ``.mean(dim=0)`` to
        ``verbalizer.register_calibrate_logits``.

    Example:
        >>> cc_logits = calibrate(prompt_model, support_dataloader)           # doctest: +SKIP
        >>> verbalizer.register_calibrate_logits(cc_logits.mean(dim=0))  # doctest: +SKIP
    """
    was_training = prompt_model.training
    prompt_model.eval()
    device = next(prompt_model.parameters()).device
    try:
        rows = [prompt_model.forward_without_verbalize(batch.to(device)) for batch in dataloader]
    finally:
        prompt_model.train(was_training)
    return torch.cat(rows, dim=0)
