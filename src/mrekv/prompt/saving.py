"""The saved-classifier folder format: atomic writes and validating reads.

A saved classifier is one folder::

    config.json, model.safetensors     the transformer (``save_pretrained``)
    tokenizer files                    (``tokenizer.save_pretrained``)
    mrekv_config.json                  format, kind, classes, training args,
                                       template + verbalizer configs (prompt)
    verbalizer.safetensors             the verbalizer's state_dict (prompt)

The folder is written into a temporary sibling and renamed over the target
only when complete, so a failed save leaves any existing folder intact.
Loading checks every file and raises :class:`~mrekv.errors.SaveFormatError`
naming the file and what is wrong. :func:`mrekv.classifiers.load_classifier`
loads a folder of either kind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mrekv._io import atomic_write_json
from mrekv._version import __version__
from mrekv.errors import SaveFormatError

if TYPE_CHECKING:  # pragma: no cover
    import torch

CONFIG_FILE = "mrekv_config.json"
VERBALIZER_FILE = "verbalizer.safetensors"
FORMAT = "mrekv.classifier"
FORMAT_VERSION = 1

Kind = Literal["prompt", "finetune"]
_COMMON_KEYS = {"format", "format_version", "kind", "mrekv_version", "classes", "training_args"}
KEYS: dict[str, set[str]] = {
    "prompt": _COMMON_KEYS | {"template", "verbalizer", "lang", "backbone", "train_mode"},
    "finetune": _COMMON_KEYS,
}


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; on success it replaces ``target``.

    If the block raises, the temporary folder is removed and ``target`` (if it
    existed) is untouched. The swap renames the old folder aside, renames the
    new one in, then deletes the old one; if the second rename fails the old
    folder is put back.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            if not target.is_dir():
                raise SaveFormatError(f"{target} exists and is not a folder")
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
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


def build_config(
    kind: Kind, classes: tuple[str, ...], training_args: Mapping[str, Any], **extra: Any
) -> dict[str, Any]:
    """The ``mrekv_config.json`` content for a classifier of ``kind``."""
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "mrekv_version": __version__,
        "classes": list(classes),
        "training_args": dict(training_args),
        **extra,
    }
    _check_keys(config, kind, Path(CONFIG_FILE))
    return config


def write_config(folder: Path, config: Mapping[str, Any]) -> None:
    """Write ``mrekv_config.json`` into ``folder``."""
    atomic_write_json(folder / CONFIG_FILE, dict(config))


def read_config(folder: str | Path, kind: Kind) -> dict[str, Any]:
    """Read and validate ``mrekv_config.json`` of a saved ``kind`` classifier.

    Raises:
        SaveFormatError: missing folder or file, bad JSON, unknown or missing
            keys, another format, version or kind (the message names the file).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SaveFormatError(f"{folder}: no such folder (expected a saved mrekv classifier)")
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise SaveFormatError(f"{path}: missing; {folder} is not a saved mrekv classifier")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SaveFormatError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise SaveFormatError(f"{path}: expected a JSON object, got {type(config).__name__}")
    if config.get("format") != FORMAT:
        raise SaveFormatError(f"{path}: 'format' must be {FORMAT!r}, got {config.get('format')!r}")
    if config.get("format_version") != FORMAT_VERSION:
        raise SaveFormatError(
            f"{path}: unsupported format_version {config.get('format_version')!r}; "
            f"this mrekv ({__version__}) reads version {FORMAT_VERSION}"
        )
    if config.get("kind") != kind:
        raise SaveFormatError(
            f"{path}: this folder holds a {config.get('kind')!r} classifier, not a {kind!r} one"
        )
    _check_keys(config, kind, path)
    classes = config["classes"]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise SaveFormatError(f"{path}: 'classes' must be a non-empty list of strings")
    if len(set(classes)) != len(classes):
        raise SaveFormatError(f"{path}: duplicate names in 'classes' {classes!r}")
    if not isinstance(config["training_args"], dict):
        raise SaveFormatError(f"{path}: 'training_args' must be an object")
    return config


