"""Label-word mining: pure scores on a hand-computed toy corpus, options, provenance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrekv._version import __version__
from mrekv.data.example import MREExample, TaskWord
from mrekv.errors import ConfigError
from mrekv.tokenizers.base import Token
from mrekv.verbalizer.mining import (
    MiningConfig,
    chi2_scores,
    class_name_words,
    count_matrix,
    frequency_scores,
    mine_label_words,
    pmi_matrix,
    pmi_scores,
    tfidf_scores,
)
from mrekv.verbalizer.stopwords import get_stopwords, is_noise

# Toy corpus (classes sorted: neg = 0, pos = 1), words:     occurrences   examples (df)
#   e1 pos: good food                                       good 3|0       good 2|0
#   e2 pos: good great good                                 food 1|1       food 1|1
#   e3 neg: bad food                                        great 1|0      great 1|0
#   e4 neg: awful bad                                       bad 0|2        bad 0|2
#                                                           awful 0|1      awful 0|1


def ex(label: str, *words: str, text: str = "", lang: str | None = "en") -> MREExample:
    return MREExample(
        text or " ".join(words),
        label,
        TaskWord.SENTIMENT_ADJ,
        word_labels=tuple((label, w) for w in words),
        lang=lang,
    )


TOY = [
    ex("pos", "good", "food"),
    ex("pos", "good", "great", "good"),
    ex("neg", "bad", "food"),
    ex("neg", "awful", "bad"),
]

# columns: good, food, great, bad, awful ; rows: neg, pos
COUNTS = np.array([[0, 1, 0, 2, 1], [3, 1, 1, 0, 0]], dtype=float)
DOCS = np.array([[0, 1, 0, 2, 1], [2, 1, 1, 0, 0]], dtype=float)
SIZES = np.array([2.0, 2.0])


def mine(method="frequency", top_k=10, **kw):
    kw.setdefault("class_name_first", False)
    return mine_label_words(TOY, method, top_k, **kw)


# --------------------------------------------------------------------------- pure scores


def test_frequency_scores_are_counts_and_do_not_alias_input():
    out = frequency_scores(COUNTS)
    assert out.tolist() == COUNTS.tolist()
    out[0, 0] = 99
    assert COUNTS[0, 0] == 0


def test_tfidf_scores_by_hand():
    out = tfidf_scores(COUNTS)
    idf1 = math.log(3 / 2) + 1  # word in one of two classes (smooth idf)
    pos = np.array([3 * idf1, 1.0, idf1, 0, 0])  # food is in both classes: idf 1
    pos /= math.sqrt((pos**2).sum())
    assert out[1] == pytest.approx(pos)
    assert out[1, 0] == pytest.approx(0.925544, abs=1e-6)
    assert out[0, 3] > out[0, 1]  # bad over food in neg


def test_pmi_matrix_plain_and_smoothed():
    plain = pmi_matrix(DOCS, SIZES, alpha=0.0)
    assert plain[1, 0] == pytest.approx(math.log(2))  # p(pos|good)=1, p(pos)=1/2
    assert plain[0, 1] == pytest.approx(0.0)  # food is evenly split
    assert plain[0, 0] == -math.inf
    smooth = pmi_matrix(DOCS, SIZES, alpha=1.0)
    assert smooth[1, 0] == pytest.approx(math.log(1.5))  # (2+1)/(2+2) / 0.5
    assert smooth[1, 2] == pytest.approx(math.log(4 / 3))  # (1+1)/(1+2) / 0.5


def test_pmi_scores_positive_and_log_count_weighted():
    out = pmi_scores(DOCS, SIZES, alpha=1.0)
    assert out[1, 0] == pytest.approx(math.log(1.5) * math.log(3))  # 0.445449
    assert out[1, 2] == pytest.approx(math.log(4 / 3) * math.log(2))  # 0.199406
    assert out[1, 1] == pytest.approx(0.0)
    assert out[1, 3] == 0.0  # negatively associated: clipped
    assert (out >= 0).all()


def test_chi2_scores_signed_by_hand():
    docs = [["good", "food"], ["good", "great"], ["bad", "food"], ["awful", "bad"]]
    x, vocab = count_matrix(docs)
    assert vocab == ["good", "food", "great", "bad", "awful"]
    presence = (x > 0).astype(float)
    out = chi2_scores(presence, np.array([1, 1, 0, 0]), 2)
    # good: observed (neg 0, pos 2), expected (1, 1): (0-1)^2/1 + (2-1)^2/1 = 2
    assert out[1].tolist() == pytest.approx([2.0, 0.0, 1.0, -2.0, -1.0])
    assert out[0].tolist() == pytest.approx([-2.0, 0.0, -1.0, 2.0, 1.0])


def test_count_matrix_counts_repeats():
    x, vocab = count_matrix([["a", "b", "a"], [], ["b"]])
    assert vocab == ["a", "b"]
    assert x.toarray().tolist() == [[2, 1], [0, 0], [0, 1]]


# --------------------------------------------------------------------------- mining


def test_frequency_mining_by_hand():
    lw = mine("frequency")
    assert lw.classes == ("neg", "pos")
    # ties (count 1) broken alphabetically
    assert lw.as_lists() == [["bad", "awful", "food"], ["good", "food", "great"]]
    good = lw.words["pos"][0]
    assert (good.word, good.score, good.count) == ("good", 3.0, 3)


def test_top_k_truncates():
    assert mine("frequency", top_k=1).as_lists() == [["bad"], ["good"]]


def test_pmi_and_chi2_mining_drop_unassociated_words():
    assert mine("pmi").as_lists() == [["bad", "awful"], ["good", "great"]]
    lw = mine("chi2")
    assert lw.as_lists() == [["bad", "awful"], ["good", "great"]]
    assert [w.score for w in lw.words["pos"]] == pytest.approx([2.0, 1.0])


def test_tfidf_mining_ranks_shared_word_last():
    assert mine("tfidf").as_lists() == [["bad", "awful", "food"], ["good", "great", "food"]]


def test_cross_class_drop_refills_and_assign():
    assert mine("frequency", cross_class="drop").as_lists() == [["bad", "awful"], ["good", "great"]]
    # food: relative frequency pos 1/5, neg 1/4 -> neg
    assert mine("frequency", cross_class="assign").as_lists() == [
        ["bad", "awful", "food"],
        ["good", "great"],
    ]
    # drop only bans words shared by the selected lists: with top_k=1 food is not selected
    assert mine("frequency", top_k=1, cross_class="drop").as_lists() == [["bad"], ["good"]]


def test_min_count():
    assert mine("frequency", min_count=2).as_lists() == [["bad", "food"], ["good", "food"]]


def test_class_name_first_leads_and_counts_in_top_k():
    lw = mine_label_words(TOY, "frequency", 2)
    assert lw.as_lists() == [["neg", "bad"], ["pos", "good"]]
    head = lw.words["pos"][0]
    assert head.score == 3.0 and head.count == 0


def test_class_name_first_with_mined_name_and_policy():
    data = [*TOY, ex("pos", "neg"), ex("pos", "neg")]  # "neg" mined as a pos word
    keep = mine_label_words(data, "frequency", 3)
    assert keep.as_lists()[1] == ["pos", "good", "neg"]
    assert keep.words["neg"][0].count == 0
    dropped = mine_label_words(data, "frequency", 3, cross_class="drop")
    assert "neg" not in dropped.as_lists()[1]


def test_class_name_words_split():
    assert class_name_words("Sci/Tech", lowercase=True) == ["sci", "tech"]
    assert class_name_words("Society & Culture") == ["Society", "Culture"]
    assert class_name_words("anecdotes/miscellaneous") == ["anecdotes", "miscellaneous"]
    assert class_name_words("battery life") == ["battery life"]
    assert class_name_words("人名") == ["人名"]
    assert class_name_words("体") == ["体"]
    assert class_name_words("1") == []


def test_stopwords_noise_and_lowercase():
    data = [ex("pos", "The", "Good", ",", "2019", "x"), ex("neg", "Bad", "the")]
    lw = mine_label_words(data, "frequency", 5, class_name_first=False)
    assert lw.as_lists() == [["bad"], ["good"]]
    kept = mine_label_words(
        data, "frequency", 5, class_name_first=False, stopwords=False, drop_noise=False,
        lowercase=False,
    )
    assert kept.as_lists() == [["Bad", "the"], [",", "2019", "Good", "The", "x"]]
    extra = mine_label_words(data, "frequency", 5, class_name_first=False, extra_stopwords=["good"])
    assert extra.as_lists() == [["bad"], []]


def test_classes_order_and_unknown_class():
    lw = mine("frequency", classes=["pos", "neg"])
    assert lw.classes == ("pos", "neg")
    assert lw.as_lists()[0][0] == "good"
    extra = mine("frequency", classes=["pos", "neg", "neutral"])
    assert extra.words["neutral"] == ()
    with pytest.raises(ConfigError, match=r"example 2: unknown class 'neg'.*'pos'"):
        mine("frequency", classes=["pos"])


def test_provenance():
    lw = mine_label_words(TOY, "pmi", 7, split_name="knowledge-v1", min_count=1)
    p = lw.provenance
    assert p["method"] == "pmi" and p["top_k"] == 7 and p["num_examples"] == 4
    assert p["class_counts"] == {"neg": 2, "pos": 2}
    assert p["split_name"] == "knowledge-v1"
    assert p["mrekv_version"] == __version__
    assert p["lang"] == "en" and p["source"] == "word_labels"
    assert p["options"]["pmi_alpha"] == 1.0
    assert MiningConfig.from_dict(p["options"]) == MiningConfig(method="pmi", top_k=7)
    assert lw == type(lw).from_dict(lw.to_dict())


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"method": "bm25"}, r"unknown mining method 'bm25'.*'frequency', 'tfidf', 'pmi', 'chi2'"),
        ({"cross_class": "merge"}, r"'keep', 'drop', 'assign'"),
        ({"source": "web"}, r"'word_labels', 'text'"),
        ({"top_k": 0}, "top_k"),
        ({"min_count": 0}, "min_count"),
        ({"upos": ["NOUNS"]}, "unknown UPOS tag 'NOUNS'"),
        ({"lang": "fr"}, "unknown language 'fr'"),
    ],
)
def test_bad_options(kwargs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        mine_label_words(TOY, **kwargs)


def test_config_from_dict_rejects_unknown_key():
    with pytest.raises(ConfigError, match="unknown mining options.*'top_k'"):
        MiningConfig.from_dict({"topk": 3})


def test_errors_on_empty_and_mixed_languages():
    with pytest.raises(ConfigError, match="no examples"):
        mine_label_words([])
    with pytest.raises(ConfigError, match="mix languages"):
        mine_label_words([ex("a", "x1", lang="en"), ex("b", "y1", lang="ja")])


def test_input_examples_not_modified():
    data = list(TOY)
    mine("chi2", cross_class="assign")
    assert data == TOY


# --------------------------------------------------------------------------- tokenizer use


class FakeTokenizer:
    """Splits on spaces; "-ly" words are ADV, capitalised ones PROPN; lemma drops a final "s"."""

    lang = "en"

    def tokenize(self, text: str) -> list[Token]:
        out = []
        for w in text.split():
            upos = "ADV" if w.endswith("ly") else "PROPN" if w[0].isupper() else "NOUN"
            lemma = w[:-1] if w.endswith("s") and len(w) > 3 else w
            out.append(Token(w, lemma, upos, "X"))
        return out

    def tokenize_batch(self, texts):
        return [self.tokenize(t) for t in texts]


def test_source_text_uses_content_words():
    data = [
        ex("pos", text="cats purr quietly"),
        ex("pos", text="cats nap"),
        ex("neg", text="dogs bark loudly"),
    ]
    lw = mine_label_words(
        data, "frequency", 5, source="text", tokenizer=FakeTokenizer(), class_name_first=False
    )
    assert lw.as_lists() == [["bark", "dogs"], ["cats", "nap", "purr"]]
    lemma = mine_label_words(
        data, "frequency", 5, source="text", tokenizer=FakeTokenizer(), lemmatize=True,
        class_name_first=False,
    )
    assert lemma.as_lists() == [["bark", "dog"], ["cat", "nap", "purr"]]
    adv = mine_label_words(
        data, "frequency", 5, source="text", tokenizer=FakeTokenizer(), upos=["ADV"],
        class_name_first=False,
    )
    assert adv.as_lists() == [["loudly"], ["quietly"]]


def test_lemmatize_word_labels_with_tokenizer_and_multiword():
    data = [ex("pos", "Cats", "battery packs"), ex("neg", "dogs")]
    lw = mine_label_words(
        data, "frequency", 5, tokenizer=FakeTokenizer(), lemmatize=True, class_name_first=False
    )
    assert lw.as_lists() == [["dog"], ["battery pack", "cat"]]


def test_stopword_lists():
    assert {"the", "of"} <= get_stopwords("en")
    assert {"の", "は", "です"} <= get_stopwords("ja")
    assert {"的", "了", "是"} <= get_stopwords("zh")
    assert get_stopwords(None) == frozenset()
    assert "good" not in get_stopwords("en")


@pytest.mark.parametrize(
    ("word", "lang", "noise"),
    [
        ("good", "en", False), (",", "en", True), ("3.5%", "en", True), ("x", "en", True),
        ("２０１６", "ja", True), ("は", "ja", True), ("本", "ja", False), ("好", "zh", False),
        ("a", "zh", True), ("2019年", "zh", False), ("  ", "en", True), ("「」", "ja", True),
    ],
)
def test_is_noise(word, lang, noise):
    assert is_noise(word, lang) is noise


# --------------------------------------------------------------------------- real tokenizers


def real_tokenizer(lang: str):
    from mrekv.errors import MissingDependencyError
    from mrekv.tokenizers import get_tokenizer

    try:
        return get_tokenizer(lang)
    except MissingDependencyError as err:
        pytest.skip(str(err))


@pytest.mark.parametrize(
    ("lang", "pos", "neg", "expected"),
    [
        (
            "en",
            ["Great films, wonderful acting.", "The films are wonderful."],
            ["The batteries died quickly and the screens are terrible."],
            [["battery", "screen", "terrible"], ["film", "wonderful", "acting", "great"]],
        ),
        ("ja", ["料理がとても美味しい。"], ["景気は悪化した"],
         [["悪化", "景気"], ["料理", "美味しい"]]),
        ("zh", ["服务态度很好，非常满意"], ["房间太差了，很失望"],
         [["差", "房间"], ["好", "服务态度"]]),
    ],
)
def test_source_text_with_real_tokenizers(lang, pos, neg, expected):
    data = [MREExample(t, "pos", lang=lang) for t in pos] + [
        MREExample(t, "neg", lang=lang) for t in neg
    ]
    lw = mine_label_words(
        data, "frequency", 10, source="text", tokenizer=real_tokenizer(lang),
        lemmatize=True, class_name_first=False,
    )
    assert lw.as_lists() == expected


def test_mining_examples_without_word_labels_says_what_to_do():
    from mrekv.data.example import MREExample
    from mrekv.errors import ConfigError
    from mrekv.verbalizer.mining import mine_label_words

    bare = [MREExample("A fine film.", "positive", lang="en"),
            MREExample("A dull film.", "negative", lang="en")]
    for method in ("frequency", "chi2"):
        with pytest.raises(ConfigError, match="none of the 2 examples has word labels"):
            mine_label_words(bare, method, 5)
    # word labels that are all stopwords leave nothing to score: class names, no crash
    stop = [MREExample("The film.", "positive", word_labels=(("positive", "the"),), lang="en"),
            MREExample("A film.", "negative", word_labels=(("negative", "a"),), lang="en")]
    assert mine_label_words(stop, "chi2", 5).as_lists() == [["negative"], ["positive"]]
