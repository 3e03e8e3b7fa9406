"""Where the real corpora live: an argument, an environment variable, or a per-user folder.

The default never depends on the working directory. In order:

1. the ``root`` argument (``--root`` on the command line);
2. ``$MREKV_DATASETS``;
3. the per-user folder ``$XDG_DATA_HOME/mrekv/datasets`` (``XDG_DATA_HOME``
   defaults to ``~/.local/share``), when it exists;
4. otherwise :class:`~mrekv.errors.DataRootError`, naming the variable to set.

A relative ``root`` or ``$MREKV_DATASETS`` is taken as given (the user typed it
against their working directory); ``~`` is expanded.
"""

from __future__ import annotations

import os
from pathlib import Path

from mrekv.errors import DataRootError

#: Environment variable that sets the corpora root.
DATASETS_ENV = "MREKV_DATASETS"
#: Environment variable of the per-user data folder (XDG base directory spec).
XDG_DATA_ENV = "XDG_DATA_HOME"


def user_data_dir() -> Path:
    """mrekv's per-user data folder: ``$XDG_DATA_HOME/mrekv``, default ``~/.local/share/mrekv``."""
    base = os.environ.get(XDG_DATA_ENV, "").strip()
    if not base or not Path(base).is_absolute():  # the spec says to ignore relative values
        base = str(Path.home() / ".local" / "share")
    return Path(base) / "mrekv"


def default_datasets_root() -> Path:
    """The per-user corpora folder, ``user_data_dir() / "datasets"`` (may not exist)."""
    return user_data_dir() / "datasets"


def datasets_root(root: str | Path | None = None) -> Path:
    """Return the corpora root (see the module docstring for the order).

    Raises:
        DataRootError: no ``root``, no ``$MREKV_DATASETS`` and no per-user folder;
            the message names the variable and the folder.
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATASETS_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    user = default_datasets_root()
    if user.is_dir():
        return user
    raise DataRootError(
        f"no corpora folder: set {DATASETS_ENV} to the folder holding the corpora "
        f"(e.g. export {DATASETS_ENV}=/path/to/datasets), put them in {user}, "
        "or pass root= (CLI: --root)"
    )
