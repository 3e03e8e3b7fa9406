"""Japanese tokenizer (fugashi + unidic-lite) on hand-checked and real sentences."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("fugashi")
pytest.importorskip("unidic_lite")

from mrekv.errors import MissingDependencyError  # noqa: E402
from mrekv.tokenizers import UPOS_TAGS, get_tokenizer  # noqa: E402
from mrekv.tokenizers.ja import JapaneseTokenizer, _lemma  # noqa: E402


@pytest.fixture(scope="module")
def ja():
    return get_tokenizer("ja")


def triples(tokens):
    return [(t.surface, t.upos, t.lemma) for t in tokens]


def test_ramen_sentence(ja):
    assert triples(ja.tokenize("美味しいラーメンを食べた")) == [
        ("美味しい", "ADJ", "美味しい"),
        ("ラーメン", "NOUN", "ラーメン"),  # UniDic lemma ラーメン-Rahmen, origin dropped
        ("を", "ADP", "を"),
        ("食べ", "VERB", "食べる"),
        ("た", "AUX", "た"),
    ]


def test_tags_are_unidic_pos(ja):
    tokens = ja.tokenize("東京の静かなホテルに泊まりました。")
    by_surface = {t.surface: t for t in tokens}
    assert by_surface["東京"].upos == "PROPN"
    assert by_surface["東京"].tag.startswith("名詞-固有名詞")
    assert by_surface["静か"].upos == "ADJ"  # 形状詞 (na-adjective stem)
    assert by_surface["静か"].tag == "形状詞-一般"
    assert by_surface["な"].upos == "AUX"
    assert by_surface["ホテル"].upos == "NOUN"
    assert by_surface["泊まり"].lemma == "泊まる"
    assert by_surface["。"].upos == "PUNCT"


def test_inflected_kana_adjective_gets_the_lemma(ja):
    first = ja.tokenize("とてもおいしかった")[1]
    assert (first.surface, first.upos, first.lemma) == ("おいしかっ", "ADJ", "美味しい")


def test_unknown_word_lemma_is_surface_and_space_is_dropped(ja):
    tokens = ja.tokenize("ｘｙｚ　です")
    assert [t.surface for t in tokens] == ["ｘｙｚ", "です"]
    assert tokens[0].lemma == "ｘｙｚ"


def test_empty_text(ja):
    assert ja.tokenize("") == []


def test_lemma_rules():
    assert _lemma("ラーメン", "ラーメン-Rahmen", "ラーメン") == "ラーメン"
    assert _lemma("x", "*", "ｘ") == "ｘ"
    assert _lemma("x", None, None) == "x"
    assert _lemma("-", "-", "-") == "-"


def test_real_sentences(ja, ja_sentences):
    batch = ja.tokenize_batch(ja_sentences)
    assert len(batch) == len(ja_sentences) >= 200
    for text, tokens in zip(ja_sentences, batch, strict=True):
        assert tokens == ja.tokenize(text)
        assert all(t.upos in UPOS_TAGS for t in tokens)
        # MeCab only drops whitespace: the surfaces rebuild the text
        assert "".join(t.surface for t in tokens) == "".join(text.split())
    nouns = sum(t.upos in ("NOUN", "PROPN") for tokens in batch for t in tokens)
    assert nouns > len(ja_sentences)  # news titles are noun-heavy


def test_missing_fugashi(monkeypatch):
    monkeypatch.setitem(sys.modules, "fugashi", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "mrekv\[ja\]"'):
        JapaneseTokenizer()
