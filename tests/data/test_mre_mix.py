"""MRE-mix builder: SCPOS items from POS tags, relation words from a knowledge split only."""

from __future__ import annotations

import pytest

from mrekv.data.corpus import Corpus
from mrekv.data.example import Family, MREExample, TaskWord
from mrekv.data.mre_mix import (
    RelationWords,
    build_mre_examples,
    build_mre_file,
    chi_square_2x2,
    chi_square_critical,
    mine_relation_words,
    read_labelled_tsv,
)
from mrekv.errors import ConfigError, CorpusFormatError
from mrekv.tokenizers.base import Token


class StubTokenizer:
    """Splits on spaces; UPOS from a fixed table; lemma = lower-cased word."""

    lang = "en"
    POS = {
        "delicious": "ADJ", "rude": "ADJ", "great": "ADJ", "tasty": "ADJ",
        "food": "NOUN", "staff": "NOUN", "soup": "NOUN", "pizza": "NOUN", "waiter": "NOUN",
        "ate": "VERB", "quickly": "ADV", "the": "DET", "42": "NUM",
    }

    def __init__(self) -> None:
        self.calls = 0

    def tokenize(self, text: str) -> list[Token]:
        self.calls += 1
        return [Token(w, w.lower(), self.POS.get(w.lower(), "X"), "t") for w in text.split()]

    def tokenize_batch(self, texts):
        return [self.tokenize(t) for t in texts]


def items(example: MREExample) -> list[str]:
    return [span for _, span in example.word_labels]


# ---------------------------------------------------------------- POS families, real tokenizers

CASES = {
    "en": (
        "The room was clean and the breakfast was great. The room was small.",
        ["clean", "great", "small"],
        ["room", "breakfast"],
    ),
    "ja": (
        "部屋は広くて、朝食が美味しかった。部屋も静かだった。",
        ["広く", "美味しかっ", "静か"],
        ["部屋", "朝食"],
    ),
    "zh": ("房间很干净，早餐也很丰富，房间不大", ["干净", "丰富", "大"], ["房间", "早餐"]),
}
MODULES = {"en": "nltk", "ja": "fugashi", "zh": "jieba"}


@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_pos_families_in_each_language(lang):
    pytest.importorskip(MODULES[lang])
    text, adjectives, nouns = CASES[lang]
    adj = build_mre_examples([text], ["positive"], lang, Family.SCPOS_ADJ)[0]
    noun = build_mre_examples([text], ["positive"], lang, "SCPOS:N")[0]
    both = build_mre_examples([text], ["positive"], lang, "SCPOS:Adj and N")[0]
    assert items(adj) == adjectives
    assert items(noun) == nouns  # the repeated noun is kept once
    # both families merged in text order
    assert sorted(items(both), key=text.index) == items(both)
    assert sorted(items(both)) == sorted(adjectives + nouns)
    assert (adj.task, noun.task, both.task) == (
        TaskWord.SENTIMENT_ADJ, TaskWord.SENTIMENT_N, TaskWord.SENTIMENT_ADJ_AND_N,
    )
    for example in (adj, noun, both):
        assert example.text == text and example.text_label == "positive"
        assert example.lang == lang
        assert all(label == "positive" and span in text for label, span in example.word_labels)


def test_stopwords_and_non_words_are_skipped():
    tok = StubTokenizer()
    out = build_mre_examples(
        ["the tasty food 42 tasty soup"], ["pos"], "en", "SCPOS:Adj & N",
        tokenizer=tok, stopwords={"soup"},
    )
    assert out[0].word_labels == (("pos", "tasty"), ("pos", "food"))


# ---------------------------------------------------------------- chi-square, by hand

def test_chi_square_by_hand():
    # N=8, ad-bc = 9-1 = 8, margins all 4: 8 * 64 / 256
    assert chi_square_2x2(3, 1, 1, 3) == pytest.approx(2.0)
    # N=10, ad-bc = 15, margins 3, 7, 5, 5: 10 * 225 / 525
    assert chi_square_2x2(3, 0, 2, 5) == pytest.approx(30 / 7)
    assert chi_square_2x2(4, 4, 0, 0) == 0.0  # a word in every text says nothing
    assert chi_square_critical(0.05) == pytest.approx(3.841459, abs=1e-5)
    with pytest.raises(ConfigError):
        chi_square_critical(1.5)


