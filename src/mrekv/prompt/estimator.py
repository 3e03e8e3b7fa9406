"""The estimator plumbing shared by PromptClassifier and FineTuneClassifier.

Both classifiers are one ``nn.Module`` (``module_``) whose forward maps
``(input_ids, attention_mask, positions)`` to class log-scores of shape
``(batch, num_classes)``, a tokenizer, a device and one
:class:`~mrekv.prompt.training.TrainingArgs` built from the constructor's
keyword arguments. :class:`BaseClassifier` holds everything that does not
depend on what the module is: the argument set, label and dev-data checks,
``fit`` through the shared training loop, ``predict_proba`` / ``predict`` /
``score``, and the saved-folder plumbing. A subclass fills in:

* ``_encode(texts)``: the tokenized texts, and ``_ids_positions(encoded)``: their
  token ids and read positions (None when the module reads none);
* ``_set_classes(classes)``: build the module when ``fit`` brings the classes
  (called after seeding);
* ``_head()``: the parameters trained at ``head_learning_rate``;
* ``_config_extra()``, ``_extra_tensors()``, ``_from_saved(...)``: its own
  parts of the saved folder (see :mod:`mrekv.prompt.saving`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from mrekv.errors import ConfigError
from mrekv.prompt import saving
from mrekv.prompt.batching import collate
from mrekv.prompt.training import (
    TrainingArgs,
    is_main_process,
    label_indices,
    param_groups,
    predict_scores,
    seed_everything,
    train,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn

#: Token ids of each text, and the positions the module reads (None: it reads none).
Inputs = tuple[list[list[int]], list[list[int]] | None]


def ensure_pad_token(tokenizer: Any) -> None:
    """Give a tokenizer without a pad token its EOS token as pad token (GPT-2 style).

    Raises:
        ConfigError: the tokenizer has neither a pad nor an EOS token.
    """
    if tokenizer.pad_token_id is not None:
        return
    if tokenizer.eos_token is None:
        raise ConfigError(
            f"the tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has neither a pad "
            "nor an EOS token; set tokenizer.pad_token before building the classifier"
        )
    tokenizer.pad_token = tokenizer.eos_token


class BaseClassifier:
    """Base of the scikit-learn-shaped classifiers; not used on its own.

    Attributes:
        args: the :class:`~mrekv.prompt.training.TrainingArgs` (saved with the model).
        classes_: the class names, in score order.
        history_: per-epoch training loss and dev accuracy of the last ``fit``.
    """

    #: the ``kind`` written in ``mrekv_config.json``.
    kind: ClassVar[saving.Kind]
    #: the constructor keyword that sets ``TrainingArgs.head_learning_rate``.
    head_rate_keyword: ClassVar[str] = "head_learning_rate"
    #: the ConfigError message of a classifier used before it has classes.
    not_ready_message: ClassVar[str]

    #: the transformer and its tokenizer (set by the subclass).
    model_: Any
    tokenizer_: Any

    def __init__(self, arguments: Mapping[str, Any]) -> None:
        """Set the training arguments, the device and the empty learned state.

        Args:
            arguments: the subclass constructor's keyword arguments (its
                ``locals()``): every :class:`TrainingArgs` field by name, the
                head's rate under ``head_rate_keyword`` (None: ``learning_rate``),
                ``device`` and ``progress``.
        """
        from mrekv.models import resolve_device

        self.args = self._training_args(arguments)
        self.seed = self.args.seed
        self.progress: bool = arguments["progress"]
        self.device_ = resolve_device(arguments["device"])
        self.module_: Any = None
        self.classes_: tuple[str, ...] = ()
        self.history_: list[dict[str, Any]] = []

    @classmethod
    def _training_args(cls, arguments: Mapping[str, Any]) -> TrainingArgs:
        values = {f.name: arguments[f.name] for f in fields(TrainingArgs)
                  if f.name != "head_learning_rate"}
        head = arguments[cls.head_rate_keyword]
        return TrainingArgs(
            **values, head_learning_rate=values["learning_rate"] if head is None else head
        )

    @classmethod
    def _keyword_arguments(cls, args: TrainingArgs) -> dict[str, Any]:
        """Inverse of :meth:`_training_args`: constructor keywords from saved arguments."""
        kwargs = args.to_config()
        kwargs[cls.head_rate_keyword] = kwargs.pop("head_learning_rate")
        return kwargs

    # -- what a subclass fills in ------------------------------------------------------

    def _extra_json(self) -> dict[str, Any]:
        """File name -> JSON data written into the saved folder (default: none)."""
        return {}

    def _encode(self, texts: Sequence[str]) -> Any:
        raise NotImplementedError

    def _ids_positions(self, encoded: Any) -> Inputs:
        raise NotImplementedError

    def _set_classes(self, classes: tuple[str, ...]) -> None:
        raise NotImplementedError

    def _head(self) -> nn.Module | None:
        return None

    def _config_extra(self) -> dict[str, Any]:
        return {}

    def _extra_tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        """File name -> tensors saved beside the model."""
        return {}

    @classmethod
    def _from_saved(
        cls, folder: Path, config: dict[str, Any], config_path: Path, options: dict[str, Any]
    ) -> Self:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------

    def _check_ready(self) -> None:
        if self.module_ is None:
            raise ConfigError(self.not_ready_message)

    def _scores(self, encoded: Any) -> torch.Tensor:
        ids, positions = self._ids_positions(encoded)
        return predict_scores(
            self.module_,
            ids,
            mask_positions=positions,
            pad_id=self.tokenizer_.pad_token_id,
            batch_size=self.args.eval_batch_size,
            device=self.device_,
        )

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        dev_texts: Sequence[str] | None = None,
        dev_labels: Sequence[str] | None = None,
    ) -> Self:
        """Train on labelled texts (what is trained: see the class); return self.

        Continues from the current weights. Without classes so far, they are
        the sorted labels seen here. With dev data, the state with the best dev
        accuracy (the untrained state included) is restored at the end.

        Args:
            texts: training texts.
            labels: their class names.
            dev_texts, dev_labels: optional development set.

        Returns:
            self.

        Raises:
            ValueError: lengths differ, or labels are not among the classes.
        """
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        _check_single_labels(labels, "labels")
        if dev_labels is not None:
            _check_single_labels(dev_labels, "dev_labels")
        if (dev_texts is None) != (dev_labels is None):
            raise ValueError("pass both dev_texts and dev_labels, or neither")
        seed_everything(self.seed)
        if self.module_ is None:
            self._set_classes(tuple(sorted({str(y) for y in labels})))
        y = label_indices(labels, self.classes_)
        dev = None
        if dev_texts is not None and dev_labels is not None:
            if len(dev_texts) != len(dev_labels):
                raise ValueError(f"{len(dev_texts)} dev texts but {len(dev_labels)} dev labels")
            dev = (dev_texts, label_indices(dev_labels, self.classes_))
        self.history_ = self._train(texts, y, dev)
        return self

    def _train(
        self, texts: Sequence[str], y: list[int], dev: tuple[Sequence[str], list[int]] | None
    ) -> list[dict[str, Any]]:
        """Train ``module_`` with the shared loop; return the history."""
        ids, positions = self._ids_positions(self._encode(texts))
        evaluate = None if dev is None else self._dev_evaluator(dev)
        return train(
            self.module_,
            param_groups(self.model_, self._head(), self.args),
            lengths=[len(x) for x in ids],
            collate_fn=partial(
                collate,
                input_ids=ids,
                pad_id=self.tokenizer_.pad_token_id,
                mask_positions=positions,
                labels=y,
            ),
            args=self.args,
            device=self.device_,
            evaluate=evaluate,
            progress=self.progress,
        )

    def _dev_evaluator(self, dev: tuple[Sequence[str], list[int]]) -> Callable[[], float]:
        """The dev score the loop keeps the best state by (here: accuracy, higher is better)."""
        dev_encoded = self._encode(dev[0])
        dev_y = np.asarray(dev[1])

        def evaluate() -> float:
            return float((self._scores(dev_encoded).argmax(-1).numpy() == dev_y).mean())

        return evaluate

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), rows summing to 1."""
        import torch

        self._check_ready()
        scores = self._scores(self._encode(texts))
        return torch.softmax(scores.double(), dim=-1).numpy()

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable class of each text."""
        return [self.classes_[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def score(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Accuracy on ``texts`` against ``labels``."""
        from mrekv.metrics import accuracy

        return accuracy([str(y) for y in labels], self.predict(texts))

    # -- saving -------------------------------------------------------------------------

    def save_pretrained(self, path: str | Path) -> None:
        """Write the classifier to folder ``path`` atomically (rank 0 only when distributed).

        The folder holds the transformer (safetensors), the tokenizer and
        ``mrekv_config.json`` (with the ``kind``, classes and training
        arguments), plus ``verbalizer.safetensors`` for a prompt classifier;
        see :mod:`mrekv.prompt.saving`.
        """
        from mrekv.models import save_model_weights

        self._check_ready()
        if not is_main_process():
            return
        config = saving.build_config(
            self.kind, self.classes_, self.args.to_config(), **self._config_extra()
        )
        with saving.atomic_folder(path) as tmp:
            save_model_weights(self.model_, tmp)
            self.tokenizer_.save_pretrained(str(tmp))
            for name, tensors in self._extra_tensors().items():
                saving.save_tensors(tmp / name, tensors)
            for name, data in self._extra_json().items():
                (tmp / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            saving.write_config(tmp, config)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, device: Any = None, progress: bool = True
    ) -> Self:
        """Load a classifier written by :meth:`save_pretrained`.

        Raises:
            SaveFormatError: a file is missing, corrupted or incompatible (named in the message).
        """
        folder = Path(path)
        config, config_path, args = saving.open_saved(folder, cls.kind)
        options = {"device": device, "progress": progress, **cls._keyword_arguments(args)}
        return cls._from_saved(folder, config, config_path, options)


def _check_single_labels(labels: Sequence[Any], name: str) -> None:
    """Refuse multi-label targets and missing labels (never one class per combination)."""
    for i, y in enumerate(labels):
        if y is None:
            raise ValueError(f"{name}[{i}] is None: every text needs a class label")
        if isinstance(y, (list, tuple, set, frozenset, np.ndarray)):
            raise ValueError(
                f"{name}[{i}] is a {type(y).__name__} ({y!r}): multi-label targets are not "
                "supported; give one class per text, or train one classifier per label "
                "(one-vs-rest) with binary labels")
