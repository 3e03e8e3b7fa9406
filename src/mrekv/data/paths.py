"""Where the real corpora live: one parameter, overridable by an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that overrides the default corpora root.
DATASETS_ENV = "MREKV_DATASETS"
#: Default root, relative to the working directory (the project's ``../shared/datasets``).
DEFAULT_DATASETS_ROOT = Path("..") / "shared" / "datasets"


def datasets_root(root: str | Path | None = None) -> Path:
    """Return the corpora root: ``root`` if given, else ``$MREKV_DATASETS``, else the default."""
    if root is not None:
        return Path(root)
    env = os.environ.get(DATASETS_ENV)
    return Path(env) if env else DEFAULT_DATASETS_ROOT
