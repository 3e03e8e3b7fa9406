"""The training loop shared by PromptClassifier and FineTuneClassifier.

Built from well-kept pieces: ``torch.optim.AdamW``,
``transformers.get_linear_schedule_with_warmup``, ``clip_grad_norm_``, ``tqdm``
and, when ``torch.distributed`` is initialised (``torchrun`` /
``accelerate launch``), ``DistributedDataParallel``. A hand-written loop
rather than ``transformers.Trainer`` because the prompt model's forward returns
class scores from two modules (MLM + verbalizer) with their own learning
rates, batches are length-grouped token-id lists rather than a ``Dataset``,
and few-shot runs need the best-dev checkpoint kept in memory, not on disk.

Distributed semantics: ``batch_size`` is the GLOBAL batch. Every rank computes
the same seeded batch order, takes its slice of each batch (:func:`shard`),
and the loss is scaled so that DDP's gradient averaging gives exactly the
gradient of the global batch's mean loss, as in a single-process run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from mrekv.errors import ConfigError
from mrekv.prompt.batching import Batch, grouped_batches, shard

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn


@dataclass(frozen=True)
class TrainingArgs:
    """Hyper-parameters of one training run (saved with the model).

    Args:
        learning_rate: AdamW learning rate of the transformer's weights.
        head_learning_rate: learning rate of the verbalizer's (prompt) or the
            classification head's (fine-tuning) parameters.
        epochs: passes over the training set (ignored when ``max_steps`` is set).
        max_steps: if set, exactly this many optimizer steps, overriding ``epochs``.
        batch_size: training batch size (global across processes when distributed).
        eval_batch_size: batch size for prediction.
        max_length: longest input in tokens; longer inputs are truncated.
        warmup_ratio: fraction of the steps with a linear learning-rate warm-up.
        weight_decay: AdamW weight decay (not applied to biases and LayerNorm weights).
        max_grad_norm: gradient clipping norm (0 turns clipping off).
        seed: seeds python, numpy and torch RNGs and the batch order.
    """

    learning_rate: float = 2e-5
    head_learning_rate: float = 1e-3
    epochs: int = 10
    max_steps: int | None = None
    batch_size: int = 8
    eval_batch_size: int = 32
    max_length: int = 128
    warmup_ratio: float = 0.0
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    seed: int = 42

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size,
                    "eval_batch_size": self.eval_batch_size, "max_length": self.max_length}
        for name, value in positive.items():
            if int(value) < 1:
                raise ConfigError(f"{name} must be >= 1, got {value!r}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be >= 1 or None, got {self.max_steps!r}")
        if not 0.0 <= self.warmup_ratio <= 1.0:
            raise ConfigError(f"warmup_ratio must be in [0, 1], got {self.warmup_ratio!r}")
        for name in ("learning_rate", "head_learning_rate", "weight_decay", "max_grad_norm"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")

    def to_config(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TrainingArgs:
        """Inverse of :meth:`to_config`; unknown keys are a ConfigError listing the valid ones."""
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(config) - set(valid))
        if unknown:
            raise ConfigError(f"unknown training args {unknown}; valid keys: {valid}")
        return cls(**config)


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's (all devices) random generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)``: ``(0, 1)`` unless ``torch.distributed`` is initialised."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """True in single-process runs and on rank 0 of a distributed run."""
    return dist_info()[0] == 0


def param_groups(
    body: nn.Module, head: nn.Module | None, args: TrainingArgs
) -> list[dict[str, Any]]:
    """AdamW parameter groups: body with/without weight decay, head at its own rate.

    ``head`` may be a submodule of ``body``: its parameters go to the head group
    only. Parameters shared by both (tied weights) are listed once.
    """
    seen: set[int] = set()
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    head_params: list[nn.Parameter] = []
    if head is not None:
        for p in head.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                head_params.append(p)
    for name, p in body.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    groups = [
        {"params": decay, "lr": args.learning_rate, "weight_decay": args.weight_decay},
        {"params": no_decay, "lr": args.learning_rate, "weight_decay": 0.0},
        {"params": head_params, "lr": args.head_learning_rate, "weight_decay": 0.0},
    ]
    return [g for g in groups if g["params"]]


def _wrap_distributed(module: nn.Module, device: torch.device) -> nn.Module:
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index if device.index is not None else 0] if device.type == "cuda" else None
    # find_unused_parameters: any MLM may hold weights the prompt path skips (a pooler).
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)


def train(
    module: nn.Module,
    groups: list[dict[str, Any]],
    *,
    lengths: Sequence[int],
    collate_fn: Callable[[list[int]], Batch],
    args: TrainingArgs,
    device: torch.device,
    evaluate: Callable[[], float] | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train ``module`` (forward: ``(input_ids, attention_mask, mask_positions) -> scores``).

    Args:
        module: returns class log-scores of shape (batch, num_classes); trained
            with cross-entropy against ``Batch.labels``.
        groups: AdamW parameter groups (see :func:`param_groups`).
        lengths: token count of every training example (for length grouping).
        collate_fn: turns a list of example indices into a CPU :class:`Batch`.
        args: the hyper-parameters.
        device: where ``module`` lives.
        evaluate: returns a dev score (higher is better); called before training
            and after every epoch. The best state is restored at the end.
        progress: show a tqdm bar (rank 0 only).

    Returns:
        The history: one dict per evaluation point (``epoch``, ``step``,
        ``train_loss`` (global mean over the epoch), ``dev_score`` when evaluating).
    """
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    rank, world = dist_info()
    per_epoch = len(grouped_batches(lengths, args.batch_size, seed=args.seed, min_batch=world))
    total = args.max_steps if args.max_steps is not None else per_epoch * args.epochs
    epochs = math.ceil(total / per_epoch)
    optimizer = torch.optim.AdamW(groups)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(round(args.warmup_ratio * total)), total
    )
    params = [p for g in groups for p in g["params"]]
    runner = _wrap_distributed(module, device) if world > 1 else module

    history: list[dict[str, Any]] = []
    best: tuple[float, dict[str, torch.Tensor]] | None = None

    def checkpoint(epoch: int, step: int, loss: float | None) -> None:
        nonlocal best
        entry: dict[str, Any] = {"epoch": epoch, "step": step, "train_loss": loss}
        if evaluate is not None:
            module.eval()
            score = float(evaluate())
            module.train()
            entry["dev_score"] = score
            if best is None or score > best[0]:
                state = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
                best = (score, state)
        history.append(entry)

    module.train()
    checkpoint(0, 0, None)
    step = 0
    bar = tqdm(total=total, disable=not progress or rank != 0, desc="training", leave=False)
    for epoch in range(1, epochs + 1):
        loss_sum = torch.zeros((), dtype=torch.float32, device=device)
        count = 0
        for global_batch in grouped_batches(
            lengths, args.batch_size, seed=args.seed, epoch=epoch, min_batch=world
        ):
            batch = collate_fn(shard(global_batch, rank, world)).to(device)
            scores = runner(batch.input_ids, batch.attention_mask, batch.mask_positions)
            if batch.labels is None:
                raise ValueError("training batches need labels")
            summed = F.cross_entropy(scores.float(), batch.labels, reduction="sum")
            # DDP averages gradients over ranks: scale so the result is the global-batch mean.
            (summed * (world / len(global_batch))).backward()
            if args.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            loss_sum += summed.detach()
            count += len(global_batch)
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{summed.item() * world / len(global_batch):.4f}")
            if step >= total:
                break
        if world > 1:
            dist.all_reduce(loss_sum)
        checkpoint(epoch, step, float(loss_sum) / max(count, 1))
        if step >= total:
            break
    bar.close()
    if best is not None:
        module.load_state_dict(best[1])
    module.eval()
    return history


