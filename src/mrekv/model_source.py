"""Where a model comes from: a local path, the Hugging Face cache, or the Hub, failing fast.

``huggingface_hub`` on its own retries an unreachable Hub for about a minute, and
a mistyped folder reaches it as a Hub id ("Repo id must use alphanumeric
chars"). :func:`check_model_reference` decides before anything is loaded: a
path that does not exist is reported as such at once; a Hub id is read from the
local cache when ``HF_HUB_OFFLINE`` is set or the Hub does not answer within
:data:`mrekv.data.hub.HUB_TIMEOUT` seconds, and is otherwise an error that says
how to supply a local copy. :func:`hub_load` wraps a ``from_pretrained`` call
so that network errors escaping ``huggingface_hub`` (its HTTP client's, e.g.
``httpx``) become :class:`~mrekv.errors.ModelUnavailableError` too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["check_model_reference", "hub_load"]


def check_model_reference(name_or_path: str | Path) -> bool:
    """Fail at once on a model reference that cannot be loaded; say whether to stay offline.

    A reference that exists on disk is fine. One that looks like a path
    (absolute, ``./``, ``../``, ``~``, a ``.gguf`` file, or more than one ``/``)
    and does not exist is a missing path. Anything else is a Hub id: when
    ``HF_HUB_OFFLINE`` is set or the Hub does not answer within
    :data:`mrekv.data.hub.HUB_TIMEOUT` seconds, it must be in the local Hugging
    Face cache, and is then read from there without contacting the Hub (no
    minute of retries).

    Returns:
        True when the model must be loaded with ``local_files_only=True``.

    Raises:
        ModelUnavailableError: the path does not exist, or the Hub id cannot be had
            (the message says how to supply a local copy).
    """
    from mrekv.errors import ModelUnavailableError

    name = str(name_or_path)
    path = Path(name).expanduser()
    looks_like_path = (
        path.is_absolute() or name.startswith((".", "~")) or name.endswith(".gguf")
        or "\\" in name or name.count("/") > 1
    )
    if path.exists():
        return False
    if looks_like_path:
        raise ModelUnavailableError(
            f"model {name!r}: no such file or folder. Pass a folder holding config.json, the "
            "weights and the tokenizer, a .gguf file, or a Hugging Face Hub id"
        )
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        cached = isinstance(try_to_load_from_cache(name, "config.json"), str)
    except HFValidationError:
        raise ModelUnavailableError(
            f"model {name!r}: no such folder, and not a valid Hugging Face Hub id "
            "(<name> or <org>/<name>)"
        ) from None
    access = _hub_access()
    if access.reachable:
        return False
    if cached:
        return True
    raise ModelUnavailableError(
        f"model {name!r}: no such folder, it is not in the local Hugging Face cache, and it "
        f"cannot be downloaded ({access.why}). Download it on a machine that reaches the Hub "
        f"(hf download {name} --local-dir <folder>) and pass the folder instead"
    )


_HUB_CHECKS: dict[str, tuple[float, Any]] = {}


def _hub_access() -> Any:
    """:meth:`mrekv.data.hub.HubAccess.check`, remembered for a minute (one probe per load)."""
    import time

    from huggingface_hub import constants

    from mrekv.data.hub import HubAccess, _offline

    if _offline():
        return HubAccess.check()
    now = time.monotonic()
    hit = _HUB_CHECKS.get(constants.ENDPOINT)
    if hit is None or now - hit[0] > 60:
        hit = (now, HubAccess.check())
        _HUB_CHECKS[constants.ENDPOINT] = hit
    return hit[1]


def hub_load(name: str, what: str, load: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``load(name, *args, **kwargs)``, with network failures as :class:`ModelUnavailableError`.

    ``local_files_only=True`` is added when :func:`check_model_reference` says
    the Hub must not be contacted.
    """
    from mrekv.data.hub import network_errors
    from mrekv.errors import ModelUnavailableError

    if check_model_reference(name):
        kwargs.setdefault("local_files_only", True)
    if Path(name).expanduser().exists():
        name = str(Path(name).expanduser())
    try:
        return load(name, *args, **kwargs)
    except network_errors() as exc:
        raise ModelUnavailableError(
            f"model {name!r}: could not fetch the {what} from the Hugging Face Hub "
            f"({type(exc).__name__}: {exc}). Download it on a machine that reaches the Hub "
            f"(hf download {name} --local-dir <folder>) and pass the folder instead"
        ) from exc
