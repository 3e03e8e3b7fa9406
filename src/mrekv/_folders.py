"""Writing a folder atomically: build it beside the target, then swap it in.

Used for saved classifiers (:mod:`mrekv.prompt.saving`). A save killed at any
point leaves the target whole (the old or the new folder) or, on systems
without an atomic swap, recoverable by the next save or load; the temporary
copies a killed save leaves behind carry its pid and are removed by the next
save once that process is gone (or its pid belongs to a later process: the names
carry the writer's start time too). :func:`files_into` writes a folder's files the
same way when the folder may already hold others (``tiny-model --out``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mrekv._io import WRITER, dir_mode, file_mode, writer_alive, writer_tag
from mrekv.errors import SaveFormatError

__all__ = ["atomic_folder", "files_into", "recover_interrupted_save"]


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; on success it replaces ``target``.

    If the block raises, the temporary folder is removed and ``target`` (if it
    existed) is untouched. On Linux the new and the old folder are swapped in one
    ``renameat2(RENAME_EXCHANGE)``, so at every instant ``target`` is a whole
    folder; elsewhere the old folder is renamed aside first, and a save killed
    between the two renames is undone by the next save or load
    (:func:`recover_interrupted_save`). Temporary copies left by killed saves
    (their names carry the writer's pid) are removed by the next save. The
    folder gets the umask's mode, not ``mkdtemp``'s private ``0o700``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_save(target)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        _follow_umask(tmp)
        if target.exists() and not target.is_dir():
            raise SaveFormatError(f"{target} exists and is not a folder")
        if target.exists() and _exchange(tmp, target):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old folder
        elif target.exists():
            old = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".old",
                                        dir=target.parent))
            os.replace(target, old / "old")
            try:
                os.replace(tmp, target)
            except BaseException:
                os.replace(old / "old", target)
                shutil.rmtree(old, ignore_errors=True)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def files_into(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; on success its files join ``target``.

    Where ``target`` does not exist the temporary folder is renamed to it; otherwise
    each file is renamed into it (replacing a file of the same name, leaving the
    others). If the block raises (a full disk), the temporary folder is removed and
    ``target`` is as it was: never a folder holding part of the files.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_save(target)
    if target.exists() and not target.is_dir():
        raise SaveFormatError(f"{target} exists and is not a folder")
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        _follow_umask(tmp)
        if not target.exists():
            os.replace(tmp, target)
            return
        for entry in sorted(tmp.iterdir()):
            os.replace(entry, target / entry.name)
        tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _follow_umask(folder: Path) -> None:
    """Give ``folder`` and everything in it the umask's modes (writers may use mkstemp's 0o600)."""
    files, dirs = file_mode(), dir_mode()
    os.chmod(folder, dirs)
    for root, subdirs, names in os.walk(folder):
        for name in subdirs:
            os.chmod(os.path.join(root, name), dirs)
        for name in names:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, files)


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.{writer_tag()}-"


def _leftovers(target: Path) -> list[tuple[Path, int, int | None, str]]:
    """``(path, pid, start, "tmp" | "old")`` of the temporary siblings of ``target``'s saves."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{WRITER}\.(tmp|old)")
    found = []
    if target.parent.is_dir():
        for entry in target.parent.iterdir():
            match = pattern.fullmatch(entry.name)
            if match and entry.is_dir() and not entry.is_symlink():
                start = int(match.group(2)) if match.group(2) else None
                found.append((entry, int(match.group(1)), start, match.group(3)))
    return sorted(found, key=lambda item: item[0])


def recover_interrupted_save(target: str | Path) -> None:
    """Undo what killed saves of ``target`` left behind (by processes no longer running).

    A save killed between its two renames (non-Linux path) left no ``target`` and
    the previous folder inside a ``.old`` sibling: it is renamed back. Every other
    leftover temporary copy is deleted.
    """
    target = Path(target)
    for path, pid, start, kind in _leftovers(target):
        if writer_alive(pid, start):
            continue
        if kind == "old" and not target.exists() and (path / "old").is_dir():
            os.replace(path / "old", target)
        shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap folders ``a`` and ``b`` atomically (Linux ``renameat2``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))
