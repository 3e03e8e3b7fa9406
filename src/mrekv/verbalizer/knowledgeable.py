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

Refinement (mrekv's own rules, ``refine="mrekv"``; both keep at least the best
word of every class):

* :meth:`refine_frequency`: drop a word whose prior is below
  ``ratio * mean prior of its class's kept words``;
* :meth:`refine_relevance`: on a labelled support set, with ``q_w`` the vector
  of ``p~_w`` over the support texts and ``1_y`` the indicator vector of class
  ``y``, ``r(w) = cos(q_w, 1_{c(w)}) / mean_{y != c(w)} cos(q_w, 1_y)``; drop a
  word with ``r(w) < threshold`` (default 1: the word fits another class
  better than its own on average). A class without support texts is left alone.

KPT's own rules (Hu et al.'s code, as OpenPrompt runs them; formulas in
:mod:`mrekv.verbalizer.kpt`) are options beside these:

* ``shared_words="drop"``: one pass of KPT's removal of words shared by several
  classes or repeated in one (default ``"keep"``: every word is kept);
* ``prior="mean-logits"``: the calibration prior is
  ``prior_w = softmax_w(s_w(mean_n z_n))``, the label-word distribution of the
  *mean mask logits* over the unlabeled texts, as OpenPrompt computes it (default
  ``"mean-prob"``: ``prior_w = mean_n p_w(z_n)``, the KPT paper's definition);
* ``refine_frequency(..., refine="kpt")``: cut the ``int(ratio * V)`` vocabulary
  ids of lowest mean logit and drop every word with a sub-token among them (the
  cut is by vocabulary rank, not relative to the other label words; it raises
  :class:`~mrekv.errors.ConfigError` instead of emptying a class);
* ``refine_relevance(..., refine="kpt")``: KPT's unsupervised ``tfidf_filter``
  against each class's first word (the class name in KPT's files); no labels.

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
from mrekv.verbalizer.kpt import project_logits, tfidf_keep, vocab_rank_cut
from mrekv.verbalizer.kv_math import (
    class_word_weights,
    drop_shared,
    label_word_log_probs,
    label_word_prior,
    relevance_scores,
)
from mrekv.verbalizer.label_words import LabelWords
from mrekv.verbalizer.tokens import LabelWordVerbalizer, LeadingSpace

INIT_WEIGHTS = ("uniform", "score")
SHARED_WORDS = ("keep", "drop")
PRIORS = ("mean-prob", "mean-logits")
REFINE = ("mrekv", "kpt")
__all__ = [
    "KnowledgeableVerbalizer",
    "class_word_weights",
    "drop_shared",
    "label_word_log_probs",
    "label_word_prior",
    "relevance_scores",
]


