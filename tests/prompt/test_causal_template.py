"""Causal templates: the {mask}-last rule, encoding (BOS kept, no EOS, last token read), truncation,
and how label words are tokenized for a causal LM."""

from __future__ import annotations

import pytest

from mrekv.errors import ConfigError
from mrekv.prompt.causal_template import (
    CAUSAL_DEFAULTS,
    check_causal,
    default_causal_template,
    encode_causal,
)
from mrekv.prompt.template import Template
from mrekv.tiny_causal import KINDS
from mrekv.verbalizer.tokens import tokenize_word

SPACE_MARK = {"llama": "▁", "gemma3": "▁", "gpt2": "Ġ"}


@pytest.mark.parametrize(
    "text",
    [
        "{text} It was {mask}.",  # text after the mask
        "{mask} {text}",  # mask first
        "{text} {mask} and {mask}",  # two masks
    ],
)
def test_the_mask_must_be_single_and_last_and_the_error_names_the_template(text):
    with pytest.raises(ConfigError, match="exactly one") as info:
        check_causal(Template(text))
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ["{text} {sep} It was {mask}", "{cls} {text} It was {mask}"])
def test_sep_and_cls_are_refused_by_name(text):
    with pytest.raises(ConfigError, match=r"\{(sep|cls)\} is not supported") as info:
        check_causal(Template(text))
    assert repr(text) in str(info.value)


def test_encode_causal_checks_the_template_too(causal_lm):
    _, tok = causal_lm("llama")
    with pytest.raises(ConfigError, match=r"'\{text\} It was \{mask\}\.'"):
        encode_causal(Template("{text} It was {mask}."), tok, ["a"])


@pytest.mark.parametrize("lang", sorted(CAUSAL_DEFAULTS))
@pytest.mark.parametrize("kind", ["topic", "sentiment", "generic"])
def test_default_causal_templates_end_with_the_mask(lang, kind):
    template = default_causal_template(lang, kind)
    check_causal(template)
    assert template.text.endswith("{mask}")


def test_default_causal_template_names_bad_choices():
    with pytest.raises(ConfigError, match=r"'fr'.*'en'"):
        default_causal_template("fr")
    with pytest.raises(ConfigError, match=r"'poetry'.*'sentiment'"):
        default_causal_template("en", "poetry")


@pytest.mark.parametrize("kind", KINDS)
def test_encoding_keeps_bos_never_appends_eos_and_reads_the_last_token(causal_lm, kind):
    _, tok = causal_lm(kind)
    texts = ["the vote was held", "a short one", "这家餐厅很好吃。"]
    encoded = encode_causal(Template("{text} It was {mask}"), tok, texts)
    for text, enc in zip(texts, encoded, strict=True):
        ids = enc.input_ids
        assert enc.mask_positions == [len(ids) - 1]
        assert ids[-1] != tok.eos_token_id or kind == "gpt2" and tok.eos_token_id not in ids
        assert tok.eos_token_id not in ids[1:]
        if kind == "gpt2":  # byte-level BPE adds nothing
            assert ids == tok(f"{text} It was", add_special_tokens=False)["input_ids"]
        else:
            assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
            assert ids == tok(f"{text} It was")["input_ids"]  # the prompt in one piece
        # the trailing space before {mask} goes: the label word brings its own
        assert tok.decode(ids, skip_special_tokens=True) == f"{text} It was"


def test_text_b_and_strip_modifiers(causal_lm):
    _, tok = causal_lm("gpt2")
    enc = encode_causal(
        Template("{text_b} | {text:rstrip=.} It was {mask}"), tok, ["good food."], ["Review"]
    )
    assert tok.decode(enc[0].input_ids) == "Review | good food It was"
    bare = encode_causal(Template("{text_b}{text} It was {mask}"), tok, ["good food"])
    assert tok.decode(bare[0].input_ids) == "good food It was"
    with pytest.raises(ValueError, match="1 texts but 2 texts_b"):
        encode_causal(Template("{text_b}{text} {mask}"), tok, ["a"], ["b", "c"])


@pytest.mark.parametrize("kind", KINDS)
def test_long_texts_are_cut_to_max_length_and_keep_texts_stay_whole(causal_lm, kind):
    _, tok = causal_lm(kind)
    long_text = " ".join(["the vote on the bill was held in the senate"] * 40)
    template = Template("{text} It was {mask}")
    enc = encode_causal(template, tok, [long_text, "short"], max_length=24)
    assert len(enc[0].input_ids) <= 24
    assert tok.decode(enc[0].input_ids, skip_special_tokens=True).endswith(" It was")
    assert tok.decode(enc[1].input_ids, skip_special_tokens=True) == "short It was"
    kept = "Senator Holt"
    enc = encode_causal(
        Template("{text_b:keep} said {text} It was {mask}"), tok, [long_text], [kept], max_length=24
    )
    decoded = tok.decode(enc[0].input_ids, skip_special_tokens=True)
    assert len(enc[0].input_ids) <= 24
    assert decoded.startswith(f"{kept} said the vote") and decoded.endswith(" It was")


def test_template_words_that_cannot_fit_are_a_config_error(causal_lm):
    _, tok = causal_lm("llama")
    wordy = Template("{text} " + "the vote was held " * 10 + "{mask}")
    with pytest.raises(ConfigError, match="max_length is 8"):
        encode_causal(wordy, tok, ["a"], max_length=8)


def test_a_single_string_is_refused(causal_lm):
    _, tok = causal_lm("llama")
    with pytest.raises(TypeError, match="sequence"):
        encode_causal(Template("{text} {mask}"), tok, "a text")


# -- label words ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_auto_leading_space_spaces_latin_words_only(causal_lm, kind):
    _, tok = causal_lm(kind)
    mark = SPACE_MARK[kind]
    great = tok.convert_ids_to_tokens(tokenize_word(tok, "great", leading_space="auto"))
    assert great[0].startswith(mark)
    assert tokenize_word(tok, "great", leading_space="auto") == tokenize_word(
        tok, "great", leading_space=True
    )
    for word in ("很好", "美味しい"):
        ids = tokenize_word(tok, word, leading_space="auto")
        tokens = tok.convert_ids_to_tokens(ids)
        assert ids and not tokens[0].startswith(mark), (word, tokens)
        assert tok.decode(ids) == word
        assert ids == tokenize_word(tok, word, leading_space=False)


@pytest.mark.parametrize("kind", ["llama", "gemma3"])
def test_glued_words_match_the_prompt_continuation(causal_lm, kind):
    """A SentencePiece tokenizer marks a text's start ("▁很好"); a glued label word must not."""
    _, tok = causal_lm(kind)
    assert tok.tokenize("很好")[0].startswith("▁")
    glued = tokenize_word(tok, "很好", leading_space=False)
    prompt = tok("这句话是", add_special_tokens=False)["input_ids"]
    whole = tok("这句话是很好", add_special_tokens=False)["input_ids"]
    assert whole[: len(prompt)] == prompt  # no merge across the boundary in this vocabulary
    assert whole[len(prompt) :] == glued