def predict_scores(
    module: nn.Module,
    input_ids: Sequence[Sequence[int]],
    *,
    pad_id: int,
    batch_size: int,
    device: torch.device,
    mask_positions: Sequence[Sequence[int]] | None = None,
) -> torch.Tensor:
    """Class log-scores for pre-tokenized inputs, batched by length, in input order.

    Runs ``module`` in eval mode under ``torch.inference_mode()`` on
    length-sorted, dynamically padded batches.

    Returns:
        A CPU float32 tensor of shape (n, num_classes).
    """
    import torch

    from mrekv.prompt.batching import collate, sorted_batches

    module.eval()
    parts: list[torch.Tensor] = []
    order: list[int] = []
    with torch.inference_mode():
        for indices in sorted_batches([len(x) for x in input_ids], batch_size):
            batch = collate(indices, input_ids, pad_id, mask_positions=mask_positions).to(device)
            scores = module(batch.input_ids, batch.attention_mask, batch.mask_positions)
            parts.append(scores.float())
            order.extend(indices)
    if not parts:
        raise ValueError("cannot predict on zero texts")
    stacked = torch.cat(parts).cpu()
    out = torch.empty_like(stacked)
    out[torch.as_tensor(order)] = stacked
    return out


def label_indices(labels: Sequence[Any], classes: Sequence[str]) -> list[int]:
    """Map labels to class indices.

    Raises:
        ValueError: labels not among ``classes`` (all of them named, with the classes).
    """
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({str(y) for y in labels if str(y) not in index})
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {list(classes)}")
    return [index[str(y)] for y in labels]
