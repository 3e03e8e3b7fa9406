"""Dynamic padding and length-grouped batches for the classifiers.

Inputs are tokenized once per call into unpadded id lists; batches are cut
from them and padded only to the longest sequence in the batch (never to
``max_length``):

* inference: :func:`sorted_batches` sorts by length so each batch holds
  sequences of similar length; results are put back in input order by the
  caller using :attr:`Batch.indices`.
* training: :func:`grouped_batches` shuffles with a seed, sorts within small
  buckets of a few batches, and shuffles the batch order, so padding stays
  low while batches still vary between epochs.
* distributed training: :func:`shard` gives each rank its slice of a global batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Number of batches per bucket that :func:`grouped_batches` sorts by length.
#: Small on purpose: few-shot sets are small, and sorting the whole set would
#: put the same examples together in every epoch.
BUCKET_BATCHES = 4


@dataclass(frozen=True)
class Batch:
    """One padded batch.

    Attributes:
        input_ids: (batch, longest) token ids, right-padded with the pad id.
        attention_mask: (batch, longest), 1 for tokens, 0 for padding.
        mask_positions: (batch, total_masks) positions of the ``[MASK]`` tokens, or None.
        labels: (batch,) class indices, or None at inference.
        indices: the position of each row in the caller's input.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    mask_positions: torch.Tensor | None
    labels: torch.Tensor | None
    indices: tuple[int, ...]

    def to(self, device: torch.device) -> Batch:
        """This batch with every tensor on ``device``."""
        return Batch(
            self.input_ids.to(device, non_blocking=True),
            self.attention_mask.to(device, non_blocking=True),
            None if self.mask_positions is None else self.mask_positions.to(device),
            None if self.labels is None else self.labels.to(device),
            self.indices,
        )


def collate(
    indices: Sequence[int],
    input_ids: Sequence[Sequence[int]],
    pad_id: int,
    *,
    mask_positions: Sequence[Sequence[int]] | None = None,
    labels: Sequence[int] | None = None,
) -> Batch:
    """Pad the sequences at ``indices`` to the longest of them.

    Args:
        indices: which examples to put in the batch (in this order).
        input_ids: every example's unpadded token ids.
        pad_id: the tokenizer's pad token id.
        mask_positions: every example's mask positions (all the same count), or None.
        labels: every example's class index, or None.

    Returns:
        A :class:`Batch` on the CPU.

    Raises:
        ValueError: empty ``indices``, or examples with different mask counts.
    """
    import torch

    if not indices:
        raise ValueError("cannot collate an empty batch")
    rows = [input_ids[i] for i in indices]
    longest = max(len(r) for r in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), longest), dtype=torch.long)
    for j, row in enumerate(rows):
        ids[j, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        attention[j, : len(row)] = 1
    positions = None
    if mask_positions is not None:
        picked = [list(mask_positions[i]) for i in indices]
        counts = {len(p) for p in picked}
        if len(counts) != 1:
            raise ValueError(f"examples in one batch have different mask counts: {sorted(counts)}")
        positions = torch.as_tensor(picked, dtype=torch.long)
    label_tensor = None
    if labels is not None:
        label_tensor = torch.as_tensor([labels[i] for i in indices], dtype=torch.long)
    return Batch(ids, attention, positions, label_tensor, tuple(int(i) for i in indices))


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Inference batches: indices sorted by length, longest first, cut every ``batch_size``.

    Longest first makes an out-of-memory error happen at once, not at the end.

    Example:
        >>> sorted_batches([3, 9, 1, 5], 2)
        [[1, 3], [0, 2]]
    """
    _check_batch_size(batch_size)
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def grouped_batches(
    lengths: Sequence[int],
    batch_size: int,
    *,
    seed: int,
    epoch: int = 0,
    min_batch: int = 1,
) -> list[list[int]]:
    """Training batches: length-grouped within shuffled buckets, in shuffled order.

    The result depends only on ``(lengths, batch_size, seed, epoch, min_batch)``,
    so every process of a distributed run computes the same global batches.

    Args:
        lengths: every example's token count.
        batch_size: global batch size.
        seed: the run's seed.
        epoch: the epoch (changes the shuffle).
        min_batch: a last batch smaller than this is merged into the previous
            one (distributed runs need at least one example per rank).

    Returns:
        Lists of indices; every index appears exactly once.
    """
    _check_batch_size(batch_size)
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths)).tolist()
    bucket = batch_size * BUCKET_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), bucket):
        chunk = sorted(order[start : start + bucket], key=lambda i: -lengths[i])
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    if len(batches) > 1 and len(batches[-1]) < min_batch:
        last = batches.pop()
        batches[-1] = batches[-1] + last
    perm = rng.permutation(len(batches)).tolist()
    return [batches[p] for p in perm]


def shard(indices: Sequence[int], rank: int, world_size: int) -> list[int]:
    """The part of a global batch that process ``rank`` of ``world_size`` handles.

    Example:
        >>> shard([10, 11, 12, 13, 14], 1, 2)
        [11, 13]
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside 0..{world_size - 1}")
    return list(indices[rank::world_size])


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
