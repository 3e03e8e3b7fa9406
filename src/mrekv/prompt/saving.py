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
naming the file and what is wrong: ``mrekv_config.json`` records a SHA-256
digest of every file and of its own content, verified before any weight is read,
and no file is opened unless it is a regular file inside the folder
(:mod:`mrekv.prompt.integrity`). :func:`mrekv.classifiers.load_classifier`
loads a folder of either kind.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mrekv._folders import atomic_folder as atomic_folder
from mrekv._folders import recover_interrupted_save
from mrekv._io import atomic_write_json
from mrekv._json import load_json
from mrekv._version import __version__
from mrekv.errors import SaveFormatError
from mrekv.prompt import integrity

if TYPE_CHECKING:  # pragma: no cover
    import torch

CONFIG_FILE = "mrekv_config.json"
VERBALIZER_FILE = "verbalizer.safetensors"
FORMAT = "mrekv.classifier"
FORMAT_VERSION = 1

Kind = Literal["prompt", "finetune"]
_COMMON_KEYS = {"format", "format_version", "kind", "mrekv_version", "classes", "training_args",
                integrity.KEY}
#: Keys older folders may lack: lang; backbone / train_mode (written before causal LMs:
#: masked / full); prior_head (before train_mode="prior"); frozen_head / ngram_expert
#: (before the prior head became the frozen default: word weights, no expert); checksums.
_OPTIONAL_KEYS = {"lang", "backbone", "train_mode", "prior_head", "frozen_head", "ngram_expert",
                  integrity.KEY}
KEYS: dict[str, set[str]] = {
    "prompt": _COMMON_KEYS | {"template", "verbalizer", "lang", "backbone", "train_mode",
                              "prior_head", "frozen_head", "ngram_expert"},
    "finetune": _COMMON_KEYS,
}


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
    """Write ``mrekv_config.json`` into ``folder``, last, with the digests of its other files."""
    atomic_write_json(folder / CONFIG_FILE, integrity.add_checksums(folder, config, CONFIG_FILE))


def read_json(path: Path) -> Any:
    """The JSON value in ``path`` (a regular file inside its folder, nested at most 100 deep).

    Raises:
        SaveFormatError: not a regular file (a FIFO, a device...), a symbolic link out of
            its folder, unreadable, not UTF-8 or not valid JSON (the message names ``path``).
    """
    integrity.check_entry(path)
    try:
        return load_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SaveFormatError(f"{path}: not valid JSON ({exc})") from exc


def read_config(folder: str | Path, kind: Kind) -> dict[str, Any]:
    """Read and validate ``mrekv_config.json`` of a saved ``kind`` classifier.

    Raises:
        SaveFormatError: missing folder or file, bad JSON, unknown or missing
            keys, another format, version or kind (the message names the file).
    """
    folder = Path(folder)
    if not folder.is_dir():
        recover_interrupted_save(folder)
    if not folder.is_dir():
        raise SaveFormatError(f"{folder}: no such folder (expected a saved mrekv classifier)")
    path = folder / CONFIG_FILE
    if not os.path.lexists(path):
        raise SaveFormatError(f"{path}: missing; {folder} is not a saved mrekv classifier")
    config = read_json(path)
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
    missing = sorted((valid - _OPTIONAL_KEYS) - set(config))
    if missing:
        raise SaveFormatError(f"{path}: missing keys {missing}")


def save_tensors(path: Path, tensors: Mapping[str, torch.Tensor]) -> None:
    """Save CPU copies of ``tensors`` as safetensors (copies break weight sharing)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}, path)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file; SaveFormatError naming it when missing, corrupted or not finite."""
    import torch
    from safetensors.torch import load_file

    if not path.is_file():
        raise SaveFormatError(f"{path}: missing")
    try:
        tensors = load_file(path)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type
        raise SaveFormatError(f"{path}: unreadable or truncated safetensors file ({exc})") from exc
    bad = sorted(
        name for name, t in tensors.items()
        if t.is_floating_point() and not bool(torch.isfinite(t).all())
    )
    if bad:  # NaN scores would be written out as NaN, which is not JSON
        raise SaveFormatError(f"{path}: tensors {bad} hold NaN or infinite values")
    return tensors


