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
