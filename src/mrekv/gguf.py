"""GGUF files -> a local safetensors folder that transformers loads in seconds.

transformers reads GGUF checkpoints (``from_pretrained(folder, gguf_file=name)``,
with the ``gguf`` and ``accelerate`` packages: ``pip install "mrekv[gguf]"``),
dequantising every tensor to float32, which takes 20-130 s on a small CPU. mrekv
does it once per file: the converted model (config, tokenizer, weights) is
written to a cache folder keyed by the file's sha256, so a second load of the
same file reads plain safetensors.

``save_pretrained`` refuses GGUF-loaded models (their config keeps a
``quantization_config``); the conversion drops it and writes the weights with
``safetensors.torch.save_model``, which also handles tied weights.

Cache root: ``$MREKV_CACHE/gguf`` if set, else ``~/.cache/mrekv/gguf``. Nothing
in it belongs in a repository.

Example:
    >>> folder = convert_gguf("gemma-3-270m-q4_k_m.gguf")   # doctest: +SKIP
    >>> folder.name[:12]                                      # doctest: +SKIP
    'a5fd3b62230a'
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from mrekv.errors import MissingDependencyError

#: Marker file written last: a folder without it is an interrupted conversion.
DONE_FILE = "mrekv_gguf.json"


def cache_root() -> Path:
    """Where converted GGUF models live (``$MREKV_CACHE/gguf`` or ``~/.cache/mrekv/gguf``)."""
    base = os.environ.get("MREKV_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "mrekv"
    return root / "gguf"


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _require_gguf() -> None:
    missing = []
    for module in ("gguf", "accelerate"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingDependencyError(
            f"loading GGUF files needs {' and '.join(missing)}: pip install \"mrekv[gguf]\""
        )


def convert_gguf(path: str | Path, *, cache_dir: str | Path | None = None) -> Path:
    """Convert a causal-LM GGUF file once into a safetensors folder; return the folder.

    Args:
        path: the ``.gguf`` file.
        cache_dir: where converted models go (default :func:`cache_root`).

    Returns:
        ``<cache>/<sha256[:16]>``: ``config.json``, tokenizer files and
        ``model.safetensors`` (float32), loadable with ``AutoModelForCausalLM``.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        MissingDependencyError: ``gguf`` or ``accelerate`` is not installed.
    """
    import json

    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"GGUF file {source} does not exist")
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    sha = file_sha256(source)
    target = root / sha[:16]
    if (target / DONE_FILE).is_file():
        return target
    _require_gguf()
    import torch
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(source.parent), source.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{sha[:16]}.", dir=root))
    try:
        model.config.save_pretrained(str(tmp))
        if model.generation_config is not None:
            model.generation_config.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        save_model(model, str(tmp / "model.safetensors"))
        (tmp / DONE_FILE).write_text(
            json.dumps({"source": source.name, "sha256": sha}, indent=2) + "\n", encoding="utf-8"
        )
        if target.exists():  # an interrupted earlier conversion
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
