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

Example:
    >>> clf = FineTuneClassifier("bert-base-uncased", epochs=3)  # doctest: +SKIP
    >>> clf.fit(texts, labels).score(test_texts, test_labels)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mrekv.errors import ConfigError, SaveFormatError
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


def _match_pad_token(model: Any, tokenizer: Any) -> None:
    """Make ``tokenizer`` pad with some token and ``model`` pool past that token.

    Decoder sequence classifiers (``LlamaForSequenceClassification`` and
    kin) take the logits of the last token that is not ``config.pad_token_id``,
    and refuse batches when it is None; encoders only read it when built, so
    setting it afterwards changes nothing for them.

    Raises:
        ConfigError: the tokenizer has neither a pad nor an EOS token.
    """
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token is None:
            raise ConfigError(
                f"the tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has neither a pad "
                "nor an EOS token; set tokenizer.pad_token before building the classifier"
            )
        tokenizer.pad_token = tokenizer.eos_token
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    text_config.pad_token_id = tokenizer.pad_token_id


def _sequence_module(model: Any) -> Any:
    """Wrap a sequence classifier so forward has the shared (ids, mask, positions) shape."""
    from torch import nn

    class SequenceModule(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.model = inner

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, _positions: Any = None
        ) -> torch.Tensor:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    return SequenceModule(model)


