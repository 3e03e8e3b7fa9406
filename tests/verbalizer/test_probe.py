"""The model-free label-word probe: matching, weighting, ties, metrics (hand-computed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrekv.errors import ConfigError
from mrekv.tokenizers.base import Token
from mrekv.verbalizer.label_words import LabelWord, LabelWords
from mrekv.verbalizer.probe import ClassCounts, probe_label_words


class SpaceTokenizer:
    """Splits on spaces; the lemma drops a final "s" from words longer than 3 characters."""

    lang = "en"

    def tokenize(self, text):
        return [Token(w, w[:-1] if w.endswith("s") and len(w) > 3 else w, "X", "X")
                for w in text.split()]

    def tokenize_batch(self, texts):
        return [self.tokenize(t) for t in texts]


class DictTokenizer:
    """Greedy longest match over a tiny Chinese dictionary, else one character per word."""

    lang = "zh"
    WORDS = ("好像", "非常", "满意", "失望", "服务", "态度")

    def tokenize(self, text):
        out, i = [], 0
        while i < len(text):
            word = next((w for w in self.WORDS if text.startswith(w, i)), text[i])
            out.append(Token(word, word, "X", "X"))
            i += len(word)
        return out

    def tokenize_batch(self, texts):
        return [self.tokenize(t) for t in texts]


EN = LabelWords.from_lists(["neg", "pos"], [["bad", "awful", "waste of time"], ["good", "great"]])
TEXTS = ["a good film", "bad and awful", "good but bad", "nothing here", "a waste of time"]
GOLD = ["pos", "neg", "neg", "pos", "neg"]


def probe(lw=EN, texts=TEXTS, labels=GOLD, lang="en", **kw):
    kw.setdefault("tokenizer", SpaceTokenizer())
    return probe_label_words(lw, texts, labels, lang, **kw)


def test_uniform_normalised_by_hand():
    r = probe()
    # class scores: matched words / list size (neg 3 words, pos 2)
    expected = [[0, 0.5], [2 / 3, 0], [1 / 3, 0.5], [0, 0], [1 / 3, 0]]
    np.testing.assert_allclose(r.scores, expected)
    assert r.predictions == ("pos", "neg", "pos", "neg", "neg")  # text 4: default = first class
    assert r.accuracy == pytest.approx(3 / 5)
    assert r.coverage == pytest.approx(4 / 5)
    # neg: P = R = 2/3; pos: P = R = 1/2
    assert r.macro_f1 == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert r.per_class == {
        "neg": ClassCounts(support=3, predicted=3, correct=2, matched=3),
        "pos": ClassCounts(support=2, predicted=2, correct=1, matched=2),
    }
    assert r.to_dict()["n"] == 5 and r.default == "neg"


def test_unnormalised_tie_goes_to_default_then_class_order():
    r = probe(normalise=False)
    assert r.scores[2].tolist() == [1.0, 1.0]
    assert r.predictions[2] == "neg"  # tied, default "neg" is among them
    assert r.predictions[3] == "neg"
    r = probe(normalise=False, default="pos")
    assert r.predictions[2] == "pos" and r.predictions[3] == "pos"
    three = LabelWords.from_lists(["a", "b", "c"], [["x"], ["y"], ["z"]])
    r = probe(three, ["y x"], ["a"], default="c", normalise=False)
    assert r.predictions == ("a",)  # tie a/b without default: first in class order


def test_score_weighting():
    lw = LabelWords(
        ("neg", "pos"),
        {"neg": (LabelWord("bad", 1.0), LabelWord("poor", 3.0)),
         "pos": (LabelWord("good", 3.0), LabelWord("fine", 1.0))},
    )
    r = probe(lw, ["bad but fine", "poor"], ["neg", "neg"], weighting="score")
    np.testing.assert_allclose(r.scores, [[0.25, 0.25], [0.75, 0.0]])
    raw = probe(lw, ["bad but fine"], ["neg"], weighting="score", normalise=False)
    assert raw.scores.tolist() == [[1.0, 1.0]]


def test_idf_weighting_ignores_words_of_every_class():
    lw = LabelWords.from_lists(["a", "b", "c"], [["x", "shared"], ["y", "shared"], ["shared"]])
    r = probe(lw, ["shared x"], ["a"], weighting="idf", normalise=False)
    # x: ln(3/1), shared: ln(3/3) = 0
    np.testing.assert_allclose(r.scores, [[math.log(3), 0.0, 0.0]])
    only_shared = probe(lw, ["shared"], ["b"], weighting="idf", default="b")
    assert only_shared.predictions == ("b",) and only_shared.coverage == 1.0


def test_lemma_surface_case_and_duplicates():
    lw = LabelWords.from_lists(["neg", "pos"], [["Bad"], ["film", "film", "Great Films"]])
    r = probe(lw, ["GREAT films", "two films", "BAD"], ["pos", "pos", "neg"])
    # pos list has 2 distinct words: "great films" matches the surfaces, "film" a lemma
    assert r.scores[0].tolist() == pytest.approx([0, 1.0])
    assert r.scores[1].tolist() == pytest.approx([0, 0.5])
    assert r.predictions == ("pos", "pos", "neg")
    cased = probe(lw, ["BAD"], ["neg"], lowercase=False, default="pos")
    assert cased.predictions == ("pos",) and cased.coverage == 0.0


def test_multiword_matches_consecutive_lemmas():
    lw = LabelWords.from_lists(["a", "b"], [["battery life"], ["screen"]])
    r = probe(lw, ["the batterys life", "battery then life"], ["a", "a"], default="b")
    assert r.predictions == ("a", "b")


def test_chinese_substring_for_long_words_and_whole_words_for_single_characters():
    lw = LabelWords.from_lists(["neg", "pos"], [["差", "失望"], ["好", "满意", "态度好"]])
    texts = ["好像很差", "非常满意", "服务令人失望", "服务态度好", "没有"]
    r = probe(lw, texts, ["neg", "pos", "neg", "pos", "neg"], lang="zh",
              tokenizer=DictTokenizer())
    # "好像" is one word: the single-character word "好" does not match inside it;
    # "态度好" spans three words and matches as a substring (and "好" as a word)
    assert r.predictions == ("neg", "pos", "neg", "pos", "neg")
    assert r.scores[3].tolist() == pytest.approx([0, 2 / 3])
    assert r.coverage == pytest.approx(4 / 5)
    assert r.accuracy == 1.0
    en_rules = probe(lw, ["服务态度好"], ["pos"], lang="en", tokenizer=DictTokenizer())
    assert en_rules.scores[0].tolist() == pytest.approx([0, 1 / 3])  # no substring matching


def test_pretokenized_input():
    toks = [[Token("great", "great", "ADJ", "JJ")], [Token("x", "bad", "X", "X")]]
    r = probe_label_words(EN, ["ignored", "ignored"], ["pos", "neg"], "en", tokens=toks)
    assert r.predictions == ("pos", "neg")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"weighting": "bm25"}, r"unknown probe weighting 'bm25'.*'uniform', 'score', 'idf'"),
        ({"default": "meh"}, "unknown default class 'meh'"),
        ({"labels": ["pos"]}, "5 texts but 1 labels"),
        ({"labels": ["pos", "neg", "neg", "pos", "neutral"]}, "label 4: unknown class 'neutral'"),
        ({"lang": "fr"}, "unknown language 'fr'"),
    ],
)
def test_errors(kwargs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        probe(**kwargs)


def test_inputs_not_modified():
    texts, gold = list(TEXTS), list(GOLD)
    probe(texts=texts, labels=gold)
    assert texts == TEXTS and gold == GOLD


# --------------------------------------------------------------------------- real tokenizers


@pytest.mark.parametrize(
    ("lang", "words", "texts", "gold"),
    [
        (
            "en",
            [["terrible", "battery", "go through"], ["film", "wonderful"]],
            ["The batteries died.", "Great films!", "I went through hell.", "Nothing."],
            ["neg", "pos", "neg", "pos"],
        ),
        (
            "ja",
            [["悪化", "企業業績"], ["美味しい", "改善"]],
            ["景気は悪化した", "料理がとても美味しい。", "企業業績の見通し"],
            ["neg", "pos", "neg"],
        ),
        (
            "zh",
            [["差", "企业业绩"], ["好", "满意"]],
            ["房间太差了", "非常满意", "企业业绩", "好像不错"],
            ["neg", "pos", "neg", "pos"],
        ),
    ],
)
def test_real_tokenizers(lang, words, texts, gold):
    from mrekv.errors import MissingDependencyError
    from mrekv.tokenizers import get_tokenizer

    try:
        tok = get_tokenizer(lang)
    except MissingDependencyError as err:
        pytest.skip(str(err))
    lw = LabelWords.from_lists(["neg", "pos"], words)
    r = probe_label_words(lw, texts, gold, lang, tokenizer=tok)
    # en: "batteries" by lemma, "went through" by lemmas "go through";
    # ja/zh: 企業業績 / 企业业绩 span two words and match as substrings;
    # "Nothing." and 好像 (one word, so 好 does not match) fall back to the default "neg"
    expected = [g if i < 3 else "neg" for i, g in enumerate(gold)]
    assert list(r.predictions) == expected
    assert r.coverage == pytest.approx(3 / len(texts))
