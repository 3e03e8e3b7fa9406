"""A process-wide cache of loaded models and tokenizers: refitting reloads nothing.

scikit-learn's model selection clones an estimator for every candidate and fold
(``GridSearchCV`` over templates, label words or a prior's strength fits it
dozens of times), and each clone would read the same weights again. The
classifiers ask this cache instead, under a :class:`LoadKey` naming everything
a load depends on: the model reference (a resolved local path or a Hub id),
what is built from it (a masked or causal LM, a sequence classifier with its
label names and head seed, or the tokenizer), the device and
``trust_remote_code``.

The cache keeps the *pristine* objects; a classifier that changes weights
works on a copy, so the next one gets the same starting point:

* PromptClassifier shares the cached LM read-only until ``fit`` trains it
  (``train_mode="full"``), which first deep-copies it; the frozen modes
  (``"frozen"``, ``"prior"``), zero-shot use and ``calibrate`` never write LM weights;
* FineTuneClassifier always trains its model, so it takes a copy when it sets up
  (the pristine one stays on the CPU).

Entries are dropped least recently used first beyond :data:`MAX_MODELS` models
(tokenizers beyond :data:`MAX_TOKENIZERS`); :func:`clear_model_cache` drops them
all (a module still held by a classifier is freed with that classifier).

Example:
    >>> from mrekv.prompt.model_cache import clear_model_cache
    >>> clear_model_cache()  # free the cached weights, e.g. after a grid search
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["MAX_MODELS", "MAX_TOKENIZERS", "LoadKey", "cached", "cached_keys",
           "check_local_reference", "clear_model_cache", "model_reference"]

#: How many loaded models the cache keeps (least recently used dropped first).
MAX_MODELS = 2
#: How many tokenizers the cache keeps.
MAX_TOKENIZERS = 8

_LOCK = threading.RLock()
_ENTRIES: OrderedDict[LoadKey, Any] = OrderedDict()


@dataclass(frozen=True)
class LoadKey:
    """What one cached load depends on.

    Args:
        source: the model reference: a resolved local path, or a Hub id as given.
        what: ``"masked"`` / ``"causal"`` / ``"auto"`` (an LM with its tokenizer),
            ``"sequence-classification"`` or ``"tokenizer"``.
        device: where the loaded weights live (``"cpu"``, ``"cuda"``...).
        trust_remote_code: whether custom model code was allowed.
        labels: the label names of a sequence classifier's new head.
        seed: the seed the new head was initialised from.
    """

    source: str
    what: str
    device: str = "cpu"
    trust_remote_code: bool = False
    labels: tuple[str, ...] = ()
    seed: int | None = None


def model_reference(name_or_path: str | Path) -> str:
    """The ``source`` of a :class:`LoadKey`: an existing path resolved, else the name as given."""
    path = Path(str(name_or_path)).expanduser()
    return str(path.resolve()) if path.exists() else str(name_or_path)


def check_local_reference(name_or_path: Any) -> None:
    """Fail at once on a model path that does not exist, without asking the Hub.

    For the classifiers' constructors: a reference that can only be a local path
    (absolute, ``./``, ``../``, ``~``, a ``.gguf`` file, or ``a/b/c``: a Hub id has one
    slash) must exist; a Hub id is checked when the model loads.

    Raises:
        ModelUnavailableError: the path does not exist (a ``FileNotFoundError``).
    """
    if not isinstance(name_or_path, (str, Path)):
        return
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        return
    if (path.is_absolute() or name.startswith((".", "~")) or name.endswith(".gguf")
            or name.count("/") >= 2):
        from mrekv.model_source import check_model_reference

        check_model_reference(name)  # raises, naming the path


def cached(key: LoadKey, load: Callable[[], Any]) -> Any:
    """The object cached under ``key``, calling ``load()`` when there is none yet.

    The caller must not change what it gets back (copy it first); loads run one
    at a time.
    """
    with _LOCK:
        if key in _ENTRIES:
            _ENTRIES.move_to_end(key)
            return _ENTRIES[key]
        value = load()
        _ENTRIES[key] = value
        _evict()
        return value


def _evict() -> None:
    for tokenizers, limit in ((False, MAX_MODELS), (True, MAX_TOKENIZERS)):
        keys = [k for k in _ENTRIES if (k.what == "tokenizer") == tokenizers]
        for key in keys[: max(0, len(keys) - limit)]:
            del _ENTRIES[key]


def cached_keys() -> list[LoadKey]:
    """The keys held now, least recently used first."""
    with _LOCK:
        return list(_ENTRIES)


def clear_model_cache() -> None:
    """Drop every cached model and tokenizer."""
    with _LOCK:
        _ENTRIES.clear()
