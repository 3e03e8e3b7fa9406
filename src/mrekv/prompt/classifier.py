"""PromptClassifier: a template + a masked LM + a verbalizer, with a scikit-learn shape.

The text is wrapped in a template holding ``[MASK]`` token(s); the masked LM's
outputs at the masks go through a verbalizer that turns them into class
scores. ``fit`` prompt-tunes the whole MLM plus the verbalizer's parameters;
without ``fit`` the classifier works zero-shot.

Efficiency: texts are tokenized once per call; batches are length-grouped and
padded dynamically; when the MLM's vocabulary head can be located (and is
checked numerically) only the mask positions go through it, so the
(batch, seq, vocab) logits tensor is never built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from mrekv.verbalizer.label_words import LabelWords

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from mrekv.prompt.template import EncodedPrompt, Template
    from mrekv.verbalizer.base import Verbalizer

def _prompt_module_class() -> type:
    """Build the nn.Module class lazily so importing this module does not import torch."""
    import torch
    from torch import nn

    class PromptModule(nn.Module):
        """MLM + verbalizer; forward: (input_ids, attention_mask, mask_positions) -> scores.

        ``head_name`` is the attribute of the MLM's vocabulary head when the
        encoder/head split was verified (:func:`mrekv.models.locate_mlm_head`),
        else None (full forward, then pick the mask positions).
        """

        def __init__(self, mlm: nn.Module, verbalizer: nn.Module, head_name: str | None) -> None:
            super().__init__()
            self.mlm: Any = mlm
            self.verbalizer: Any = verbalizer
            self.head_name = head_name

        def mask_inputs(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
        ) -> torch.Tensor:
            """(batch, seq) ids -> (batch, total_masks, vocab or hidden) at the mask positions."""
            rows = torch.arange(input_ids.shape[0], device=input_ids.device)[:, None]
            hidden_kind = self.verbalizer.input_kind == "hidden"
            if self.head_name is not None:
                hidden = self.mlm.base_model(input_ids=input_ids, attention_mask=attention_mask)[0]
                picked = hidden[rows, positions]
                return picked if hidden_kind else getattr(self.mlm, self.head_name)(picked)
            out = self.mlm(
                input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=hidden_kind
            )
            source = out.hidden_states[-1] if hidden_kind else out.logits
            return source[rows, positions]

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
        ) -> torch.Tensor:
            return self.verbalizer(self.mask_inputs(input_ids, attention_mask, positions))

    return PromptModule


class PromptClassifier:
    """Few-shot text classifier: prompt template + masked LM + verbalizer.

    Args:
        model: Hub id or folder of a masked LM, or a loaded ``PreTrainedModel``
            (then pass ``tokenizer`` too).
        tokenizer: the model's tokenizer (loaded from ``model`` when it is a path).
        template: a :class:`~mrekv.prompt.template.Template`, its text (e.g.
            ``"{text} It was {mask}."``), or None for ``default_template(lang)``.
        verbalizer: a Verbalizer; or ``LabelWords`` (-> KnowledgeableVerbalizer);
            or one word list per class / a ``{class: words}`` mapping
            (-> ManualVerbalizer); or None (-> SoftVerbalizer over ``classes``,
            or over the labels seen by ``fit``).
        classes: class names; required with a list of word lists, optional
            (but must agree) otherwise.
        lang: language of the default template (``"en"``, ``"ja"``, ``"zh"``); default ``"en"``.
        learning_rate: AdamW rate of the MLM's weights.
        verbalizer_learning_rate: AdamW rate of the verbalizer's parameters.
        epochs, max_steps, batch_size, eval_batch_size, max_length, warmup_ratio,
        weight_decay, max_grad_norm, seed: see :class:`~mrekv.prompt.training.TrainingArgs`.
        device: ``"cpu"``, ``"cuda"``...; default CUDA when available, else CPU.
        trust_remote_code: allow custom model code when loading by name.
        progress: show progress bars.

    Attributes:
        classes_: the class names, in score order.
        history_: per-epoch training loss and dev accuracy of the last ``fit``.

    Example:
        >>> clf = PromptClassifier("bert-base-uncased", template="{text} It was {mask}.",
        ...                        verbalizer={"neg": ["bad"], "pos": ["good"]})  # doctest: +SKIP
        >>> clf.fit(texts, labels).predict(["a great film"])  # doctest: +SKIP
        ['pos']
    """

    def __init__(
        self,
        model: Any = "bert-base-uncased",
        *,
        tokenizer: Any = None,
        template: Template | str | None = None,
        verbalizer: Any = None,
        classes: Sequence[str] | None = None,
        lang: str | None = None,
        learning_rate: float = 2e-5,
        verbalizer_learning_rate: float = 1e-3,
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
        from mrekv.models import load_masked_lm, resolve_device

        self.args = TrainingArgs(
            learning_rate=learning_rate,
            head_learning_rate=verbalizer_learning_rate,
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
        self.lang = lang
        self.progress = progress
        self.device_ = resolve_device(device)
        if isinstance(model, (str, Path)):
            self.model_, loaded_tokenizer = load_masked_lm(
                model, trust_remote_code=trust_remote_code
            )
            self.tokenizer_ = tokenizer if tokenizer is not None else loaded_tokenizer
        else:
            if tokenizer is None:
                raise ConfigError("pass tokenizer= together with a loaded model object")
            self.model_, self.tokenizer_ = model, tokenizer
        if self.tokenizer_.mask_token_id is None:
            raise ConfigError(f"tokenizer {type(self.tokenizer_).__name__} has no mask token")
        self.model_.to(self.device_)
        self.template_ = _resolve_template(template, lang)
        self.module_: Any = None
        self.classes_: tuple[str, ...] = ()
        self.history_: list[dict[str, Any]] = []
        built = _resolve_verbalizer(verbalizer, classes)
        if built is not None:
            self._attach(built)

    # -- set-up -------------------------------------------------------------------------

    def _attach(self, verbalizer: Verbalizer) -> None:
        from mrekv.models import locate_mlm_head

        verbalizer.prepare(self.tokenizer_, self.model_)
        verbalizer.to(self.device_)
        probe = self.tokenizer_("a probe", add_special_tokens=True)["input_ids"]
        split = locate_mlm_head(self.model_, probe)
        head_name = None
        if split is not None:
            head_name = next(n for n in ("cls", "lm_head", "predictions")
                             if getattr(self.model_, n, None) is split[1])
        self.module_ = _prompt_module_class()(self.model_, verbalizer, head_name)
        self.classes_ = tuple(verbalizer.classes)

    @property
    def verbalizer_(self) -> Verbalizer:
        """The verbalizer (after set-up)."""
        self._check_ready()
        return self.module_.verbalizer  # type: ignore[no-any-return]

    def _check_ready(self) -> None:
        if self.module_ is None:
            raise ConfigError(
                "this PromptClassifier has no verbalizer yet: pass verbalizer= or classes=, "
                "or call fit(texts, labels) first"
            )

    def _encode(self, texts: Sequence[str]) -> list[EncodedPrompt]:
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, got a single string")
        encoded = self.template_.encode_batch(
            self.tokenizer_,
            list(texts),
            max_length=self.args.max_length,
            num_masks=self.module_.verbalizer.num_masks,
        )
        return list(encoded)

    def _scores(self, encoded: Sequence[EncodedPrompt]) -> torch.Tensor:
        return predict_scores(
            self.module_,
            [e.input_ids for e in encoded],
            mask_positions=[e.mask_positions for e in encoded],
            pad_id=self.tokenizer_.pad_token_id,
            batch_size=self.args.eval_batch_size,
            device=self.device_,
        )

    # -- estimator API ------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        dev_texts: Sequence[str] | None = None,
        dev_labels: Sequence[str] | None = None,
    ) -> PromptClassifier:
        """Prompt-tune the MLM and the verbalizer on labelled texts.

        Continues from the current weights. With dev data, the state with the
        best dev accuracy (the untrained state included) is restored at the end.

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
        if (dev_texts is None) != (dev_labels is None):
            raise ValueError("pass both dev_texts and dev_labels, or neither")
        seed_everything(self.seed)
        if self.module_ is None:
            from mrekv.verbalizer.soft import SoftVerbalizer

            self._attach(SoftVerbalizer(tuple(sorted({str(y) for y in labels}))))
        y = label_indices(labels, self.classes_)
        encoded = self._encode(texts)
        ids = [e.input_ids for e in encoded]
        evaluate = None
        if dev_texts is not None and dev_labels is not None:
            if len(dev_texts) != len(dev_labels):
                raise ValueError(f"{len(dev_texts)} dev texts but {len(dev_labels)} dev labels")
            dev_y = np.asarray(label_indices(dev_labels, self.classes_))
            dev_encoded = self._encode(dev_texts)

            def evaluate() -> float:
                return float((self._scores(dev_encoded).argmax(-1).numpy() == dev_y).mean())

        self.history_ = train(
            self.module_,
            param_groups(self.model_, self.module_.verbalizer, self.args),
            lengths=[len(x) for x in ids],
            collate_fn=partial(
                collate,
                input_ids=ids,
                pad_id=self.tokenizer_.pad_token_id,
                mask_positions=[e.mask_positions for e in encoded],
                labels=y,
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
        scores = self._scores(self._encode(texts))
        return torch.softmax(scores.double(), dim=-1).numpy()

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable class of each text."""
        return [self.classes_[i] for i in self.predict_proba(texts).argmax(axis=1)]

    def score(self, texts: Sequence[str], labels: Sequence[str]) -> float:
        """Accuracy on ``texts`` against ``labels``."""
        from mrekv.metrics import accuracy

        return accuracy([str(y) for y in labels], self.predict(texts))

    def mask_inputs(self, texts: Sequence[str]) -> torch.Tensor:
        """What the verbalizer sees for each text, in input order (no gradients).

        Useful for the verbalizer's calibration and refinement steps
        (``KnowledgeableVerbalizer.refine_frequency`` / ``refine_relevance``).

        Returns:
            Shape (n, total_masks, vocab_size) for a "logits" verbalizer, or
            (n, total_masks, hidden_size) for a "hidden" one, on the classifier's device.
        """
        import torch

        from mrekv.prompt.batching import sorted_batches

        self._check_ready()
        encoded = self._encode(texts)
        ids = [e.input_ids for e in encoded]
        positions = [e.mask_positions for e in encoded]
        self.module_.eval()
        parts, order = [], []
        with torch.no_grad():
            for indices in sorted_batches([len(x) for x in ids], self.args.eval_batch_size):
                batch = collate(
                    indices, ids, self.tokenizer_.pad_token_id, mask_positions=positions
                ).to(self.device_)
                parts.append(
                    self.module_.mask_inputs(
                        batch.input_ids, batch.attention_mask, batch.mask_positions
                    )
                )
                order.extend(indices)
        if not parts:
            raise ValueError("cannot compute mask inputs of zero texts")
        stacked = torch.cat(parts)
        out = torch.empty_like(stacked)
        out[torch.as_tensor(order, device=stacked.device)] = stacked
        return out

    def calibrate(self, unlabeled_texts: Sequence[str]) -> PromptClassifier:
        """Set the verbalizer's calibration prior from unlabeled texts; return self.

        Raises:
            NotImplementedError: the verbalizer has no calibration (e.g. SoftVerbalizer).
        """
        self._check_ready()
        self.module_.verbalizer.calibrate(self.mask_inputs(unlabeled_texts))
        return self

    # -- saving -------------------------------------------------------------------------

    def save_pretrained(self, path: str | Path) -> None:
        """Write the classifier to folder ``path`` atomically (rank 0 only when distributed).

        The folder holds the MLM (safetensors), the tokenizer, ``mrekv_config.json``
        and ``verbalizer.safetensors``; see :mod:`mrekv.prompt.saving`.
        """
        from mrekv.models import save_model_weights

        self._check_ready()
        if not is_main_process():
            return
        verbalizer = self.module_.verbalizer
        config = saving.build_config(
            "prompt",
            self.classes_,
            self.args.to_config(),
            template=self.template_.to_config(),
            verbalizer=verbalizer.to_config(),
            lang=self.lang,
        )
        with saving.atomic_folder(path) as tmp:
            save_model_weights(self.model_, tmp)
            self.tokenizer_.save_pretrained(str(tmp))
            saving.save_tensors(tmp / saving.VERBALIZER_FILE, verbalizer.state_dict())
            saving.write_config(tmp, config)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, device: Any = None, progress: bool = True
    ) -> PromptClassifier:
        """Load a classifier written by :meth:`save_pretrained`.

        Raises:
            SaveFormatError: a file is missing, corrupted or incompatible (named in the message).
        """
        from transformers import AutoModelForMaskedLM

        from mrekv.prompt.template import Template
        from mrekv.verbalizer.base import verbalizer_from_config

        folder = Path(path)
        config, config_path, args = saving.open_saved(folder, "prompt")
        state = saving.load_tensors(folder / saving.VERBALIZER_FILE)
        try:
            template = Template.from_config(config["template"])
        except Exception as exc:  # noqa: BLE001 - any template error means a bad file
            raise SaveFormatError(f"{config_path}: bad 'template': {exc}") from exc
        try:
            verbalizer = verbalizer_from_config(config["verbalizer"])
        except Exception as exc:  # noqa: BLE001
            raise SaveFormatError(f"{config_path}: bad 'verbalizer': {exc}") from exc
        if tuple(verbalizer.classes) != tuple(config["classes"]):
            raise SaveFormatError(
                f"{config_path}: 'classes' has {len(config['classes'])} classes "
                f"{config['classes']} but the verbalizer has {verbalizer.num_classes} "
                f"{list(verbalizer.classes)}"
            )
        tokenizer, model = saving.load_saved_model(folder, AutoModelForMaskedLM)
        clf = cls(
            model,
            tokenizer=tokenizer,
            template=template,
            verbalizer=verbalizer,
            lang=config.get("lang"),
            device=device,
            progress=progress,
            **_args_to_kwargs(args),
        )
        try:
            verbalizer.load_state_dict(state)
        except RuntimeError as exc:
            raise SaveFormatError(
                f"{folder / saving.VERBALIZER_FILE}: does not match the verbalizer: {exc}"
            ) from exc
        return clf


def _args_to_kwargs(args: TrainingArgs) -> dict[str, Any]:
    kwargs = args.to_config()
    kwargs["verbalizer_learning_rate"] = kwargs.pop("head_learning_rate")
    return kwargs


def _resolve_template(template: Any, lang: str | None) -> Template:
    if template is None:
        from mrekv.prompt.template import default_template

        return default_template(lang or "en")
    if isinstance(template, str):
        from mrekv.prompt.template import Template

        return Template(template)
    return template  # type: ignore[no-any-return]


def _resolve_verbalizer(verbalizer: Any, classes: Sequence[str] | None) -> Verbalizer | None:
    """Turn the ``verbalizer=`` argument into a Verbalizer (None: decide at fit)."""
    from mrekv.verbalizer.base import Verbalizer

    wanted = None if classes is None else tuple(str(c) for c in classes)
    if verbalizer is None:
        if wanted is None:
            return None
        from mrekv.verbalizer.soft import SoftVerbalizer

        return SoftVerbalizer(wanted)
    if isinstance(verbalizer, Verbalizer):
        built = verbalizer
    elif isinstance(verbalizer, LabelWords):
        from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer

        built = KnowledgeableVerbalizer(verbalizer)
    elif isinstance(verbalizer, Mapping):
        from mrekv.verbalizer.manual import ManualVerbalizer

        built = ManualVerbalizer(wanted or tuple(verbalizer), verbalizer)
    elif isinstance(verbalizer, Sequence) and not isinstance(verbalizer, str):
        if wanted is None:
            raise ConfigError("a list of word lists as verbalizer needs classes= (one per list)")
        from mrekv.verbalizer.manual import ManualVerbalizer

        built = ManualVerbalizer(wanted, [list(ws) for ws in verbalizer])
    else:
        raise ConfigError(
            f"unsupported verbalizer {type(verbalizer).__name__}; pass a Verbalizer, LabelWords, "
            "a list of word lists per class, or a {class: words} mapping"
        )
    if wanted is not None and tuple(built.classes) != wanted:
        raise ConfigError(
            f"classes {list(wanted)} disagree with the verbalizer's classes {list(built.classes)}"
        )
    return built
