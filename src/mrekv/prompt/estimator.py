"""The scikit-learn estimator plumbing shared by PromptClassifier and FineTuneClassifier.

Both classifiers follow scikit-learn's contract (``sklearn.base.BaseEstimator`` +
``ClassifierMixin``): ``__init__`` stores each argument under its own name and
checks it without loading anything (no attribute is set), so ``get_params`` /
``set_params`` / ``clone`` / ``Pipeline`` / ``cross_val_score`` / ``GridSearchCV``
work. What the parameters name is loaded on first use (``fit``, ``predict``... or
reading ``model_`` / ``tokenizer_`` / ``module_``) through the process-wide
:mod:`mrekv.prompt.model_cache`, so that refitting clones reloads nothing.

Both are then one ``nn.Module`` (``module_``) whose forward maps ``(input_ids,
attention_mask, positions)`` to class log-scores of shape ``(batch, num_classes)``,
a tokenizer, a device and one :class:`~mrekv.prompt.training.TrainingArgs` built
from the parameters. :class:`BaseClassifier` holds everything that does not depend
on what the module is: input and label checks, ``fit`` through the shared training
loop, ``predict_proba`` / ``predict`` / ``score``, the label values, pickling and
the saved-folder plumbing. A subclass fills in:

* ``_check_params()``: validate the parameters (called by ``__init__`` and on load);
* ``_load()``: set up what the parameters name (the lazy part);
* ``_encode(texts)``: the tokenized texts, and ``_ids_positions(encoded)``: their
  token ids and read positions (None when the module reads none);
* ``_set_classes(classes)``: build the module when ``fit`` brings the classes;
* ``_param_classes()``: the class values the parameters name, if any;
* ``_head()``: the parameters trained at ``head_learning_rate``;
* ``_config_extra()``, ``_extra_tensors()``, ``_from_saved(...)``: its own parts
  of the saved folder (see :mod:`mrekv.prompt.saving`);
* ``_restore_state()``: what a pickle keeps of a module whose LM it reloads.

Labels keep their type: ``classes_`` is a :class:`LabelArray` of the values given
to ``fit`` (ints stay ints) and ``predict`` returns them; saved folders record the
values beside the class names (:data:`LABELS_FILE`).

Pickling (``pickle``, ``joblib``) keeps the parameters and the learned state. An LM
the cache loaded and nothing trained is kept by reference (its path or Hub id, the
backbone, the device) and is fetched from the cache again on first use after
unpickling; an LM the classifier trained (``train_mode="full"``, fine-tuning) or
was given as a loaded object is embedded in the pickle.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from mrekv.errors import ConfigError, SaveFormatError
from mrekv.prompt import saving
from mrekv.prompt.batching import collate
from mrekv.prompt.labels import (
    LabelArray,
    _check_single_labels,
    _plain,
    check_texts,
    sorted_classes,
)
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
#: The file of a saved folder that records label values other than their names (ints...).
LABELS_FILE = "label_values.json"
#: Parameters that change how the classifier runs, not what it learned.
_RUNTIME_PARAMS = frozenset({"progress", "eval_batch_size"})
#: What ``_load`` sets that a pickle leaves out when the LM comes from the cache.
_LOADED = ("_loaded", "_device", "_model", "_tokenizer", "_module", "_classes", "_backbone",
           "_template", "_source", "_lm_key", "_lm_shared", "_lm_trained")


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


class BaseClassifier(ClassifierMixin, BaseEstimator):
    """Base of the scikit-learn classifiers; not used on its own.

    Attributes:
        classes_: the class labels (:class:`LabelArray`), in score order.
        history_: per-epoch training loss and dev accuracy of the last ``fit``.
    """

    #: the ``kind`` written in ``mrekv_config.json``.
    kind: ClassVar[saving.Kind]
    #: the constructor keyword that sets ``TrainingArgs.head_learning_rate``.
    head_rate_keyword: ClassVar[str] = "head_learning_rate"
    #: the ConfigError message of a classifier used before it has classes.
    not_ready_message: ClassVar[str]

    # set by the subclass constructor (the parameters the shared code reads)
    seed: int
    device: Any
    progress: bool
    # set on load
    _device: Any
    _model: Any
    _module: Any
    _classes: tuple[str, ...] | None
    _tokenizer: Any

    # -- parameters ---------------------------------------------------------------------

    @property
    def args(self) -> TrainingArgs:
        """The :class:`~mrekv.prompt.training.TrainingArgs` of the parameters (saved with
        the model); building it validates them."""
        values = {f.name: getattr(self, f.name) for f in fields(TrainingArgs)
                  if f.name != "head_learning_rate"}
        head = getattr(self, self.head_rate_keyword)
        return TrainingArgs(
            **values, head_learning_rate=values["learning_rate"] if head is None else head
        )

    @classmethod
    def _keyword_arguments(cls, args: TrainingArgs) -> dict[str, Any]:
        """Constructor keywords from saved training arguments."""
        kwargs = args.to_config()
        kwargs[cls.head_rate_keyword] = kwargs.pop("head_learning_rate")
        return kwargs

    def set_params(self, **params: Any) -> Self:
        """Set parameters (scikit-learn's); return self.

        A change to any parameter but ``progress`` / ``eval_batch_size`` drops what
        was loaded, fitted or calibrated: the next use sets up from the new values.
        """
        changed = any(k not in _RUNTIME_PARAMS and getattr(self, k, None) is not v
                      for k, v in params.items())
        super().set_params(**params)
        if changed:
            keep = set(self._get_param_names())
            for name in [n for n in vars(self) if n not in keep]:
                del self.__dict__[name]
        return self

    def __sklearn_tags__(self) -> Any:
        """Tags of scikit-learn >= 1.6: input is a sequence of str, labels are required."""
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # texts: a sequence of str
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        """Whether the classes are known (from ``fit``, or from the parameters)."""
        return self._class_names() is not None

    # -- what a subclass fills in ------------------------------------------------------

    def _check_params(self) -> Any:
        raise NotImplementedError

    def _load(self) -> None:
        raise NotImplementedError

    def _param_classes(self) -> list[Any] | None:
        return None

    def _extra_json(self) -> dict[str, Any]:
        """File name -> JSON data written into the saved folder: the label values, when
        they are not their names (subclasses add theirs)."""
        names = self._classes or ()
        values = self._label_values(names)
        if [str(v) for v in values] == list(values) or not all(
                isinstance(v, (str, int, float, bool)) for v in values):
            return {}  # strings (the config has them), or values JSON cannot keep
        return {LABELS_FILE: {"classes": values}}

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

    def _restore_state(self) -> Any:
        return None

    def _own_lm(self) -> None:
        """Called before the shared loop trains the LM: its weights become this classifier's."""
        self._lm_trained = True

    @classmethod
    def _from_saved(
        cls, folder: Path, config: dict[str, Any], config_path: Path, options: dict[str, Any]
    ) -> Self:
        raise NotImplementedError

    # -- set-up (lazy) ------------------------------------------------------------------

    def _setup(self) -> None:
        """Load what the parameters name, once (through the model cache)."""
        if not self.__dict__.get("_loaded", False):
            self._load()
            self._loaded = True

    @property
    def module_(self) -> Any:
        """The ``nn.Module`` mapping ``(ids, mask, positions)`` to class log-scores (None
        before the classes are known)."""
        self._setup()
        return self._module

    @property
    def tokenizer_(self) -> Any:
        """The tokenizer (loaded from ``model`` unless ``tokenizer`` was given)."""
        self._setup()
        return self._tokenizer

    @property
    def device_(self) -> torch.device:
        """The device the module runs on."""
        from mrekv.models import resolve_device

        device = self.__dict__.get("_device")
        return device if device is not None else resolve_device(self.device)

    @property
    def classes_(self) -> LabelArray:
        """The class labels in score order, of the type given to ``fit`` (ints stay ints)."""
        names = self._class_names()
        if names is None:
            raise AttributeError(f"{type(self).__name__} has no classes_ yet: "
                                 f"{self.not_ready_message}")
        return LabelArray(self._label_values(names))

    def _class_names(self) -> tuple[str, ...] | None:
        """The class names (strings) in score order, without loading when not loaded yet."""
        if self.__dict__.get("_loaded", False):
            return self._classes
        values = self._param_classes()
        return None if values is None else tuple(str(v) for v in values)

    def _label_values(self, names: Sequence[str]) -> list[Any]:
        """The label value of each class name: seen by ``fit``, saved, or named by a parameter."""
        given = {str(v): _plain(v) for v in (self._param_classes() or ())}
        given.update(self.__dict__.get("_values", {}))
        return [given.get(n, n) for n in names]

    def _check_ready(self) -> None:
        self._setup()
        if self._module is None:
            raise ConfigError(self.not_ready_message)

    # -- pickling -----------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()  # type: ignore[misc]
        reloadable = (state.get("_loaded") and state.get("_lm_key") is not None
                      and not state.get("_lm_trained"))
        if reloadable:  # the cache's pristine LM: kept by reference, fetched again on use
            restore = self._restore_state()
            state = {k: v for k, v in state.items() if k not in _LOADED}
            if restore is not None:
                state["_restore"] = restore
        return state

    # -- fit / predict ------------------------------------------------------------------

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
        labels: Sequence[Any],
        dev_texts: Sequence[str] | None = None,
        dev_labels: Sequence[Any] | None = None,
    ) -> Self:
        """Train on labelled texts (what is trained: see the class); return self.

        Loads the model on first use (through the cache). Continues from the current
        state (a ``calibrate`` before ``fit`` is kept). Without classes so far, they
        are the sorted labels seen here, of their own type (ints stay ints). With
        dev data, the state with the best dev accuracy (the untrained state
        included) is restored at the end.

        Args:
            texts: training texts.
            labels: their classes (strings, ints...).
            dev_texts, dev_labels: optional development set.

        Returns:
            self.

        Raises:
            TypeError: a text is not a string (its index named).
            ValueError: lengths differ, or labels are not among the classes.
        """
        texts = check_texts(texts, "texts")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        _check_single_labels(labels, "labels")
        if dev_labels is not None:
            _check_single_labels(dev_labels, "dev_labels")
        if (dev_texts is None) != (dev_labels is None):
            raise ValueError("pass both dev_texts and dev_labels, or neither")
        if dev_texts is not None:
            dev_texts = check_texts(dev_texts, "dev_texts")
        self._setup()
        seed_everything(self.seed)
        if self._module is None:
            self._set_classes(sorted_classes(labels))
        names = self._classes or ()
        y = label_indices(labels, names)
        dev = None
        if dev_texts is not None and dev_labels is not None:
            if len(dev_texts) != len(dev_labels):
                raise ValueError(f"{len(dev_texts)} dev texts but {len(dev_labels)} dev labels")
            dev = (dev_texts, label_indices(dev_labels, names))
        self._values = {**self.__dict__.get("_values", {}),
                        **{str(v): _plain(v) for v in labels}}
        self.history_ = self._train(texts, y, dev)
        return self

    def _train(
        self, texts: Sequence[str], y: list[int], dev: tuple[Sequence[str], list[int]] | None
    ) -> list[dict[str, Any]]:
        """Train ``module_`` with the shared loop; return the history."""
        self._own_lm()
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

    @property
    def model_(self) -> Any:
        raise NotImplementedError

    def _dev_evaluator(self, dev: tuple[Sequence[str], list[int]]) -> Callable[[], float]:
        """The dev score the loop keeps the best state by (here: accuracy, higher is better)."""
        dev_encoded = self._encode(dev[0])
        dev_y = np.asarray(dev[1])

        def evaluate() -> float:
            return float((self._scores(dev_encoded).argmax(-1).numpy() == dev_y).mean())

        return evaluate

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), rows summing to 1, columns in
        ``classes_`` order.

        Raises:
            TypeError: a text is not a string (its index named).
        """
        import torch

        texts = check_texts(texts)
        self._check_ready()
        scores = self._scores(self._encode(texts))
        return torch.softmax(scores.double(), dim=-1).numpy()

    def predict(self, texts: Sequence[str]) -> list[Any]:
        """The most probable class of each text: a list of ``classes_`` values."""
        values = self.classes_.tolist() if self._class_names() is not None else []
        return [values[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def score(self, texts: Sequence[str], labels: Sequence[Any],
              sample_weight: Sequence[float] | None = None) -> float:
        """Accuracy on ``texts`` against ``labels`` (a label outside the classes counts wrong).

        Raises:
            ValueError: no texts, or as many labels as texts.
        """
        from sklearn.metrics import accuracy_score

        proba = self.predict_proba(texts)
        if len(labels) != len(proba) or not len(labels):
            raise ValueError(f"score needs as many labels as texts, and at least one: got "
                             f"{len(proba)} texts and {len(labels)} labels")
        index = {name: i for i, name in enumerate(self._classes or ())}
        truth = [index.get(str(y), -1) for y in labels]
        return float(accuracy_score(truth, proba.argmax(axis=1), sample_weight=sample_weight))

    # -- saving -------------------------------------------------------------------------

    def save_pretrained(self, path: str | Path) -> None:
        """Write the classifier to folder ``path`` atomically (rank 0 only when distributed).

        The folder holds the transformer (safetensors), the tokenizer and
        ``mrekv_config.json`` (with the ``kind``, class names and training
        arguments), ``label_values.json`` when the labels are not strings, plus
        ``verbalizer.safetensors`` for a prompt classifier; see
        :mod:`mrekv.prompt.saving`.
        """
        from mrekv.models import save_model_weights

        self._check_ready()
        if not is_main_process():
            return
        config = saving.build_config(
            self.kind, self._classes or (), self.args.to_config(), **self._config_extra()
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
        clf = cls._from_saved(folder, config, config_path, options)
        clf._read_label_values(folder, list(config["classes"]))
        return clf

    def _read_label_values(self, folder: Path, names: list[str]) -> None:
        """Restore the label values saved beside the class names (folders without the file,
        older ones included, keep their string names)."""
        path = folder / LABELS_FILE
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SaveFormatError(f"{path}: not valid JSON ({exc})") from exc
        values = data.get("classes") if isinstance(data, dict) else None
        if not isinstance(values, list) or [str(v) for v in values] != names:
            raise SaveFormatError(f"{path}: 'classes' must list a value for each class name "
                                  f"{names} (its string), got {values!r}")
        self._values = dict(zip(names, values, strict=True))
