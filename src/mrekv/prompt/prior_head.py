"""The verbalizer as the prior of a learned head (frozen LM, few-shot).

At the read position (the mask of a masked LM, the next token of a causal LM) a
label word's logit is the LM's hidden state times that word's output-embedding
row, so a label-word verbalizer is a linear head with fixed weights. A probe
learns such a head from scratch; this head starts *at* the verbalizer and moves
away from it only as far as the N labelled texts justify:

    logits(x) = a * s(x) + W z(x) + b

``s(x)`` ``(n, C)`` are the verbalizer's calibrated class log-scores (a fixed
offset), ``z(x)`` ``(n, H)`` the read-position hidden state, standardised with
statistics that may include unlabelled texts, ``a >= 0`` a learned scale of the
prior (one number: it changes confidence, never the verbalizer's ranking), and
``W (C, H)``, ``b (C,)`` the learned correction. Training minimises

    mean cross-entropy + lam / 2 * (||W||^2 + ||b||^2)

the MAP estimate under a Gaussian prior centred on the verbalizer (W = 0, b = 0).
``lam`` and, when several are offered, the prior itself (``None``: no prior, a
plain L2 logistic-regression probe) are chosen by stratified cross-validation
within the N texts (mean held-out log-loss). ``lam = inf`` keeps the verbalizer
exactly; it is always a candidate when a prior is given, and the choice is
recorded (:attr:`HeadChoice`). As N -> 0 the head is the verbalizer; as N grows
a weak penalty wins and it tends to a probe.

scikit-learn's ``LogisticRegression`` has no per-sample offset, so the fit is a
small full-batch L-BFGS in torch (float64; N <= a few thousand, H <= 1024).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Default penalty grid (per-sample loss scale); ``inf`` = keep the prior unchanged.
DEFAULT_PENALTIES: tuple[float, ...] = (math.inf, 30.0, 10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01)
#: Below this many texts (or with a class seen once) no cross-validation is possible.
MIN_CV_TEXTS = 4


@dataclass(frozen=True)
class HeadChoice:
    """What cross-validation chose (recorded in results and saved models).

    Attributes:
        prior: the name of the chosen prior (``"none"``: a plain probe).
        penalty: the chosen ``lam`` (``inf``: the prior kept unchanged).
        cv_loss: mean held-out log-loss of the choice (None without CV).
        folds: folds used (0: no CV was possible, the default was kept).
        kept_prior: True when the head equals its prior (W = 0, b = 0).
    """

    prior: str
    penalty: float
    cv_loss: float | None
    folds: int
    kept_prior: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``inf`` written as the string ``"inf"``)."""
        return {"prior": self.prior,
                "penalty": "inf" if math.isinf(self.penalty) else self.penalty,
                "cv_loss": self.cv_loss,
                "folds": self.folds, "kept_prior": self.kept_prior}