class KnowledgeableVerbalizer(LabelWordVerbalizer):
    """KPT-style verbalizer over mined label words (the math is in the module docstring).

    Args:
        label_words: the classes and their label words (with mining scores).
        aggregate: ``"first"``, ``"mean"``, ``"max"``, ``"multi-mask"`` (masked LMs) or
            ``"exact"`` / ``"exact-mean"`` (causal LMs; see :mod:`mrekv.verbalizer.tokens`).
        max_word_tokens: use only a word's first sub-tokens (``None``: all).
        leading_space: tokenize words in their after-a-space form (True), glued to
            the previous token (False), or by script (``"auto"``: a space for Latin-script
            words, none for Japanese / Chinese ones).
        init_weights: ``"uniform"`` or ``"score"`` (weights proportional to the
            mined scores, which must then be positive).
        learn_weights: whether ``word_logits`` is trained.
        shared_words: ``"keep"`` (default) every word, or ``"drop"`` words shared
            across classes or repeated in one, as KPT does (module docstring).
        prior: the calibration prior, ``"mean-prob"`` (default, the mean of the
            label-word distributions) or ``"mean-logits"`` (OpenPrompt's: the
            distribution of the mean logits).

    Raises:
        ConfigError: an unknown option value, or ``label_words`` of the wrong type.

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
        shared_words: str = "keep",
        prior: str = "mean-prob",
    ) -> None:
        if not isinstance(label_words, LabelWords):
            raise ConfigError(f"label_words must be LabelWords, got {type(label_words).__name__}")
        if shared_words not in SHARED_WORDS:
            raise ConfigError(unknown_choice("shared_words", shared_words, SHARED_WORDS))
        if prior not in PRIORS:
            raise ConfigError(unknown_choice("prior", prior, PRIORS))
        given = label_words
        if shared_words == "drop":
            label_words = drop_shared(label_words)
        super().__init__(
            label_words.classes,
            label_words.as_lists(),
            aggregate=aggregate,
            max_word_tokens=max_word_tokens,
            leading_space=leading_space,
        )
        if init_weights not in INIT_WEIGHTS:
            raise ConfigError(unknown_choice("init_weights", init_weights, INIT_WEIGHTS))
        self.label_words = given
        self.init_weights = init_weights
        self.shared_words = shared_words
        self.prior_kind = prior
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
        """``(W,)`` bool: the words in use (tokenized and not refined out)."""
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
    def calibrate(self, mask_inputs: torch.Tensor) -> KnowledgeableVerbalizer:
        """Set the prior from unlabeled texts' mask logits ``(N, num_masks, vocab)``; return self.

        With ``prior="mean-logits"`` the logits are averaged over the texts first.

        Raises:
            ValueError: no texts.
        """
        if mask_inputs.shape[0] == 0:
            raise ValueError("calibrate needs at least one unlabeled text")
        if self.prior_kind == "mean-logits":
            mask_inputs = mask_inputs.float().mean(dim=0, keepdim=True)
        self.prior = label_word_prior(self.word_scores(mask_inputs), self.active())
        return self

    @torch.no_grad()
    def calibrate_words(self, word_scores: torch.Tensor) -> KnowledgeableVerbalizer:
        """Set the prior from unlabeled texts' word log-scores ``(N, W)``.

        With ``prior="mean-logits"`` the prior is the distribution of the mean word
        scores, which equals OpenPrompt's for ``aggregate`` ``"first"`` and
        ``"mean"`` (use :meth:`calibrate` for ``"max"``).
        """
        if word_scores.shape[0] == 0:
            raise ValueError("calibrate needs at least one unlabeled text")
        if self.prior_kind == "mean-logits":
            word_scores = word_scores.mean(dim=0, keepdim=True)
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

    def _check_refine(self, refine: str) -> None:
        if refine not in REFINE:
            raise ConfigError(unknown_choice("refine", refine, REFINE))

    def _drop_kpt(self, drop: torch.Tensor, what: str) -> None:
        """Mark ``drop`` words refined out; raise rather than empty a class (KPT's rules)."""
        active = self.active()
        for c, name in enumerate(self.classes):
            members = self.membership[c] & active
            if members.any() and not (members & ~drop).any():
                raise ConfigError(f"{what} removes every label word of class {name!r}")
        self.refined_out = self.refined_out | (active & drop)

    @torch.no_grad()
    def refine_frequency(
        self, mask_inputs: torch.Tensor | None = None, *, ratio: float = 0.5, refine: str = "mrekv"
    ) -> KnowledgeableVerbalizer:
        """Drop rarely predicted words; return self.

        Args:
            mask_inputs: unlabeled texts' mask logits ``(N, num_masks, vocab)`` to
                estimate the prior from; ``None`` uses the calibration prior
                (``refine="mrekv"`` only).
            ratio: ``refine="mrekv"``: drop a word whose prior is below ``ratio`` x its
                class's mean prior (0 keeps everything). ``refine="kpt"``: the share
                of the vocabulary cut by mean logit (KPT's ``candidate_frac``).
            refine: ``"mrekv"`` (default) or ``"kpt"`` (module docstring).

        Raises:
            RuntimeError: no ``mask_inputs`` and :meth:`calibrate` was never called.
            ConfigError: a bad ``ratio`` or ``refine``; with ``"kpt"``, no
                ``mask_inputs`` or a class left without words.

        Example:
            >>> v.refine_frequency(unlabeled_mask_logits, ratio=0.5, refine="kpt")  # doctest: +SKIP
        """
        self._check_refine(refine)
        if ratio < 0:
            raise ConfigError(f"ratio must be >= 0, got {ratio}")
        active = self.active()
        if refine == "kpt":
            if mask_inputs is None:
                raise ConfigError("refine_frequency(refine='kpt') needs the mask logits")
            mean = mask_inputs[:, 0, :].float().mean(dim=0)
            cut = vocab_rank_cut(mean, self.token_ids, self.token_mask, ratio)
            self._drop_kpt(active & cut, f"refine_frequency(ratio={ratio}, refine='kpt')")
            return self
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
        labels: Sequence[int] | torch.Tensor | None = None,
        *,
        threshold: float = 1.0,
        refine: str = "mrekv",
    ) -> KnowledgeableVerbalizer:
        """Drop words less relevant to their class than to the others; return self.

        Args:
            mask_inputs: support texts' mask logits ``(N, num_masks, vocab)``.
            labels: ``(N,)`` class index of each support text (``refine="mrekv"``;
                ignored by ``"kpt"``, which is unsupervised).
            threshold: drop a word whose relevance ``r(w)`` (module docstring) is
                below it (``refine="mrekv"`` only).
            refine: ``"mrekv"`` (default) or ``"kpt"`` (KPT's ``tfidf_filter``
                against each class's first kept word; needs ``aggregate`` first / mean / max).

        Raises:
            ValueError: labels that do not match the texts or the classes.
            ConfigError: a bad ``refine``; with ``"kpt"``, every class down to one word.

        Example:
            >>> v.refine_relevance(support_mask_logits, refine="kpt")  # doctest: +SKIP
        """
        self._check_refine(refine)
        if refine == "kpt":
            active = self.active()
            words = [w for w in range(len(self.flat_words)) if bool(active[w])]
            word_class = [self.word_class[w] for w in words]
            first = [word_class.index(c) for c in range(self.num_classes)]
            scores = project_logits(
                mask_inputs[:, 0, :].float(), self.token_ids[words], self.token_mask[words],
                self.aggregate,
            )
            result = tfidf_keep(scores, word_class, first)
            members = [[j for j, k in enumerate(word_class) if k == c] for c in range(len(first))]
            kept = {words[members[c][i]] for c, idx in enumerate(result.kept) for i in idx}
            drop = torch.tensor([w not in kept for w in range(len(self.flat_words))])
            self._drop_kpt(active & drop.to(active.device), "refine_relevance(refine='kpt')")
            return self
        if labels is None:
            raise ValueError("refine_relevance(refine='mrekv') needs the support labels")
        labels = torch.as_tensor(labels, dtype=torch.long, device=mask_inputs.device)
        if labels.shape != (mask_inputs.shape[0],):
            raise ValueError(
                f"{mask_inputs.shape[0]} support texts but labels of shape {tuple(labels.shape)}"
            )
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must be class indices in [0, {self.num_classes})")
        probs = self.label_word_probs(mask_inputs)
        word_class_t = torch.tensor(self.word_class, device=probs.device)
        rel = relevance_scores(probs, labels.to(probs.device), word_class_t, self.num_classes)
        drop = self.active() & (rel < threshold)  # nan compares False: kept
        self._drop(drop, torch.nan_to_num(rel, nan=float("inf")))
        return self

    def word_report(self) -> dict[str, dict[str, Any]]:
        """Per class: words given, kept, dropped by tokenization and by refinement."""
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
        """JSON-ready options, words, learned weights, prior and refinement mask."""
        return {
            "type": self.config_type,
            "label_words": self.label_words.to_dict(),
            **self._word_options(),
            "init_weights": self.init_weights,
            "learn_weights": self.learn_weights,
            "shared_words": self.shared_words,
            "prior_kind": self.prior_kind,
            "word_weights": self.word_logits.detach().cpu().tolist(),
            "prior": None if self.prior is None else self.prior.cpu().tolist(),
            "refined_out": self.refined_out.cpu().tolist(),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> KnowledgeableVerbalizer:
        """Rebuild from :meth:`to_config` data.

        Raises:
            ConfigError: an unknown key, no label words, or a list of the wrong length.
        """
        allowed = {
            "type",
            "label_words",
            "aggregate",
            "max_word_tokens",
            "leading_space",
            "init_weights",
            "learn_weights",
            "shared_words",
            "prior_kind",
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
            shared_words=config.get("shared_words", "keep"),
            prior=config.get("prior_kind", "mean-prob"),
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
