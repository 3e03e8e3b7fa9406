"""Frozen-LM mode: train only the verbalizer on features computed once per text.

With the LM frozen, what the verbalizer sees for a text never changes, so it is
computed once (one LM pass per text) and few-shot training touches only the
verbalizer's own parameters: KPT's per-word weights (``word_logits``) or the
soft verbalizer's head. That makes few-shot runs cheap on a CPU, and lets one
LM pass serve every verbalizer (see :mod:`mrekv.prompt.features`).

Features are ``(n, W)`` label-word log-scores for label-word verbalizers (fed
to ``class_scores``) or ``(n, positions, hidden)`` states for the soft
verbalizer (fed to ``forward``). Training runs through the shared loop
(:func:`mrekv.prompt.training.train`: AdamW, schedule, clipping, best-dev
state, DDP): a batch's ``input_ids`` column holds feature row indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from mrekv.prompt.batching import collate
from mrekv.prompt.training import TrainingArgs, param_groups, train

if TYPE_CHECKING:  # pragma: no cover
    import torch


def uses_word_scores(verbalizer: Any) -> bool:
    """True for verbalizers fed ``(n, W)`` word scores (label-word verbalizers)."""
    return hasattr(verbalizer, "class_scores")


def scores_from_features(verbalizer: Any, features: torch.Tensor) -> torch.Tensor:
    """Class log-scores ``(n, num_classes)`` from features (module docstring)."""
    if uses_word_scores(verbalizer):
        return verbalizer.class_scores(features)  # type: ignore[no-any-return]
    return verbalizer(features)  # type: ignore[no-any-return]


def _feature_module(features: torch.Tensor, verbalizer: Any) -> Any:
    from torch import nn

    class FeatureModule(nn.Module):
        features: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.verbalizer = verbalizer
            self.register_buffer("features", features, persistent=False)

        def forward(self, input_ids: torch.Tensor, _mask: Any = None, _pos: Any = None) -> Any:
            return scores_from_features(self.verbalizer, self.features[input_ids[:, 0]])

    return FeatureModule()


def fit_on_features(
    verbalizer: Any,
    features: torch.Tensor,
    labels: Sequence[int],
    args: TrainingArgs,
    *,
    dev_features: torch.Tensor | None = None,
    dev_labels: Sequence[int] | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Train the verbalizer's parameters on precomputed features; return the history.

    With dev data the best dev accuracy state (the untrained one included) is kept.
    A verbalizer without trainable parameters (a manual one) is left as it is:
    the history then holds one entry saying so.
    """
    import torch

    if not any(p.requires_grad for p in verbalizer.parameters()):
        return [{"epoch": 0, "step": 0, "train_loss": None,
                 "note": "the verbalizer has no trainable parameters"}]
    if len(labels) != features.shape[0]:
        raise ValueError(f"{features.shape[0]} feature rows but {len(labels)} labels")
    device = features.device
    module = _feature_module(features, verbalizer)
    evaluate = None
    if dev_features is not None and dev_labels is not None:
        dev_y = torch.as_tensor(np.asarray(dev_labels), device=device)

        def evaluate() -> float:
            with torch.no_grad():
                scores = scores_from_features(verbalizer, dev_features)
            return float((scores.argmax(-1) == dev_y).float().mean())

    rows = [[i] for i in range(features.shape[0])]
    return train(
        module,
        param_groups(module, verbalizer, args),
        lengths=[1] * len(rows),
        collate_fn=partial(collate, input_ids=rows, pad_id=0, labels=list(labels)),
        args=args,
        device=device,
        evaluate=evaluate,
        progress=progress,
    )
