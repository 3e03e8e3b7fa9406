"""PromptClassifier: a template + a masked or causal LM + a verbalizer, scikit-learn shaped.

The text is wrapped in a template; a masked LM's outputs at its ``[MASK]``
token(s), or a causal LM's next-token outputs after the prompt
(:mod:`mrekv.prompt.backbone`), go through a verbalizer that turns them into
class scores. ``fit`` prompt-tunes the whole LM plus the verbalizer's parameters
(``train_mode="full"``) or, with the LM frozen, a head on features computed once
per text (``train_mode="frozen"``): by default a linear head on the read-position
state centred on the verbalizer and pooled with an n-gram expert
(:mod:`mrekv.prompt.prior_mode`), or, with ``frozen_head="word-weights"``, the
verbalizer's own word weights (:mod:`mrekv.prompt.frozen`); without ``fit`` the
classifier works zero-shot.

Efficiency: texts are tokenized once per call; batches are length-grouped and
padded dynamically; when the MLM's vocabulary head can be located (and is
checked numerically) only the mask positions go through it, so the
(batch, seq, vocab) logits tensor is never built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrekv.errors import ConfigError, SaveFormatError, unknown_choice
from mrekv.prompt import saving
from mrekv.prompt.backbone import (
    check_pairing,
    encode_prompts,
    locate_head_name,
    prompt_module,
)
from mrekv.prompt.batching import collate
from mrekv.prompt.estimator import BaseClassifier, Inputs, ensure_pad_token
from mrekv.prompt.prior_mode import (
    EXPERT_FILE,
    HEAD_FILE,
    expert_from_saved,
    head_config,
    head_from_saved,
    head_tensors,
)
from mrekv.prompt.resolve import resolve_template, resolve_verbalizer

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

    from mrekv.prompt.prior_head import PriorHead
    from mrekv.prompt.template import EncodedPrompt, Template
    from mrekv.verbalizer.base import Verbalizer

TRAIN_MODES = ("full", "frozen", "prior")
#: What ``train_mode="frozen"`` trains: the prior head (default) or the verbalizer's weights.
FROZEN_HEADS = ("prior", "word-weights")


class PromptClassifier(BaseClassifier):
    """Few-shot text classifier: prompt template + masked or causal LM + verbalizer.

    Args:
        model: Hub id, folder or ``.gguf`` file of a masked or causal LM, or a
            loaded ``PreTrainedModel`` (then pass ``tokenizer`` too).
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
        backbone: ``"auto"`` (from the model's architecture), ``"masked"`` or ``"causal"``.
            A causal template must end with ``{mask}`` (``"{text} It was {mask}"``).
        train_mode: ``"full"`` (update the LM and the verbalizer) or ``"frozen"``
            (the LM frozen, one pass per text; what is trained: ``frozen_head``).
            ``"prior"`` is ``"frozen"`` with ``frozen_head="prior"``.
        frozen_head: ``"prior"`` (default: a linear head on the read-position state
            centred on the verbalizer, its penalty chosen by cross-validation within
            the training texts: :mod:`mrekv.prompt.prior_mode`) or ``"word-weights"``
            (train the verbalizer's per-word weights, :mod:`mrekv.prompt.frozen`;
            the frozen mode of mrekv before 0.3, and of models saved then).
        ngram_expert: pool the prior head with a TF-IDF + logistic-regression expert,
            its weight chosen by the same cross-validation (0: the head alone).
        learning_rate: AdamW rate of the MLM's weights.
        verbalizer_learning_rate: AdamW rate of the verbalizer's parameters.
        epochs, max_steps, batch_size, eval_batch_size: see
            :class:`~mrekv.prompt.training.TrainingArgs`.
        max_length, warmup_ratio, weight_decay, max_grad_norm, seed: likewise.
        device: ``"cpu"``, ``"cuda"``...; default CUDA when available, else CPU.
        trust_remote_code: allow custom model code when loading by name.
        progress: show progress bars.

    Attributes:
        classes_: the class names, in score order.
        history_: per-epoch training loss and dev accuracy of the last ``fit``.
        prior_head_: the fitted :class:`~mrekv.prompt.prior_head.PriorHead`
            (the prior head after ``fit``), else None.
        ngram_expert_, ngram_weight_: the pooled n-gram expert (None: not pooled) and
            its weight.

    ``fit`` prompt-tunes the LM and the verbalizer (``train_mode="full"``) or
    only the verbalizer (``"frozen"``); ``save_pretrained`` writes the LM, the
    tokenizer, ``mrekv_config.json`` and ``verbalizer.safetensors``.

    Example:
        >>> clf = PromptClassifier("bert-base-uncased", template="{text} It was {mask}.",
        ...                        verbalizer={"neg": ["bad"], "pos": ["good"]})  # doctest: +SKIP
        >>> clf.fit(texts, labels).predict(["a great film"])  # doctest: +SKIP
        ['pos']
    """

    kind = "prompt"
    head_rate_keyword = "verbalizer_learning_rate"
    not_ready_message = (
        "this PromptClassifier has no verbalizer yet: pass verbalizer= or classes=, "
        "or call fit(texts, labels) first"
    )

    def __init__(
        self,
        model: Any = "bert-base-uncased",
        *,
        tokenizer: Any = None,
        template: Template | str | None = None,
        verbalizer: Any = None,
        classes: Sequence[str] | None = None,
        lang: str | None = None,
        backbone: str = "auto",
        train_mode: str = "full",
        frozen_head: str = "prior",
        ngram_expert: bool = True,
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
        from mrekv.models import detect_backbone, load_lm

        super().__init__(locals())
        self.lang = lang
        if train_mode not in TRAIN_MODES:
            raise ConfigError(unknown_choice("train_mode", train_mode, TRAIN_MODES))
        if frozen_head not in FROZEN_HEADS:
            raise ConfigError(unknown_choice("frozen_head", frozen_head, FROZEN_HEADS))
        self.train_mode = train_mode
        self.frozen_head = frozen_head
        self.ngram_expert = ngram_expert
        self.prior_head_: PriorHead | None = None
        self.ngram_expert_: Any = None
        self.ngram_weight_ = 0.0
        if isinstance(model, (str, Path)):
            self.model_, loaded_tokenizer, self.backbone_ = load_lm(
                model, backbone=backbone, trust_remote_code=trust_remote_code
            )
            self.tokenizer_ = tokenizer if tokenizer is not None else loaded_tokenizer
        else:
            if tokenizer is None:
                raise ConfigError("pass tokenizer= together with a loaded model object")
            self.model_, self.tokenizer_ = model, tokenizer
            self.backbone_ = detect_backbone(model) if backbone == "auto" else backbone  # type: ignore[assignment]
        if self.backbone_ not in ("masked", "causal"):
            raise ConfigError(unknown_choice("backbone", backbone, ("auto", "masked", "causal")))
        ensure_pad_token(self.tokenizer_)  # GPT-2-style: pads sit after the read position
        self.model_.to(self.device_)
        self.template_ = resolve_template(template, lang, self.backbone_)
        check_pairing(self.backbone_, self.template_, self.tokenizer_, None)
        built = resolve_verbalizer(verbalizer, classes)
        if built is not None:
            self._attach(built)

    # -- set-up -------------------------------------------------------------------------

    def _attach(self, verbalizer: Verbalizer) -> None:
        check_pairing(self.backbone_, self.template_, self.tokenizer_,
                      getattr(verbalizer, "aggregate", None))
        verbalizer.prepare(self.tokenizer_, self.model_)
        verbalizer.to(self.device_)
        head_name = locate_head_name(self.model_, self.tokenizer_)
        self.module_ = prompt_module(self.model_, verbalizer, head_name, self.backbone_)
        self.classes_ = tuple(verbalizer.classes)

    def _set_classes(self, classes: tuple[str, ...]) -> None:
        from mrekv.verbalizer.soft import SoftVerbalizer

        self._attach(SoftVerbalizer(classes))

    @property
    def verbalizer_(self) -> Verbalizer:
        """The verbalizer (after set-up)."""
        self._check_ready()
        return self.module_.verbalizer  # type: ignore[no-any-return]

    def _head(self) -> Verbalizer:
        return self.module_.verbalizer  # type: ignore[no-any-return]

    def _encode(self, texts: Sequence[str]) -> list[EncodedPrompt]:
        return encode_prompts(
            self.backbone_, self.template_, self.tokenizer_, texts,
            max_length=self.args.max_length, num_masks=self.module_.verbalizer.num_masks,
        )

    def _ids_positions(self, encoded: Sequence[EncodedPrompt]) -> Inputs:
        return [e.input_ids for e in encoded], [e.mask_positions for e in encoded]

    # -- training -----------------------------------------------------------------------

    def _train(
        self, texts: Sequence[str], y: list[int], dev: tuple[Sequence[str], list[int]] | None
    ) -> list[dict[str, Any]]:
        if self.uses_prior_head:
            from mrekv.prompt.prior_mode import fit_prior_head

            return fit_prior_head(self, texts, y, dev)
        if self.train_mode != "frozen":
            return super()._train(texts, y, dev)
        from mrekv.prompt.frozen import fit_on_features

        history = fit_on_features(
            self.module_.verbalizer, self.features(texts), y, self.args,
            dev_features=None if dev is None else self.features(dev[0]),
            dev_labels=None if dev is None else dev[1], progress=self.progress,
        )
        self.module_.eval()
        return history

    @property
    def uses_prior_head(self) -> bool:
        """Whether ``fit`` trains the prior head (``train_mode`` and ``frozen_head``).

        A frozen soft verbalizer (no label words, nothing to centre a head on) is itself
        the learned head, so it keeps training its own weights."""
        if self.train_mode == "prior":
            return True
        verbalizer = None if self.module_ is None else self.module_.verbalizer
        return (self.train_mode == "frozen" and self.frozen_head == "prior"
                and (verbalizer is None or hasattr(verbalizer, "class_scores")))

    # -- what the LM gives the verbalizer -----------------------------------------------

    def mask_inputs(self, texts: Sequence[str]) -> torch.Tensor:
        """What the LM gives the verbalizer for each text, in input order (no gradients).

        Useful for the verbalizer's calibration and refinement steps
        (``KnowledgeableVerbalizer.refine_frequency`` / ``refine_relevance``).

        Returns:
            Shape (n, positions, vocab_size) for a "logits" verbalizer, or
            (n, positions, hidden_size) for a "hidden" one, on the classifier's device
            (positions: the masks, or the last prompt token of a causal LM).
        """
        self._check_ready()
        return self._batched(texts, self.module_.mask_inputs)

    def word_scores(self, texts: Sequence[str]) -> torch.Tensor:
        """Label-word log-scores ``(n, W)`` of a label-word verbalizer, in input order.

        One LM pass per text; with ``aggregate="exact"`` (causal LMs) each word's
        full log-probability by teacher forcing (``"exact-mean"``: divided by its
        length). Feed them to ``verbalizer_.class_scores`` or ``calibrate_words``.
        """
        self._check_ready()
        if not hasattr(self.module_.verbalizer, "class_scores"):
            raise ConfigError(f"{type(self.module_.verbalizer).__name__} has no label words")
        return self._batched(texts, self.module_.word_inputs)

    def read_states(self, texts: Sequence[str]) -> torch.Tensor:
        """``(n, H + 1)``: per text the vocabulary layer's input at the read position and
        the logsumexp of its logits (one LM pass). :func:`mrekv.prompt.read_states.word_scores`
        turns them into any label words' first-token log-probabilities; the first H columns
        are the features of :class:`~mrekv.prompt.prior_head.PriorHead`."""
        self._check_ready()
        return self._batched(texts, self.module_.read_states)

    def features(self, texts: Sequence[str]) -> torch.Tensor:
        """What frozen-LM training feeds the verbalizer: word scores, or hidden states (soft)."""
        from mrekv.prompt.frozen import uses_word_scores

        self._check_ready()
        if uses_word_scores(self.module_.verbalizer):
            return self.word_scores(texts)
        return self.mask_inputs(texts)

    def _batched(self, texts: Sequence[str], fn: Any) -> torch.Tensor:
        import torch

        from mrekv.prompt.batching import sorted_batches

        ids, positions = self._ids_positions(self._encode(texts))
        self.module_.eval()
        parts, order = [], []
        with torch.no_grad():
            for indices in sorted_batches([len(x) for x in ids], self.args.eval_batch_size):
                batch = collate(
                    indices, ids, self.tokenizer_.pad_token_id, mask_positions=positions
                ).to(self.device_)
                parts.append(fn(batch.input_ids, batch.attention_mask, batch.mask_positions))
                order.extend(indices)
        if not parts:
            raise ValueError("cannot compute LM outputs of zero texts")
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
        verbalizer = self.module_.verbalizer
        if self.uses_prior_head:  # the head standardises with them too
            self.unlabeled_states_ = self.read_states(unlabeled_texts)[:, :-1].double().numpy()
        if hasattr(verbalizer, "calibrate_words"):
            verbalizer.calibrate_words(self.word_scores(unlabeled_texts))
        else:
            verbalizer.calibrate(self.mask_inputs(unlabeled_texts))
        fitted_on = getattr(self, "prior_fit_texts_", None)
        if self.uses_prior_head and self.prior_head_ is not None and fitted_on:
            from mrekv.prompt.prior_mode import fit_prior_head  # the prior moved: refit on it

            self.history_ = fit_prior_head(self, fitted_on[0], fitted_on[1], None)
        return self

    # -- saving: the prompt parts of the folder (see BaseClassifier.save_pretrained) ---

    def _config_extra(self) -> dict[str, Any]:
        return {
            "template": self.template_.to_config(),
            "verbalizer": self.module_.verbalizer.to_config(),
            "lang": self.lang,
            "backbone": self.backbone_,
            "train_mode": self.train_mode,
            "frozen_head": self.frozen_head,
            "ngram_expert": self.ngram_expert,
            "prior_head": head_config(self.prior_head_, self.ngram_weight_),
        }

    def _extra_json(self) -> dict[str, Any]:
        if self.ngram_expert_ is None or self.prior_head_ is None:
            return {}
        return {EXPERT_FILE: self.ngram_expert_.to_state()}

    def _extra_tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        tensors = {saving.VERBALIZER_FILE: self.module_.verbalizer.state_dict()}
        if self.prior_head_ is not None:
            tensors[HEAD_FILE] = head_tensors(self.prior_head_)
        return tensors

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), rows summing to 1."""
        if self.prior_head_ is None:
            return super().predict_proba(texts)
        from mrekv.prompt.prior_mode import prior_proba

        self._check_ready()
        return prior_proba(self, texts)

    @classmethod
    def _from_saved(
        cls, folder: Path, config: dict[str, Any], config_path: Path, options: dict[str, Any]
    ) -> PromptClassifier:
        from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

        from mrekv.prompt.template import Template
        from mrekv.verbalizer.registry import verbalizer_from_config

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
        backbone = config.get("backbone", "masked")
        if backbone not in ("masked", "causal"):
            raise SaveFormatError(f"{config_path}: 'backbone' must be 'masked' or 'causal', "
                                  f"got {backbone!r}")
        auto_class = AutoModelForCausalLM if backbone == "causal" else AutoModelForMaskedLM
        tokenizer, model = saving.load_saved_model(folder, auto_class)
        clf = cls(
            model,
            tokenizer=tokenizer,
            template=template,
            verbalizer=verbalizer,
            lang=config.get("lang"),
            backbone=backbone,
            train_mode=config.get("train_mode", "full"),
            # saved before the prior head became the default: the word weights were trained
            frozen_head=config.get("frozen_head", "word-weights"),
            ngram_expert=bool(config.get("ngram_expert", False)),
            **options,
        )
        try:
            verbalizer.load_state_dict(state)
        except RuntimeError as exc:
            raise SaveFormatError(
                f"{folder / saving.VERBALIZER_FILE}: does not match the verbalizer: {exc}"
            ) from exc
        if config.get("prior_head") is not None:
            clf.prior_head_ = head_from_saved(
                config["prior_head"], saving.load_tensors(folder / HEAD_FILE),
                str(folder / HEAD_FILE))
            clf.ngram_expert_, clf.ngram_weight_ = expert_from_saved(
                config["prior_head"], folder / EXPERT_FILE)
        return clf
