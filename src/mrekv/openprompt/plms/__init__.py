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
``t5``                         seq2seq LM    :class:`T5TokenizerWrapper`
``t5-lm``                      seq2seq LM    :class:`T5LMTokenizerWrapper`
``auto``                       from config   by the model kind
=============================  ============  ==========================

The model family name only picks masked vs causal: ``load_plm("gpt2", folder)``
loads any causal LM in ``folder`` (SmolLM2, Gemma...). A causal tokenizer
without a pad token gets its end-of-sequence token as pad token (OpenPrompt
adds a new ``<pad>`` token and resizes the embeddings instead; the padding is
masked out either way). ``t5`` / ``t5-lm`` load any encoder-decoder LM in the
folder with ``AutoModelForSeq2SeqLM`` (a ``T5ForConditionalGeneration`` for T5).

``ModelClass`` and ``_MODEL_CLASSES`` are OpenPrompt's table of transformers
classes per family (built on first access, so importing this package does not
import transformers); :func:`load_plm` itself loads through the Auto classes.
"""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path
from typing import Any

from mrekv.errors import ConfigError, unknown_choice
from mrekv.openprompt.plms.lm import LMTokenizerWrapper
from mrekv.openprompt.plms.mlm import MLMTokenizerWrapper
from mrekv.openprompt.plms.seq2seq import T5LMTokenizerWrapper, T5TokenizerWrapper
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
SEQ2SEQ: dict[str, type[TokenizerWrapper]] = {
    "t5": T5TokenizerWrapper,
    "t5-lm": T5LMTokenizerWrapper,
}

#: OpenPrompt's record of one model family's transformers classes and wrapper.
ModelClass = namedtuple("ModelClass", ("config", "tokenizer", "model", "wrapper"))

#: family -> (config, tokenizer, model) class names in transformers, and the wrapper.
_FAMILIES: dict[str, tuple[str, str, str, type[TokenizerWrapper]]] = {
    "bert": ("BertConfig", "BertTokenizer", "BertForMaskedLM", MLMTokenizerWrapper),
    "roberta": ("RobertaConfig", "RobertaTokenizer", "RobertaForMaskedLM", MLMTokenizerWrapper),
    "albert": ("AlbertConfig", "AlbertTokenizer", "AlbertForMaskedLM", MLMTokenizerWrapper),
    "gpt": ("OpenAIGPTConfig", "OpenAIGPTTokenizer", "OpenAIGPTLMHeadModel", LMTokenizerWrapper),
    "gpt2": ("GPT2Config", "GPT2Tokenizer", "GPT2LMHeadModel", LMTokenizerWrapper),
    "t5": ("T5Config", "T5Tokenizer", "T5ForConditionalGeneration", T5TokenizerWrapper),
    "t5-lm": ("T5Config", "T5Tokenizer", "T5ForConditionalGeneration", T5LMTokenizerWrapper),
    "opt": ("OPTConfig", "GPT2Tokenizer", "OPTForCausalLM", LMTokenizerWrapper),
}
_TABLE: dict[str, Any] = {}

__all__ = [
    "LMTokenizerWrapper",
    "MLMTokenizerWrapper",
    "ModelClass",
    "T5LMTokenizerWrapper",
    "T5TokenizerWrapper",
    "TokenizerWrapper",
    "get_model_class",
    "load_plm",
]


def _model_classes() -> dict[str, Any]:
    if not _TABLE:
        import transformers

        for family, (config, tokenizer, model, wrapper) in _FAMILIES.items():
            _TABLE[family] = ModelClass(
                getattr(transformers, config),
                getattr(transformers, tokenizer),
                getattr(transformers, model),
                wrapper,
            )
    return _TABLE


def __getattr__(name: str) -> Any:
    if name == "_MODEL_CLASSES":
        return _model_classes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_model_class(plm_type: str) -> Any:
    """OpenPrompt's ``get_model_class``: the :data:`ModelClass` of a family.

    Raises:
        ConfigError: an unknown family (the message lists them).

    Example:
        >>> get_model_class("t5").wrapper.__name__
        'T5TokenizerWrapper'
    """
    if plm_type not in _FAMILIES:
        raise ConfigError(unknown_choice("plm_type", plm_type, tuple(_FAMILIES)))
    return _model_classes()[plm_type]


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
    if name in SEQ2SEQ:
        plm, tokenizer = _load_seq2seq(model_path)
        return plm, tokenizer, plm.config, SEQ2SEQ[name]
    if name in MASKED:
        backbone = "masked"
    elif name in CAUSAL:
        backbone = "causal"
    elif name == "auto":
        backbone = "auto"
    else:
        raise ConfigError(
            unknown_choice("model_name", model_name, ("auto", *MASKED, *CAUSAL, *SEQ2SEQ))
        )
    plm, tokenizer, kind = load_lm(model_path, backbone=backbone)
    if kind == "causal" and tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    wrapper: type[TokenizerWrapper] = (
        LMTokenizerWrapper if kind == "causal" else MLMTokenizerWrapper
    )
    return plm, tokenizer, plm.config, wrapper


def _load_seq2seq(model_path: str | Path) -> tuple[Any, Any]:
    """An encoder-decoder LM and its tokenizer, in eval mode.

    Raises:
        ConfigError: the folder holds a model that is not an encoder-decoder.
    """
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    from mrekv.model_source import hub_load
    from mrekv.models import load_tokenizer, local_model_name

    name = local_model_name(model_path)
    config = hub_load(name, "configuration", AutoConfig.from_pretrained)
    if not getattr(config, "is_encoder_decoder", False):
        raise ConfigError(
            f"{model_path}: load_plm('t5', ...) needs an encoder-decoder model, but the config "
            f"is a {config.model_type!r} model; use load_plm('auto', ...)"
        )
    tokenizer = load_tokenizer(name)
    plm = hub_load(name, "model", AutoModelForSeq2SeqLM.from_pretrained)
    return plm.eval(), tokenizer
