"""Corpus readers against the real files in ../shared/datasets.

Expected counts come from each folder's SOURCE.txt, or were counted by hand with
separate throwaway scripts (grep/regex) where a reader derives or drops records.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mrekv.data.corpora import CORPORA, corpus_folder, list_corpora, load_corpus
from mrekv.data.corpus import Corpus
from mrekv.data.example import Family, TaskWord
from mrekv.errors import CorpusFormatError

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is absent")

_CACHE: dict[str, Corpus] = {}


def corpus(name: str) -> Corpus:
    """Each corpus is read once per test session."""
    if name not in _CACHE:
        _CACHE[name] = load_corpus(name, DATASETS)
    return _CACHE[name]


def sizes(c: Corpus) -> dict[str, int]:
    return {s: len(idx) for s, idx in c.splits.items() if s in ("train", "dev", "test")}


def record(c: Corpus, text: str) -> int:
    hits = [i for i, t in enumerate(c.texts) if t == text]
    assert len(hits) == 1, f"{text!r} found {len(hits)} times"
    return hits[0]


def split_of(c: Corpus, i: int) -> str:
    return next(s for s in ("train", "dev", "test") if i in set(c.splits.get(s, ())))


# --- registry -------------------------------------------------------------------------


def test_list_corpora_covers_the_required_names():
    names = {c.name for c in list_corpora()}
    required = {
        "sst2",
        "sst5",
        "mr",
        "cr",
        "subj",
        "trec",
        "agnews",
        "amazon",
        "semeval14-restaurants",
        "semeval14-laptops",
        "livedoor",
        "chabsa",
        "ner-wikipedia",
        "online-shopping-10cats",
        "online-shopping-sentiment",
        "chnsenticorp",
        "thucnews-titles",
        "tnews",
        "eprstmt",
        "peng-absa",
    }
    assert required <= names
    assert [c.name for c in list_corpora("ja")] == ["livedoor", "chabsa", "ner-wikipedia"]
    assert all(c.description and c.lang in ("en", "ja", "zh") for c in list_corpora())


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown corpus 'sst-2'.*'sst2'.*'tnews'"):
        load_corpus("sst-2", DATASETS)


def test_missing_root_names_the_env_var(tmp_path):
    with pytest.raises(FileNotFoundError, match="MREKV_DATASETS"):
        load_corpus("sst2", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="en-sentence-cls-harvardnlp"):
        load_corpus("sst2", tmp_path)


def test_root_defaults_to_env_var(monkeypatch):
    monkeypatch.setenv("MREKV_DATASETS", str(DATASETS))
    assert corpus_folder("tnews") == DATASETS / "zh-fewclue"
    assert len(load_corpus("trec").split("test")) == 500


# --- malformed files ------------------------------------------------------------------


def test_malformed_label_line_names_file_and_line(tmp_path):
    folder = tmp_path / "en-sentence-cls-harvardnlp"
    folder.mkdir()
    (folder / "stsa.binary.train").write_text("1 good film\n7 not a label\n", encoding="utf-8")
    with pytest.raises(
        CorpusFormatError, match=r"stsa\.binary\.train, line 2: expected '<label 0-1>"
    ):
        load_corpus("sst2", tmp_path)


def test_malformed_dat_line_names_file_and_line(tmp_path):
    folder = tmp_path / "en-amazon-polarity-10k"
    folder.mkdir()
    (folder / "amazon.train.dat").write_text("ok$LABEL$1\nno separator here\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"amazon\.train\.dat, line 2: .*\$LABEL\$"):
        load_corpus("amazon", tmp_path)


def test_malformed_jsonl_names_file_and_line(tmp_path):
    folder = tmp_path / "zh-fewclue" / "eprstmt"
    folder.mkdir(parents=True)
    good = json.dumps({"id": 0, "sentence": "很好", "label": "Positive"}, ensure_ascii=False)
    (folder / "train_few_all.json").write_text(good + "\n{broken\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"train_few_all\.json, line 2: invalid JSON"):
        load_corpus("eprstmt", tmp_path)


def test_missing_file_is_named(tmp_path):
    (tmp_path / "zh-thucnews-titles").mkdir()
    with pytest.raises(CorpusFormatError, match=r"dev\.txt: file not found"):
        load_corpus("thucnews-titles", tmp_path)


# --- English --------------------------------------------------------------------------


def test_sst2_counts_and_records():
    c = corpus("sst2")
    assert c.lang == "en" and c.classes == ("negative", "positive")
    assert sizes(c) == {"train": 6920, "dev": 872, "test": 1821}
    assert c.class_counts("test") == {"negative": 912, "positive": 909}
    first = c.splits["train"][0]
    assert c.texts[first].startswith("a stirring , funny and finally transporting re-imagining")
    assert c.labels[first] == "positive"
    i = record(c, "apparently reassembled from the cutting-room floor of any given daytime soap .")
    assert c.labels[i] == "negative" and split_of(c, i) == "train"


def test_sst5_counts_and_grades():
    c = corpus("sst5")
    assert sizes(c) == {"train": 8544, "dev": 1101, "test": 2210}
    assert c.classes == ("very negative", "negative", "neutral", "positive", "very positive")
    assert c.labels[c.splits["train"][0]] == "very positive"
    assert c.class_counts("dev") == {
        "very negative": 139,
        "negative": 289,
        "neutral": 229,
        "positive": 279,
        "very positive": 165,
    }


def test_trec_counts_names_and_latin1():
    c = corpus("trec")
    assert sizes(c) == {"train": 5452, "test": 500}
    assert c.class_counts("train")["abbreviation"] == 86
    assert (
        c.labels[0] == "description"
        and c.texts[0] == "How did serfdom develop in and then leave Russia ?"
    )
    assert c.labels[1] == "entity"
    # line 66 of TREC.train.all holds byte 0xF0 (Latin-1 'ð')
    assert (
        c.texts[65] == "Which city has the oldest relationship as a sisterðcity with Los Angeles ?"
    )
    assert c.labels[65] == "location"


def test_mr_windows1252_and_seeded_split():
    c = corpus("mr")
    assert len(c) == 10662 and c.class_counts() == {"negative": 5331, "positive": 5331}
    # line 5821 holds byte 0x85: an ellipsis inside the record, not a line break
    assert c.texts[5820].startswith(
        "exquisitely acted and masterfully if preciously interwoven… [the film]"
    )
    assert c.labels[5820] == "positive"
    assert not any("\x85" in t for t in c.texts)
    assert sizes(c) == {"train": 8530, "test": 2132}
    assert c.class_counts("test") == {"negative": 1066, "positive": 1066}


def test_subj_label_zero_is_subjective():
    c = corpus("subj")
    assert c.classes == ("subjective", "objective")
    assert c.class_counts() == {"subjective": 5000, "objective": 5000}
    i = record(c, "smart and alert , thirteen conversations about one thing is a small gem .")
    assert c.labels[i] == "subjective"


def test_cr_and_mpqa_drop_empty_and_repeated_texts():
    # counted by hand: custrev.all 4 empty + 6 repeats, mpqa.all 3 empty + 2,363 repeats
    assert corpus("cr").class_counts() == {"negative": 1365, "positive": 2400}
    assert corpus("mpqa").class_counts() == {"negative": 5907, "positive": 2333}
    for name in ("cr", "mpqa"):
        c = corpus(name)
        assert len(set(c.texts)) == len(c) and all(c.texts)


def test_agnews_splits_never_use_the_10k_test_part():
    c = corpus("agnews")
    assert c.classes == ("World", "Sports", "Business", "Sci/Tech")
    assert sizes(c) == {"train": 7000, "dev": 1000, "test": 7600}
    assert c.class_counts("test") == dict.fromkeys(c.classes, 1900)
    assert c.class_counts("train") == {
        "World": 1861,
        "Sports": 1683,
        "Business": 1636,
        "Sci/Tech": 1820,
    }
    test = c.splits["test"]
    assert c.texts[test[0]] == (
        "Fears for T N pension after talks Unions representing workers at Turner Newall say they "
        "are 'disappointed' after talks with stricken parent firm Federal Mogul."
    )
    assert c.labels[test[0]] == "Business"
    assert (
        "A second team of rocketeers competing for the $10 million Ansari X Prize"
        in c.texts[test[1]]
    )
    assert c.labels[test[1]] == "Sci/Tech"
    assert c.texts[0].startswith(
        "Wall St. Bears Claw Back Into the Black (Reuters) Reuters - Short-sellers, "
        "Wall Street's dwindling band of"
    )
    assert c.labels[0] == "Business"
    test_texts = {c.texts[i] for i in test}
    assert not test_texts & {c.texts[i] for i in c.splits["dev"]}


def test_agnews_cleaning_makes_both_formats_agree():
    from mrekv.data.corpora._common import read_dat
    from mrekv.data.corpora.en import AGNEWS, clean_agnews

    c = corpus("agnews")
    path = DATASETS / "en-agnews" / "pyabsa_AGNews10K" / "AGNews10K.test.dat"
    ten_k = [(clean_agnews(t.replace('""', '"')), lab) for _, lab, t in read_dat(path, AGNEWS)]
    first = [(c.texts[i], c.labels[i]) for i in c.splits["test"][:2000]]
    # the 10K test part is rows 1-2,000 of test.csv; its row 1,073 lost an opening quote
    assert [lab for _, lab in ten_k] == [lab for _, lab in first]
    differ = [i for i, (a, b) in enumerate(zip(ten_k, first, strict=True)) if a != b]
    assert differ == [1072]
    assert first[1072][0].startswith('RNC Protesters Using Text Messages to Plan "Multiple reports')


def test_amazon_counts_and_record():
    c = corpus("amazon")
    assert sizes(c) == {"train": 8000, "test": 2000}
    assert c.class_counts("train") == {"negative": 4053, "positive": 3947}
    assert c.class_counts("test") == {"negative": 1033, "positive": 967}
    assert (
        c.texts[0].startswith("Hayden cooler. This product worked well.")
        and c.labels[0] == "positive"
    )


def test_semeval_restaurants_votes_and_aspect_terms():
    c = corpus("semeval14-restaurants")
    assert c.family is Family.SCPOS_RW and c.classes == ("negative", "positive")
    # counted by hand from the XML: positive > negative terms / negative > positive / dropped
    assert c.class_counts("train") == {"negative": 450, "positive": 1217}
    assert c.class_counts("test") == {"negative": 125, "positive": 396}
    i = record(c, "But the staff was so horrible to us.")
    assert c.labels[i] == "negative" and c.word_labels[i] == (("negative", "staff"),)
    j = record(
        c,
        "To be completely fair, the only redeeming factor was the food, which was above "
        "average, but couldn't make up for all the other deficiencies of Teodora.",
    )
    assert c.labels[j] == "positive"  # its category votes do not count, only aspect terms
    ex = c.to_examples("test")[0]
    assert ex.task is TaskWord.SENTIMENT_RELATION_WORD and ex.lang == "en" and ex.word_labels


def test_semeval_laptops_keeps_neutral_terms_as_word_labels():
    c = corpus("semeval14-laptops")
    assert c.class_counts("train") == {"negative": 622, "positive": 619}
    assert c.class_counts("test") == {"negative": 98, "positive": 225}
    i = record(
        c, "I charge it at night and skip taking the cord with me because of the good battery life."
    )
    assert c.labels[i] == "positive"
    assert c.word_labels[i] == (("neutral", "cord"), ("positive", "battery life"))
    assert "but in resume this computer rocks!" not in c.texts  # no aspect term: dropped


# --- Japanese -------------------------------------------------------------------------


def test_livedoor_topics_text_and_repeats():
    c = corpus("livedoor")
    # SOURCE counts minus 8 repeated articles (4 peachy, 2 dokujo-tsushin, 1 smax, 1 topic-news)
    assert c.class_counts() == {
        "dokujo-tsushin": 868,
        "it-life-hack": 870,
        "kaden-channel": 864,
        "livedoor-homme": 511,
        "movie-enter": 870,
        "peachy": 838,
        "smax": 869,
        "sports-watch": 900,
        "topic-news": 769,
    }
    i = next(
        i
        for i, t in enumerate(c.texts)
        if t.startswith("【Sports Watch】秋山成勲、メールで吉田に対戦迫った!?")
    )
    assert c.labels[i] == "sports-watch"
    assert c.texts[i].startswith(
        "【Sports Watch】秋山成勲、メールで吉田に対戦迫った!? 今月8日、都内ホテルでは"
    )
    assert max(len(t) for t in c.texts) == 256
    assert len(c.split("test")) == 1473 and len(c.split("train")) == 5886


def test_chabsa_votes_word_labels_and_document_split():
    c = corpus("chabsa")
    assert c.family is Family.SCPOS_RW
    # counted by hand over all opinions: 1,670 positive-majority, 1,143 negative-majority
    assert c.class_counts() == {"negative": 1143, "positive": 1670}
    first = json.loads((DATASETS / "ja-chabsa" / "chABSA" / "e00008_ann.json").read_text("utf-8"))
    s0 = first["sentences"][0]["sentence"]
    i = record(c, s0)
    assert c.labels[i] == "positive"  # 4 positive, 1 neutral
    assert c.word_labels[i][:2] == (("neutral", "わが国経済"), ("positive", "企業業績"))
    assert c.labels[record(c, first["sentences"][1]["sentence"])] == "negative"
    # no document straddles the split; 46 of 230 documents (20 %) are test documents
    where = {i: split_of(c, i) for i in range(len(c))}
    by_text: dict[str, set[str]] = {}
    for i, t in enumerate(c.texts):
        by_text.setdefault(t, set()).add(where[i])
    test_docs = 0
    for path in sorted((DATASETS / "ja-chabsa" / "chABSA").glob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        sides = set().union(*(by_text.get(s["sentence"], set()) for s in doc["sentences"]))
        assert len(sides) <= 1, path.name
        test_docs += sides == {"test"}
    assert test_docs == 46


def test_ner_wikipedia_scnm_class():
    c = corpus("ner-wikipedia")
    assert c.family is Family.SCNM and len(c) == 5343 - 484
    i = record(c, "SPRiNGSと最も仲の良いライバルグループ。")
    assert c.labels[i] == "その他の組織名" and c.word_labels[i] == (("その他の組織名", "SPRiNGS"),)
    j = record(c, "レッドフォックス株式会社は、東京都千代田区に本社を置くITサービス企業である。")
    assert c.labels[j] == "法人名"  # one 法人名, one 地名: the tie goes to the first entity
    assert c.word_labels[j] == (("法人名", "レッドフォックス株式会社"), ("地名", "東京都千代田区"))
    assert c.to_examples()[0].task is TaskWord.NER


# --- Chinese --------------------------------------------------------------------------


def test_online_shopping_two_views_share_texts_and_split():
    cats = corpus("online-shopping-10cats")
    pol = corpus("online-shopping-sentiment")
    # 62,774 rows minus 1 empty review minus 50 repeats (counted by hand)
    assert len(cats) == len(pol) == 62723
    assert cats.texts == pol.texts and cats.splits == pol.splits
    assert cats.class_counts()["热水器"] == 573 and cats.class_counts()["平板"] == 10000
    assert pol.class_counts() == {"negative": 31016, "positive": 31707}
    assert cats.texts[0].startswith("做父母一定要有刘墉这样的心态")  # BOM removed
    assert cats.labels[0] == "书籍" and pol.labels[0] == "positive"
    assert not any("\ufeff" in t for t in cats.texts)


def test_chnsenticorp_counts_and_quotes():
    c = corpus("chnsenticorp")
    assert c.class_counts() == {"negative": 2443, "positive": 5322}  # one empty negative dropped
    assert (
        c.texts[0]
        == '距离川沙公路较近,但是公交指示不对,如果是"蔡陆线"的话,会非常麻烦.'
        "建议用别的路线.房间较为简单."
    )
    assert c.labels[0] == "positive"


def test_thucnews_titles_counts():
    c = corpus("thucnews-titles")
    assert sizes(c) == {"train": 10000, "test": 10000}
    assert c.class_counts("test") == dict.fromkeys(c.classes, 1000)
    assert (c.texts[0], c.labels[0]) == ("体验2D巅峰 倚天屠龙记十大创新概览", "game")
    assert (c.texts[1], c.labels[1]) == ("60年铁树开花形状似玉米芯(组图)", "society")


def test_tnews_splits_classes_and_keywords():
    c = corpus("tnews")
    assert len(c.classes) == 15 and "story" in c.classes and "game" in c.classes
    assert sizes(c) == {"train": 1185, "dev": 1098, "test": 2010}
    assert c.class_counts("test") == dict.fromkeys(c.classes, 134)
    assert all(
        len(c.splits[f"train_{k}"]) == 240 and len(c.splits[f"dev_{k}"]) == 240 for k in range(5)
    )
    assert set(c.splits["train_0"]) <= set(c.splits["train"])
    i = record(c, "孩子跟谁睡，就是谁的孩子")
    assert c.labels[i] == "story"
    assert [w for _, w in c.word_labels[i]] == [
        "目送",
        "卡明斯",
        "占有敏感期",
        "亲子关系",
        "妈妈是超人3",
        "黄圣依",
    ]
    j = record(c, "为何农民工每天日夜加班却没有网红在家里直播几天的收入高？")
    assert c.labels[j] == "entertainment" and c.word_labels[j] == ()
    assert j in c.splits["train_0"]
    assert c.split("train_0").to_examples()[0].task is TaskWord.SENTIMENT_N


def test_eprstmt_dedupes_repeated_records():
    c = corpus("eprstmt")
    # few_all files hold 160 records each, 131 / 135 distinct sentences
    assert sizes(c) == {"train": 131, "dev": 135, "test": 610}
    assert c.class_counts("test") == {"negative": 305, "positive": 305}
    assert len(c.splits["train_3"]) == 28
    assert c.labels[record(c, "还不错，等试用一段时间再说")] == "positive"


def test_iflytek_classes():
    c = corpus("iflytek")
    assert len(c.classes) == 119 and c.classes[8] == "公共交通"
    assert sizes(c) == {"train": 3024, "dev": 1373, "test": 1749}
    assert sum(1 for n in c.class_counts("test").values() if n) == 98


def test_peng_absa_domain_and_sentiment():
    c = corpus("peng-absa")
    assert c.classes == ("camera", "car", "notebook", "phone")
    # distinct sentences per APC file, counted by hand
    assert c.class_counts("train") == {"camera": 1548, "car": 802, "notebook": 457, "phone": 1755}
    assert c.class_counts("test") == {"camera": 565, "car": 285, "notebook": 154, "phone": 635}
    i = record(c, "寸万像素的超级晶彩屏视角非常宽")
    assert c.labels[i] == "camera" and c.word_labels[i] == (("positive", "彩屏视角"),)
    s = corpus("peng-absa-sentiment")
    assert s.labels[record(s, "寸万像素的超级晶彩屏视角非常宽")] == "positive"
    assert s.labels[record(s, "而且色彩鲜艳反差略大")] == "negative"


# --- every corpus ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_every_corpus_is_well_formed(name):
    c = corpus(name)
    assert c.name == name and c.lang == CORPORA[name].lang and len(c) > 0
    assert {"train", "test"} <= set(c.splits)
    covered = set()
    for s in ("train", "dev", "test"):
        part = set(c.splits.get(s, ()))
        assert not part & covered, f"{s} overlaps an earlier split"
        covered |= part
    assert covered == set(range(len(c)))  # every record is in train, dev or test
    assert set(c.labels) <= set(c.classes)
    assert all(t.strip() == t and t for t in c.texts)
    if c.word_labels is not None:
        assert len(c.word_labels) == len(c)


@pytest.mark.parametrize("name", ["mr", "chabsa", "livedoor", "chnsenticorp", "ner-wikipedia"])
def test_seeded_splits_are_identical_across_loads(name):
    again = load_corpus(name, DATASETS)
    assert again == corpus(name)
    assert again.splits == corpus(name).splits


def test_split_and_to_examples_roundtrip():
    c = corpus("semeval14-laptops")
    test = c.split("test")
    assert len(test) == 323 and test.splits == {"test": tuple(range(323))}
    examples = test.to_examples()
    back = Corpus.from_examples(examples, "laptops-test", classes=c.classes)
    assert back.texts == test.texts and back.labels == test.labels
    assert back.word_labels == test.word_labels and back.lang == "en"


def test_readers_are_quick():
    import time

    for name in ("online-shopping-10cats", "livedoor"):
        start = time.perf_counter()
        load_corpus(name, DATASETS)
        assert time.perf_counter() - start < 10, name


def test_corpora_package_import_stays_light():
    import subprocess
    import sys

    code = (
        "import sys, mrekv.data.corpora, mrekv.data.corpus; "
        "bad = [m for m in ('torch', 'transformers', 'sklearn', 'numpy', 'jieba', 'fugashi', "
        "'nltk') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    env = dict(os.environ)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
