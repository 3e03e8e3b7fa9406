"""Tests of mrekv.prompt.template: parsing, piece-wise encoding, truncation, OpenPrompt."""

from __future__ import annotations

import glob

import pytest

from mrekv.errors import ConfigError
from mrekv.prompt.template import EncodedPrompt, Template, default_template

CORPUS = [
    "I liked it. It was great.",
    "The movie was terrible and boring. It was bad.",
    "A sports news : the team won the game.",
    "[ Topic : sports ] business world news.",
    "In summary , the film was good .",
] * 30


def _wrap_fast(tk, *, lstrip_mask: bool):
    from tokenizers import AddedToken
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast

    tk.post_processor = TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 1)]
    )
    mask = AddedToken("<mask>", lstrip=lstrip_mask, special=True)
    tk.add_special_tokens([mask])
    return PreTrainedTokenizerFast(
        tokenizer_object=tk,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token=mask,
        cls_token="<s>",
        sep_token="</s>",
    )


@pytest.fixture(scope="module")
def bpe_tokenizer():
    """A tiny byte-level BPE (RoBERTa-style: Ġword, <mask> with lstrip) trained offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "</s>", "<pad>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tk.train_from_iterator(CORPUS, trainer)
    return _wrap_fast(tk, lstrip_mask=True)


@pytest.fixture(scope="module", params=["always", "first"])
def sp_tokenizer(request):
    """A tiny SentencePiece-style Unigram (Metaspace, ▁word) built from a fixed vocab."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    specials = ["<s>", "</s>", "<pad>", "<unk>", "<mask>"]
    words = ["▁the", "▁team", "▁won", "▁game", "▁It", "▁was", "▁Topic", "▁[", "▁]", "▁:", "▁.", "▁"]
    chars = sorted(set("".join(CORPUS)) - {" "})
    vocab = [(t, 0.0) for t in specials] + [(w, -2.0) for w in words] + [(c, -5.0) for c in chars]
    tk = Tokenizer(models.Unigram(vocab, unk_id=3))
    tk.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme=request.param)
    tk.decoder = decoders.Metaspace(prepend_scheme=request.param)
    return _wrap_fast(tk, lstrip_mask=False)


def _full(tokenizer, template: Template, text: str, text_b: str = "") -> list[int]:
    filled = template.text.replace("{text}", text).replace("{text_b}", text_b)
    return list(tokenizer(filled.replace("{mask}", tokenizer.mask_token))["input_ids"])


# ---------------------------------------------------------------- parsing


def test_unknown_placeholder_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        Template("{txt} It was {mask}.")
    assert "'txt'" in str(err.value) and "'text_b'" in str(err.value) and "'mask'" in str(err.value)


def test_unknown_modifier_and_missing_parts():
    with pytest.raises(ConfigError, match="modifier 'trim'"):
        Template("{text:trim} {mask}")
    with pytest.raises(ConfigError, match="no {mask}"):
        Template("{text} It was good.")
    with pytest.raises(ConfigError, match="no {text}"):
        Template("It was {mask}.")
    with pytest.raises(ConfigError, match="never closed"):
        Template("{text} {mask")
    with pytest.raises(ConfigError, match="single"):
        Template("{text} } {mask}")


def test_escaped_braces_are_literal(hf_tokenizer):
    tok = hf_tokenizer("en")
    t = Template("{{ {text} }} {mask}")
    enc = t.encode(tok, "hi")
    assert tok.convert_ids_to_tokens(enc.input_ids) == ["[CLS]", "{", "hi", "}", "[MASK]", "[SEP]"]


def test_config_round_trip_and_unknown_key():
    t = Template("{text} It was {mask}.")
    assert Template.from_config(t.to_config()) == t
    with pytest.raises(ConfigError, match="valid keys"):
        Template.from_config({"text": t.text, "txet": 1})


