"""KnowledgeableVerbalizer: KPT-style scoring over many mined label words per class.

For the mask logits of one text (Hu et al. 2022, "Knowledgeable Prompt-tuning"):

1. every label word gets a log-score ``s_w`` from the vocabulary logits
   (:func:`~mrekv.verbalizer.tokens.word_log_probs`; multi-token words by
   ``first`` / ``mean`` / ``max`` sub-token or ``multi-mask``);
2. the label-word distribution ``p_w = softmax_w(s_w)`` over ALL kept words
   of all classes;
3. optional contextualized calibration: ``p~_w = (p_w / prior_w) / Z``, where
   ``prior_w`` is the mean of ``p_w`` over unlabeled texts (:meth:`calibrate`)
   and ``Z`` renormalises over the kept words;
4. class score ``score_c = sum_{w in c} a_w * log p~_w`` with learnable word
   weights ``a = softmax`` of ``word_logits`` within each class (initialised
   uniform, or proportional to the mined scores with ``init_weights="score"``).

Refinement (both keep at least the best word of every class):

* :meth:`refine_frequency`: drop a word whose prior is below
  ``ratio * mean prior of its class's kept words``;
* :meth:`refine_relevance`: on a labelled support set, with ``q_w`` the vector
  of ``p~_w`` over the support texts and ``1_y`` the indicator vector of class
  ``y``, ``r(w) = cos(q_w, 1_{c(w)}) / mean_{y != c(w)} cos(q_w, 1_y)``; drop a
  word with ``r(w) < threshold`` (default 1: the word fits another class
  better than its own on average). A class without support texts is left alone.

Words are kept as a mask over the full word list: calibration and refinement
never touch ``word_logits`` (a dropped word's weight drops out of the class
softmax, the others keep their trained values bit for bit) and never detach
anything the loss depends on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from mrekv.errors import ConfigError, unknown_choice
from mrekv.verbalizer.label_words import LabelWords
from mrekv.verbalizer.tokens import LabelWordVerbalizer, LeadingSpace

INIT_WEIGHTS = ("uniform", "score")


def label_word_log_probs(
    word_scores: torch.Tensor, active: torch.Tensor, prior: torch.Tensor | None = None
) -> torch.Tensor:
    """Log of the (calibrated) label-word distribution over the active words.

    Args:
        word_scores: ``(batch, W)`` word log-scores.
        active: ``(W,)`` bool, the words in use.
        prior: ``(W,)`` positive calibration prior of the active words, or None.

    Returns:
        ``(batch, W)``: ``log softmax_w(s_w - log prior_w)`` over active words,
        0 at inactive words (so they add nothing to a weighted sum).
    """
    scores = torch.where(active, word_scores, float("-inf"))
    if prior is not None:
        scores = scores - torch.log(torch.where(active, prior, 1.0))
    return torch.where(active, torch.log_softmax(scores, dim=-1), 0.0)


def class_word_weights(
    word_logits: torch.Tensor, membership: torch.Tensor, active: torch.Tensor
) -> torch.Tensor:
    """Softmax of the word logits within each class, over its active words.

    Args:
        word_logits: ``(W,)`` learnable logits.
        membership: ``(C, W)`` bool, word ``w`` belongs to class ``c``.
        active: ``(W,)`` bool.

    Returns:
        ``(C, W)`` weights; each row sums to 1 over the class's active words, 0 elsewhere.
    """
    mask = membership & active.unsqueeze(0)
    logits = torch.where(mask, word_logits.unsqueeze(0), float("-inf"))
    return torch.where(mask, torch.softmax(logits, dim=-1), 0.0)


def label_word_prior(word_scores: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """Mean label-word distribution over texts: ``(N, W)`` scores -> ``(W,)`` (0 if inactive)."""
    probs = torch.softmax(torch.where(active, word_scores, float("-inf")), dim=-1).mean(dim=0)
    return torch.where(active, probs.clamp_min(torch.finfo(probs.dtype).tiny), 0.0)


def relevance_scores(
    probs: torch.Tensor, labels: torch.Tensor, word_class: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """KPT-style relevance of each word to its own class (module docstring).

    Args:
        probs: ``(N, W)`` label-word probabilities on the support texts.
        labels: ``(N,)`` class index of each support text.
        word_class: ``(W,)`` class index of each word.
        num_classes: number of classes.

    Returns:
        ``(W,)`` relevance; ``inf`` where every other class has cosine 0, ``nan``
        where the word's own class has no support text.
    """
    indicator = torch.nn.functional.one_hot(labels, num_classes).to(probs.dtype)  # (N, C)
    dots = probs.t() @ indicator  # (W, C)
    norms = probs.norm(dim=0).unsqueeze(1) * indicator.norm(dim=0).unsqueeze(0)
    cos = torch.where(norms > 0, dots / norms.clamp_min(1e-30), 0.0)
    own = cos.gather(1, word_class.unsqueeze(1)).squeeze(1)
    others = (cos.sum(dim=1) - own) / max(num_classes - 1, 1)
    relevance = own / others
    has_own = indicator.sum(dim=0)[word_class] > 0
    return torch.where(has_own, relevance, float("nan"))


class KnowledgeableVerbalizer(LabelWordVerbalizer):
    """KPT-style verbalizer over mined label words (the math is in the module docstring).

    Args:
        label_words: the classes and their label words (with mining scores).
        aggregate: ``"first"``, ``"mean"``, ``"max"`` or ``"multi-mask"``.
        max_word_tokens: use only a word's first sub-tokens (``None``: all).
        leading_space: tokenize words in their after-a-space form (True), glued to
            the previous token (False), or by script (``"auto"``: a space for Latin-script
            words, none for Japanese / Chinese ones).
        init_weights: ``"uniform"`` or ``"score"`` (weights proportional to the
            mined scores, which must then be positive).
        learn_weights: whether ``word_logits`` is trained.

    Example:
        >>> lw = LabelWords.from_lists(["neg", "pos"], [["bad", "awful"], ["good", "great"]])
        >>> v = KnowledgeableVerbalizer(lw).prepare(tokenizer)          # doctest: +SKIP
        >>> v.calibrate(unlabeled_mask_logits).refine_frequency()        # doctest: +SKIP
        >>> v.words_kept()                                               # doctest: +SKIP
        {'neg': 2, 'pos': 1}
    """

    config_type = "knowledgeable"
    refined_out: torch.Tensor
    prior: torch.Tensor | None

    def __init__(
        self,
        label_words: LabelWords,
        *,
        aggregate: str = "first",
        max_word_tokens: int | None = None,
        leading_space: LeadingSpace = "auto",
        init_weights: str = "uniform",
        learn_weights: bool = True,
    ) -> None:
        if not isinstance(label_words, LabelWords):
            raise ConfigError(f"label_words must be LabelWords, got {type(label_words).__name__}")
        super().__init__(
            label_words.classes,
            label_words.as_lists(),
            aggregate=aggregate,
            max_word_tokens=max_word_tokens,
            leading_space=leading_space,
        )
        if init_weights not in INIT_WEIGHTS:
            raise ConfigError(unknown_choice("init_weights", init_weights, INIT_WEIGHTS))
        self.label_words = label_words
        self.init_weights = init_weights
        self.learn_weights = bool(learn_weights)
        scores = [lw.score for c in label_words.classes for lw in label_words.words[c]]
        if init_weights == "score":
            bad = [(w, s) for w, s in zip(self.flat_words, scores, strict=True) if not s > 0]
            if bad:
                raise ConfigError(f"init_weights='score' needs positive scores; got {bad[:5]!r}")
            init = torch.tensor([math.log(s) for s in scores], dtype=torch.float32)
        else:
            init = torch.zeros(len(scores), dtype=torch.float32)
        self.word_logits = nn.Parameter(init, requires_grad=self.learn_weights)
        self.register_buffer(
            "refined_out", torch.zeros(len(scores), dtype=torch.bool), persistent=False
        )
        self.register_buffer("prior", None, persistent=False)

    @classmethod
    def from_label_words(
        cls,
        label_words: LabelWords,
        tokenizer: Any | None = None,
        model: Any | None = None,
        *,
        top_k: int | None = None,
        **options: Any,
    ) -> KnowledgeableVerbalizer:
        """Build from label words, keeping the ``top_k`` best per class, and prepare it.

        Args:
            label_words: mined label words.
            tokenizer: if given, :meth:`prepare` is called with it (and ``model``).
            top_k: keep each class's ``top_k`` best words (``None``: all).
            **options: the constructor's keyword options.
        """
        if top_k is not None:
            label_words = label_words.top(top_k)
        v = cls(label_words, **options)
        if tokenizer is not None:
            v.prepare(tokenizer, model)
        return v

    # ------------------------------------------------------------------ state

    def active(self) -> torch.Tensor:
        return self.tokenized & ~self.refined_out

    def _after_prepare(self) -> None:
        if self.prior is not None:
            bad = self.active() & ~(self.prior > 0)
            if bool(bad.any()):
                names = [self.flat_words[i] for i in bad.nonzero().flatten().tolist()]
                raise ConfigError(
                    f"calibration prior has no value for words {names[:5]!r}; calibrate again"
                )

    def class_scores(self, word_scores: torch.Tensor) -> torch.Tensor:
        """``(batch, W)`` word log-scores -> ``(batch, num_classes)`` class log-scores."""
        active = self.active()
        log_p = label_word_log_probs(word_scores, active, self.prior)
        weights = class_word_weights(self.word_logits, self.membership, active)
        return log_p @ weights.t()

    def class_weights(self) -> dict[str, dict[str, float]]:
        """The current word weights of each class (kept words only)."""
        weights = class_word_weights(
            self.word_logits.detach(), self.membership, self.active()
        ).cpu()
        out: dict[str, dict[str, float]] = {}
        for c, name in enumerate(self.classes):
            out[name] = {
                self.flat_words[w]: float(weights[c, w])
                for w in range(len(self.flat_words))
                if self.word_class[w] == c and weights[c, w] > 0
            }
        return out

    # ------------------------------------------------------------------ calibration

    @torch.no_grad()
    def label_word_probs(
        self, mask_inputs: torch.Tensor, *, calibrated: bool = True
    ) -> torch.Tensor:
        """``(N, num_masks, vocab)`` -> ``(N, W)`` label-word distribution (0 at inactive words)."""
        prior = self.prior if calibrated else None
        return label_word_log_probs(self.word_scores(mask_inputs), self.active(), prior).exp() * (
            self.active().to(torch.float32)
        )

    @torch.no_grad()
    def calibrate_words(self, word_scores: torch.Tensor) -> KnowledgeableVerbalizer:
        """Set the prior from unlabeled texts' word log-scores ``(N, W)``."""
        if word_scores.shape[0] == 0:
            raise ValueError("calibrate needs at least one unlabeled text")
        self.prior = label_word_prior(word_scores, self.active())
        return self

    # ------------------------------------------------------------------ refinement

    def _drop(self, drop: torch.Tensor, rank: torch.Tensor) -> None:
        """Mark ``drop`` words refined out, keeping each class's best (highest ``rank``) word."""
        active = self.active()
        new_active = active & ~drop
        for c in range(self.num_classes):
            members = self.membership[c] & active
            if members.any() and not (self.membership[c] & new_active).any():
                best = torch.where(members, rank, float("-inf")).argmax()
                new_active = new_active.clone()
                new_active[best] = True
        self.refined_out = self.refined_out | (active & ~new_active)

    @torch.no_grad()
    def refine_frequency(
        self, mask_inputs: torch.Tensor | None = None, *, ratio: float = 0.5
    ) -> KnowledgeableVerbalizer:
        """Drop words whose prior is below ``ratio`` x their class's mean prior; return self.

        Args:
            mask_inputs: unlabeled texts' mask logits ``(N, num_masks, vocab)`` to
                estimate the prior from; ``None`` uses the calibration prior.
            ratio: the threshold relative to the class mean (0 keeps everything).

        Raises:
            RuntimeError: no ``mask_inputs`` and :meth:`calibrate` was never called.
        """
        if ratio < 0:
            raise ConfigError(f"ratio must be >= 0, got {ratio}")
        active = self.active()
        if mask_inputs is not None:
            prior = label_word_prior(self.word_scores(mask_inputs), active)
        elif self.prior is not None:
            prior = torch.where(active, self.prior, 0.0)
        else:
            raise RuntimeError("refine_frequency needs mask_inputs or a calibrated verbalizer")
        member = (self.membership & active.unsqueeze(0)).to(prior.dtype)  # (C, W)
        class_mean = (member @ prior) / member.sum(dim=1).clamp_min(1)
        threshold = class_mean[torch.tensor(self.word_class, device=prior.device)] * ratio
        self._drop(active & (prior < threshold), prior)
        return self

    @torch.no_grad()
    def refine_relevance(
        self,
        mask_inputs: torch.Tensor,
        labels: Sequence[int] | torch.Tensor,
        *,
        threshold: float = 1.0,
    ) -> KnowledgeableVerbalizer:
        """Drop words less relevant to their class than to the others; return self.

        Args:
            mask_inputs: support texts' mask logits ``(N, num_masks, vocab)``.
            labels: ``(N,)`` class index of each support text.
            threshold: drop a word whose relevance ``r(w)`` (module docstring) is below it.
        """
        labels = torch.as_tensor(labels, dtype=torch.long, device=mask_inputs.device)
        if labels.shape != (mask_inputs.shape[0],):
            raise ValueError(
                f"{mask_inputs.shape[0]} support texts but labels of shape {tuple(labels.shape)}"
            )
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must be class indices in [0, {self.num_classes})")
        probs = self.label_word_probs(mask_inputs)
        word_class = torch.tensor(self.word_class, device=probs.device)
        rel = relevance_scores(probs, labels.to(probs.device), word_class, self.num_classes)
        drop = self.active() & (rel < threshold)  # nan compares False: kept
        self._drop(drop, torch.nan_to_num(rel, nan=float("inf")))
        return self

    def word_report(self) -> dict[str, dict[str, Any]]:
        report = super().word_report()
        for c, name in enumerate(self.classes):
            report[name]["dropped_refinement"] = [
                self.flat_words[w]
                for w in range(len(self.flat_words))
                if self.word_class[w] == c and bool(self.refined_out[w])
            ]
        return report

    # ------------------------------------------------------------------ config

    def to_config(self) -> dict[str, Any]:
        return {
            "type": self.config_type,
            "label_words": self.label_words.to_dict(),
            **self._word_options(),
            "init_weights": self.init_weights,
            "learn_weights": self.learn_weights,
            "word_weights": self.word_logits.detach().cpu().tolist(),
            "prior": None if self.prior is None else self.prior.cpu().tolist(),
            "refined_out": self.refined_out.cpu().tolist(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> KnowledgeableVerbalizer:
        allowed = {
            "type",
            "label_words",
            "aggregate",
            "max_word_tokens",
            "leading_space",
            "init_weights",
            "learn_weights",
            "word_weights",
            "prior",
            "refined_out",
        }
        unknown = set(config) - allowed
        if unknown:
            raise ConfigError(
                f"unknown knowledgeable verbalizer keys {sorted(unknown)!r}; "
                f"valid keys: {sorted(allowed)!r}"
            )
        if "label_words" not in config:
            raise ConfigError("knowledgeable verbalizer config has no 'label_words'")
        v = cls(
            LabelWords.from_dict(config["label_words"]),
            aggregate=config.get("aggregate", "first"),
            max_word_tokens=config.get("max_word_tokens"),
            leading_space=config.get("leading_space", "auto"),
            init_weights=config.get("init_weights", "uniform"),
            learn_weights=config.get("learn_weights", True),
        )
        n = len(v.flat_words)
        for key in ("word_weights", "prior", "refined_out"):
            if config.get(key) is not None and len(config[key]) != n:
                raise ConfigError(f"'{key}' has {len(config[key])} values for {n} label words")
        if config.get("word_weights") is not None:
            weights = torch.tensor(config["word_weights"], dtype=torch.float32)
            v.word_logits = nn.Parameter(weights, requires_grad=v.learn_weights)
        if config.get("prior") is not None:
            v.prior = torch.tensor(config["prior"], dtype=torch.float32)
        if config.get("refined_out") is not None:
            v.refined_out = torch.tensor(config["refined_out"], dtype=torch.bool)
        return v
