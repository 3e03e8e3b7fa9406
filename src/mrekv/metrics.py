"""Classification metrics (thin, validated wrappers over scikit-learn).

Example:
    >>> classification_metrics(["a", "b", "b"], ["a", "b", "a"])["accuracy"]
    0.6666666666666666
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _check(y_true: Sequence[Any], y_pred: Sequence[Any]) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("cannot compute metrics on zero examples")


def accuracy(y_true: Sequence[Any], y_pred: Sequence[Any]) -> float:
    """Fraction of predictions equal to the gold label.

    Raises:
        ValueError: different lengths, or no examples.
    """
    from sklearn.metrics import accuracy_score

    _check(y_true, y_pred)
    return float(accuracy_score(list(y_true), list(y_pred)))


def macro_f1(
    y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any] | None = None
) -> float:
    """Unweighted mean of the per-class F1 scores.

    Args:
        y_true: gold labels.
        y_pred: predicted labels.
        labels: the classes to average over (default: those in ``y_true`` or
            ``y_pred``); a class never predicted nor present scores 0.

    Raises:
        ValueError: different lengths, or no examples.
    """
    from sklearn.metrics import f1_score

    _check(y_true, y_pred)
    return float(
        f1_score(
            list(y_true),
            list(y_pred),
            labels=None if labels is None else list(labels),
            average="macro",
            zero_division=0,
        )
    )


def classification_metrics(
    y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support.

    Returns:
        ``{"accuracy": float, "macro_f1": float, "n": int,
        "per_class": {label: {"precision", "recall", "f1", "support"}}}``
        (labels as strings, so the dict is JSON-ready).
    """
    from sklearn.metrics import precision_recall_fscore_support

    _check(y_true, y_pred)
    classes = list(labels) if labels is not None else sorted(set(y_true) | set(y_pred), key=str)
    precision, recall, f1, support = precision_recall_fscore_support(
        list(y_true), list(y_pred), labels=classes, zero_division=0
    )
    return {
        "accuracy": accuracy(y_true, y_pred),
        "macro_f1": macro_f1(y_true, y_pred, labels=classes),
        "n": len(y_true),
        "per_class": {
            str(c): {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
    }


def _check_proba(proba: Any, y: Any) -> tuple[Any, Any]:
    import numpy as np

    p, t = np.asarray(proba, dtype=np.float64), np.asarray(y)
    if p.ndim != 2 or len(p) != len(t):
        raise ValueError(f"proba must be (n, C) for n = {len(t)} labels, got shape {p.shape}")
    if len(t) == 0:
        raise ValueError("cannot compute metrics on zero examples")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("proba holds NaN, inf or negative values")
    if not np.issubdtype(t.dtype, np.integer) or t.min() < 0 or t.max() >= p.shape[1]:
        raise ValueError(f"y must be class indices in [0, {p.shape[1]}), one per row of proba")
    return p, t


def expected_calibration_error(proba: Any, y: Any, bins: int = 10) -> float:
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins, weighted by
    the bins' share of texts.

    Args:
        proba: ``(n, C)`` class probabilities.
        y: ``(n,)`` gold class indices (columns of ``proba``).
        bins: number of equal-width bins of the top probability.

    Raises:
        ValueError: shapes or values that are not probabilities and class indices.
    """
    import numpy as np

    p, t = _check_proba(proba, y)
    conf, pred = p.max(1), p.argmax(1)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs((pred[inside] == t[inside]).mean() - conf[inside].mean())
    return float(total)


def reliability_bins(proba: Any, y: Any, bins: int = 10) -> list[list[float]]:
    """Per equal-width confidence bin ``[texts, correct, sum of confidences]`` (summable
    over runs, so a reliability diagram can be drawn from saved results alone)."""
    import numpy as np

    p, t = _check_proba(proba, y)
    conf, pred = p.max(1), p.argmax(1)
    index = np.minimum((conf * bins).astype(int), bins - 1)
    return [[int((index == b).sum()), int(((index == b) & (pred == t)).sum()),
             round(float(conf[index == b].sum()), 4)] for b in range(bins)]


def probability_metrics(proba: Any, y: Any) -> dict[str, float]:
    """How usable the probabilities are as confidence.

    Args:
        proba: ``(n, C)`` class probabilities.
        y: ``(n,)`` gold class indices.

    Returns:
        ``{"ece", "brier", "nll", "mean_confidence"}``: the 10-bin ECE, the multi-class
        Brier score (sum over classes of the squared error, mean over texts; 0 is perfect,
        2 the worst), the mean negative log-likelihood (natural log) and the mean top
        probability (compare it with the accuracy).

    Raises:
        ValueError: shapes or values that are not probabilities and class indices.
    """
    import numpy as np

    p, t = _check_proba(proba, y)
    onehot = np.eye(p.shape[1])[t]
    return {"ece": expected_calibration_error(p, t),
            "brier": float(((p - onehot) ** 2).sum(1).mean()),
            "nll": float(-np.log(np.clip(p[np.arange(len(t)), t], 1e-12, None)).mean()),
            "mean_confidence": float(p.max(1).mean())}


#: Temperatures searched by :func:`fit_temperature` (log-uniform bounds).
TEMPERATURE_BOUNDS = (0.05, 20.0)


def fit_temperature(logits: Any, y: Any, prior_sd: float | None = None) -> float:
    """The temperature ``T`` that minimises the held-out NLL of ``softmax(logits / T)``.

    Temperature scaling (Guo et al., 2017) rescales confidence without changing any
    prediction. Fit it on texts the classifier did not train on: a held-out labelled
    file, or out-of-fold logits of cross-validation within the training data.

    Args:
        logits: ``(n, C)`` class logits or log-probabilities.
        y: ``(n,)`` gold class indices.
        prior_sd: with a value, the MAP temperature under a normal prior on ``log T``
            centred on 0 with this standard deviation (few texts then move ``T`` little);
            None: the plain maximum-likelihood temperature.

    Returns:
        ``T`` in :data:`TEMPERATURE_BOUNDS` (1.0 leaves the probabilities as they are).

    Raises:
        ValueError: bad shapes or labels, or non-finite logits.
    """
    import numpy as np
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    z = np.asarray(logits, dtype=np.float64)
    _check_proba(np.where(np.isfinite(z), 0.0, z), y)  # shapes, labels and finiteness only
    t = np.asarray(y)
    z = z - z.max(1, keepdims=True)

    shrink = 0.0 if prior_sd is None else 1.0 / (2.0 * prior_sd**2 * len(t))

    def nll(log_t: float) -> float:
        fit = -log_softmax(z / np.exp(log_t), axis=1)[np.arange(len(t)), t].mean()
        return float(fit + shrink * log_t**2)

    lo, hi = np.log(TEMPERATURE_BOUNDS[0]), np.log(TEMPERATURE_BOUNDS[1])
    best = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(best.x))