class FineTuneClassifier:
    """Full fine-tuning baseline on ``AutoModelForSequenceClassification``.

    Args:
        model: Hub id or folder of a pretrained encoder or causal LM (an MLM or
            causal-LM checkpoint is fine: a new head is initialised from
            ``seed``), or a loaded sequence-classification model (then pass
            ``tokenizer`` and ``classes``). Its ``config.pad_token_id`` is set
            to the tokenizer's pad id (see the module docstring).
        tokenizer: the tokenizer (loaded from ``model`` when it is a path); one
            without a pad token gets its EOS token as pad token.
        classes: class names; default: the sorted labels seen by ``fit``.
        learning_rate: AdamW rate of the encoder.
        head_learning_rate: AdamW rate of the classification head (default: ``learning_rate``).
        epochs, max_steps, batch_size, eval_batch_size, max_length, warmup_ratio,
        weight_decay, max_grad_norm, seed: see :class:`~mrekv.prompt.training.TrainingArgs`.
        device: default CUDA when available, else CPU.
        trust_remote_code: allow custom model code when loading by name.
        progress: show progress bars.

    Attributes:
        classes_: the class names, in score order.
        history_: per-epoch training loss and dev accuracy of the last ``fit``.
    """

    def __init__(
        self,
        model: Any = "bert-base-uncased",
        *,
        tokenizer: Any = None,
        classes: Sequence[str] | None = None,
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
        from mrekv.models import load_tokenizer, resolve_device

        self.args = TrainingArgs(
            learning_rate=learning_rate,
            head_learning_rate=learning_rate if head_learning_rate is None else head_learning_rate,
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            max_length=max_length,
            warmup_ratio=warmup_ratio,
            weight_decay=weight_decay,
            max_grad_norm=max_grad_norm,
            seed=seed,
        )
        self.seed = seed
        self.progress = progress
        self.trust_remote_code = trust_remote_code
        self.device_ = resolve_device(device)
        self.classes_: tuple[str, ...] = ()
        self.history_: list[dict[str, Any]] = []
        self.module_: Any = None
        self._source = model
        if isinstance(model, (str, Path)):
            self.tokenizer_ = tokenizer or load_tokenizer(
                model, trust_remote_code=trust_remote_code
            )
        elif tokenizer is None or classes is None:
            raise ConfigError("pass tokenizer= and classes= together with a loaded model object")
        else:
            self.tokenizer_ = tokenizer
        if classes is not None:
            self._build(tuple(str(c) for c in classes))

    def _build(self, classes: tuple[str, ...]) -> None:
        if len(set(classes)) != len(classes) or not classes:
            raise ConfigError(f"classes must be distinct and non-empty, got {list(classes)}")
        if isinstance(self._source, (str, Path)):
            from transformers import AutoModelForSequenceClassification

            seed_everything(self.seed)  # the new head's initialisation
            model = AutoModelForSequenceClassification.from_pretrained(
                str(self._source),
                num_labels=len(classes),
                id2label=dict(enumerate(classes)),
                label2id={c: i for i, c in enumerate(classes)},
                trust_remote_code=self.trust_remote_code,
            )
        else:
            model = self._source
            if model.config.num_labels != len(classes):
                raise ConfigError(
                    f"the model has {model.config.num_labels} labels but {len(classes)} classes "
                    f"were given: {list(classes)}"
                )
        _match_pad_token(model, self.tokenizer_)
        self.module_ = _sequence_module(model).to(self.device_)
        self.classes_ = classes

    @property
    def model_(self) -> Any:
        """The sequence-classification model (after set-up)."""
        self._check_ready()
        return self.module_.model

    def _check_ready(self) -> None:
        if self.module_ is None:
            raise ConfigError(
                "this FineTuneClassifier has no classes yet: pass classes= or call fit"
            )

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, got a single string")
        out = self.tokenizer_(list(texts), truncation=True, max_length=self.args.max_length)
        return [list(ids) for ids in out["input_ids"]]

    def _scores(self, ids: Sequence[Sequence[int]]) -> torch.Tensor:
        return predict_scores(
            self.module_,
            ids,
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
    ) -> FineTuneClassifier:
        """Fine-tune on labelled texts; with dev data keep the best-dev state. Returns self.

        Raises:
            ValueError: lengths differ, or labels are not among the classes.
        """
        import torch

        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        if (dev_texts is None) != (dev_labels is None):
            raise ValueError("pass both dev_texts and dev_labels, or neither")
        if self.module_ is None:
            self._build(tuple(sorted({str(y) for y in labels})))
        seed_everything(self.seed)
        y = label_indices(labels, self.classes_)
        ids = self._encode(texts)
        evaluate = None
        if dev_texts is not None and dev_labels is not None:
            if len(dev_texts) != len(dev_labels):
                raise ValueError(f"{len(dev_texts)} dev texts but {len(dev_labels)} dev labels")
            dev_y = np.asarray(label_indices(dev_labels, self.classes_))
            dev_ids = self._encode(dev_texts)

            def evaluate() -> float:
                return float((self._scores(dev_ids).argmax(-1).numpy() == dev_y).mean())

        model = self.module_.model
        head = getattr(model, "classifier", None)
        if not isinstance(head, torch.nn.Module):
            head = getattr(model, "score", None)
        self.history_ = train(
            self.module_,
            param_groups(model, head if isinstance(head, torch.nn.Module) else None, self.args),
            lengths=[len(x) for x in ids],
            collate_fn=partial(
                collate, input_ids=ids, pad_id=self.tokenizer_.pad_token_id, labels=y
            ),
            args=self.args,
            device=self.device_,
            evaluate=evaluate,
            progress=self.progress,
        )
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), rows summing to 1."""
        import torch

        self._check_ready()
        return torch.softmax(self._scores(self._encode(texts)).double(), dim=-1).numpy()

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable class of each text."""
        return [self.classes_[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def score(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Accuracy on ``texts`` against ``labels``."""
        from mrekv.metrics import accuracy

        return accuracy([str(y) for y in labels], self.predict(texts))

    def save_pretrained(self, path: str | Path) -> None:
        """Write model (safetensors), tokenizer and ``mrekv_config.json`` (kind "finetune")
        to folder ``path`` atomically (rank 0 only when distributed)."""
        from mrekv.models import save_model_weights

        self._check_ready()
        if not is_main_process():
            return
        config = saving.build_config("finetune", self.classes_, self.args.to_config())
        with saving.atomic_folder(path) as tmp:
            save_model_weights(self.module_.model, tmp)
            self.tokenizer_.save_pretrained(str(tmp))
            saving.write_config(tmp, config)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, device: Any = None, progress: bool = True
    ) -> FineTuneClassifier:
        """Load a classifier written by :meth:`save_pretrained`.

        Raises:
            SaveFormatError: a file is missing, corrupted or incompatible (named in the message).
        """
        from transformers import AutoModelForSequenceClassification

        folder = Path(path)
        config, config_path, args = saving.open_saved(folder, "finetune")
        tokenizer, model = saving.load_saved_model(folder, AutoModelForSequenceClassification)
        if model.config.num_labels != len(config["classes"]):
            raise SaveFormatError(
                f"{config_path}: {len(config['classes'])} classes but the model in "
                f"{folder / 'config.json'} has {model.config.num_labels} labels"
            )
        kwargs = args.to_config()
        return cls(
            model.eval(),
            tokenizer=tokenizer,
            classes=config["classes"],
            device=device,
            progress=progress,
            **kwargs,
        )