def standardiser(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and standard deviation ``(H,)`` (std floored at 1e-6)."""
    states = np.asarray(states, dtype=np.float64)
    return states.mean(0), np.maximum(states.std(0), 1e-6)


def fit_offset_logistic(
    z: np.ndarray, y: np.ndarray, offset: np.ndarray | None, penalty: float, n_classes: int,
    *, max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit ``logits = a * offset + z W^T + b`` by penalised cross-entropy (pure function).

    Args:
        z: ``(n, H)`` standardised states.
        y: ``(n,)`` class indices.
        offset: ``(n, C)`` prior class log-scores, or None (no prior: ``a`` unused).
        penalty: ``lam`` (``inf``: W = 0, b = 0, only ``a`` is fitted).
        n_classes: C.

    Returns:
        ``(W (C, H), b (C,), a)``.
    """
    import torch

    n, h = z.shape
    zt = torch.as_tensor(z, dtype=torch.float64)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.long)
    off = None if offset is None else torch.as_tensor(offset, dtype=torch.float64)
    w = torch.zeros(n_classes, h, dtype=torch.float64, requires_grad=not math.isinf(penalty))
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=not math.isinf(penalty))
    log_a = torch.zeros((), dtype=torch.float64, requires_grad=off is not None)
    params = [p for p in (w, b, log_a) if p.requires_grad]
    if not params:
        return w.detach().numpy(), b.detach().numpy(), 1.0
    optimiser = torch.optim.LBFGS(params, lr=1.0, max_iter=max_iter, tolerance_grad=1e-7,
                                  tolerance_change=1e-10, history_size=20,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        logits = zt @ w.T + b
        if off is not None:
            logits = logits + log_a.exp() * off
        loss = torch.nn.functional.cross_entropy(logits, yt)
        if not math.isinf(penalty):
            loss = loss + 0.5 * penalty * (w.pow(2).sum() + b.pow(2).sum())
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimiser.step(closure)  # type: ignore[no-untyped-call]
    return w.detach().numpy(), b.detach().numpy(), float(log_a.detach().exp())


def head_logits(z: np.ndarray, offset: np.ndarray | None, w: np.ndarray, b: np.ndarray,
                a: float) -> np.ndarray:
    """``(n, C)`` logits of a fitted head (pure)."""
    logits = np.asarray(z, dtype=np.float64) @ w.T + b
    return logits if offset is None else logits + a * np.asarray(offset, dtype=np.float64)


def _log_loss(logits: np.ndarray, y: np.ndarray) -> float:
    shifted = logits - logits.max(1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def cv_folds(y: np.ndarray, seed: int, max_folds: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds within the training texts (plain folds when a class has 1 text).

    Returns an empty list when there are too few texts to cross-validate.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    y = np.asarray(y)
    if len(y) < MIN_CV_TEXTS:
        return []
    counts = np.bincount(y)
    smallest = int(counts[counts > 0].min())
    if smallest >= 2:
        k = min(max_folds, smallest)
        splitter: Any = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        splitter = KFold(n_splits=min(max_folds, len(y)), shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in splitter.split(np.zeros(len(y)), y)]


@dataclass
class PriorHead:
    """A linear head on read-position states, centred on a verbalizer (module docstring).

    Args:
        penalties: the ``lam`` grid cross-validation chooses from.
        max_folds: at most this many CV folds.
        seed: seed of the folds.
    """

    penalties: Sequence[float] = DEFAULT_PENALTIES
    max_folds: int = 5
    seed: int = 0
    #: ``"min"``: the (prior, penalty) of lowest CV loss; ``"1se"``: the strongest penalty
    #: (closest to the prior) whose CV loss is within one standard error of that minimum.
    penalty_rule: str = "min"
    mean_: np.ndarray | None = field(default=None, repr=False)
    std_: np.ndarray | None = field(default=None, repr=False)
    coef_: np.ndarray | None = field(default=None, repr=False)
    intercept_: np.ndarray | None = field(default=None, repr=False)
    prior_scale_: float = 1.0
    choice_: HeadChoice | None = None
    oof_logits_: np.ndarray | None = field(default=None, repr=False)
    #: Temperature of the final (pooled) logits, fitted on out-of-fold logits by the
    #: classifier that pools this head (:mod:`mrekv.prompt.prior_mode`); 1.0: none.
    temperature_: float = 1.0

    def fit(
        self, states: np.ndarray, labels: Sequence[int] | np.ndarray,
        priors: Mapping[str, np.ndarray | None | Callable[[np.ndarray], np.ndarray]],
        n_classes: int, *,
        unlabeled_states: np.ndarray | None = None,
        default_prior: str | None = None,
    ) -> PriorHead:
        """Choose (prior, lam) by CV within the texts, then refit on all of them.

        Args:
            states: ``(n, H)`` read-position states of the labelled texts.
            labels: ``(n,)`` class indices.
            priors: name -> ``(n, C)`` prior class log-scores of the same texts (None: no
                prior, a probe), or a function of the training rows that returns them for
                all n texts - a prior built from labels (words mined from the texts) is
                rebuilt on each fold's training part, so CV never scores it on the labels
                that chose it. Offer several to let CV choose among them.
            n_classes: C.
            unlabeled_states: more states for the standardisation statistics only.
            default_prior: kept (with ``lam = inf``) when CV is impossible (default: the
                first prior that is not None, else the first).

        Returns:
            self, with ``choice_`` set and ``oof_logits_`` the ``(n, C)`` held-out logits of
            the chosen candidate on the CV folds (None without CV), for pooling.
        """
        y = np.asarray(labels, dtype=np.int64)
        states = np.asarray(states, dtype=np.float64)
        pool = states if unlabeled_states is None else np.concatenate(
            [states, np.asarray(unlabeled_states, dtype=np.float64)])
        self.mean_, self.std_ = standardiser(pool)
        z = (states - self.mean_) / self.std_
        folds = cv_folds(y, self.seed, self.max_folds)
        fold_priors: dict[tuple[str, int], np.ndarray | None] = {}
        for name, prior in priors.items():
            for i, (tr, _) in enumerate(folds):
                fold_priors[(name, i)] = prior(tr) if callable(prior) else prior
        candidates = [(name, lam) for name, prior in priors.items()
                      for lam in self.penalties if not (prior is None and math.isinf(lam))]
        if not candidates:
            raise ValueError("no (prior, penalty) candidate: give a prior or a finite penalty")
        if self.penalty_rule not in ("min", "1se"):
            raise ValueError(f"penalty_rule must be 'min' or '1se', got {self.penalty_rule!r}")
        best: tuple[float, str, float] | None = None
        self.oof_logits_ = None
        scored: list[tuple[float, float, str, float, np.ndarray]] = []
        if folds:
            for name, lam in candidates:
                losses, oof = [], np.zeros((len(y), n_classes))
                for i, (tr, te) in enumerate(folds):
                    offset = fold_priors[(name, i)]
                    w, b, a = fit_offset_logistic(z[tr], y[tr], _rows(offset, tr), lam, n_classes)
                    oof[te] = head_logits(z[te], _rows(offset, te), w, b, a)
                    losses.append(_log_loss(oof[te], y[te]))
                loss = float(np.mean(losses))
                se = float(np.std(losses, ddof=1) / math.sqrt(len(losses))) if len(losses) > 1 \
                    else 0.0
                scored.append((loss, se, name, lam, oof))
                if best is None or loss < best[0] - 1e-9:
                    best, self.oof_logits_ = (loss, name, lam), oof
        if best is not None and self.penalty_rule == "1se":
            low = min(scored, key=lambda c: c[0])
            within = [c for c in scored if c[0] <= low[0] + low[1] + 1e-12]
            pick = max(within, key=lambda c: c[3])  # the strongest pull toward the prior
            best, self.oof_logits_ = (pick[0], pick[2], pick[3]), pick[4]
        if best is None:
            fallback = default_prior or next((n for n, p in priors.items() if p is not None),
                                             next(iter(priors)))
            lam = math.inf if priors[fallback] is not None else min(self.penalties)
            best = (math.nan, fallback, lam)
        loss, name, lam = best
        chosen = priors[name]
        offset = chosen(np.arange(len(y))) if callable(chosen) else chosen
        if len(y):
            self.coef_, self.intercept_, self.prior_scale_ = fit_offset_logistic(
                z, y, offset, lam, n_classes)
        else:
            self.coef_, self.intercept_ = np.zeros((n_classes, z.shape[1])), np.zeros(n_classes)
        self.choice_ = HeadChoice(name, lam, None if math.isnan(loss) else loss, len(folds),
                                  kept_prior=offset is not None and math.isinf(lam))
        return self

    def decision_function(self, states: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
        """``(n, C)`` logits; ``prior`` is the chosen prior's class log-scores of these texts."""
        if self.coef_ is None or self.choice_ is None:
            raise RuntimeError("PriorHead is not fitted; call fit first")
        assert self.mean_ is not None and self.std_ is not None and self.intercept_ is not None
        z = (np.asarray(states, dtype=np.float64) - self.mean_) / self.std_
        return head_logits(z, prior, self.coef_, self.intercept_, self.prior_scale_)

    def predict_proba(self, states: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
        """``(n, C)`` class probabilities (softmax of :meth:`decision_function`)."""
        logits = self.decision_function(states, prior)
        shifted = np.exp(logits - logits.max(1, keepdims=True))
        return shifted / shifted.sum(1, keepdims=True)  # type: ignore[no-any-return]


def _rows(offset: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if offset is None else np.asarray(offset)[rows]
