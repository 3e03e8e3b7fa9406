"""Atomic file writing: write to a temporary file beside the target, then rename.

A temporary file's name carries its writer's pid and start time
(``.<name>.<pid>-<start>-XXXXXXXX.tmp``), so the next write of the same target
removes what a killed writer left, even when a later process got its pid.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def current_umask() -> int:
    """The process's umask (read without changing it where ``/proc`` allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no portable read-only query elsewhere
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` would give a new file: ``0o666`` less the umask."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode ``mkdir()`` would give a new folder: ``0o777`` less the umask."""
    return 0o777 & ~current_umask()


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``); None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def writer_tag() -> str:
    """``<pid>-<start>`` (or ``<pid>`` where the start time is unknown) of this process."""
    start = process_start(os.getpid())
    return f"{os.getpid()}" if start is None else f"{os.getpid()}-{start}"


def writer_alive(pid: int, start: int | None) -> bool:
    """Whether the writer ``pid`` (started at ``start``, if recorded) may still be running.

    A recorded start time that differs from that of the process now holding ``pid``
    means the writer died and its pid was reused (as in a restarted container).
    """
    if start is not None and Path("/proc/self/stat").exists():
        return process_start(pid) == start
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


#: ``<pid>-[<start>-]<random>``: mkstemp's and mkdtemp's random parts have no ``-``.
WRITER = r"(\d+)-(?:(\d+)-)?[A-Za-z0-9_]+"


def remove_stale_temp_files(target: Path) -> None:
    """Delete the temporary files that killed writers of ``target`` left beside it."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{WRITER}\.tmp")
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        start = int(match.group(2)) if match.group(2) else None
        if not writer_alive(int(match.group(1)), start):
            try:
                os.unlink(entry.path)
            except OSError:
                pass


@contextmanager
def atomic_open(
    path: str | Path, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    If the block raises, the temporary file is removed and ``path`` is untouched.
    The file gets the mode a plain ``open()`` would give it (``0o666`` less the
    umask), not ``mkstemp``'s private ``0o600``. Temporary files that killed writers
    of ``path`` left behind are removed first.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{writer_tag()}-", suffix=".tmp",
                                   dir=target.parent)
    except OSError as error:  # name the file the user asked for, not the hidden temporary
        raise OSError(error.errno, f"cannot write {target}: {error.strerror}",
                      str(target)) from error
    try:
        if hasattr(os, "fchmod"):  # POSIX
            os.fchmod(fd, file_mode())
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w") as handle:
        handle.write(text)


def atomic_write_json(path: str | Path, data: Any) -> None:
    """Write ``data`` as indented UTF-8 JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