KNOWLEDGE_TEXTS = (
    ["the food was delicious"] * 4 + ["the staff was rude"] * 4
)
KNOWLEDGE_LABELS = ["pos"] * 4 + ["neg"] * 4


def test_mined_relation_words():
    rw = mine_relation_words(KNOWLEDGE_TEXTS, KNOWLEDGE_LABELS, "en", tokenizer=StubTokenizer())
    # delicious: a=4, b=0, c=0, d=4 -> 8 * 16**2 / 4**4 = 8
    assert dict(rw.scores["pos"]) == {"delicious": pytest.approx(8.0), "food": pytest.approx(8.0)}
    # "food" / "staff" occur in one class only, like the adjectives, so they count too;
    # "the" is not a content word and "was" (X here) is not one either
    assert rw.of("pos") == {"delicious", "food"}
    assert rw.of("neg") == {"rude", "staff"}
    assert rw.of("unknown") == frozenset()
    assert rw.n_texts == 8


def test_min_count_and_p_value():
    texts = ["great food"] * 3 + ["food"] * 2 + ["soup"] * 5
    labels = ["pos"] * 5 + ["neg"] * 5
    # great: a=3, b=0, c=2, d=5 -> 30/7 = 4.29 >= 3.84
    tok = StubTokenizer()
    assert "great" in mine_relation_words(texts, labels, "en", tokenizer=tok).of("pos")
    assert "great" not in mine_relation_words(texts, labels, "en", tokenizer=tok, min_count=4).of(
        "pos"
    )
    # chi2(0.01) = 6.63 > 4.29
    assert "great" not in mine_relation_words(
        texts, labels, "en", tokenizer=tok, p_value=0.01
    ).of("pos")


def test_relation_words_come_from_knowledge_only():
    tok = StubTokenizer()
    # pizza is in every positive input sentence and no negative one: associated in the
    # input, absent from knowledge -> never a relation word.
    # delicious is in as many negative as positive input sentences -> still a relation
    # word of "pos", because knowledge says so.
    texts = ["great pizza"] * 4 + ["delicious soup", "delicious soup", "rude waiter", "soup"]
    labels = ["pos"] * 4 + ["pos", "neg", "neg", "neg"]
    out = build_mre_examples(
        texts, labels, "en", "SCPOS:RW", tokenizer=tok,
        knowledge=(KNOWLEDGE_TEXTS, KNOWLEDGE_LABELS),
    )
    assert [items(e) for e in out] == [[], [], [], [], ["delicious"], [], ["rude"], []]
    assert all(e.task is TaskWord.SENTIMENT_RELATION_WORD for e in out)
    assert out[6].word_labels == (("neg", "rude"),)


def test_relation_words_object_is_reused_without_mining_again():
    rw = RelationWords(words={"pos": frozenset({"tasty"})})
    tok = StubTokenizer()
    out = build_mre_examples(
        ["tasty tasty food", "tasty food"], ["pos", "neg"], "en", Family.SCPOS_RW,
        tokenizer=tok, knowledge=rw,
    )
    assert [e.word_labels for e in out] == [(("pos", "tasty"),), ()]
    assert tok.calls == 2  # only the two input texts were tokenized


def test_relation_words_need_knowledge():
    with pytest.raises(ConfigError, match="knowledge"):
        build_mre_examples(["x"], ["pos"], "en", "SCPOS:RW", tokenizer=StubTokenizer())


# ---------------------------------------------------------------- gold labels and errors

