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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrekv.errors import ConfigError, SaveFormatError
from mrekv.prompt import saving
from mrekv.prompt.estimator import BaseClassifier, Inputs, ensure_pad_token
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


class FineTuneClassifier(BaseClassifier):
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
        epochs, max_steps, batch_size, eval_batch_size: see
            :class:`~mrekv.prompt.training.TrainingArgs`.
        max_length, warmup_ratio, weight_decay, max_grad_norm, seed: likewise.
        device: default CUDA when available, else CPU.
        trust_remote_code: allow custom model code when loading by name.
        progress: show progress bars.

    Attributes:
        classes_: the class names, in score order.
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
        from mrekv.models import load_tokenizer, local_model_name

        super().__init__(locals())
        self.trust_remote_code = trust_remote_code
        if isinstance(model, (str, Path)):
            # a .gguf file is read from its converted folder (converted once, cached)
            model = local_model_name(model)
            self.tokenizer_ = tokenizer or load_tokenizer(
                model, trust_remote_code=trust_remote_code
            )
        elif tokenizer is None or classes is None:
            raise ConfigError("pass tokenizer= and classes= together with a loaded model object")
        else:
            self.tokenizer_ = tokenizer
        self._source = model
        if classes is not None:
            self._set_classes(tuple(str(c) for c in classes))

    def _set_classes(self, classes: tuple[str, ...]) -> None:
        if len(set(classes)) != len(classes) or not classes:
            raise ConfigError(f"classes must be distinct and non-empty, got {list(classes)}")
        if isinstance(self._source, (str, Path)):
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
            seed_everything(self.seed)  # training starts from the seed, not from the head's draws
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

    def _head(self) -> nn.Module | None:
        import torch

        model = self.module_.model
        head = getattr(model, "classifier", None)
        if not isinstance(head, torch.nn.Module):
            head = getattr(model, "score", None)
        return head if isinstance(head, torch.nn.Module) else None

    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, got a single string")
        out = self.tokenizer_(list(texts), truncation=True, max_length=self.args.max_length)
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
