"""OpenPrompt's ``openprompt.data_utils.data_processor``: the base class of the dataset readers.

A processor knows a dataset's class names (``labels``, in class-index order)
and reads one split of it from a folder: ``get_examples(data_dir, split)``,
with ``get_train_examples`` / ``get_dev_examples`` / ``get_test_examples`` /
``get_unlabeled_examples`` for the splits ``"train"``, ``"dev"``, ``"test"`` and
``"unlabeled"``. The readers of this package never reach the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mrekv.errors import ConfigError
from mrekv.openprompt.data_utils.utils import InputExample

__all__ = ["DataProcessor"]


class DataProcessor:
    """Base class of OpenPrompt's dataset processors.

    Args:
        labels: the class names, in class-index order.
        labels_path: a text file of class names separated by white space (read
            when ``labels`` is None).

    Raises:
        FileNotFoundError: ``labels_path`` does not exist.

    Example:
        >>> DataProcessor(labels=["negative", "positive"]).label_mapping
        {'negative': 0, 'positive': 1}
    """

    def __init__(
        self, labels: Sequence[Any] | None = None, labels_path: str | Path | None = None
    ) -> None:
        if labels is not None:
            self.labels = list(labels)
        elif labels_path is not None:
            self.labels = Path(labels_path).read_text(encoding="utf-8").split()

    @property
    def labels(self) -> list[Any]:
        """The class names, in class-index order.

        Raises:
            ConfigError: no labels were set.
        """
        self._require_labels()
        return self._labels

    @labels.setter
    def labels(self, labels: Sequence[Any]) -> None:
        self._labels = list(labels)
        self._label_mapping = {name: i for i, name in enumerate(self._labels)}

    @property
    def label_mapping(self) -> dict[Any, int]:
        """Class name -> class index."""
        self._require_labels()
        return self._label_mapping

    @label_mapping.setter
    def label_mapping(self, mapping: Mapping[Any, int]) -> None:
        self._labels = [name for name, _ in sorted(mapping.items(), key=lambda item: item[1])]
        self._label_mapping = dict(mapping)

    def _require_labels(self) -> None:
        if not hasattr(self, "_labels"):
            raise ConfigError(f"{type(self).__name__} has no labels (set labels or label_mapping)")

    @property
    def id2label(self) -> dict[int, Any]:
        """Class index -> class name."""
        return dict(enumerate(self.labels))

    def get_label_id(self, label: Any) -> int | None:
        """The class index of the class name ``label`` (None for None).

        Raises:
            ConfigError: ``label`` is not one of the class names.
        """
        if label is None:
            return None
        try:
            return self.label_mapping[label]
        except KeyError:
            raise ConfigError(
                f"unknown label {label!r}; valid choices: {', '.join(map(repr, self.labels))}"
            ) from None

    def get_labels(self) -> list[Any]:
        """The class names (same as :attr:`labels`)."""
        return self.labels

    def get_num_labels(self) -> int:
        """The number of classes."""
        return len(self.labels)

    def get_train_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        """``get_examples(data_dir, "train")``."""
        return self.get_examples(data_dir, "train")

    def get_dev_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        """``get_examples(data_dir, "dev")``."""
        return self.get_examples(data_dir, "dev")

    def get_test_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        """``get_examples(data_dir, "test")``."""
        return self.get_examples(data_dir, "test")

    def get_unlabeled_examples(self, data_dir: str | Path | None = None) -> list[InputExample]:
        """``get_examples(data_dir, "unlabeled")``."""
        return self.get_examples(data_dir, "unlabeled")

    def get_examples(
        self, data_dir: str | Path | None = None, split: str | None = None
    ) -> list[InputExample]:
        """The examples of ``split`` in the folder ``data_dir`` (each processor reads its layout).

        Raises:
            NotImplementedError: the base class reads nothing.
        """
        raise NotImplementedError(f"{type(self).__name__} does not read any dataset files")
