"""What a saved folder may hold: plain files only, each with the content it was saved with.

A save records a SHA-256 digest of every file it wrote, and one of
``mrekv_config.json``'s own content, under the config's ``checksums`` key::

    "checksums": {"algorithm": "sha256",
                  "config": "<digest of the config's content, checksums.files included>",
                  "files": {"config.json": "<digest>", "model.safetensors": "<digest>", ...}}

Loading checks them before any weight is read (:func:`verify_checksums`), so a
flipped byte, a truncated or swapped file, a deleted or an added one, or an
edited value in any JSON file is an error naming the file, never a model that
silently predicts something else. Folders saved before checksums existed have
no ``checksums`` key and load as before.

Whatever the folder's age, no file is opened before :func:`check_entries` has
seen it is a regular file (a FIFO in place of ``model.safetensors`` would block
the load for ever; a device file never ends) or a symbolic link to one inside
the folder. :func:`check_stored_dtypes` compares the dtypes written in the
safetensors headers with the loaded model, for folders without checksums.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mrekv.errors import SaveFormatError

__all__ = ["ALGORITHM", "KEY", "add_checksums", "check_entries", "check_entry",
           "check_stored_dtypes", "config_digest", "file_digest", "verify_checksums"]

KEY = "checksums"
ALGORITHM = "sha256"
_HEX = re.compile(r"[0-9a-f]{64}")
_FLOATS = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ"}
#: torch's dtype names -> safetensors' (the floating ones).
_SAFETENSORS_NAMES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
                      "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2"}
_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a folder"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def check_entry(path: Path, root: Path | None = None, *, folders: bool = False) -> None:
    """Raise unless ``path`` is a regular file, or a symbolic link to one inside ``root``.

    A missing ``path`` passes (its reader reports it). ``root`` defaults to the
    folder holding ``path``. With ``folders``, a folder passes too.

    Raises:
        SaveFormatError: a FIFO, device, socket or (without ``folders``) folder; a
            broken symbolic link, or one that leads out of ``root``.
    """
    root = (root or path.parent).resolve()
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SaveFormatError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if stat.S_ISLNK(info.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # dangling, or a loop
            raise SaveFormatError(f"{path}: a broken symbolic link ({exc})") from None
        if not target.is_relative_to(root):
            raise SaveFormatError(
                f"{path}: a symbolic link to {target}, outside {root}; a saved folder may only "
                "hold its own files (copy the file in instead)")
        info = os.stat(target)
    if stat.S_ISREG(info.st_mode) or (folders and stat.S_ISDIR(info.st_mode)):
        return
    raise SaveFormatError(f"{path}: {_kind(info.st_mode)}, not a regular file; a saved folder "
                          "holds only regular files")


def check_entries(folder: Path) -> None:
    """Every entry of ``folder`` passes :func:`check_entry` (sub-folders are not read and pass).

    Raises:
        SaveFormatError: the first entry that is neither a regular file nor a folder, or a
            symbolic link out of ``folder`` (named).
    """
    root = folder.resolve()
    for name in sorted(os.listdir(folder)):
        check_entry(folder / name, root, folders=True)


def file_digest(path: Path) -> str:
    """The SHA-256 hex digest of the file at ``path``."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, ALGORITHM).hexdigest()


