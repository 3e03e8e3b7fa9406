"""An n-gram expert pooled with the prior head (frozen LM, few-shot).

A small LM's read-position state can miss what surface n-grams of the N texts
show plainly (measured: character n-grams beat the frozen Gemma-3-270m state on
Japanese securities reports and news topics from 64 texts on). The default frozen
head therefore pools two experts, log-linearly:

    log p(y | x) = head_logits(x) + beta * log p_ngram(y | x) + const

``p_ngram`` is TF-IDF + L2 logistic regression on the texts (scikit-learn; word
1-2-grams for English, character 1-3-grams otherwise, its ``C`` chosen by CV), and
``beta`` (``0``: the head alone) is chosen from :data:`BETAS` by the held-out
log-loss of the pooled out-of-fold predictions on the *same* folds the head was
cross-validated on, so every choice stays inside the N labelled texts. The
out-of-fold predictions of both experts come from the choice of their own
penalty on those folds, a small optimism shared by every ``beta``.

The pooled logits are finally divided by a temperature fitted on the same
out-of-fold logits (:func:`mrekv.metrics.fit_temperature`; it changes confidence,
never a prediction), so the probabilities can be read as confidence.

The fitted expert is plain data (vocabulary, idf, coefficients), saved as JSON
(:meth:`NgramExpert.to_state` / :meth:`NgramExpert.from_state`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Pooling weights of the n-gram expert that cross-validation chooses from.
BETAS: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: Inverse L2 strengths of the expert's logistic regression.
C_GRID: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
#: Probability floor of a class the expert never saw (its log stays finite).
FLOOR = 1e-6


def vectorizer_params(lang: str | None) -> dict[str, Any]:
    """TfidfVectorizer arguments: English word 1-2-grams, else character 1-3-grams."""
    if lang == "en":
        return {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True}
    return {"analyzer": "char", "ngram_range": (1, 3), "sublinear_tf": True}


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax (pure)."""
    shifted = logits - logits.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))  # type: ignore[no-any-return]


def mean_log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of ``(n, C)`` logits against class indices ``y``."""
    return float(-log_softmax(logits)[np.arange(len(y)), y].mean())


def per_text_log_loss(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(n,)`` cross-entropy of each row of ``(n, C)`` logits."""
    return -log_softmax(logits)[np.arange(len(y)), y]  # type: ignore[no-any-return]


def choose_beta(head_oof: np.ndarray, ngram_oof: np.ndarray, y: np.ndarray,
                betas: Sequence[float] = BETAS) -> tuple[float, float]:
    """The pooling weight by pooled out-of-fold log-loss, with a one-standard-error rule.

    The weight with the lowest mean loss is taken only when its gain over the head
    alone (weight 0) exceeds one standard error of the per-text loss differences;
    otherwise the head stays alone. On 16 texts a lucky fold otherwise lets a noisy
    expert in (measured: -11 macro-F1 on chABSA at N = 16).

    Returns:
        ``(beta, its mean log-loss)``.
    """
    y = np.asarray(y)
    alone = per_text_log_loss(head_oof, y)
    losses = {b: per_text_log_loss(head_oof + b * ngram_oof, y) for b in betas}
    best = min(betas, key=lambda b: (float(losses[b].mean()) + 1e-9 * b, b))
    diff = alone - losses[best]
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else math.inf
    if best != 0 and not float(diff.mean()) > se:
        best = 0.0 if 0.0 in losses else min(betas)
    return best, float(losses[best].mean())


