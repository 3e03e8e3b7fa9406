"""A tiny random T5 (``T5ForConditionalGeneration``) with a Unigram tokenizer, for offline tests."""

from __future__ import annotations

from pathlib import Path

#: T5's special tokens, in T5's id order (pad 0, eos 1, unk 2), then the sentinels.
SPECIALS = ["<pad>", "</s>", "<unk>"]
SENTINELS = [f"<extra_id_{i}>" for i in range(8)]
TEXTS = [
    "a warm and funny film . It was great .",
    "the plot made no sense . It was terrible .",
    "the acting was fine , the story was good .",
    "a dull , boring and bad movie .",
    "yes no maybe good bad great terrible fine",
    "sports politics business science technology world",
    "the team won the match , the market fell .",
]


def make_tiny_t5(folder: Path, *, hidden: int = 32, layers: int = 2, seed: int = 0) -> Path:
    """Write a random tiny T5 and its tokenizer (SentencePiece-style Unigram) to ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=300,
        special_tokens=SPECIALS + SENTINELS,
        unk_token="<unk>",
        show_progress=False,
    )
    tok.train_from_iterator(TEXTS * 3, trainer=trainer)
    eos = tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=SENTINELS,
        model_max_length=512,
    )
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=hidden,
        d_kv=hidden // 2,
        d_ff=hidden * 2,
        num_layers=layers,
        num_decoder_layers=layers,
        num_heads=2,
        relative_attention_num_buckets=8,
        dropout_rate=0.0,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    model = T5ForConditionalGeneration(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder
