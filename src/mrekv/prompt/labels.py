"""The texts and labels the estimators accept, and ``classes_``.

:func:`check_texts` refuses anything that is not a sequence of ``str`` (naming the
index); labels keep their type: ``classes_`` is a :class:`LabelArray` of the values
given to ``fit`` (ints stay ints), sorted by :func:`sorted_classes`; multi-label
targets and missing labels are refused (:func:`_check_single_labels`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["LabelArray", "check_texts", "sorted_classes"]


def check_texts(texts: Any, name: str = "texts") -> list[str]:
    """``texts`` as a list of ``str``; a clear error for anything that is not a text.

    Raises:
        TypeError: a single string, None, or an item that is not a string (its index named).
        ValueError: a numpy array that is not one-dimensional.
    """
    if isinstance(texts, str):
        raise TypeError(f"{name}: expected a sequence of texts, got a single string")
    if texts is None:
        raise TypeError(f"{name} is None: expected a sequence of texts")
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise ValueError(f"{name}: expected a one-dimensional sequence of texts, got an array "
                         f"of shape {texts.shape}")
    try:
        items = list(texts)
    except TypeError:
        raise TypeError(f"{name}: expected a sequence of texts, got "
                        f"{type(texts).__name__}") from None
    for i, text in enumerate(items):
        if not isinstance(text, str):
            shown = repr(text)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise TypeError(f"{name}[{i}] is {type(text).__name__} {shown}, not a string: "
                            "every text must be a str")
    return [str(t) for t in items]


class LabelArray(np.ndarray):
    """``classes_``: a one-dimensional numpy array of the label values, in score order.

    Indexing (which gives plain numpy arrays), ``tolist()``, ``dtype`` and comparing with a
    scalar or a plain array are numpy's (what scikit-learn's scorers rely on). Compared
    with a list, a tuple or another LabelArray it gives one bool, as the tuple
    ``classes_`` of earlier versions did (``clf.classes_ == ("neg", "pos")``); iterating
    gives plain Python values.
    """

    def __new__(cls, values: Sequence[Any]) -> LabelArray:
        plain = [v.item() if isinstance(v, np.generic) else v for v in values]
        kinds = {type(v) for v in plain}
        dtype: Any = str if kinds == {str} else (None if len(kinds) == 1 else object)
        if dtype is None and not kinds <= {int, float, bool}:
            dtype = object
        return np.asarray(plain, dtype=dtype).view(cls)

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        if isinstance(other, (list, tuple, LabelArray)):
            return np.bool_(self.tolist() == list(other))
        return np.asarray(self) == other

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        same = self.__eq__(other)
        return ~same if isinstance(same, (np.ndarray, np.bool_)) else not same

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Any:
        return iter(self.tolist())

    def __getitem__(self, key: Any) -> Any:
        return np.asarray(self)[key]  # classes_[predicted] == y: elementwise, numpy's

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        plain = tuple(np.asarray(x) if isinstance(x, LabelArray) else x for x in inputs)
        return getattr(ufunc, method)(*plain, **kwargs)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def sorted_classes(labels: Sequence[Any]) -> tuple[str, ...]:
    """The class names of ``labels``: their distinct values in sorted order, as strings.

    Numbers sort as numbers (``[2, 10]``), anything else by its string.
    """
    unique = {str(y): _plain(y) for y in labels}
    try:
        ordered = sorted(unique.items(), key=lambda item: item[1])
    except TypeError:
        ordered = sorted(unique.items())
    return tuple(name for name, _ in ordered)



def _check_single_labels(labels: Sequence[Any], name: str) -> None:
    """Refuse multi-label targets and missing labels (never one class per combination)."""
    for i, y in enumerate(labels):
        if y is None:
            raise ValueError(f"{name}[{i}] is None: every text needs a class label")
        if isinstance(y, (list, tuple, set, frozenset, np.ndarray)):
            raise ValueError(
                f"{name}[{i}] is a {type(y).__name__} ({y!r}): multi-label targets are not "
                "supported; give one class per text, or train one classifier per label "
                "(one-vs-rest) with binary labels")