def check_weights(folder: Path) -> None:
    """Check the transformer's files before loading them.

    A ``model.safetensors.index.json`` (sharded weights) may only name files
    inside ``folder``, and each must exist.

    Raises:
        SaveFormatError: ``config.json`` or the weights are missing, a
            ``*.safetensors`` file is truncated or corrupted, or the index names
            a file outside the folder or one that is missing.
    """
    from safetensors import safe_open

    integrity.check_entries(folder)
    if not (folder / "config.json").is_file():
        raise SaveFormatError(f"{folder / 'config.json'}: missing (the model configuration)")
    model_config = read_json(folder / "config.json")
    if not isinstance(model_config, dict):
        raise SaveFormatError(f"{folder / 'config.json'}: expected a JSON object")
    for index in sorted(folder.glob("*.safetensors.index.json")):
        _check_index(folder, index)
    weights = weight_files(folder)
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


def weight_files(folder: Path) -> list[Path]:
    """The transformer's ``*.safetensors`` files in ``folder`` (not the verbalizer's or head's)."""
    from mrekv.prompt.prior_mode import HEAD_FILE

    return [w for w in sorted(folder.glob("*.safetensors"))
            if w.name not in (VERBALIZER_FILE, HEAD_FILE)]


def _check_index(folder: Path, index: Path) -> None:
    """Every file a sharded-weights index names is a plain file inside ``folder``."""
    data = read_json(index)
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise SaveFormatError(f"{index}: expected an object with a non-empty 'weight_map'")
    root = folder.resolve()
    for name in sorted(set(map(str, weight_map.values()))):
        if "\x00" in name or not name:
            raise SaveFormatError(f"{index}: names the weight file {name!r}, which is not a valid "
                                  "file name (empty, or a NUL byte in it)")
        shard = Path(name)
        inside = (root / shard).resolve()
        if shard.is_absolute() or ".." in shard.parts or inside.parent != root:
            raise SaveFormatError(
                f"{index}: refers to {name!r}, outside the folder; an index may only name "
                "weight files inside it"
            )
        if not inside.is_file():
            raise SaveFormatError(f"{index}: names {name!r}, which is missing from {folder}")


def check_training_args(config_path: Path, args: Mapping[str, Any]) -> None:
    """Check the JSON types of saved ``training_args`` against :class:`TrainingArgs`' fields.

    Raises:
        SaveFormatError: a value of the wrong type (``"two"`` epochs, ``2.5`` batch size).
    """
    from dataclasses import fields

    from mrekv.prompt.training import TrainingArgs

    for field in fields(TrainingArgs):
        if field.name not in args:
            continue
        value = args[field.name]
        kinds = field.type if isinstance(field.type, str) else getattr(
            field.type, "__name__", str(field.type))  # "int", "float", "int | None"
        base = kinds.split("|")[0].strip()
        if base not in ("int", "float"):
            continue  # other kinds are TrainingArgs' own to check
        ok = (value is None and "None" in kinds) or (
            not isinstance(value, bool) and (
                (base == "int" and isinstance(value, int))
                or (base == "float" and isinstance(value, (int, float)) and math.isfinite(value))
            )
        )
        if not ok:
            raise SaveFormatError(
                f"{config_path}: 'training_args.{field.name}' must be {kinds}, got {value!r}"
            )


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
    integrity.check_entries(folder)  # before any other file is opened
    integrity.verify_checksums(folder, config, config_path)
    check_weights(folder)
    check_training_args(config_path, config["training_args"])
    try:
        args = TrainingArgs.from_config(config["training_args"])
    except (TypeError, ValueError) as exc:
        raise SaveFormatError(f"{config_path}: bad 'training_args': {exc}") from exc
    return config, config_path, args


