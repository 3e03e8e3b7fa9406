"""The results file: JSON Lines, one complete line per finished cell, crash-safe.

Why append and not rewrite-and-rename: a results file grows one cell at a time
and may hold thousands of lines, so rewriting it per cell costs O(n^2) I/O. An
append with ``O_APPEND`` is positioned at the end of the file by the kernel, and
each line goes out in a single ``os.write`` followed by ``fsync``; a process
killed with SIGKILL either finished that system call or never started it, so it
loses at most the cell it was computing. A torn tail (a power cut in the middle
of a write, or a disk-full short write) is a last line without its newline: the
reader ignores it and :func:`repair` cuts it off before the next append.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mrekv.errors import MrekvError

#: Version of the result-line layout (bumped when fields change meaning).
RESULTS_FORMAT = 1


def stable_hash(data: Any, length: int = 16) -> str:
    """A short SHA-256 hex digest of ``data`` as canonical JSON (sorted keys).

    Example:
        >>> stable_hash({"b": 1, "a": [2, 3]}) == stable_hash({"a": [2, 3], "b": 1})
        True
    """
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def indices_hash(indices: tuple[int, ...] | list[int]) -> str:
    """A short hash of a set of example indices (order does not matter)."""
    return stable_hash(sorted(int(i) for i in indices), 12)


def repair(path: str | Path) -> int:
    """Cut a torn last line (one without its trailing newline) off ``path``.

    Returns:
        How many bytes were removed (0 when the file is whole or absent).
    """
    target = Path(path)
    if not target.exists():
        return 0
    size = target.stat().st_size
    if size == 0:
        return 0
    with target.open("rb+") as handle:
        # Read backwards in blocks until the last newline is found.
        block = 65536
        pos = size
        while pos > 0:
            start = max(0, pos - block)
            handle.seek(start)
            chunk = handle.read(pos - start)
            if pos == size and chunk.endswith(b"\n"):
                return 0
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                handle.truncate(keep)
                handle.flush()
                os.fsync(handle.fileno())
                return size - keep
            pos = start
        handle.truncate(0)
        handle.flush()
        os.fsync(handle.fileno())
        return size


def append_line(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one JSON line with a single ``os.write`` and ``fsync``.

    Raises:
        MrekvError: the write was short (disk full); the partial tail is removed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if written != len(data):
        repair(target)
        raise MrekvError(f"{target}: short write ({written} of {len(data)} bytes); line dropped")


def iter_results(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the complete result lines of ``path``; a torn last line is skipped.

    Raises:
        MrekvError: a line other than the last is not a JSON object (names the line).
    """
    target = Path(path)
    raw = target.read_bytes()
    lines = raw.split(b"\n")
    complete, tail = lines[:-1], lines[-1]
    for lineno, line in enumerate(complete, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise MrekvError(f"{target}, line {lineno}: not a JSON result line ({error})") from None
        if not isinstance(record, dict):
            raise MrekvError(f"{target}, line {lineno}: expected a JSON object")
        yield record
    del tail  # a line without its newline was torn by a crash: never trusted


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """All complete result lines of ``path`` (see :func:`iter_results`)."""
    return list(iter_results(path))


def finished_keys(path: str | Path) -> set[str]:
    """The ``cell_key`` of every complete line of ``path`` (empty if it does not exist)."""
    target = Path(path)
    if not target.exists():
        return set()
    return {str(r["cell_key"]) for r in iter_results(target) if "cell_key" in r}
