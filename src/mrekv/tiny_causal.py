"""Tiny randomly initialised causal LMs (Llama, Gemma 3, GPT-2) for offline tests.

The causal sibling of :func:`mrekv.models.make_tiny_mlm`: a few-layer model of
a real architecture plus a tokenizer, written as safetensors so that
``AutoModelForCausalLM`` / ``AutoModelForSequenceClassification`` and
``AutoTokenizer`` load the folder like any Hub checkpoint.

Everything heavy (torch, transformers, tokenizers) is imported inside the
functions, so importing this module is cheap.

Example:
    >>> from mrekv.tiny_causal import make_tiny_causal_lm
    >>> make_tiny_causal_lm("tiny-llama", texts=["a small corpus"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, get_args

from mrekv.errors import unknown_choice

CausalKind = Literal["llama", "gemma3", "gpt2"]
KINDS: tuple[str, ...] = get_args(CausalKind)
#: Longest input the tiny models accept (and the trained tokenizers' ``model_max_length``).
MAX_POSITIONS = 512
#: Special tokens of the SentencePiece-style vocabulary, in id order (Gemma's order).
_SP_SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>")
_GPT2_SPECIAL = "<|endoftext|>"


def make_tiny_causal_lm(
    out_dir: str | Path,
    *,
    kind: CausalKind = "llama",
    tokenizer_from: str | Path | None = None,
    texts: Iterable[str] | None = None,
    vocab_size: int = 2000,
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    seed: int = 0,
) -> Path:
    """Write a tiny, randomly initialised causal LM and its tokenizer to ``out_dir``.

    .. warning::
        The model knows NO language: its weights are random. It exists so the
        causal-backbone code paths (fine-tuning, saving, loading) run on
        machines without pretrained weights. Accuracy measured with it says
        nothing about any method; use a real pretrained model for that.

    The model is a ``LlamaForCausalLM``, a text-only ``Gemma3ForCausalLM``
    (``Gemma3TextConfig``) or a ``GPT2LMHeadModel``, with tied input and output
    embeddings. The tokenizer is either reused (``tokenizer_from``, kept as it
    is except that a missing pad token becomes the EOS token) or trained on
    ``texts`` with the Hugging Face ``tokenizers`` library:

    * ``"gpt2"``: byte-level BPE (``Ġ`` marks a leading space), one special
      token ``<|endoftext|>`` serving as BOS, EOS, UNK and pad; nothing is added
      when encoding.
    * ``"llama"`` / ``"gemma3"``: SentencePiece-style BPE (``▁`` marks a space,
      one is prepended to the text) with ``<pad>``, ``<eos>``, ``<bos>``,
      ``<unk>`` (ids 0-3); encoding prepends ``<bos>`` and never appends ``<eos>``.

    Training is deterministic: the same ``texts`` give byte-identical tokenizer
    files, and the same ``seed`` identical weights.

    Args:
        out_dir: the folder to write (created; existing files are overwritten).
        kind: the architecture, one of ``"llama"``, ``"gemma3"``, ``"gpt2"``.
        tokenizer_from: an existing tokenizer folder or Hub id to reuse.
        texts: training texts for a new vocabulary (instead of ``tokenizer_from``).
        vocab_size: the largest vocabulary to train (small corpora give fewer tokens).
        hidden, layers, heads: model size; ``hidden`` must be divisible by
            ``heads`` and, for the rotary kinds, give an even head size.
        seed: seeds the weight initialisation.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        ValueError: unknown ``kind``, bad sizes (more than
            :data:`mrekv.models.MAX_TINY_PARAMETERS` parameters), or not exactly one of
            ``texts`` and ``tokenizer_from``.

    Example:
        >>> make_tiny_causal_lm("tiny-gpt2", kind="gpt2", texts=["hi there"])  # doctest: +SKIP
    """
    import torch

    from mrekv._folders import files_into
    from mrekv.models import check_tiny_size, load_tokenizer, save_model_weights

    if kind not in KINDS:
        raise ValueError(unknown_choice("causal LM kind", kind, KINDS))
    if hidden % heads:
        raise ValueError(f"hidden ({hidden}) must be divisible by heads ({heads})")
    if kind != "gpt2" and (hidden // heads) % 2:
        raise ValueError(
            f"{kind} uses rotary embeddings: hidden/heads ({hidden // heads}) must be even"
        )
    if (texts is None) == (tokenizer_from is None):
        raise ValueError("make_tiny_causal_lm needs exactly one of texts= and tokenizer_from=")
    check_tiny_size(vocab=len(_SP_SPECIALS), hidden=hidden, layers=layers,
                    positions=MAX_POSITIONS)  # before a vocabulary is trained
    if tokenizer_from is not None:
        tokenizer = _with_pad_token(load_tokenizer(tokenizer_from))
    elif kind == "gpt2":
        tokenizer = _train_byte_level_bpe(_text_list(texts), vocab_size)
    else:
        tokenizer = _train_sentencepiece_bpe(_text_list(texts), vocab_size)
    check_tiny_size(vocab=len(tokenizer), hidden=hidden, layers=layers, positions=MAX_POSITIONS)
    torch.manual_seed(seed)
    model = _build_model(kind, tokenizer, hidden=hidden, layers=layers, heads=heads)
    out = Path(out_dir)
    with files_into(out) as tmp:  # a failed write leaves no half-written model
        save_model_weights(model, tmp)
        tokenizer.save_pretrained(str(tmp))
    return out


def _text_list(texts: Iterable[str] | None) -> list[str]:
    listed = [] if texts is None else list(texts)
    if not listed:
        raise ValueError("make_tiny_causal_lm got an empty list of texts")
    return listed


def _with_pad_token(tokenizer: Any) -> Any:
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(
                f"the tokenizer {tokenizer.name_or_path!r} has neither a pad nor an EOS token"
            )
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _build_model(kind: str, tokenizer: Any, *, hidden: int, layers: int, heads: int) -> Any:
    """The randomly initialised model of ``kind`` sized to ``tokenizer``'s vocabulary."""
    ids: dict[str, Any] = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "tie_word_embeddings": True,
    }
    if kind == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel

        gpt2 = GPT2Config(
            n_embd=hidden, n_layer=layers, n_head=heads, n_positions=MAX_POSITIONS, **ids
        )
        return GPT2LMHeadModel(gpt2).eval()
    sizes: dict[str, Any] = {
        "hidden_size": hidden,
        "intermediate_size": hidden * 4,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "head_dim": hidden // heads,
        "max_position_embeddings": MAX_POSITIONS,
    }
    if kind == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        return LlamaForCausalLM(LlamaConfig(**sizes, **ids)).eval()
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    # query_pre_attn_scalar defaults to 256 (Gemma's real head size); use the tiny one.
    gemma = Gemma3TextConfig(**sizes, **ids, query_pre_attn_scalar=hidden // heads)
    return Gemma3ForCausalLM(gemma).eval()


def _train_byte_level_bpe(texts: list[str], vocab_size: int) -> Any:
    """A GPT-2 style byte-level BPE tokenizer trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[_GPT2_SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return _wrap(tok, bos=_GPT2_SPECIAL, eos=_GPT2_SPECIAL, unk=_GPT2_SPECIAL, pad=_GPT2_SPECIAL)


def _train_sentencepiece_bpe(texts: list[str], vocab_size: int) -> Any:
    """A SentencePiece-style (``▁`` for spaces) BPE tokenizer that prepends ``<bos>``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    pad, eos, bos, unk = _SP_SPECIALS
    tok = Tokenizer(models.BPE(unk_token=unk, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(_SP_SPECIALS), show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, tok.token_to_id(bos))]
    )
    return _wrap(tok, bos=bos, eos=eos, unk=unk, pad=pad)


def _wrap(tok: Any, *, bos: str, eos: str, unk: str, pad: str) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        unk_token=unk,
        pad_token=pad,
        model_max_length=MAX_POSITIONS,
    )