def test_default_templates():
    assert default_template("en", "sentiment").text == "{text} It was {mask}."
    assert default_template("ja", "sentiment").text == "{text}この文は{mask}。"
    assert default_template("zh", "sentiment").text == "{text}这句话很{mask}。"
    for lang in ("en", "ja", "zh"):
        for kind in ("topic", "sentiment", "generic"):
            assert default_template(lang, kind).num_mask_slots == 1
    with pytest.raises(ConfigError, match="'en', 'ja', 'zh'"):
        default_template("fr")
    with pytest.raises(ConfigError, match="'topic'"):
        default_template("en", "news")


def test_causal_default_templates_end_at_the_mask():
    from mrekv.prompt.causal_template import default_causal_template

    assert default_template("en", "sentiment", backbone="causal").text == "{text} It was {mask}"
    for lang in ("en", "ja", "zh"):
        for kind in ("topic", "sentiment", "generic"):
            causal = default_template(lang, kind, backbone="causal")
            assert causal.text.endswith("{mask}") and causal == default_causal_template(lang, kind)
    with pytest.raises(ConfigError, match="'masked', 'causal'"):
        default_template("en", "sentiment", backbone="seq2seq")


# ---------------------------------------------------------------- WordPiece tokenizers


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
@pytest.mark.parametrize("kind", ["topic", "sentiment", "generic"])
def test_pieces_equal_full_sentence(hf_tokenizer, lang, kind):
    tok = hf_tokenizer(lang)
    text = {
        "en": "I liked it a lot.",
        "ja": "映画を見た。とても良かった",
        "zh": "我很喜欢这部电影",
    }[lang]
    template = default_template(lang, kind)
    enc = template.encode(tok, text)
    assert enc.input_ids == _full(tok, template, text)
    assert [enc.input_ids[p] for p in enc.mask_positions] == [tok.mask_token_id]


def test_sentiment_en_exact_tokens(hf_tokenizer):
    tok = hf_tokenizer("en")
    enc = default_template("en", "sentiment").encode(tok, "Great food!")
    assert tok.convert_ids_to_tokens(enc.input_ids) == [
        "[CLS]",
        "great",
        "food",
        "!",
        "it",
        "was",
        "[MASK]",
        ".",
        "[SEP]",
    ]
    assert enc.mask_positions == [6]


def test_multi_mask_and_several_slots(hf_tokenizer):
    tok = hf_tokenizer("en")
    t = Template("{mask} : {text} It was {mask}.")
    enc = t.encode(tok, "good", num_masks=3)
    assert tok.convert_ids_to_tokens(enc.input_ids) == [
        "[CLS]",
        "[MASK]",
        "[MASK]",
        "[MASK]",
        ":",
        "good",
        "it",
        "was",
        "[MASK]",
        "[MASK]",
        "[MASK]",
        ".",
        "[SEP]",
    ]
    assert enc.mask_positions == [1, 2, 3, 8, 9, 10]


def test_text_b_optional_and_sep(hf_tokenizer):
    tok = hf_tokenizer("en")
    t = Template("{text} {text_b} {sep} About {mask} .")
    no_b = t.encode(tok, "hello world")
    assert tok.convert_ids_to_tokens(no_b.input_ids) == [
        "[CLS]",
        "hello",
        "world",
        "[SEP]",
        "about",
        "[MASK]",
        ".",
        "[SEP]",
    ]
    with_b = t.encode(tok, "hello", "world")
    assert with_b.input_ids == no_b.input_ids
    with pytest.raises(ConfigError, match="no {text_b}"):
        Template("{text} {mask}").encode(tok, "a", "b")


# ---------------------------------------------------------------- truncation


def test_truncation_shortens_only_text(hf_tokenizer):
    tok = hf_tokenizer("en")
    t = default_template("en", "sentiment")
    text = " ".join(["word"] * 50)
    enc = t.encode(tok, text, max_length=10)
    # [CLS] + 4 text tokens + it was [MASK] . + [SEP] = 10
    assert tok.convert_ids_to_tokens(enc.input_ids) == [
        "[CLS]",
        "word",
        "word",
        "word",
        "word",
        "it",
        "was",
        "[MASK]",
        ".",
        "[SEP]",
    ]
    assert enc.mask_positions == [7]


def test_truncation_longest_first(hf_tokenizer):
    tok = hf_tokenizer("en")
    t = Template("{text} | {text_b} {mask}")
    # fixed: [CLS] | [MASK] [SEP] = 4 tokens; budget 6 for texts of 8 and 3 tokens
    enc = t.encode(tok, " ".join("abcdefgh"), "x y z", max_length=10)
    tokens = tok.convert_ids_to_tokens(enc.input_ids)
    # longest first: 8 -> 3 (then both 3 long and 3+3 = 6 fits)
    assert tokens == ["[CLS]", "a", "b", "c", "|", "x", "y", "z", "[MASK]", "[SEP]"]
    enc = t.encode(tok, " ".join("abcdefgh"), "x y z", max_length=9)
    # budget 5: caps 3 and 2 (ties give the extra token to the first text)
    assert tok.convert_ids_to_tokens(enc.input_ids) == [
        "[CLS]",
        "a",
        "b",
        "c",
        "|",
        "x",
        "y",
        "[MASK]",
        "[SEP]",
    ]


def test_keep_text_is_not_truncated(hf_tokenizer):
    tok = hf_tokenizer("en")
    t = Template("{text_b} {text:keep} is a {mask}")
    enc = t.encode(tok, "paris", "a b c d e f", max_length=9)
    # fixed: [CLS] is a [MASK] [SEP] = 5; keep 'paris' (1); 3 left for text_b
    assert tok.convert_ids_to_tokens(enc.input_ids) == [
        "[CLS]",
        "a",
        "b",
        "c",
        "paris",
        "is",
        "a",
        "[MASK]",
        "[SEP]",
    ]
    with pytest.raises(ValueError, match="text 0"):
        t.encode(tok, "a b c d e", "x", max_length=8)


def test_template_alone_too_long(hf_tokenizer):
    tok = hf_tokenizer("en")
    with pytest.raises(ConfigError, match="alone needs 6 tokens"):
        default_template("en", "sentiment").encode(tok, "x", max_length=5)
    with pytest.raises(ConfigError, match="alone needs 8 tokens"):
        default_template("en", "sentiment").encode(tok, "x", max_length=7, num_masks=3)


def test_mask_positions_always_inside(hf_tokenizer):
    tok = hf_tokenizer("zh")
    t = default_template("zh", "sentiment")
    texts = ["我" * n for n in (0, 1, 5, 40, 300)]
    for max_length in (10, 16, 64):
        for enc in t.encode_batch(tok, texts, max_length=max_length):
            assert isinstance(enc, EncodedPrompt)
            assert len(enc.input_ids) <= max_length
            assert enc.mask_positions and all(p < max_length for p in enc.mask_positions)
            assert enc.input_ids[enc.mask_positions[0]] == tok.mask_token_id
            assert enc.input_ids[-1] == tok.sep_token_id


def test_encode_batch_matches_encode(hf_tokenizer):
    tok = hf_tokenizer("ja")
    t = default_template("ja", "topic")
    texts = ["東京で試合があった。", "", "株価が上がった"]
    batch = t.encode_batch(tok, texts, max_length=12)
    assert batch == [t.encode(tok, s, max_length=12) for s in texts]


# ---------------------------------------------------------------- BPE / SentencePiece


@pytest.mark.parametrize(
    "template",
    [
        "{text} It was {mask}.",
        "[ Topic : {mask} ] {text}",
        "It was {mask} . {text}",
        "{text} In summary , the film was {mask} .",
    ],
)
def test_bpe_pieces_equal_full_sentence(bpe_tokenizer, template):
    t = Template(template)
    text = "The team won the game."
    enc = t.encode(bpe_tokenizer, text)
    assert enc.input_ids == _full(bpe_tokenizer, t, text)
    assert [enc.input_ids[p] for p in enc.mask_positions] == [bpe_tokenizer.mask_token_id]


