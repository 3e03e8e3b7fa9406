"""FineTuneClassifier: the full fine-tuning baseline, same API as PromptClassifier.

An ``AutoModelForSequenceClassification`` (a fresh classification head on the
given encoder, ``num_labels`` / ``id2label`` / ``label2id`` set) trained with
the same loop, batching and save folder as the prompt classifier.

The backbone may be an encoder (BERT, RoBERTa) or a causal LM (Llama, Gemma,
GPT-2). A causal classifier scores the last token of each text, which Hugging
Face finds as the rightmost token that is not ``config.pad_token_id``; mrekv
right-pads with the tokenizer's pad id, so the classifier sets the former to
the latter (and gives a tokenizer without a pad token its EOS token, the usual
convention). Everything else is one path for both kinds of backbone.

Like PromptClassifier it is a scikit-learn estimator: the constructor stores and
checks its arguments; the tokenizer loads on first use and the model when the
classes are known (``classes=`` or ``fit``), through
:mod:`mrekv.prompt.model_cache`: the freshly initialised model (pretrained weights
and a new head drawn from ``seed``) is cached on the CPU per (model, classes, seed),
and each classifier trains a copy of it. A pickle of a classifier that has not been
trained yet refers to the model by its path; a trained one embeds it.

Example:
    >>> clf = FineTuneClassifier("bert-base-uncased", epochs=3)  # doctest: +SKIP
    >>> clf.fit(texts, labels).score(test_texts, test_labels)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrekv.errors import ConfigError, SaveFormatError
from mrekv.prompt import model_cache, saving
from mrekv.prompt.estimator import BaseClassifier, Inputs, check_texts, ensure_pad_token
from mrekv.prompt.training import seed_everything

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch import nn


def _match_pad_token(model: Any, tokenizer: Any) -> None:
    """Make ``tokenizer`` pad with some token and ``model`` pool past that token.

    Decoder sequence classifiers (``LlamaForSequenceClassification`` and
    kin) take the logits of the last token that is not ``config.pad_token_id``,
    and refuse batches when it is None; encoders only read it when built, so
    setting it afterwards changes nothing for them.

    Raises:
        ConfigError: the tokenizer has neither a pad nor an EOS token.
    """
    ensure_pad_token(tokenizer)
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    text_config.pad_token_id = tokenizer.pad_token_id


def restore_tied_embeddings(model: Any, source: str, missing: set[str]) -> None:
    """Load input embeddings that a tied checkpoint stores only as ``lm_head.weight``.

    A causal LM with tied embeddings may keep the shared matrix under its output name
    (GGUF conversions, some Hub folders); a sequence-classification model has no
    ``lm_head``, so transformers leaves its input embeddings random and says MISSING.
    This copies the stored output matrix in, then warns about any other pretrained
    weight still missing (the new classification head is expected to be).
    """
    import warnings

    embedding = model.get_input_embeddings()
    name = next((n for n, p in model.named_parameters() if p is embedding.weight), None)
    folder = Path(source).expanduser()
    if name in missing and folder.is_dir():
        from safetensors import safe_open

        for path in sorted(folder.glob("*.safetensors")):
            with safe_open(str(path), framework="pt") as f:
                if "lm_head.weight" in f.keys():  # noqa: SIM118 - safe_open has no __contains__
                    tensor = f.get_tensor("lm_head.weight")
                    if tuple(tensor.shape) == tuple(embedding.weight.shape):
                        import torch

                        with torch.no_grad():
                            embedding.weight.copy_(tensor.to(embedding.weight.dtype))
                        missing = missing - {name}
                    break
    head = {n for n, _ in model.named_parameters()
            if n.split(".")[0] in ("score", "classifier", "classification_head")}
    left = sorted(missing - head)
    if left:
        warnings.warn(f"{source}: pretrained weights missing from the checkpoint (randomly "
                      f"initialised): {left[:10]}{' ...' if len(left) > 10 else ''} "
                      f"({len(left)} in all)", stacklevel=3)


def _sequence_module(model: Any) -> Any:
    """Wrap a sequence classifier so forward has the shared (ids, mask, positions) shape."""
    return _module_class()(model)


def __getattr__(name: str) -> Any:
    """``SequenceModule``, built on first access (PEP 562): pickles find it here."""
    if name == "SequenceModule":
        return _module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _module_class() -> type:
    from torch import nn

    class SequenceModule(nn.Module):
        """A sequence classifier with the shared ``(ids, mask, positions)`` forward."""

        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.model = inner

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, _positions: Any = None
        ) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    SequenceModule.__qualname__ = "SequenceModule"  # pickles look it up as finetune.SequenceModule
    return SequenceModule


class FineTuneClassifier(BaseClassifier):
    """Full fine-tuning baseline on ``AutoModelForSequenceClassification``.

    Args:
        model: Hub id or folder of a pretrained encoder or causal LM (an MLM or
            causal-LM checkpoint is fine: a new head is initialised from
            ``seed``), or a loaded sequence-classification model (then pass
            ``tokenizer`` and ``classes``; it is trained as it is). Its
            ``config.pad_token_id`` is set to the tokenizer's pad id (see the module
            docstring).
        tokenizer: the tokenizer (loaded from ``model`` when it is a path); one
            without a pad token gets its EOS token as pad token.
        classes: class labels; default: the sorted labels seen by ``fit``.
        learning_rate: AdamW rate of the encoder.
        head_learning_rate: AdamW rate of the classification head (default: ``learning_rate``).
        epochs, max_steps, batch_size, eval_batch_size: see
            :class:`~mrekv.prompt.training.TrainingArgs`.
        max_length, warmup_ratio, weight_decay, max_grad_norm, seed: likewise.
        device: default CUDA when available, else CPU.
        trust_remote_code: allow custom model code when loading by name.
        progress: show progress bars.

    Attributes:
        classes_: the class labels (a numpy array), in score order.
        history_: per-epoch training loss and dev accuracy of the last ``fit``.

    ``fit`` fine-tunes the whole model; ``save_pretrained`` writes the model,
    the tokenizer and ``mrekv_config.json`` (kind ``"finetune"``).
    """

    kind = "finetune"
    not_ready_message = "this FineTuneClassifier has no classes yet: pass classes= or call fit"

    def __init__(
        self,
        model: Any = "bert-base-uncased",
        *,
        tokenizer: Any = None,
        classes: Sequence[Any] | None = None,
        learning_rate: float = 2e-5,
        head_learning_rate: float | None = None,
        epochs: int = 10,
        max_steps: int | None = None,
        batch_size: int = 8,
        eval_batch_size: int = 32,
        max_length: int = 128,
        warmup_ratio: float = 0.0,
        weight_decay: float = 0.01,
        max_grad_norm: float = 1.0,
        seed: int = 42,
        device: Any = None,
        trust_remote_code: bool = False,
        progress: bool = True,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.classes = classes
        self.learning_rate = learning_rate
        self.head_learning_rate = head_learning_rate
        self.epochs = epochs
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.max_length = max_length
        self.warmup_ratio = warmup_ratio
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.seed = seed
        self.device = device
        self.trust_remote_code = trust_remote_code
        self.progress = progress
        self._check_params()  # fail fast on a bad argument; nothing is loaded or set

    def _check_params(self) -> None:
        """Check the parameters without loading anything.

        Raises:
            ConfigError: a bad training argument, duplicate or empty classes, or a
                loaded model object without ``tokenizer`` and ``classes``.
            ModelUnavailableError: a model path that does not exist.
        """
        self.args  # noqa: B018 - TrainingArgs checks the training arguments
        if self.classes is not None:
            names = [str(c) for c in self.classes]
            if len(set(names)) != len(names) or not names:
                raise ConfigError(f"classes must be distinct and non-empty, got {list(names)}")
        if isinstance(self.model, (str, Path)):
            model_cache.check_local_reference(self.model)  # a Hub id is checked on load
        elif self.tokenizer is None or self.classes is None:
            raise ConfigError("pass tokenizer= and classes= together with a loaded model object")

    def _param_classes(self) -> list[Any] | None:
        return None if self.classes is None else list(self.classes)

    def _load(self) -> None:
        from mrekv.models import load_tokenizer, local_model_name, resolve_device

        self._check_params()
        tokenizer = self.tokenizer
        source: Any = self.model
        if isinstance(self.model, (str, Path)):
            # a .gguf file is read from its converted folder (converted once, cached)
            source = local_model_name(self.model)
            if tokenizer is None:
                key = model_cache.LoadKey(model_cache.model_reference(source), "tokenizer",
                                          trust_remote_code=bool(self.trust_remote_code))
                tokenizer = model_cache.cached(key, lambda: load_tokenizer(
                    source, trust_remote_code=self.trust_remote_code))
        self.__dict__.update(
            _device=resolve_device(self.device), _tokenizer=tokenizer, _source=source,
            _module=None, _classes=None, _lm_key=None, _lm_trained=False,
        )
        restore = self.__dict__.pop("_restore", None)
        names = restore or self._class_names_given()
        if names is not None:
            self._set_classes(names)

    def _class_names_given(self) -> tuple[str, ...] | None:
        return None if self.classes is None else tuple(str(c) for c in self.classes)

    def _set_classes(self, classes: tuple[str, ...]) -> None:
        if len(set(classes)) != len(classes) or not classes:
            raise ConfigError(f"classes must be distinct and non-empty, got {list(classes)}")
        key = None
        if isinstance(self._source, (str, Path)):
            key = model_cache.LoadKey(model_cache.model_reference(self._source),
                                      "sequence-classification",
                                      trust_remote_code=bool(self.trust_remote_code),
                                      labels=classes, seed=int(self.seed))
            pristine = model_cache.cached(key, lambda: self._load_sequence_model(classes))
            model = copy.deepcopy(pristine)  # the cache keeps the untrained one
            seed_everything(self.seed)  # training starts from the seed, not from the head's draws
        else:
            model = self._source
            if model.config.num_labels != len(classes):
                raise ConfigError(
                    f"the model has {model.config.num_labels} labels but {len(classes)} classes "
                    f"were given: {list(classes)}"
                )
        _match_pad_token(model, self._tokenizer)
        self._module = _sequence_module(model).to(self._device)
        self._classes = classes
        self._lm_key = key

    def _load_sequence_model(self, classes: tuple[str, ...]) -> Any:
        """A sequence classifier on the pretrained weights, with a new head drawn from ``seed``."""
        from transformers import AutoModelForSequenceClassification

        from mrekv.models import hub_load

        seed_everything(self.seed)  # the new head's initialisation
        model, info = hub_load(
            str(self._source),
            "model",
            AutoModelForSequenceClassification.from_pretrained,
            num_labels=len(classes),
            id2label=dict(enumerate(classes)),
            label2id={c: i for i, c in enumerate(classes)},
            trust_remote_code=self.trust_remote_code,
            output_loading_info=True,
        )
        restore_tied_embeddings(model, str(self._source), set(info["missing_keys"]))
        return model.eval()

    def _restore_state(self) -> Any:
        return self.__dict__.get("_classes")

    @property
    def model_(self) -> Any:
        """The sequence-classification model (after set-up)."""
        self._check_ready()
        return self._module.model

    def _head(self) -> nn.Module | None:
        import torch

        model = self.module_.model
        head = getattr(model, "classifier", None)
        if not isinstance(head, torch.nn.Module):
            head = getattr(model, "score", None)
        return head if isinstance(head, torch.nn.Module) else None

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        texts = check_texts(texts)
        out = self.tokenizer_(texts, truncation=True, max_length=self.args.max_length)
        return [list(ids) for ids in out["input_ids"]]

    def _ids_positions(self, encoded: list[list[int]]) -> Inputs:
        return encoded, None

    @classmethod
    def _from_saved(
        cls, folder: Path, config: dict[str, Any], config_path: Path, options: dict[str, Any]
    ) -> FineTuneClassifier:
        from transformers import AutoModelForSequenceClassification

        tokenizer, model = saving.load_saved_model(folder, AutoModelForSequenceClassification)
        if model.config.num_labels != len(config["classes"]):
            raise SaveFormatError(
                f"{config_path}: {len(config['classes'])} classes but the model in "
                f"{folder / 'config.json'} has {model.config.num_labels} labels"
            )
        id2label = getattr(model.config, "id2label", None) or {}
        labels = [str(id2label.get(i, id2label.get(str(i)))) for i in range(len(id2label))]
        if labels != list(config["classes"]):
            # the head's rows are in id2label's order: another order swaps every label
            raise SaveFormatError(
                f"{config_path}: 'classes' {config['classes']} do not match the model's labels "
                f"{labels} (id2label in {folder / 'config.json'}); the head's rows would be "
                "read as the wrong classes"
            )
        return cls(model.eval(), tokenizer=tokenizer, classes=config["classes"], **options)