def test_gold_word_labels_are_kept_without_tokenizing():
    tok = StubTokenizer()
    gold = [[("人名", "山田"), ("地名", "東京"), ("人名", "山田")], []]
    out = build_mre_examples(
        ["山田さんは東京に住む", "何もない"], ["none", "none"], "ja", "SCNM",
        tokenizer=tok, gold_word_labels=gold,
    )
    assert out[0].word_labels == (("人名", "山田"), ("地名", "東京"))
    assert out[0].task is TaskWord.NER and out[1].word_labels == ()
    assert tok.calls == 0
    # gold aspect terms for a sentiment family are kept as well
    aspect = build_mre_examples(
        ["great pizza"], ["pos"], "en", "SCPOS:N", tokenizer=tok,
        gold_word_labels=[[("positive", "pizza")]],
    )
    assert aspect[0].word_labels == (("positive", "pizza"),)


def test_errors_list_choices():
    tok = StubTokenizer()
    with pytest.raises(ConfigError, match="gold_word_labels"):
        build_mre_examples(["x"], ["a"], "en", "TCONER", tokenizer=tok)
    with pytest.raises(ConfigError, match="TCREE"):
        build_mre_examples(["x"], ["a"], "en", "TCREE", tokenizer=tok)
    with pytest.raises(ConfigError, match="'SCPOS:Adj & N'"):
        build_mre_examples(["x"], ["a"], "en", "SCPOS:Verb", tokenizer=tok)
    with pytest.raises(ConfigError, match="'en', 'ja', 'zh'"):
        build_mre_examples(["x"], ["a"], "fr", "SCPOS:N", tokenizer=tok)
    with pytest.raises(ConfigError, match="2 texts but 1 labels"):
        build_mre_examples(["x", "y"], ["a"], "en", "SCPOS:N", tokenizer=tok)


# ---------------------------------------------------------------- files

def test_read_labelled_tsv(tmp_path):
    path = tmp_path / "in.tsv"
    path.write_text("label\ttext\npos\tgreat\tpizza\n\nneg\tbad\n", encoding="utf-8")
    assert read_labelled_tsv(path) == (["great\tpizza", "bad"], ["pos", "neg"])
    path.write_text("pos\tok\nno tab here\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"in\.tsv, line 2"):
        read_labelled_tsv(path)


def test_build_mre_file_from_tsv(tmp_path):
    pytest.importorskip("nltk")
    from mrekv.data.mmm import read_mmm

    data = tmp_path / "in.tsv"
    data.write_text("positive\tThe soup was delicious.\nnegative\tThe staff was rude.\n")
    out = tmp_path / "out.jsonl"
    assert build_mre_file(out, "SCPOS:Adj", input_path=data, lang="en") == 2
    back = list(read_mmm(out, lang="en"))
    assert back[0].word_labels == (("positive", "delicious"),)
    assert back[0].task is TaskWord.SENTIMENT_ADJ
    with pytest.raises(ConfigError, match="exactly one"):
        build_mre_file(out, "SCPOS:Adj", lang="en")
    with pytest.raises(ConfigError, match="lang"):
        build_mre_file(out, "SCPOS:Adj", input_path=data)


def _toy_corpus() -> Corpus:
    return Corpus(
        "toy", "en",
        texts=("the food was delicious",) * 4 + ("the staff was rude",) * 4 + ("delicious soup",),
        labels=("pos",) * 4 + ("neg",) * 4 + ("pos",),
        classes=("neg", "pos"),
        splits={"train": tuple(range(8)), "test": (8,)},
    )


def test_build_mre_file_from_corpus_checks_knowledge_overlap(tmp_path, monkeypatch):
    import mrekv.data.corpora as corpora
    from mrekv.data.mmm import read_mmm

    monkeypatch.setattr(corpora, "load_corpus", lambda name, root=None: _toy_corpus())
    out = tmp_path / "rw.jsonl"
    with pytest.raises(ConfigError, match="shares 8 records"):
        build_mre_file(out, "SCPOS:RW", corpus="toy", split="train", knowledge_split="train")
    pytest.importorskip("nltk")
    n = build_mre_file(out, "SCPOS:RW", corpus="toy", split="test", knowledge_split="train")
    assert n == 1
    (example,) = read_mmm(out)
    assert example.word_labels == (("pos", "delicious"),)