def config_digest(config: Mapping[str, Any]) -> str:
    """The digest of a config's content: every key but ``checksums``, plus ``checksums.files``.

    Computed over a canonical JSON form (sorted keys, no spaces), so re-indenting the
    file keeps it and changing any value does not.
    """
    body = {k: v for k, v in config.items() if k != KEY}
    sums = config.get(KEY)
    files = sums.get("files") if isinstance(sums, Mapping) else None
    text = json.dumps([body, files], sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def add_checksums(folder: Path, config: Mapping[str, Any], config_name: str) -> dict[str, Any]:
    """``config`` (as it reads back from JSON) with the digests of every file of ``folder``.

    Args:
        folder: the folder being saved, complete except for its config file.
        config: the config to write.
        config_name: the config's own file name (not listed: it carries the digests).
    """
    plain = json.loads(json.dumps(dict(config), ensure_ascii=False))  # tuples -> lists
    plain.pop(KEY, None)
    files = {path.name: file_digest(path) for path in sorted(folder.iterdir())
             if path.is_file() and path.name != config_name}
    plain[KEY] = {"algorithm": ALGORITHM, "files": files}
    plain[KEY]["config"] = config_digest(plain)
    return dict(plain)


def verify_checksums(folder: Path, config: Mapping[str, Any], config_path: Path) -> None:
    """Check ``folder``'s files against the digests recorded in its config (if any).

    Raises:
        SaveFormatError: a malformed ``checksums`` entry, an edited config, a listed file
            that is missing, not a regular file or has other content, or a file the save
            did not write (hidden files, whose names start with ``.``, and sub-folders are
            ignored).
    """
    if KEY not in config:
        return  # saved before mrekv recorded checksums
    sums = config[KEY]
    files = sums.get("files") if isinstance(sums, Mapping) else None
    if (not isinstance(sums, Mapping) or set(sums) != {"algorithm", "config", "files"}
            or sums.get("algorithm") != ALGORITHM or not isinstance(files, Mapping) or not files
            or not isinstance(sums.get("config"), str)
            or not all(isinstance(n, str) and isinstance(d, str) and _HEX.fullmatch(d)
                       and n == Path(n).name and n not in ("", ".", "..", config_path.name)
                       for n, d in files.items())):
        raise SaveFormatError(
            f"{config_path}: malformed {KEY!r}; expected {{'algorithm': 'sha256', 'config': "
            "<digest>, 'files': {<file name>: <64 hex digits>, ...}}")
    if config_digest(config) != sums["config"]:
        raise SaveFormatError(
            f"{config_path}: its content changed since the folder was saved (the {ALGORITHM} "
            f"of its values does not match {KEY}.config); an edited or corrupted config loads "
            "a different model: save the model again")
    root = folder.resolve()
    for name in sorted(files):
        path = folder / name
        if not os.path.lexists(path):
            raise SaveFormatError(f"{path}: missing; the folder was saved with it (listed in "
                                  f"{config_path})")
        check_entry(path, root)
        if file_digest(path) != files[name]:
            raise SaveFormatError(
                f"{path}: its content changed since the folder was saved ({ALGORITHM} does not "
                f"match {config_path.name}); the file is corrupted, truncated or was replaced: "
                "save the model again")
    extra = sorted(name for name in os.listdir(folder)
                   if name not in files and name != config_path.name and not name.startswith(".")
                   and not (folder / name).is_dir())
    if extra:
        raise SaveFormatError(
            f"{folder / extra[0]}: not one of the {len(files)} files the folder was saved with "
            f"(listed under {KEY!r} in {config_path}); a file added to a saved model can change "
            "how it loads: remove it, or save the model again")


def check_stored_dtypes(folder: Path, weights: list[Path], model: Any) -> None:
    """The dtype in each safetensors header agrees with the loaded model's tensor.

    An edited header (``F32`` -> ``I32`` keeps the byte count) otherwise loads the
    raw bytes as integers, cast to floats: a wrong model without any error.

    Raises:
        SaveFormatError: a tensor stored as an integer or bool where the model holds a
            float (or the reverse), or a float tensor stored in another precision than
            the file's other float tensors and than the model's tensor.
    """
    from safetensors import safe_open

    state = model.state_dict()
    stored: dict[str, tuple[Path, str]] = {}
    for path in weights:
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open has no __iter__
                stored[key] = (path, str(handle.get_slice(key).get_dtype()))
    float_kinds = [dtype for _, dtype in stored.values() if dtype in _FLOATS]
    usual = max(set(float_kinds), key=float_kinds.count) if float_kinds else None
    for key, (path, dtype) in sorted(stored.items()):
        tensor = state.get(key)
        if tensor is None:
            continue
        model_dtype = str(tensor.dtype).removeprefix("torch.")
        if (dtype in _FLOATS) != bool(tensor.is_floating_point()):
            raise SaveFormatError(
                f"{path}: tensor {key!r} is stored as {dtype} but the model's weight is "
                f"{model_dtype}; the file's header was edited or corrupted")
        if dtype in _FLOATS and dtype != usual and _SAFETENSORS_NAMES.get(model_dtype) != dtype:
            raise SaveFormatError(
                f"{path}: tensor {key!r} is stored as {dtype} while the folder's other weights "
                f"are {usual} and the model's weight is {model_dtype}; the file's header was "
                "edited or corrupted")
