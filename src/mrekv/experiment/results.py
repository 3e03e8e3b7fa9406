"""The results file: JSON Lines, one complete line per finished cell, crash-safe.

Why append and not rewrite-and-rename: a results file grows one cell at a time
and may hold thousands of lines, so rewriting it per cell costs O(n^2) I/O. An
append with ``O_APPEND`` is positioned at the end of the file by the kernel, and
each line goes out in a single ``os.write`` followed by ``fsync``; a process
killed with SIGKILL either finished that system call or never started it, so it
loses at most the cell it was computing. A torn tail (a power cut in the middle
of a write, or a disk-full short write) is a last line without its newline: the
reader ignores it and :func:`repair` cuts it off before the next append.

One writer per file: :func:`results_lock` refuses a second process (two runs on
one file would compute every cell twice, and one's repair could cut the other's
lines).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mrekv._io import file_mode
from mrekv._json import load_json
from mrekv.errors import MrekvError, ResultsLockedError

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


def lock_path(path: str | Path) -> Path:
    """The lock file of results file ``path``: ``<name>.lock`` beside the file it names
    (symbolic links resolved, so every name of one file shares its lock)."""
    target = Path(path).resolve()
    return target.with_name(target.name + ".lock")


@contextmanager
def results_lock(path: str | Path) -> Iterator[Path]:
    """Hold the single-writer lock of results file ``path`` for the ``with`` block.

    An advisory ``flock`` on ``<name>.lock`` beside the resolved file, which holds
    the writer's pid and is removed on exit, and, when the results file exists, on
    the file itself (its inode: a hard link under another name meets the same lock).
    The kernel drops the locks when their process dies, so a killed run never leaves
    a stale lock behind. Readers take no lock.

    Raises:
        ResultsLockedError: another process holds it (the message names the file
            and that process's id).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock to take
        yield lock_path(path)
        return
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, file_mode())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ResultsLockedError(
                f"{path}: another process (pid {other}) is writing this results file; wait "
                "for it to finish (a rerun then resumes) or write to another results file"
            ) from None
        try:  # the previous holder may have removed the file between open and flock
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    data_fd = None
    target = Path(path).resolve()
    try:
        if target.is_file():
            data_fd = os.open(target, os.O_RDONLY)
            try:
                fcntl.flock(data_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ResultsLockedError(
                    f"{path}: another process is writing this results file under another "
                    "name (a hard link); wait for it to finish or write to another file"
                ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield lock
    finally:
        if data_fd is not None:
            os.close(data_fd)
        try:
            os.unlink(lock)  # while still holding it: see the inode check above
        except FileNotFoundError:
            pass
        os.close(fd)


def repair(path: str | Path) -> int:
    """End ``path`` with a whole line: cut off a torn last line (one without its newline).

    Never removes a complete line: a last line that is a whole JSON object
    lacking only its newline gets the newline instead, and a tail that changes
    while it is examined belongs to a write in progress (by a writer that
    predates the lock, see :func:`results_lock`) and is left alone. Call it
    while holding the lock.

    Returns:
        How many bytes were removed (0 when the file is whole or absent).
    """
    target = Path(path)
    for _attempt in range(5):
        if not target.exists():
            return 0
        size = target.stat().st_size
        keep = _last_line_end(target, size)
        if keep == size:
            return 0
        with target.open("rb") as handle:
            handle.seek(keep)
            tail = handle.read(size - keep)
        if _is_record(tail):
            fd = os.open(target, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            return 0
        time.sleep(0.05)  # a write in progress finishes within this
        if target.stat().st_size != size:
            continue
        with target.open("rb+") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() != size:
                continue
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        return size - keep
    return 0


def _last_line_end(target: Path, size: int) -> int:
    """The offset just past the last newline among the first ``size`` bytes (0 if none)."""
    block = 65536
    pos = size
    with target.open("rb") as handle:
        while pos > 0:
            start = max(0, pos - block)
            handle.seek(start)
            chunk = handle.read(pos - start)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                return start + cut + 1
            pos = start
    return 0


def _is_record(tail: bytes) -> bool:
    try:
        return isinstance(load_json(tail.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError):
        return False


def append_line(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one JSON line with a single ``os.write`` and ``fsync``.

    Raises:
        MrekvError: the write was short (disk full); the partial tail is removed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # less the umask
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
            record = load_json(line)
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
    return {str(r.get("cell_key", r.get("key"))) for r in iter_results(target)
            if "cell_key" in r or r.get("kind") in ("cell", "test-set")}
