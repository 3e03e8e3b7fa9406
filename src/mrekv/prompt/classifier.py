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

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from mrekv.errors import ConfigError, SaveFormatError, unknown_choice
from mrekv.prompt import model_cache, saving
from mrekv.prompt.backbone import (
    check_pairing,
    encode_prompts,
    locate_head_name,
    prompt_module,
)
from mrekv.prompt.batching import collate
from mrekv.prompt.estimator import BaseClassifier, Inputs, check_texts, ensure_pad_token
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
BACKBONE_CHOICES = ("auto", "masked", "causal")


class PromptClassifier(BaseClassifier):
    """Few-shot text classifier: prompt template + masked or causal LM + verbalizer.

    A scikit-learn estimator: the constructor stores and checks its arguments and
    loads nothing; the LM loads on first use (``fit``, ``predict``, ``calibrate``, or
    reading ``model_`` / ``tokenizer_`` / ``module_`` / ``verbalizer_``) through the
    process-wide :mod:`mrekv.prompt.model_cache`, so ``clone``, ``GridSearchCV``
    and ``cross_val_score`` over templates, verbalizers or a prior's strength load
    it once. A model given by path is shared read-only with other classifiers until
    ``fit`` trains it (``train_mode="full"``), which first copies it; a loaded model
    object is used (and, in full mode, trained) as it is.

    Args:
        model: Hub id, folder or ``.gguf`` file of a masked or causal LM, or a
            loaded ``PreTrainedModel`` (then pass ``tokenizer`` too).
        tokenizer: the model's tokenizer (loaded from ``model`` when it is a path).
        template: a :class:`~mrekv.prompt.template.Template`, its text (e.g.
            ``"{text} It was {mask}."``), or None for ``default_template(lang)``.
        verbalizer: a Verbalizer (copied, never changed); or ``LabelWords``
            (-> KnowledgeableVerbalizer); or one word list per class / a
            ``{class: words}`` mapping (-> ManualVerbalizer; the keys may be ints);
            or None (-> SoftVerbalizer over ``classes``, or over the labels seen by ``fit``).
        classes: class labels; required with a list of word lists, optional
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
        classes_: the class labels (a numpy array), in score order.
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

    Pickling keeps the template, the verbalizer, the fitted head and the classes; an
    LM loaded by path that was not trained is kept by reference (reloaded through
    the cache), a trained or given one is embedded.
    """

    kind = "prompt"
    head_rate_keyword = "verbalizer_learning_rate"
    # learned state, set on load (None / 0.0) and by fit
    prior_head_: PriorHead | None
    ngram_expert_: Any
    ngram_weight_: float
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
        classes: Sequence[Any] | None = None,
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
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.verbalizer = verbalizer
        self.classes = classes
        self.lang = lang
        self.backbone = backbone
        self.train_mode = train_mode
        self.frozen_head = frozen_head
        self.ngram_expert = ngram_expert
        self.learning_rate = learning_rate
        self.verbalizer_learning_rate = verbalizer_learning_rate
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

    # -- parameters ---------------------------------------------------------------------

    def _check_params(self) -> Verbalizer | None:
        """Check the parameters without loading weights; return the verbalizer they build.

        Raises:
            ConfigError: an unknown choice, a model object without its tokenizer, a
                verbalizer the classes disagree with, a template or aggregate the
                backbone cannot use (when the backbone is known without loading).
            ModelUnavailableError: a model path that does not exist.
        """
        if self.train_mode not in TRAIN_MODES:
            raise ConfigError(unknown_choice("train_mode", self.train_mode, TRAIN_MODES))
        if self.frozen_head not in FROZEN_HEADS:
            raise ConfigError(unknown_choice("frozen_head", self.frozen_head, FROZEN_HEADS))
        if self.backbone not in BACKBONE_CHOICES:
            raise ConfigError(unknown_choice("backbone", self.backbone, BACKBONE_CHOICES))
        self.args  # noqa: B018 - TrainingArgs checks the training arguments
        if isinstance(self.model, (str, Path)):
            model_cache.check_local_reference(self.model)  # a Hub id is checked on load
        elif self.tokenizer is None:
            raise ConfigError("pass tokenizer= together with a loaded model object")
        verbalizer = self._resolved_verbalizer()
        backbone = self._known_backbone()
        template = resolve_template(self.template, self.lang, backbone or "masked")  # parses it
        if backbone is not None:
            check_pairing(backbone, template, None, getattr(verbalizer, "aggregate", None))
        return verbalizer

    def _resolved_verbalizer(self) -> Verbalizer | None:
        verbalizer = self.verbalizer
        if isinstance(verbalizer, Mapping):  # {0: [...], 1: [...]}: class names are strings
            verbalizer = {str(k): v for k, v in verbalizer.items()}
        return resolve_verbalizer(verbalizer, self.classes)

    def _known_backbone(self) -> str | None:
        """The backbone, when it is known without loading weights (else None)."""
        from mrekv.models import detect_backbone

        if self.backbone != "auto":
            return str(self.backbone)
        if not isinstance(self.model, (str, Path)):
            return detect_backbone(self.model)
        if str(self.model).endswith(".gguf"):
            return "causal"
        config = Path(str(self.model)).expanduser() / "config.json"
        try:
            found = detect_backbone(SimpleNamespace(**json.loads(config.read_text("utf-8"))))
        except (OSError, ValueError, TypeError, ConfigError):
            return None  # a Hub id, or a config only the load can tell
        return str(found)

    def _param_classes(self) -> list[Any] | None:
        from mrekv.verbalizer.base import Verbalizer
        from mrekv.verbalizer.label_words import LabelWords

        if self.classes is not None:
            return list(self.classes)
        verbalizer = self.verbalizer
        if isinstance(verbalizer, (Verbalizer, LabelWords)):
            return list(verbalizer.classes)
        if isinstance(verbalizer, Mapping):
            return list(verbalizer)
        return None

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = self.verbalizer is None  # label words score zero-shot
        return tags

    # -- loading (lazy) -----------------------------------------------------------------

    def _load(self) -> None:
        from mrekv.models import detect_backbone, resolve_device

        verbalizer = self._check_params()
        device = resolve_device(self.device)
        key = None
        if isinstance(self.model, (str, Path)):
            key, model, tokenizer, backbone = self._cached_lm(device)
        else:
            model, tokenizer = self.model, self.tokenizer
            backbone = self.backbone if self.backbone != "auto" else detect_backbone(model)
            model.to(device)
        if self.tokenizer is not None:
            tokenizer = self.tokenizer
        if backbone not in ("masked", "causal"):
            raise ConfigError(unknown_choice("backbone", backbone, BACKBONE_CHOICES))
        ensure_pad_token(tokenizer)  # GPT-2-style: pads sit after the read position
        template = resolve_template(self.template, self.lang, backbone)
        check_pairing(backbone, template, tokenizer, None)
        self.__dict__.update(
            _device=device, _model=model, _tokenizer=tokenizer, _backbone=backbone,
            _template=template, _module=None, _classes=None, _lm_key=key,
            _lm_shared=key is not None, _lm_trained=False,
        )
        for name, empty in (("prior_head_", None), ("ngram_expert_", None),
                            ("ngram_weight_", 0.0)):
            self.__dict__.setdefault(name, empty)
        restore = self.__dict__.pop("_restore", None)
        if restore is not None:  # unpickled: the verbalizer as it was, already prepared
            restored = restore["verbalizer"].to(device)
            self._module = prompt_module(model, restored, restore["head_name"], backbone)
            self._classes = tuple(restored.classes)
        elif verbalizer is not None:
            self._attach(copy.deepcopy(verbalizer) if verbalizer is self.verbalizer
                         else verbalizer)

    def _cached_lm(self, device: Any) -> tuple[Any, Any, Any, str]:
        """``(key, model, tokenizer, backbone)`` of the LM ``model`` names, from the cache."""
        import mrekv.models as models  # looked up at call time (tests count the loads)

        wanted = self._known_backbone() or "auto"
        key = model_cache.LoadKey(model_cache.model_reference(self.model), wanted,
                                  str(device), bool(self.trust_remote_code))

        def load() -> tuple[Any, Any, str]:
            model, tokenizer, backbone = models.load_lm(
                self.model, backbone=wanted, trust_remote_code=self.trust_remote_code)
            return model.to(device).eval(), tokenizer, backbone

        model, tokenizer, backbone = model_cache.cached(key, load)
        return key, model, tokenizer, backbone

    def _own_lm(self) -> None:
        """Before the LM is trained: copy the cache's shared module (copy-on-write)."""
        if self.__dict__.get("_lm_shared"):
            self._model = copy.deepcopy(self._model)
            self._module.mlm = self._model
            self._lm_shared = False
        super()._own_lm()

    def _restore_state(self) -> Any:
        module = self.__dict__.get("_module")
        if module is None:
            return None
        return {"verbalizer": copy.deepcopy(module.verbalizer).cpu(),
                "head_name": module.head_name}

    @property
    def model_(self) -> Any:
        """The masked or causal LM."""
        self._setup()
        return self._model

    @property
    def backbone_(self) -> str:
        """``"masked"`` or ``"causal"``."""
        self._setup()
        return str(self._backbone)

    @property
    def template_(self) -> Template:
        """The template in use."""
        self._setup()
        return self._template  # type: ignore[no-any-return]

    # -- set-up -------------------------------------------------------------------------

    def _attach(self, verbalizer: Verbalizer) -> None:
        """Prepare ``verbalizer`` on the loaded LM and build the module around both."""
        model, tokenizer, backbone = self._model, self._tokenizer, self._backbone
        check_pairing(backbone, self._template, tokenizer, getattr(verbalizer, "aggregate", None))
        verbalizer.prepare(tokenizer, model)
        verbalizer.to(self._device)
        head_name = locate_head_name(model, tokenizer)
        self._module = prompt_module(model, verbalizer, head_name, backbone)
        self._classes = tuple(verbalizer.classes)

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
            self.backbone_, self.template_, self.tokenizer_, check_texts(texts),
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
        files = super()._extra_json()
        if self.ngram_expert_ is not None and self.prior_head_ is not None:
            files[EXPERT_FILE] = self.ngram_expert_.to_state()
        return files

    def _extra_tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        tensors = {saving.VERBALIZER_FILE: self.module_.verbalizer.state_dict()}
        if self.prior_head_ is not None:
            tensors[HEAD_FILE] = head_tensors(self.prior_head_)
        return tensors

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), rows summing to 1, columns in
        ``classes_`` order.

        Raises:
            TypeError: a text is not a string (its index named).
        """
        texts = check_texts(texts)
        self._check_ready()
        if self.prior_head_ is None:
            return super().predict_proba(texts)
        from mrekv.prompt.prior_mode import prior_proba

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
        clf._setup()  # the verbalizer_ it builds is a copy of ``verbalizer``
        try:
            clf.verbalizer_.load_state_dict(state)
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