def _check_keys(config: Mapping[str, Any], kind: str, path: Path) -> None:
    valid = KEYS[kind]
    unknown = sorted(set(config) - valid)
    if unknown:
        raise SaveFormatError(f"{path}: unknown keys {unknown}; valid keys: {sorted(valid)}")
    # optional: lang; backbone / train_mode (folders written before causal LMs: masked / full)
    missing = sorted((valid - {"lang", "backbone", "train_mode"}) - set(config))
    if missing:
        raise SaveFormatError(f"{path}: missing keys {missing}")


def save_tensors(path: Path, tensors: Mapping[str, torch.Tensor]) -> None:
    """Save CPU copies of ``tensors`` as safetensors (copies break weight sharing)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}, path)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; SaveFormatError naming it when missing or corrupted."""
    from safetensors.torch import load_file

    if not path.is_file():
        raise SaveFormatError(f"{path}: missing")
    try:
        return load_file(path)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type
        raise SaveFormatError(f"{path}: unreadable or truncated safetensors file ({exc})") from exc


def check_weights(folder: Path) -> None:
    """Check the transformer's files before loading them.

    Raises:
        SaveFormatError: ``config.json`` or the weights are missing, or a
            ``*.safetensors`` file is truncated or corrupted.
    """
    from safetensors import safe_open

    if not (folder / "config.json").is_file():
        raise SaveFormatError(f"{folder / 'config.json'}: missing (the model configuration)")
    try:
        json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SaveFormatError(f"{folder / 'config.json'}: not valid JSON ({exc})") from exc
    weights = sorted(folder.glob("*.safetensors"))
    weights = [w for w in weights if w.name != VERBALIZER_FILE]
    if not weights:
        raise SaveFormatError(f"{folder / 'model.safetensors'}: missing (the model weights)")
    for path in weights:
        try:
            with safe_open(str(path), framework="pt") as handle:
                handle.keys()
        except Exception as exc:  # noqa: BLE001
            raise SaveFormatError(
                f"{path}: unreadable or truncated safetensors file ({exc})"
            ) from exc


def wrap_load_error(path: Path, what: str, exc: Exception) -> SaveFormatError:
    """A SaveFormatError for a failure while loading ``what`` from ``path``."""
    return SaveFormatError(f"{path}: could not load the {what}: {type(exc).__name__}: {exc}")


def open_saved(folder: Path, kind: Kind) -> tuple[dict[str, Any], Path, Any]:
    """Read and check a saved folder's JSON, weights and training arguments.

    Returns:
        ``(config, config_path, training_args)``.

    Raises:
        SaveFormatError: naming the file that is missing, corrupted or incompatible.
    """
    from mrekv.prompt.training import TrainingArgs

    config = read_config(folder, kind)
    config_path = folder / CONFIG_FILE
    check_weights(folder)
    try:
        args = TrainingArgs.from_config(config["training_args"])
    except (TypeError, ValueError) as exc:
        raise SaveFormatError(f"{config_path}: bad 'training_args': {exc}") from exc
    return config, config_path, args


def load_saved_model(folder: Path, auto_class: Any) -> tuple[Any, Any]:
    """Load the tokenizer and the model (with ``auto_class``) of a saved folder.

    Raises:
        SaveFormatError: naming what could not be loaded.
    """
    from mrekv.models import load_tokenizer

    try:
        tokenizer = load_tokenizer(folder)
    except Exception as exc:  # noqa: BLE001 - any failure means a broken folder
        raise wrap_load_error(folder, "tokenizer", exc) from exc
    try:
        model = auto_class.from_pretrained(str(folder))
    except Exception as exc:  # noqa: BLE001
        raise wrap_load_error(folder, "model (config.json, weights)", exc) from exc
    return tokenizer, model

