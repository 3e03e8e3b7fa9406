"""Few-shot splits and the Corpus form, on small hand-built corpora (plus one real one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrekv.data.corpus import Corpus
from mrekv.data.example import MREExample, TaskWord
from mrekv.data.split import (
    FewShotSplit,
    few_shot_split,
    group_sample,
    knowledge_split,
    stratified_sample,
)
from mrekv.errors import ConfigError

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def toy(n_a: int = 10, n_b: int = 6, dev_b: int = 2, n_test: int = 4) -> Corpus:
    """Train: n_a 'a' then n_b 'b'; dev: dev_b 'b'; test: n_test alternating a/b."""
    labels = ["a"] * n_a + ["b"] * n_b + ["b"] * dev_b + ["a", "b"] * (n_test // 2)
    texts = [f"text {i}" for i in range(len(labels))]
    train = range(n_a + n_b)
    dev = range(n_a + n_b, n_a + n_b + dev_b)
    test = range(n_a + n_b + dev_b, len(labels))
    return Corpus(
        "toy",
        "en",
        tuple(texts),
        tuple(labels),
        ("a", "b"),
        splits={"train": tuple(train), "dev": tuple(dev), "test": tuple(test)},
    )


def per_class(c: Corpus, idx: tuple[int, ...]) -> dict[str, int]:
    out = dict.fromkeys(c.classes, 0)
    for i in idx:
        out[c.labels[i]] += 1
    return out


# --- sampling helpers -----------------------------------------------------------------


def test_stratified_sample_takes_rounded_fraction_per_class():
    labels = ["a"] * 10 + ["b"] * 4
    drawn = stratified_sample(labels, range(14), 0.5, seed=3)
    assert sum(labels[i] == "a" for i in drawn) == 5
    assert sum(labels[i] == "b" for i in drawn) == 2
    assert list(drawn) == sorted(drawn)
    quarter = stratified_sample(labels, range(14), 0.25, seed=3)
    assert [labels[i] for i in quarter].count("a") == 2  # round(2.5) = 2 (banker's rounding)
    assert [labels[i] for i in quarter].count("b") == 1
    assert stratified_sample(labels, range(14), 0.5, seed=3) == drawn
    assert stratified_sample(labels, [0, 1, 12], 1.0, seed=0) == (0, 1, 12)


def test_stratified_sample_rejects_bad_fraction():
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        stratified_sample(["a"], [0], 1.5, seed=0)


def test_group_sample_keeps_groups_whole():
    groups = ["d1", "d1", "d2", "d2", "d2", "d3", "d4", "d4", "d5", "d5"]
    drawn = group_sample(groups, range(10), 0.4, seed=7)
    chosen = {groups[i] for i in drawn}
    assert len(chosen) == 2  # round(0.4 * 5 groups)
    assert set(drawn) == {i for i, g in enumerate(groups) if g in chosen}


# --- few_shot_split -------------------------------------------------------------------


def test_parts_are_disjoint_and_sized_per_class():
    c = toy()
    s = few_shot_split(c, k=2, seed=1)
    assert isinstance(s, FewShotSplit)
    parts = [set(s.train), set(s.dev), set(s.test), set(s.knowledge)]
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            assert not a & b
    assert per_class(c, s.train) == {"a": 2, "b": 2}
    assert per_class(c, s.dev) == {"a": 2, "b": 2}
    assert s.test == (18, 19, 20, 21)
    # knowledge: half of every class of the pool (train + dev): a 5 of 10, b 4 of 8
    assert per_class(c, s.knowledge) == {"a": 5, "b": 4}
    assert set(s.train) | set(s.dev) | set(s.knowledge) <= set(range(18))


def test_same_seed_same_split_and_different_seeds_differ():
    c = toy(n_a=40, n_b=40, dev_b=0)
    assert few_shot_split(c, k=4, seed=5) == few_shot_split(c, k=4, seed=5)
    draws = {few_shot_split(c, k=4, seed=seed).train for seed in range(5)}
    assert len(draws) == 5


def test_knowledge_split_does_not_depend_on_the_few_shot_seed():
    c = toy(n_a=40, n_b=40, dev_b=0)
    know = {few_shot_split(c, k=k, seed=seed).knowledge for seed in range(4) for k in (1, 4)}
    assert len(know) == 1
    assert know.pop() == knowledge_split(c)
    assert few_shot_split(c, k=1, seed=0, knowledge_seed=9).knowledge != knowledge_split(c)


def test_dev_k_and_zero_shot():
    c = toy()
    s = few_shot_split(c, k=1, seed=0, dev_k=3)
    assert per_class(c, s.train) == {"a": 1, "b": 1}
    assert per_class(c, s.dev) == {"a": 3, "b": 3}
    zero = few_shot_split(c, k=0, seed=0)
    assert zero.train == () and zero.dev == () and zero.test == (18, 19, 20, 21)
    assert len(zero.knowledge) == 9


def test_no_knowledge_split():
    c = toy()
    s = few_shot_split(c, k=4, seed=0, knowledge=None)
    assert s.knowledge == () and s.knowledge_method is None and s.knowledge_fraction == 0.0
    assert per_class(c, s.train) == {"a": 4, "b": 4}  # b has 8 in the pool: 4 + 4 fits


def test_too_small_class_names_class_and_counts():
    c = toy()
    # after the knowledge half, a has 5 and b has 4 records left; k=3 + dev_k=3 needs 6
    with pytest.raises(ConfigError, match=r"need 6 records per class.*'a': 5, 'b': 4"):
        few_shot_split(c, k=3, seed=0)
    with pytest.raises(ConfigError, match=r"'b': 4"):
        few_shot_split(c, k=2, seed=0, dev_k=3)


def test_pool_without_dev_and_bad_arguments():
    c = toy()
    s = few_shot_split(c, k=1, seed=0, pool=("train",))
    assert per_class(c, s.knowledge) == {"a": 5, "b": 3}  # dev's 2 b records left out
    assert not set(s.train + s.dev + s.knowledge) & {16, 17}
    with pytest.raises(ConfigError, match="test split cannot"):
        few_shot_split(c, k=1, seed=0, pool=("train", "test"))
    with pytest.raises(ConfigError, match="unknown pool split 'extra'"):
        few_shot_split(c, k=1, seed=0, pool=("train", "extra"))
    with pytest.raises(ConfigError, match="unknown knowledge method 'random'"):
        few_shot_split(c, k=1, seed=0, knowledge="random")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="k must be >= 0"):
        few_shot_split(c, k=-1, seed=0)
    with pytest.raises(ConfigError, match=r"knowledge_fraction must be in \[0, 1\)"):
        few_shot_split(c, k=1, seed=0, knowledge_fraction=1.0)


def test_missing_test_split_is_named():
    c = Corpus("tiny", "en", ("x", "y"), ("a", "b"), ("a", "b"), splits={"train": (0, 1)})
    with pytest.raises(KeyError, match="unknown split 'test'"):
        few_shot_split(c, k=0, seed=0)


def test_materialise_and_record():
    c = toy()
    s = few_shot_split(c, k=2, seed=1)
    assert s.texts(c, "test") == ["text 18", "text 19", "text 20", "text 21"]
    assert s.labels(c, "test") == ["a", "b", "a", "b"]
    assert sorted(s.labels(c, "train")) == ["a", "a", "b", "b"]
    examples = s.examples(c, "knowledge")
    assert len(examples) == 9 and all(isinstance(e, MREExample) for e in examples)
    assert s.to_dict()["sizes"] == {"train": 4, "dev": 4, "test": 4, "knowledge": 9}
    assert s.to_dict()["knowledge_seed"] == 0 and s.to_dict()["pool"] == ["train", "dev"]
    with pytest.raises(ValueError, match="unknown split part 'val'"):
        s.indices("val")


@pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is absent")
def test_real_corpus_sst2():
    from mrekv.data.corpora import load_corpus

    c = load_corpus("sst2", DATASETS)
    s = few_shot_split(c, k=16, seed=13)
    assert per_class(c, s.train) == {"negative": 16, "positive": 16}
    assert len(s.test) == 1821
    # pool = train 6,920 + dev 872; knowledge = half of each class: 3,738 neg, 4,054 pos
    assert per_class(c, s.knowledge) == {"negative": 1869, "positive": 2027}
    assert few_shot_split(c, k=16, seed=14).knowledge == s.knowledge


# --- the Corpus form ------------------------------------------------------------------


def test_corpus_rejects_overlapping_splits_and_unknown_labels():
    with pytest.raises(ValueError, match="'train' and 'test' share 1 records"):
        Corpus("bad", "en", ("x", "y"), ("a", "a"), ("a",), splits={"train": (0, 1), "test": (1,)})
    with pytest.raises(ValueError, match="record 1: unknown class 'c'"):
        Corpus("bad", "en", ("x", "y"), ("a", "c"), ("a", "b"))
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        Corpus("bad", "fr", ("x",), ("a",), ("a",))
    with pytest.raises(ValueError, match="out of range"):
        Corpus("bad", "en", ("x",), ("a",), ("a",), splits={"train": (1,)})


def test_corpus_split_renumbers_and_keeps_overlapping_extras():
    c = Corpus(
        "c",
        "zh",
        ("p", "q", "r", "s"),
        ("a", "b", "a", "b"),
        ("a", "b"),
        word_labels=((("kw", "p"),), (), (), (("kw", "s"),)),
        splits={"train": (0, 2, 3), "test": (1,), "train_0": (2, 3)},
    )
    train = c.split("train")
    assert train.texts == ("p", "r", "s")
    assert train.splits == {"train": (0, 1, 2), "train_0": (1, 2)}
    assert train.word_labels == ((("kw", "p"),), (), (("kw", "s"),))
    assert c.class_counts("train") == {"a": 2, "b": 1}
    with pytest.raises(KeyError, match="valid choices: 'train', 'test', 'train_0'"):
        c.split("dev")


def test_to_examples_task_words():
    c = Corpus(
        "c", "ja", ("文",), ("a",), ("a",), word_labels=((("人名", "山田"),),), family="SCNM"
    )
    (ex,) = c.to_examples()
    assert ex.task is TaskWord.NER and ex.word_labels == (("人名", "山田"),) and ex.lang == "ja"
    plain = Corpus("c", "en", ("t",), ("a",), ("a",))
    assert plain.to_examples()[0].task is TaskWord.SENTIMENT_ADJ_AND_N
    assert plain.to_examples(task="Sentiment Adj")[0].task is TaskWord.SENTIMENT_ADJ


def test_from_examples():
    ex = [
        MREExample(
            "Great pasta.", "positive", TaskWord.SENTIMENT_ADJ, (("positive", "Great"),), lang="en"
        ),
        MREExample(
            "Cold soup.", "negative", TaskWord.SENTIMENT_ADJ, (("negative", "Cold"),), lang="en"
        ),
    ]
    c = Corpus.from_examples(ex, "mmm", splits={"train": [0], "test": [1]})
    assert c.classes == ("negative", "positive") and c.lang == "en"
    assert c.split("test").texts == ("Cold soup.",)
    assert c.word_labels == ((("positive", "Great"),), (("negative", "Cold"),))
    assert Corpus.from_examples(ex, "mmm").splits == {"train": (0, 1)}
    mixed = [ex[0], MREExample("寒い", "negative", lang="ja")]
    with pytest.raises(ValueError, match="pass lang="):
        Corpus.from_examples(mixed, "mixed")
