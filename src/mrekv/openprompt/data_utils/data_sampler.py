"""OpenPrompt's ``openprompt.data_utils.data_sampler``: :class:`FewShotSampler`.

The draws are OpenPrompt's, so a seed picks the same examples under both:
each call with a seed starts ``numpy.random.RandomState(seed)``;

* ``num_examples_total = k``: shuffle the indices, keep the first ``k``;
* ``num_examples_per_label = k``: group the indices by label (labels in order of
  first appearance), shuffle each group and keep its first ``k`` (all of a
  smaller group), then shuffle the kept indices together.

With ``also_sample_dev`` and no ``valid_dataset``, a dev set is drawn the same
way from the examples left over, continuing the same random stream. Without a
seed, every call draws from fresh entropy (OpenPrompt creates an unseeded
``RandomState``), so :func:`~mrekv.openprompt.utils.reproduciblity.set_seed`
does not fix it: pass ``seed=``.

Differences from OpenPrompt: a ``valid_dataset`` is sampled with the ``*_dev``
sizes (OpenPrompt uses the training sizes there, a known TODO; the two agree
when the dev sizes are left to default), sizes are checked when the sampler is
built, and an example without a ``label`` raises
:class:`~mrekv.errors.ConfigError` naming its index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mrekv.errors import ConfigError

__all__ = ["FewShotSampler"]


def _count(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError(f"{name} must be a non-negative integer or None, got {value!r}")
    return value


class FewShotSampler:
    """Draw a few-shot training set (and optionally a dev set), as OpenPrompt's sampler.

    Args:
        num_examples_total: strategy I, this many examples in all.
        num_examples_per_label: strategy II, this many examples of each label.
        also_sample_dev: also draw a dev set (from the remaining training
            examples, or from ``valid_dataset`` when it is given).
        num_examples_total_dev: strategy I for the dev set.
        num_examples_per_label_dev: strategy II for the dev set. With neither dev
            size, the dev set uses the training sizes.

    Raises:
        ConfigError: neither or both of the training sizes, both dev sizes, or a
            size that is not a non-negative integer (OpenPrompt raises ValueError
            for the first two; ConfigError is a ValueError).

    Example:
        >>> from mrekv.openprompt.data_utils import InputExample
        >>> data = [InputExample(guid=i, text_a=f"text {i}", label=i % 2) for i in range(10)]
        >>> sampler = FewShotSampler(num_examples_per_label=2, also_sample_dev=True)
        >>> train, dev = sampler(data, seed=1)
        >>> len(train), len(dev), sorted(e.label for e in train)
        (4, 4, [0, 0, 1, 1])
    """

    def __init__(
        self,
        num_examples_total: int | None = None,
        num_examples_per_label: int | None = None,
        also_sample_dev: bool = False,
        num_examples_total_dev: int | None = None,
        num_examples_per_label_dev: int | None = None,
    ) -> None:
        if (num_examples_total is None) == (num_examples_per_label is None):
            raise ConfigError(
                "give exactly one of num_examples_total and num_examples_per_label, got "
                f"num_examples_total={num_examples_total!r}, "
                f"num_examples_per_label={num_examples_per_label!r}"
            )
        if (
            also_sample_dev
            and num_examples_total_dev is not None
            and (num_examples_per_label_dev is not None)
        ):
            raise ConfigError(
                "give at most one of num_examples_total_dev and num_examples_per_label_dev"
            )
        self.num_examples_total = _count("num_examples_total", num_examples_total)
        self.num_examples_per_label = _count("num_examples_per_label", num_examples_per_label)
        self.also_sample_dev = bool(also_sample_dev)
        self.rng: Any = None  # the numpy RandomState of the current draw
        self.num_examples_total_dev: int | None = None
        self.num_examples_per_label_dev: int | None = None
        if self.also_sample_dev:
            total_dev = _count("num_examples_total_dev", num_examples_total_dev)
            per_label_dev = _count("num_examples_per_label_dev", num_examples_per_label_dev)
            if total_dev is None and per_label_dev is None:
                total_dev, per_label_dev = self.num_examples_total, self.num_examples_per_label
            self.num_examples_total_dev = total_dev
            self.num_examples_per_label_dev = per_label_dev

    def __call__(
        self,
        train_dataset: Sequence[Any],
        valid_dataset: Sequence[Any] | None = None,
        seed: int | None = None,
    ) -> Any:
        """Sample the training set (and a dev set).

        Args:
            train_dataset: a list of examples (or a ``torch`` ``Dataset``).
            valid_dataset: a dev set to sample from instead of the training leftovers.
            seed: the seed of this draw (None: fresh entropy).

        Returns:
            The sampled training examples; with ``also_sample_dev`` and no
            ``valid_dataset``, ``(train, dev)``; with a ``valid_dataset``,
            ``(train, valid)`` (``valid`` sampled only with ``also_sample_dev``).
            Lists come back as lists (of the same example objects), a ``torch``
            ``Dataset`` as a ``Subset``.

        Raises:
            ConfigError: sampling by label and an example has no ``label``.
        """
        if valid_dataset is None:
            if self.also_sample_dev:
                return self._sample(train_dataset, seed, with_dev=True)
            return self._sample(train_dataset, seed)
        train = self._sample(train_dataset, seed)
        if self.also_sample_dev:
            valid_dataset = self._sample(valid_dataset, seed, dev_sizes=True)
        return train, valid_dataset

    # ------------------------------------------------------------------ the draws

    def _sample(
        self,
        data: Sequence[Any],
        seed: int | None,
        with_dev: bool = False,
        dev_sizes: bool = False,
    ) -> Any:
        import numpy as np

        self.rng = np.random.RandomState(seed) if seed is not None else np.random.RandomState()
        total, per_label = (
            (self.num_examples_total_dev, self.num_examples_per_label_dev)
            if dev_sizes
            else (self.num_examples_total, self.num_examples_per_label)
        )
        indices = list(range(len(data)))
        dev_by_label = with_dev and self.num_examples_per_label_dev is not None
        by_label = per_label is not None or dev_by_label
        labels = self._labels(data) if by_label else []
        if per_label is not None:
            chosen = self.sample_per_label(indices, labels, per_label)
        else:
            chosen = self.sample_total(indices, total)
        if not with_dev:
            return _subset(data, chosen)
        taken = set(chosen)
        rest = [i for i in range(len(data)) if i not in taken]
        if self.num_examples_per_label_dev is not None:
            dev = self.sample_per_label(
                rest, [labels[i] for i in rest], self.num_examples_per_label_dev
            )
        else:
            dev = self.sample_total(rest, self.num_examples_total_dev)
        return _subset(data, chosen), _subset(data, dev)

    @staticmethod
    def _labels(data: Sequence[Any]) -> list[Any]:
        labels = []
        for i in range(len(data)):
            example = data[i]
            if not hasattr(example, "label"):
                raise ConfigError(
                    f"example {i} ({type(example).__name__}) has no label; sampling by label "
                    "needs examples with a label attribute (InputExample.label)"
                )
            labels.append(example.label)
        return labels

    def sample_total(self, indices: list[int], num_examples_total: int | None) -> list[int]:
        """Strategy I: the first ``num_examples_total`` of ``indices`` after shuffling them.

        ``indices`` is shuffled in place with ``self.rng`` (the draw's ``RandomState``).
        """
        self.rng.shuffle(indices)
        return indices[:num_examples_total]

    def sample_per_label(
        self, indices: list[int], labels: Sequence[Any], num_examples_per_label: int
    ) -> list[int]:
        """Strategy II: up to ``num_examples_per_label`` indices of each label, shuffled.

        Args:
            indices: the candidate indices.
            labels: the label of each candidate (parallel to ``indices``).
            num_examples_per_label: how many of each label.
        """
        import numpy as np

        groups: dict[Any, list[int]] = {}
        for index, label in zip(indices, labels, strict=True):
            groups.setdefault(label, []).append(index)
        kept: list[int] = []
        for members in groups.values():
            shuffled = np.array(members)
            self.rng.shuffle(shuffled)
            kept.extend(shuffled[:num_examples_per_label].tolist())
        together = np.array(kept, dtype=np.int64)
        self.rng.shuffle(together)
        return [int(i) for i in together.tolist()]


def _subset(data: Sequence[Any], indices: list[int]) -> Any:
    from torch.utils.data import Dataset, Subset

    if isinstance(data, Dataset):
        return Subset(data, indices)
    return [data[i] for i in indices]
