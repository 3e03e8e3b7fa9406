"""OpenPrompt's ``openprompt.plms``: :func:`load_plm` and the tokenizer wrappers.

``load_plm(model_name, model_path)`` loads a local folder (or a cached Hub id,
or a ``.gguf`` file for causal LMs) through :func:`mrekv.models.load_lm`:

=============================  ============  ==========================
``model_name``                 model class   wrapper
=============================  ============  ==========================
``bert``, ``roberta``,         masked LM     :class:`MLMTokenizerWrapper`
``albert``, ``electra``...
``gpt2``, ``gpt``, ``opt``,    causal LM     :class:`LMTokenizerWrapper`
``llama``...
``auto``                       from config   by the model kind
=============================  ============  ==========================

The model family name only picks masked vs causal: ``load_plm("gpt2", folder)``
loads any causal LM in ``folder`` (SmolLM2, Gemma...). A causal tokenizer
without a pad token gets its end-of-sequence token as pad token (OpenPrompt
adds a new ``<pad>`` token and resizes the embeddings instead; the padding is
masked out either way).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mrekv.errors import ConfigError, unknown_choice
from mrekv.openprompt.plms.lm import LMTokenizerWrapper
from mrekv.openprompt.plms.mlm import MLMTokenizerWrapper
from mrekv.openprompt.plms.utils import TokenizerWrapper

MASKED = (
    "bert",
    "roberta",
    "albert",
    "electra",
    "deberta",
    "distilbert",
    "xlm-roberta",
    "camembert",
)
CAUSAL = ("gpt2", "gpt", "gptj", "gpt-neo", "opt", "llama", "mistral", "qwen", "gemma")

__all__ = ["LMTokenizerWrapper", "MLMTokenizerWrapper", "TokenizerWrapper", "load_plm"]


def load_plm(
    model_name: str, model_path: str | Path, specials_to_add: list[str] | None = None
) -> tuple[Any, Any, Any, type[TokenizerWrapper]]:
    """Load a pretrained LM the way OpenPrompt's ``load_plm`` returns it.

    Args:
        model_name: the family (table in the module docstring), or ``"auto"``.
        model_path: a local folder, a cached Hub id, or a ``.gguf`` file.
        specials_to_add: kept for OpenPrompt's signature; only ``"<pad>"`` is
            understood (a missing pad token is set to the EOS token).

    Returns:
        ``(plm, tokenizer, model_config, WrapperClass)``.

    Raises:
        ConfigError: an unknown ``model_name``.
        FileNotFoundError: the model cannot be found offline.

    Example:
        >>> plm, tokenizer, config, Wrapper = load_plm("bert", "path/to/bert")  # doctest: +SKIP
    """
    from mrekv.models import load_lm

    name = model_name.lower()
    if name in MASKED:
        backbone = "masked"
    elif name in CAUSAL:
        backbone = "causal"
    elif name == "auto":
        backbone = "auto"
    else:
        raise ConfigError(unknown_choice("model_name", model_name, ("auto", *MASKED, *CAUSAL)))
    plm, tokenizer, kind = load_lm(model_path, backbone=backbone)
    if kind == "causal" and tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    wrapper: type[TokenizerWrapper] = (
        LMTokenizerWrapper if kind == "causal" else MLMTokenizerWrapper
    )
    return plm, tokenizer, plm.config, wrapper
