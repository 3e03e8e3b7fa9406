"""Loading masked LMs and tokenizers, choosing a device, and building tiny random MLMs.

Everything heavy (torch, transformers, tokenizers) is imported inside the
functions, so importing this module is cheap. Finding a masked LM's vocabulary
head is :mod:`mrekv.mlm_head` (``locate_mlm_head`` can be imported from here too).

Example:
    >>> from mrekv.models import load_masked_lm
    >>> model, tokenizer = load_masked_lm("bert-base-uncased")  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mrekv._json import load_json
from mrekv.mlm_head import locate_mlm_head as locate_mlm_head
from mrekv.model_source import check_model_reference as check_model_reference
from mrekv.model_source import hub_load

if TYPE_CHECKING:  # pragma: no cover
    import torch

_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """The device to run on: ``device`` if given, else CUDA when available, else CPU.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``, or None.

    Returns:
        A ``torch.device``.

    Raises:
        ConfigError: an unknown device name, or one this torch cannot use (``cuda`` on a
            torch built without CUDA or without a visible GPU, ``cuda:3`` with two GPUs,
            ``mps`` off Apple silicon).
    """
    import torch

    from mrekv.errors import ConfigError

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ConfigError(f"unknown device {device!r} ({exc}); valid: cpu, cuda, cuda:<n>, "
                          "mps") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            why = ("this torch was built without CUDA" if torch.version.cuda is None
                   else "no CUDA GPU is visible")
            raise ConfigError(f"device {str(device)!r}: {why} (torch {torch.__version__}); "
                              "use device 'cpu', or install a CUDA build of torch")
        count = torch.cuda.device_count()
        if chosen.index is not None and chosen.index >= count:
            raise ConfigError(f"device {str(device)!r}: only {count} CUDA GPU(s) visible "
                              f"(cuda:0 to cuda:{count - 1})")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device {str(device)!r}: MPS (Apple silicon) is not available on "
                          "this machine; use device 'cpu'")
    return chosen


def load_tokenizer(
    name_or_path: str | Path, *, trust_remote_code: bool = False, **kwargs: Any
) -> Any:
    """Load a tokenizer with ``AutoTokenizer`` by Hub id or local folder.

    A ``BertJapaneseTokenizer`` folder that asks for the MeCab dictionary
    ``ipadic`` falls back to ``unidic_lite`` (with a warning) when ``ipadic`` is
    not installed; pass ``mecab_kwargs`` yourself to choose.

    Args:
        name_or_path: Hub id or folder.
        trust_remote_code: allow custom tokenizer code from the folder/Hub (off by default).
        **kwargs: passed to ``AutoTokenizer.from_pretrained``.

    Returns:
        The tokenizer.
    """
    from transformers import AutoTokenizer

    name = str(name_or_path)
    if Path(name).expanduser().exists():
        name = str(Path(name).expanduser())
    if "mecab_kwargs" not in kwargs and _wants_missing_ipadic(name):
        kwargs = {**kwargs, "mecab_kwargs": _unidic_fallback(name)}
    load = AutoTokenizer.from_pretrained
    try:
        return hub_load(name, "tokenizer", load, trust_remote_code=trust_remote_code, **kwargs)
    except Exception as exc:  # the Hub case: we could not read the config beforehand
        if "ipadic" not in str(exc) or "mecab_kwargs" in kwargs:
            raise
        kwargs = {**kwargs, "mecab_kwargs": _unidic_fallback(name)}
        return hub_load(name, "tokenizer", load, trust_remote_code=trust_remote_code, **kwargs)


def _wants_missing_ipadic(name: str) -> bool:
    config_file = Path(name) / "tokenizer_config.json"
    if not config_file.is_file():
        return False
    try:
        config = load_json(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(config, dict):
        return False
    mecab = config.get("mecab_kwargs") or {}
    if config.get("word_tokenizer_type") != "mecab" or mecab.get("mecab_dic", "ipadic") != "ipadic":
        return False
    try:
        import ipadic  # noqa: F401
    except ImportError:
        return True
    return False


def _unidic_fallback(name: str) -> dict[str, str]:
    warnings.warn(
        f"tokenizer {name!r} asks for the MeCab dictionary 'ipadic', which is not installed; "
        "using 'unidic_lite' instead (word boundaries may differ slightly from the ones the "
        "vocabulary was built with). Install ipadic (pip install ipadic) to use the original.",
        stacklevel=3,
    )
    return {"mecab_dic": "unidic_lite"}


def load_masked_lm(
    name_or_path: str | Path,
    *,
    trust_remote_code: bool = False,
    tokenizer_kwargs: dict[str, Any] | None = None,
    **model_kwargs: Any,
) -> tuple[Any, Any]:
    """Load a masked LM and its tokenizer by Hub id or local folder.

    Args:
        name_or_path: Hub id (e.g. ``"bert-base-uncased"``) or a folder holding
            ``config.json``, the weights and the tokenizer files.
        trust_remote_code: allow custom model code (off by default).
        tokenizer_kwargs: passed to :func:`load_tokenizer`.
        **model_kwargs: passed to ``AutoModelForMaskedLM.from_pretrained``.

    Returns:
        ``(model, tokenizer)``; the model is in eval mode.

    Example:
        >>> model, tok = load_masked_lm("cl-tohoku/bert-base-japanese")  # doctest: +SKIP
    """
    from transformers import AutoModelForMaskedLM

    tokenizer = load_tokenizer(
        name_or_path, trust_remote_code=trust_remote_code, **(tokenizer_kwargs or {})
    )
    model = hub_load(str(name_or_path), "model", AutoModelForMaskedLM.from_pretrained,
                     trust_remote_code=trust_remote_code, **model_kwargs)
    return model.eval(), tokenizer


Backbone = Literal["masked", "causal"]
BACKBONES: tuple[str, ...] = ("masked", "causal")


def detect_backbone(model_or_config: Any) -> Backbone:
    """``"masked"`` or ``"causal"`` from a loaded model or its config's architectures.

    Raises:
        ConfigError: neither can be told (pass ``backbone=`` explicitly).
    """
    from mrekv.errors import ConfigError

    names = [type(model_or_config).__name__]
    config = getattr(model_or_config, "config", model_or_config)
    names += list(getattr(config, "architectures", None) or [])
    for name in names:
        if name.endswith("ForMaskedLM"):
            return "masked"
        if name.endswith(("ForCausalLM", "LMHeadModel")):
            return "causal"
    if getattr(config, "is_decoder", False) or getattr(config, "model_type", "") in (
        "gpt2", "llama", "gemma", "gemma2", "gemma3_text", "qwen2", "mistral", "phi3",
    ):
        return "causal"
    if getattr(config, "model_type", "") in ("bert", "roberta", "xlm-roberta", "albert",
                                              "distilbert", "electra", "deberta-v2"):
        return "masked"
    raise ConfigError(
        f"cannot tell whether {names[0]} is a masked or a causal LM; pass backbone="
        f"{list(BACKBONES)}"
    )


def local_model_name(name_or_path: str | Path) -> str:
    """What ``from_pretrained`` is given for a model reference (checked first).

    A path is expanded (``~``), a ``.gguf`` file is converted once into its cached
    safetensors folder (:func:`mrekv.gguf.convert_gguf`), a Hub id stays as it is.

    Raises:
        ModelUnavailableError: see :func:`check_model_reference`.
    """
    check_model_reference(name_or_path)
    path = Path(str(name_or_path)).expanduser()
    name = str(path) if path.exists() else str(name_or_path)
    if name.endswith(".gguf"):
        from mrekv.gguf import convert_gguf

        name = str(convert_gguf(name))
    return name


def load_lm(
    name_or_path: str | Path,
    *,
    backbone: str = "auto",
    trust_remote_code: bool = False,
    tokenizer_kwargs: dict[str, Any] | None = None,
    **model_kwargs: Any,
) -> tuple[Any, Any, Backbone]:
    """Load a masked or causal LM and its tokenizer: Hub id, folder or ``.gguf`` file.

    A GGUF file is converted once into a cached safetensors folder
    (:func:`mrekv.gguf.convert_gguf`). A path that does not exist, or a Hub id
    that is not cached while ``HF_HUB_OFFLINE`` is set or the Hub does not
    answer, fails at once (:func:`check_model_reference`).

    Args:
        name_or_path: Hub id, folder, or ``.gguf`` file (causal LMs).
        backbone: ``"auto"`` (from the config's architectures), ``"masked"`` or ``"causal"``.
        trust_remote_code: allow custom model code (off by default).
        tokenizer_kwargs: passed to :func:`load_tokenizer`.
        **model_kwargs: passed to ``from_pretrained``.

    Returns:
        ``(model, tokenizer, backbone)``; the model is in eval mode.

    Raises:
        ModelUnavailableError: the model cannot be found or fetched (a
            ``FileNotFoundError``; the message says how to supply a local copy).
        ConfigError: an unknown ``backbone``, or one the config cannot be told from.

    Example:
        >>> model, tok, kind = load_lm("gemma-3-270m-q4_k_m.gguf")  # doctest: +SKIP
        >>> kind                                                      # doctest: +SKIP
        'causal'
    """
    from mrekv.errors import ConfigError, unknown_choice

    if backbone not in ("auto", *BACKBONES):
        raise ConfigError(unknown_choice("backbone", backbone, ("auto", *BACKBONES)))
    if str(name_or_path).endswith(".gguf") and backbone == "auto":
        backbone = "causal"
    name = local_model_name(name_or_path)
    from transformers import AutoConfig

    config = hub_load(name, "configuration", AutoConfig.from_pretrained,
                      trust_remote_code=trust_remote_code)
    if backbone == "auto":
        backbone = detect_backbone(config)
    else:
        _check_backbone(name, config, backbone)
    from transformers import AutoModelForCausalLM, AutoModelForMaskedLM

    auto_class: Any = AutoModelForCausalLM if backbone == "causal" else AutoModelForMaskedLM
    tokenizer = load_tokenizer(name, trust_remote_code=trust_remote_code,
                               **(tokenizer_kwargs or {}))
    model = hub_load(name, "model", auto_class.from_pretrained,
                     trust_remote_code=trust_remote_code, **model_kwargs)
    return model.eval(), tokenizer, backbone  # type: ignore[return-value]


def _check_backbone(name: str, config: Any, backbone: str) -> None:
    """Refuse a ``backbone`` that the model's config contradicts.

    A masked LM loaded as a causal one would otherwise train a randomly initialised
    decoder head without a word of warning.
    """
    from mrekv.errors import ConfigError

    try:
        found = detect_backbone(config)
    except ConfigError:
        return  # the config does not tell: the caller's word stands
    if found != backbone:
        archs = ", ".join(getattr(config, "architectures", None) or [config.model_type])
        raise ConfigError(
            f"backbone {backbone!r}, but {name} is a {found} LM ({archs} in its config); "
            f"use backbone={found!r} or 'auto'")


def save_model_weights(model: Any, folder: str | Path) -> None:
    """``model.save_pretrained(folder)`` as safetensors, on transformers 4.x and 5.x."""
    params = inspect.signature(model.save_pretrained).parameters
    if "safe_serialization" in params:
        model.save_pretrained(str(folder), safe_serialization=True)
    else:  # transformers 5 always writes safetensors
        model.save_pretrained(str(folder))


#: The most parameters a "tiny" model may have (4 GB of float32 weights).
MAX_TINY_PARAMETERS = 10**9


def check_tiny_size(*, vocab: int, hidden: int, layers: int, positions: int,
                    intermediate: int | None = None) -> int:
    """Estimate a tiny transformer's parameter count; refuse one too big to build.

    Embeddings (vocabulary and positions) plus, per layer, attention (4 hidden x
    hidden) and the feed-forward block (2 hidden x intermediate), within a few
    percent of the real count.

    Returns:
        The estimate.

    Raises:
        ValueError: more than :data:`MAX_TINY_PARAMETERS` parameters (before anything
            is allocated).
    """
    inner = 4 * hidden if intermediate is None else intermediate
    count = (vocab + positions) * hidden + layers * (4 * hidden * hidden + 2 * hidden * inner)
    if count > MAX_TINY_PARAMETERS:
        raise ValueError(
            f"that model would have about {count:.2g} parameters ({4 * count / 1e9:,.0f} GB of "
            f"float32 weights); a tiny model has at most {MAX_TINY_PARAMETERS:.0e} (e.g. "
            "hidden 32 to 1024, layers 1 to 24)")
    return count


def make_tiny_mlm(
    out_dir: str | Path,
    texts: Iterable[str] | None = None,
    *,
    tokenizer_from: str | Path | None = None,
    vocab_size: int = 4000,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    max_position_embeddings: int = 512,
    lowercase: bool = True,
    seed: int = 0,
) -> Path:
    """Write a tiny, randomly initialised ``BertForMaskedLM`` and its tokenizer to ``out_dir``.

    .. warning::
        The model knows NO language: its weights are random. It exists so the
        whole pipeline (prompting, training, saving, experiments) runs on
        machines without pretrained weights. Accuracy measured with it says
        nothing about any method; use a real pretrained masked LM for that.

    Either reuse an existing tokenizer folder (``tokenizer_from``) or train a
    small WordPiece vocabulary on ``texts`` with the Hugging Face ``tokenizers``
    library (BERT normalizer with Chinese-character splitting, BERT
    pre-tokenizer), which works for English, Japanese and Chinese text.

    Args:
        out_dir: the folder to write (created; existing files are overwritten).
        texts: training texts for the WordPiece vocabulary (needed without ``tokenizer_from``).
        tokenizer_from: an existing tokenizer folder or Hub id to reuse.
        vocab_size: WordPiece vocabulary size when training one.
        hidden, layers, heads: model size (``hidden`` must be divisible by ``heads``).
        max_position_embeddings: longest input the model accepts.
        lowercase: lowercase when training a vocabulary.
        seed: seeds the weight initialisation.

    The files are written into a temporary folder first and moved into ``out_dir``
    only when all of them are complete (a full disk leaves no half-written model).

    Returns:
        ``out_dir`` as a Path (loadable with :func:`load_masked_lm`).

    Raises:
        ValueError: neither ``texts`` nor ``tokenizer_from`` given, or bad sizes (more
            than :data:`MAX_TINY_PARAMETERS` parameters).

    Example:
        >>> make_tiny_mlm("tiny", ["a small corpus", "of sentences"])  # doctest: +SKIP
    """
    if hidden % heads:
        raise ValueError(f"hidden ({hidden}) must be divisible by heads ({heads})")
    check_tiny_size(vocab=len(_SPECIAL_TOKENS), hidden=hidden, layers=layers,
                    positions=max_position_embeddings)  # before torch loads or a vocabulary
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from mrekv._folders import files_into

    out = Path(out_dir)
    if tokenizer_from is not None:
        tokenizer = load_tokenizer(tokenizer_from)
    elif texts is not None:
        tokenizer = _train_wordpiece(list(texts), vocab_size=vocab_size, lowercase=lowercase)
    else:
        raise ValueError("make_tiny_mlm needs texts to train a vocabulary on, or tokenizer_from")
    check_tiny_size(vocab=len(tokenizer), hidden=hidden, layers=layers,
                    positions=max_position_embeddings)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 4,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForMaskedLM(config)
    with files_into(out) as tmp:
        save_model_weights(model, tmp)
        tokenizer.save_pretrained(str(tmp))
    return out


def _train_wordpiece(texts: list[str], *, vocab_size: int, lowercase: bool) -> Any:
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    if not texts:
        raise ValueError("make_tiny_mlm got an empty list of texts")
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # The trainer creates the word-internal "##c" tokens while walking a hash map of
    # words, so their ids, which break ties between equally frequent merges, change
    # from process to process (huggingface/tokenizers#1794): a different vocabulary
    # on every run. Handing them to the trainer up front, sorted, fixes their ids.
    continuing = sorted(
        {
            f"##{char}"
            for text in texts
            for word, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(text))
            for char in word[1:]
        }
    )
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=[*_SPECIAL_TOKENS, *continuing],
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    # Keep them in the vocabulary but not as special tokens (those are never split
    # and are dropped when decoding).
    state = json.loads(tok.to_str())
    state["added_tokens"] = [t for t in state["added_tokens"] if t["content"] in _SPECIAL_TOKENS]
    tok = Tokenizer.from_str(json.dumps(state))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