@dataclass
class NgramExpert:
    """TF-IDF + logistic regression over the classes ``0..C-1`` (module docstring).

    Args:
        lang: picks the analyzer (:func:`vectorizer_params`).
        c_grid: the ``C`` values cross-validation chooses from.
    """

    lang: str | None = None
    c_grid: Sequence[float] = C_GRID
    n_classes_: int = 0
    C_: float = 1.0
    vocabulary_: dict[str, int] = field(default_factory=dict, repr=False)
    idf_: np.ndarray | None = field(default=None, repr=False)
    coef_: np.ndarray | None = field(default=None, repr=False)
    intercept_: np.ndarray | None = field(default=None, repr=False)
    seen_: np.ndarray | None = field(default=None, repr=False)
    oof_log_proba_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, texts: Sequence[str], y: Sequence[int] | np.ndarray, n_classes: int,
            folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> NgramExpert:
        """Choose ``C`` on ``folds`` (held-out log-loss), keep its out-of-fold log-probs,
        refit on all texts; return self.

        Raises:
            ValueError: fewer than two classes among the labels (nothing to separate).
        """
        y = np.asarray(y, dtype=np.int64)
        if len(set(y.tolist())) < 2:
            raise ValueError("an n-gram expert needs texts of at least two classes")
        texts = list(texts)
        self.n_classes_ = n_classes
        best: tuple[float, float, np.ndarray] | None = None
        for c in self.c_grid:
            oof = np.zeros((len(y), n_classes))
            for tr, te in folds:
                oof[te] = _fold_log_proba([texts[i] for i in tr], y[tr],
                                          [texts[i] for i in te], c, self.lang, n_classes)
            loss = float(-oof[np.arange(len(y)), y].mean()) if folds else 0.0
            if best is None or loss < best[0] - 1e-9:
                best = (loss, c, oof)
            if not folds:
                break
        assert best is not None
        self.C_, self.oof_log_proba_ = best[1], best[2] if folds else None
        model = _fit_pipeline(texts, y, self.C_, self.lang)
        vec, lr = model.named_steps["tfidfvectorizer"], model.named_steps["logisticregression"]
        self.vocabulary_ = {str(k): int(v) for k, v in vec.vocabulary_.items()}
        self.idf_ = np.asarray(vec.idf_, dtype=np.float64)
        self.seen_ = np.asarray(lr.classes_, dtype=np.int64)
        coef, intercept = np.asarray(lr.coef_), np.asarray(lr.intercept_)
        if len(self.seen_) == 2:  # binary LR keeps one row: logits (0, z)
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
        self.coef_, self.intercept_ = coef, intercept
        return self

    def log_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, C)`` log-probabilities (a class absent from training gets :data:`FLOOR`)."""
        if self.coef_ is None or self.idf_ is None or self.seen_ is None:
            raise RuntimeError("NgramExpert is not fitted; call fit first")
        from sklearn.feature_extraction.text import TfidfVectorizer

        vec = TfidfVectorizer(vocabulary=self.vocabulary_, **vectorizer_params(self.lang))
        vec.idf_ = self.idf_
        x = vec.transform(list(texts))
        seen = np.exp(log_softmax(np.asarray(x @ self.coef_.T) + self.intercept_))
        return _spread(seen, self.seen_, self.n_classes_)

    def to_state(self) -> dict[str, Any]:
        """JSON-ready state (lists and a vocabulary dict)."""
        if self.coef_ is None or self.idf_ is None or self.seen_ is None:
            raise RuntimeError("NgramExpert is not fitted; call fit first")
        assert self.intercept_ is not None
        return {"lang": self.lang, "n_classes": self.n_classes_, "C": self.C_,
                "vocabulary": self.vocabulary_, "idf": self.idf_.tolist(),
                "coef": self.coef_.tolist(), "intercept": self.intercept_.tolist(),
                "seen": self.seen_.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any], where: str) -> NgramExpert:
        """Rebuild from :meth:`to_state`; ValueError naming ``where`` when it is malformed."""
        try:
            expert = cls(lang=state["lang"], n_classes_=int(state["n_classes"]),
                         C_=float(state["C"]),
                         vocabulary_={str(k): int(v) for k, v in state["vocabulary"].items()})
            expert.idf_ = np.asarray(state["idf"], dtype=np.float64)
            expert.coef_ = np.asarray(state["coef"], dtype=np.float64)
            expert.intercept_ = np.asarray(state["intercept"], dtype=np.float64)
            expert.seen_ = np.asarray(state["seen"], dtype=np.int64)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{where}: bad n-gram expert state: {exc!r}") from exc
        v = len(expert.vocabulary_)
        if (expert.idf_.shape != (v,) or expert.coef_.shape != (len(expert.seen_), v)
                or expert.intercept_.shape != (len(expert.seen_),)
                or not np.isfinite(expert.coef_).all()):
            raise ValueError(f"{where}: n-gram expert arrays do not match its vocabulary of {v}")
        if sorted(expert.vocabulary_.values()) != list(range(v)):
            raise ValueError(f"{where}: n-gram expert vocabulary indices are not 0..{v - 1}, "
                             "each once")
        seen = expert.seen_.tolist()
        if len(set(seen)) != len(seen) or not all(0 <= c < expert.n_classes_ for c in seen):
            raise ValueError(f"{where}: n-gram expert classes {seen} are not distinct class "
                             f"indices below {expert.n_classes_}")
        return expert


def _fit_pipeline(texts: list[str], y: np.ndarray, c: float, lang: str | None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(**vectorizer_params(lang)),
                         LogisticRegression(C=c, max_iter=2000)).fit(texts, y)


def _fold_log_proba(texts: list[str], y: np.ndarray, test: list[str], c: float,
                    lang: str | None, n_classes: int) -> np.ndarray:
    """Held-out log-probabilities of one fold (a one-class training part: that class)."""
    if len(set(y.tolist())) < 2:
        return _spread(np.ones((len(test), 1)), np.array([int(y[0])]), n_classes)
    model = _fit_pipeline(texts, y, c, lang)
    classes = model.named_steps["logisticregression"].classes_
    return _spread(model.predict_proba(test), np.asarray(classes), n_classes)


def _spread(proba: np.ndarray, seen: np.ndarray, n_classes: int) -> np.ndarray:
    full = np.full((proba.shape[0], n_classes), FLOOR)
    full[:, seen] = np.maximum(proba, FLOOR)
    return np.log(full / full.sum(1, keepdims=True))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Pooling:
    """What pooling chose: the expert (None: the head alone), its weight, and the
    temperature of the pooled logits (1.0: none fitted)."""

    expert: NgramExpert | None
    beta: float
    info: dict[str, Any]
    temperature: float = 1.0


#: Standard deviation of the prior on the head's log-temperature: on 16 texts the plain
#: maximum-likelihood temperature swung to 0.25 and doubled the test ECE (budget sweep).
TEMPERATURE_PRIOR_SD = 0.25


def oof_temperature(oof_logits: np.ndarray | None, y: np.ndarray) -> float:
    """The (MAP) temperature of held-out logits (1.0 without them or with one class)."""
    from mrekv.metrics import fit_temperature

    if oof_logits is None or len(set(np.asarray(y).tolist())) < 2:
        return 1.0
    return round(fit_temperature(oof_logits, y, prior_sd=TEMPERATURE_PRIOR_SD), 4)


def fit_pooled(head: Any, texts: Sequence[str], y: Sequence[int] | np.ndarray, n_classes: int,
               lang: str | None, betas: Sequence[float] = BETAS) -> Pooling:
    """Fit an n-gram expert on the folds ``head`` (a fitted PriorHead) was chosen on, and
    choose its pooling weight (module docstring). No CV, one class: the head alone."""
    from mrekv.prompt.prior_head import cv_folds

    y = np.asarray(y, dtype=np.int64)
    folds = cv_folds(y, head.seed, head.max_folds)
    if not folds or head.oof_logits_ is None or len(set(y.tolist())) < 2:
        return Pooling(None, 0.0, {"beta": 0.0, "reason": "no cross-validation possible"})
    expert = NgramExpert(lang=lang).fit(texts, y, n_classes, folds)
    assert expert.oof_log_proba_ is not None
    beta, loss = choose_beta(head.oof_logits_, expert.oof_log_proba_, y, betas)
    temperature = oof_temperature(head.oof_logits_ + beta * expert.oof_log_proba_, y)
    info = {"beta": beta, "C": expert.C_, "pooled_cv_loss": round(loss, 6),
            "head_cv_loss": round(mean_log_loss(head.oof_logits_, y), 6),
            "temperature": temperature}
    return Pooling(expert if beta > 0 else None, beta, info, temperature)
