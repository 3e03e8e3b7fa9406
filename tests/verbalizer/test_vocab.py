"""Vocabulary filter against real tokenizer vocabularies (../shared/models/tokenizers)."""

from __future__ import annotations

import pytest

from mrekv.verbalizer.label_words import LabelWord, LabelWords
from mrekv.verbalizer.vocab import VocabReport, filter_by_vocab, space_sensitive


def lw_of(**classes: list[str]) -> LabelWords:
    return LabelWords.from_lists(list(classes), list(classes.values()), {"method": "test"})


def test_english_wordpiece(hf_tokenizer):
    tok = hf_tokenizer("en")
    words = lw_of(
        pos=["good", "unbelievably", "Great", "☃"],  # un ##bel ##ie ##va ##bly; ☃ is [UNK]
        neg=["bad", "go through", "sagacious"],  # go / through; saga ##cious
    )
    kept, report = filter_by_vocab(words, tok)
    assert kept.as_lists() == [["good", "Great"], ["bad"]]
    assert report.kept_counts() == {"pos": 2, "neg": 1}
    assert report.dropped_counts() == {"pos": 2, "neg": 2}
    dropped = {d.word: (d.reason, d.num_subtokens) for d in report.dropped["pos"]}
    assert dropped == {"unbelievably": ("too_long", 5), "☃": ("unknown", 1)}
    assert [(d.word, d.num_subtokens) for d in report.dropped["neg"]] == [
        ("go through", 2),
        ("sagacious", 2),
    ]
    assert report.add_prefix_space is False
    assert kept.provenance["method"] == "test"
    assert kept.provenance["vocab_filter"]["dropped"] == 4
    assert kept.provenance["vocab_filter"]["max_subtokens"] == 1


def test_max_subtokens_and_scores_kept(hf_tokenizer):
    tok = hf_tokenizer("en")
    words = LabelWords(
        ("a",), {"a": (LabelWord("good", 2.0, 5), LabelWord("go through", 1.0, 2))}
    )
    kept, report = filter_by_vocab(words, tok, max_subtokens=2)
    assert kept.words["a"] == (LabelWord("good", 2.0, 5), LabelWord("go through", 1.0, 2))
    assert report.dropped_counts() == {"a": 0}
    with pytest.raises(ValueError, match="max_subtokens"):
        filter_by_vocab(words, tok, max_subtokens=0)


def test_lowercase_option(hf_tokenizer):
    kept, _ = filter_by_vocab(lw_of(a=["Good"]), hf_tokenizer("en"), lowercase=True)
    assert kept.as_lists() == [["good"]]


def test_chinese_characters(hf_tokenizer):
    tok = hf_tokenizer("zh")
    kept, report = filter_by_vocab(lw_of(pos=["好", "中国", "满意"], neg=["差", "☃"]), tok)
    assert kept.as_lists() == [["好"], ["差"]]
    assert [(d.word, d.reason, d.num_subtokens) for d in report.dropped["pos"]] == [
        ("中国", "too_long", 2),
        ("满意", "too_long", 2),
    ]
    two, _ = filter_by_vocab(lw_of(pos=["中国", "满意"]), tok, max_subtokens=2)
    assert two.as_lists() == [["中国", "满意"]]
    assert report.dropped["neg"][0].reason == "unknown"


def test_japanese_mecab_wordpiece(hf_tokenizer):
    tok = hf_tokenizer("ja")
    kept, report = filter_by_vocab(lw_of(pos=["良い", "景気", "企業業績", "増収"], neg=["☃"]), tok)
    assert kept.as_lists() == [["良い", "景気"], []]
    assert {d.word: d.num_subtokens for d in report.dropped["pos"]} == {"企業業績": 2, "増収": 2}
    assert report.empty_classes == ("neg",)


def test_multilingual(hf_tokenizer):
    kept, _ = filter_by_vocab(lw_of(a=["good", "中国", "☃"]), hf_tokenizer("multi"))
    assert kept.as_lists() == [["good"]]


@pytest.fixture(scope="module")
def byte_bpe():
    """A tiny byte-level BPE (RoBERTa-style) where words occur only after a space."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<unk>", "<pad>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = ["it is good", "so good", "it is bad", "so bad", "the good"]
    tok.train_from_iterator(corpus * 20, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", mask_token="<mask>"
    )


def test_byte_level_bpe_gets_a_prefix_space(byte_bpe):
    assert byte_bpe.tokenize(" good") == ["Ġgood"]
    assert len(byte_bpe.tokenize("good")) > 1
    assert space_sensitive(byte_bpe)
    kept, report = filter_by_vocab(lw_of(pos=["good"], neg=["bad"]), byte_bpe)
    assert kept.as_lists() == [["good"], ["bad"]]
    assert report.add_prefix_space is True
    none, report = filter_by_vocab(lw_of(pos=["good"]), byte_bpe, add_prefix_space=False)
    assert none.as_lists() == [[]]
    assert report.dropped["pos"][0].reason == "too_long"


def test_wordpiece_is_not_space_sensitive(hf_tokenizer):
    assert not space_sensitive(hf_tokenizer("en"))
    assert not space_sensitive(hf_tokenizer("ja"))


def test_report_table():
    report = VocabReport(
        classes=("pos", "negative"),
        kept={"pos": ("good",), "negative": ()},
        dropped={"pos": (), "negative": ()},
        max_subtokens=1,
        add_prefix_space=False,
    )
    assert report.to_table().splitlines() == [
        "class       kept  dropped  dropped words",
        "pos            1        0",
        "negative       0        0",
        "total          1        0",
    ]
    assert report.to_dict()["kept"] == {"pos": 1, "negative": 0}


def test_report_table_lists_dropped_words(hf_tokenizer):
    _, report = filter_by_vocab(lw_of(a=["good", "sagacious", "☃"]), hf_tokenizer("en"))
    assert str(report).splitlines()[1] == "a" + " " * 11 + "1        2  sagacious (2), ☃ (?)"