def load_saved_model(folder: Path, auto_class: Any) -> tuple[Any, Any]:
    """Load the tokenizer and the model (with ``auto_class``) of a saved folder.

    Every weight of the architectures in ``config.json`` must come from the
    folder: a missing, renamed or unexpected tensor (or a ``config.json`` edited
    to another depth, model type or weight tying) would otherwise load as a
    partly random model.

    Raises:
        SaveFormatError: naming what could not be loaded, the tensors that are
            missing or unexpected, or special tokens outside the vocabulary.
    """
    from mrekv.models import load_tokenizer

    try:
        tokenizer = load_tokenizer(folder)
    except Exception as exc:  # noqa: BLE001 - any failure means a broken folder
        raise wrap_load_error(folder, "tokenizer", exc) from exc
    try:
        model, info = auto_class.from_pretrained(str(folder), output_loading_info=True)
    except Exception as exc:  # noqa: BLE001
        raise wrap_load_error(folder, "model (config.json, weights)", exc) from exc
    problems = []
    for key, what in (("missing_keys", "missing from the weights"),
                      ("unexpected_keys", "in the weights but not in the model"),
                      ("mismatched_keys", "of the wrong shape")):
        names = sorted(str(k if isinstance(k, str) else k[0]) for k in info.get(key) or ())
        if names:
            shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            problems.append(f"{len(names)} tensors {what}: {shown}")
    if problems:
        raise SaveFormatError(
            f"{folder}: the weights do not match the architecture in "
            f"{folder / 'config.json'} ({'; '.join(problems)})"
        )
    _check_special_tokens(folder, tokenizer, model)
    integrity.check_stored_dtypes(folder, weight_files(folder), model)
    _check_finite(folder, model)
    return tokenizer, model


def _check_finite(folder: Path, model: Any) -> None:
    """Every floating weight is finite (a NaN predicts one class everywhere, silently)."""
    import torch

    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise SaveFormatError(f"{folder}: weight {name!r} holds NaN or inf values; the "
                                  "folder is corrupted (save the model again)")


def _check_special_tokens(folder: Path, tokenizer: Any, model: Any) -> None:
    """The special tokens are in the vocabulary, and every id indexes the embedding matrix."""
    try:
        rows = int(model.get_input_embeddings().weight.shape[0])
    except (AttributeError, TypeError):
        return
    try:
        vocab = tokenizer.get_vocab()
    except Exception:  # noqa: BLE001 - a tokenizer without one cannot be checked here
        vocab = None
    for name in ("unk_token", "mask_token", "pad_token", "cls_token", "sep_token"):
        token = getattr(tokenizer, name, None)
        if vocab is not None and token is not None and str(token) not in vocab:
            # an unknown unk_token sends transformers into endless recursion at predict
            raise SaveFormatError(
                f"{folder}: the tokenizer's {name} {str(token)!r} is not in its vocabulary "
                "(tokenizer_config.json and the vocabulary do not belong together)")
    for name in ("mask_token_id", "pad_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None and not 0 <= int(value) < rows:
            raise SaveFormatError(
                f"{folder}: the tokenizer's {name} {value} is outside the model's vocabulary "
                f"of {rows} tokens (tokenizer files and weights do not belong together)"
            )
    top, token = _largest_text_id(tokenizer)
    if top >= rows:
        raise SaveFormatError(
            f"{folder}: the tokenizer gives token {token!r} the id {top}, past the model's "
            f"embedding table of {rows} rows, so a text holding it would fail at predict "
            "(tokenizer files and weights do not belong together)")
    config_pad = getattr(model.config, "pad_token_id", None)
    if isinstance(config_pad, int) and not 0 <= config_pad < rows:
        raise SaveFormatError(
            f"{folder / 'config.json'}: pad_token_id {config_pad} is outside the vocabulary "
            f"of {rows} tokens"
        )


def _largest_text_id(tokenizer: Any) -> tuple[int, str]:
    """The largest id (and its token) that text can produce.

    Added special tokens are left out: some causal tokenizers carry one past the
    embeddings that text never produces; the special tokens are checked by name.
    """
    try:
        vocab = tokenizer.get_vocab()
        added = getattr(tokenizer, "added_tokens_decoder", {}) or {}
        special = {str(t) for t in added.values() if getattr(t, "special", False)}
    except Exception:  # noqa: BLE001 - a tokenizer without these cannot be checked
        return -1, ""
    ids = [(i, str(t)) for t, i in vocab.items() if isinstance(i, int) and t not in special]
    return max(ids, default=(-1, ""))
