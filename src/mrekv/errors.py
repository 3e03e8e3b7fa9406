"""Error types raised by mrekv.

Every error names the bad value, where it came from (file and line, or record
index) and, where there is a closed set, the valid choices.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class MrekvError(Exception):
    """Base class of every error mrekv raises on purpose."""


class MMMFormatError(MrekvError, ValueError):
    """A record does not follow the MMM / OIELLM format.

    Attributes:
        source: the file (or other origin) the record came from, if known.
        line: 1-based line number in ``source`` (JSON Lines), if known.
        index: 0-based record index (JSON array element, or position), if known.
        reason: what was expected.
    """

    def __init__(
        self,
        reason: str,
        *,
        source: str | Path | None = None,
        line: int | None = None,
        index: int | None = None,
    ) -> None:
        self.reason = reason
        self.source = None if source is None else str(source)
        self.line = line
        self.index = index
        where = []
        if self.source is not None:
            where.append(self.source)
        if line is not None:
            where.append(f"line {line}")
        if index is not None:
            where.append(f"record {index}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


class CorpusFormatError(MrekvError, ValueError):
    """A corpus file does not have the format its reader expects."""


class ConfigError(MrekvError, ValueError):
    """A configuration value or key is invalid."""


class SaveFormatError(MrekvError, ValueError):
    """A saved model folder or label-word file is missing, corrupted or incompatible."""


class MissingDependencyError(MrekvError, ImportError):
    """An optional dependency (language extra, NLTK resource) is not installed."""


def unknown_choice(kind: str, value: object, choices: Iterable[object]) -> str:
    """Return a message for a value that is not one of ``choices``."""
    listed = ", ".join(repr(c) for c in choices)
    return f"unknown {kind} {value!r}; valid choices: {listed}"


class ModelUnavailableError(MrekvError, FileNotFoundError):
    """A model cannot be loaded: a path that does not exist, or a Hub id that cannot be reached.

    The message says how to supply a local copy.
    """


class ResultsLockedError(MrekvError, RuntimeError):
    """Another process is writing the same results file (the message names it and its pid)."""


class DataRootError(MrekvError, FileNotFoundError):
    """A default data folder cannot be found; the message names the variable to set."""


def summarize(items: Iterable[object], limit: int = 10) -> str:
    """``items`` joined by commas, at most ``limit`` of them, then how many more there are.

    Messages that list classes, files or labels stay one readable line however many
    there are (10^4 classes would otherwise make a 100 KB warning).

    Example:
        >>> summarize(["a", "b", "c"], limit=2)
        'a, b and 1 more (3 in all)'
    """
    listed = [str(item) for item in items]
    if len(listed) <= limit:
        return ", ".join(listed)
    return f"{', '.join(listed[:limit])} and {len(listed) - limit} more ({len(listed)} in all)"