def test_bpe_leading_space_forms(bpe_tokenizer):
    tok = bpe_tokenizer
    enc = Template("[ Topic : {mask} ] {text} It was {mask} .").encode(tok, "the team won")
    tokens = tok.convert_ids_to_tokens(enc.input_ids)
    # a word after a space gets the Ġ form, the first word of the sentence does not
    assert tokens[:2] == ["<s>", "["]
    assert "Ġthe" in tokens and "the" not in tokens
    assert "Ġwas" in tokens
    # the lstrip mask swallows the space before it: no lone "Ġ" token
    assert "Ġ" not in tokens


def test_sentencepiece_pieces_equal_full_sentence(sp_tokenizer):
    for template in [
        "{text} It was {mask} .",
        "[ Topic : {mask} ] {text}",
        "It was {mask}. {text}",
    ]:
        t = Template(template)
        enc = t.encode(sp_tokenizer, "the team won the game")
        assert enc.input_ids == _full(sp_tokenizer, t, "the team won the game")
        tokens = sp_tokenizer.convert_ids_to_tokens(enc.input_ids)
        assert "▁the" in tokens


# ---------------------------------------------------------------- OpenPrompt


def test_from_openprompt_simple():
    t = Template.from_openprompt(' {"placeholder": "text_a"} It was {"mask"} .')
    assert t.text == "{text} It was {mask} ."
    t = Template.from_openprompt(
        '{"placeholder":"text_a"} {"placeholder":"text_b"} {"special": "<sep>"} About {"mask"} .'
    )
    assert t.text == "{text} {text_b} {sep} About {mask} ."


def test_from_openprompt_shortenable_and_post_processing(hf_tokenizer):
    line = (
        ' {"placeholder": "text_a","shortenable": False} {"placeholder": "text_b"} '
        '{"placeholder": "text_a", "post_processing": "lambda x:x.strip(\'.\')", '
        '"shortenable": False} is a {"mask"} .'
    )
    t = Template.from_openprompt(line)
    assert t.text == "{text:keep} {text_b} {text:keep,strip=.} is a {mask} ."
    tok = hf_tokenizer("en")
    enc = t.encode(tok, "Paris.", "capital city", max_length=64)
    assert tok.convert_ids_to_tokens(enc.input_ids) == [
        "[CLS]",
        "paris",
        ".",
        "capital",
        "city",
        "paris",
        "is",
        "a",
        "[MASK]",
        ".",
        "[SEP]",
    ]


def test_from_openprompt_errors():
    with pytest.raises(ConfigError, match="'soft'"):
        Template.from_openprompt('{"soft": "It was"} {"placeholder": "text_a"} {"mask"}')
    with pytest.raises(ConfigError, match="post_processing"):
        Template.from_openprompt(
            '{"placeholder": "text_a", "post_processing": "lambda x: x.upper()"} {"mask"}'
        )
    with pytest.raises(ConfigError, match="'text_c'"):
        Template.from_openprompt('{"placeholder": "text_c"} {"mask"}')


def test_from_openprompt_shared_files(shared_dir, hf_tokenizer):
    tok = hf_tokenizer("en")
    files = sorted(glob.glob(str(shared_dir / "kpt" / "openprompt" / "*" / "manual_template.txt")))
    assert files
    lines = 0
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for raw in handle:
                if not raw.strip():
                    continue
                t = Template.from_openprompt(raw)
                text_b = "An American technology company." if t.has_text_b else None
                enc = t.encode(tok, "Apple Inc.", text_b, max_length=64)
                assert (
                    enc.mask_positions and enc.input_ids[enc.mask_positions[0]] == tok.mask_token_id
                )
                lines += 1
    assert lines == 21
