"""mrekv.openprompt.data_utils: OpenPrompt's paths, processors on tiny folders, the sampler."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mrekv.errors import ConfigError, CorpusFormatError
from mrekv.openprompt import data_utils
from mrekv.openprompt.data_utils import PROCESSORS, InputExample, InputFeatures
from mrekv.openprompt.data_utils.data_processor import DataProcessor
from mrekv.openprompt.data_utils.data_sampler import FewShotSampler
from mrekv.openprompt.data_utils.huggingface_dataset import YahooAnswersTopicsProcessor
from mrekv.openprompt.data_utils.text_classification_dataset import (
    AgnewsProcessor,
    AmazonProcessor,
    DBpediaProcessor,
    ImdbProcessor,
    MnliProcessor,
    SST2Processor,
    YahooProcessor,
)

# ---------------------------------------------------------------------- module paths


def test_openprompt_module_paths_give_the_same_classes():
    from mrekv.openprompt.data_utils import utils

    assert utils.InputExample is InputExample and utils.InputFeatures is InputFeatures
    assert data_utils.FewShotSampler is FewShotSampler
    assert data_utils.AgnewsProcessor is AgnewsProcessor
    assert data_utils.YahooAnswersTopicsProcessor is YahooAnswersTopicsProcessor
    # the pipeline and templates still find them where they always did
    from mrekv.openprompt.pipeline_base import InputFeatures as used

    assert used is InputFeatures


def test_processors_table_names_every_dataset():
    assert PROCESSORS == {
        "agnews": AgnewsProcessor,
        "dbpedia": DBpediaProcessor,
        "amazon": AmazonProcessor,
        "imdb": ImdbProcessor,
        "sst-2": SST2Processor,
        "mnli": MnliProcessor,
        "yahoo": YahooProcessor,
        "yahoo_answers_topics": YahooAnswersTopicsProcessor,
    }
    sizes = {name: cls().get_num_labels() for name, cls in PROCESSORS.items()}
    assert sizes == {
        "agnews": 4,
        "dbpedia": 14,
        "amazon": 2,
        "imdb": 2,
        "sst-2": 2,
        "mnli": 3,
        "yahoo": 10,
        "yahoo_answers_topics": 10,
    }


def test_data_processor_labels_and_mappings(tmp_path: Path):
    p = DataProcessor(labels=["neg", "pos"])
    assert p.get_labels() == ["neg", "pos"] and p.get_num_labels() == 2
    assert p.label_mapping == {"neg": 0, "pos": 1} and p.id2label == {0: "neg", 1: "pos"}
    assert p.get_label_id("pos") == 1 and p.get_label_id(None) is None
    with pytest.raises(ConfigError, match="valid choices: 'neg', 'pos'"):
        p.get_label_id("neutral")
    p.label_mapping = {"b": 1, "a": 0}
    assert p.labels == ["a", "b"]
    (tmp_path / "labels.txt").write_text("positive neutral\nnegative\n", encoding="utf-8")
    assert DataProcessor(labels_path=tmp_path / "labels.txt").labels == [
        "positive",
        "neutral",
        "negative",
    ]
    with pytest.raises(ConfigError, match="has no labels"):
        _ = DataProcessor().labels
    with pytest.raises(NotImplementedError):
        DataProcessor(labels=["a"]).get_train_examples(tmp_path)


# ---------------------------------------------------------------------- folders


def _csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)


def test_agnews_reads_openprompt_csv_layout(tmp_path: Path):
    _csv(
        tmp_path / "train.csv",
        [
            ["3", "Fears for pension", "Unions say they are\\disappointed, again."],
            ["2", "A goal", "The striker scored."],
        ],
    )
    _csv(tmp_path / "test.csv", [["4", "New chip", "Faster."]])
    processor = AgnewsProcessor()
    train = processor.get_train_examples(tmp_path)
    assert processor.get_labels() == ["World", "Sports", "Business", "Tech"]
    assert [(e.guid, e.label) for e in train] == [("0", 2), ("1", 1)]
    assert train[0].text_a == "Fears for pension"
    assert train[0].text_b == "Unions say they are disappointed, again."  # backslash -> space
    test = processor.get_test_examples(tmp_path)
    assert (test[0].text_a, test[0].label) == ("New chip", 3)
    with pytest.raises(FileNotFoundError, match=r"dev\.csv.*label,title,description"):
        processor.get_dev_examples(tmp_path)


def test_csv_rows_with_a_bad_label_or_width_name_the_line(tmp_path: Path):
    _csv(tmp_path / "train.csv", [["1", "a", "b"], ["5", "c", "d"]])
    with pytest.raises(CorpusFormatError, match=r"train\.csv, line 2: label '5' is not a class"):
        AgnewsProcessor().get_train_examples(tmp_path)
    _csv(tmp_path / "train.csv", [["1", "a", "b"], ["x", "c", "d"]])
    with pytest.raises(CorpusFormatError, match="line 2: label 'x' is not an integer"):
        AgnewsProcessor().get_train_examples(tmp_path)
    _csv(tmp_path / "train.csv", [["1", "a"]])
    with pytest.raises(CorpusFormatError, match="line 1: expected 3 fields"):
        AgnewsProcessor().get_train_examples(tmp_path)
    with pytest.raises(ConfigError, match="needs data_dir"):
        AgnewsProcessor().get_train_examples()


def _txt(folder: Path, split: str, texts: list[str], labels: list[str]) -> None:
    (folder / f"{split}.txt").write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    (folder / f"{split}_labels.txt").write_text("".join(y + "\n" for y in labels), encoding="utf-8")


def test_dbpedia_splits_the_first_sentence(tmp_path: Path):
    _txt(
        tmp_path,
        "train",
        ["Acme Corp. Acme is a firm. It sells anvils.", "Lone title without a break"],
        ["0", "13"],
    )
    train = DBpediaProcessor().get_train_examples(tmp_path)
    assert (train[0].text_a, train[0].text_b, train[0].label) == (
        "Acme Corp.",
        "Acme is a firm. It sells anvils.",
        0,
    )
    assert (train[1].text_a, train[1].text_b, train[1].label) == (
        "Lone title without a break.",
        "",
        13,
    )


@pytest.mark.parametrize(
    ("cls", "labels"),
    [(ImdbProcessor, ["negative", "positive"]), (AmazonProcessor, ["bad", "good"])],
)
def test_review_processors_read_text_and_labels_files(tmp_path: Path, cls, labels):
    _txt(tmp_path, "test", ["  a dull film \t", "a lovely film"], ["0", "1"])
    processor = cls()
    test = processor.get_test_examples(tmp_path)
    assert processor.get_labels() == labels
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in test] == [
        ("0", "a dull film", "", 0),
        ("1", "a lovely film", "", 1),
    ]


def test_text_and_labels_files_must_agree(tmp_path: Path):
    _txt(tmp_path, "train", ["one", "two"], ["0"])
    with pytest.raises(CorpusFormatError, match="has 2 lines but .* has 1 labels"):
        ImdbProcessor().get_train_examples(tmp_path)
    _txt(tmp_path, "train", ["one", "two"], ["0", "2"])
    with pytest.raises(CorpusFormatError, match=r"train_labels\.txt, line 2: label '2'"):
        ImdbProcessor().get_train_examples(tmp_path)
    (tmp_path / "train_labels.txt").unlink()
    with pytest.raises(FileNotFoundError, match="train_labels.txt"):
        ImdbProcessor().get_train_examples(tmp_path)


def test_yahoo_csv_joins_title_and_content(tmp_path: Path):
    _csv(tmp_path / "train.csv", [["10", "Who won?", "The vote\\nlast week", "They did\\n."]])
    (example,) = YahooProcessor().get_train_examples(tmp_path)
    assert example.text_a == "Who won? The vote last week"
    assert example.text_b == "They did ."
    assert example.label == 9


def test_sst2_skips_the_header_and_maps_string_labels(tmp_path: Path):
    (tmp_path / "dev.tsv").write_text(
        "sentence\tlabel\na stirring film\t1\nflat\t0\n", encoding="utf-8"
    )
    dev = SST2Processor().get_dev_examples(tmp_path)
    assert [(e.guid, e.text_a, e.label) for e in dev] == [
        ("dev-0", "a stirring film", 1),
        ("dev-1", "flat", 0),
    ]
    (tmp_path / "dev.tsv").write_text("sentence\tlabel\nflat\t2\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"dev\.tsv, line 2: unknown label '2'"):
        SST2Processor().get_dev_examples(tmp_path)


def test_mnli_reads_pairs(tmp_path: Path):
    _csv(tmp_path / "train.csv", [["2", "A man sleeps.", "A person rests."]])
    (example,) = MnliProcessor().get_train_examples(tmp_path)
    assert (example.text_a, example.text_b, example.label) == (
        "A man sleeps.",
        "A person rests.",
        1,
    )


def _yahoo_rows() -> list[dict]:
    return [
        {
            "id": 7,
            "topic": 5,
            "question_title": "Best goal?",
            "question_content": "Ever.",
            "best_answer": "That one.",
        },
        {
            "id": 8,
            "topic": 0,
            "question_title": "Why?",
            "question_content": "",
            "best_answer": "Because.",
        },
    ]


def test_yahoo_answers_topics_reads_json_lines_and_dev_is_train(tmp_path: Path):
    lines = "".join(json.dumps(r) + "\n" for r in _yahoo_rows())
    (tmp_path / "train.jsonl").write_text(lines, encoding="utf-8")
    processor = YahooAnswersTopicsProcessor()
    train = processor.get_train_examples(tmp_path)
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in train] == [
        ("7", "Best goal?", "Ever.", 5),
        ("8", "Why?", "", 0),
    ]
    assert [e.guid for e in processor.get_dev_examples(tmp_path)] == ["7", "8"]
    assert processor.transform(_yahoo_rows()[0]).label == 5
    (tmp_path / "train.jsonl").write_text('{"id": 1, "topic": 3}\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="line 1: missing field.*question_title"):
        processor.get_train_examples(tmp_path)
    with pytest.raises(FileNotFoundError, match="no Yahoo! Answers split 'test'"):
        processor.get_test_examples(tmp_path)


def test_yahoo_answers_topics_reads_the_original_csv(tmp_path: Path):
    _csv(tmp_path / "test.csv", [["6", "Best goal?", "Ever.", "That one."]])
    (example,) = YahooAnswersTopicsProcessor().get_test_examples(tmp_path)
    assert (example.guid, example.text_a, example.text_b, example.label) == (
        "0",
        "Best goal?",
        "Ever.",
        5,
    )


def test_yahoo_answers_topics_reads_a_save_to_disk_folder(tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    rows = _yahoo_rows()
    table = datasets.Dataset.from_list(rows)
    datasets.DatasetDict({"train": table, "test": table.select([1])}).save_to_disk(tmp_path / "y")
    processor = YahooAnswersTopicsProcessor()
    assert [e.guid for e in processor.get_train_examples(tmp_path / "y")] == ["7", "8"]
    assert [e.label for e in processor.get_test_examples(tmp_path / "y")] == [0]
    with pytest.raises(ConfigError, match="no split 'unlabeled'"):
        processor.get_unlabeled_examples(tmp_path / "y")


# ---------------------------------------------------------------------- FewShotSampler


def _examples(labels: list[int]) -> list[InputExample]:
    return [InputExample(guid=i, text_a=f"text {i}", label=y) for i, y in enumerate(labels)]


def _reference_per_label(rng, indices, labels, k):
    """OpenPrompt's strategy II, spelled out: shuffle each label's group, keep k, shuffle all."""
    kept = []
    for label in dict.fromkeys(labels):
        group = np.array([i for i, y in zip(indices, labels, strict=True) if y == label])
        rng.shuffle(group)
        kept += group[:k].tolist()
    kept = np.array(kept)
    rng.shuffle(kept)
    return kept.tolist()


def test_per_label_draws_are_openprompts():
    labels = [2, 0, 1, 0, 2, 2, 1, 0, 0, 1, 2, 1, 0]
    data = _examples(labels)
    train = FewShotSampler(num_examples_per_label=2)(data, seed=7)
    expected = _reference_per_label(np.random.RandomState(7), list(range(13)), labels, 2)
    assert [e.guid for e in train] == expected
    assert sorted(e.label for e in train) == [0, 0, 1, 1, 2, 2]
    assert all(e is data[e.guid] for e in train)  # the same objects, as OpenPrompt


def test_total_draws_are_openprompts():
    data = _examples([0] * 9)
    train = FewShotSampler(num_examples_total=4)(data, seed=3)
    indices = list(range(9))
    np.random.RandomState(3).shuffle(indices)
    assert [e.guid for e in train] == indices[:4]
    assert len(FewShotSampler(num_examples_total=50)(data, seed=3)) == 9  # all, shuffled


def test_dev_set_comes_from_the_leftovers_on_the_same_stream():
    labels = [0, 1] * 8
    data = _examples(labels)
    sampler = FewShotSampler(
        num_examples_per_label=3, also_sample_dev=True, num_examples_per_label_dev=2
    )
    train, dev = sampler(data, seed=11)
    rng = np.random.RandomState(11)
    first = _reference_per_label(rng, list(range(16)), labels, 3)
    rest = [i for i in range(16) if i not in set(first)]
    second = _reference_per_label(rng, rest, [labels[i] for i in rest], 2)
    assert [e.guid for e in train] == first and [e.guid for e in dev] == second
    assert not {e.guid for e in train} & {e.guid for e in dev}
    # dev sizes default to the training sizes
    train, dev = FewShotSampler(num_examples_total=5, also_sample_dev=True)(data, seed=1)
    assert len(train) == len(dev) == 5


def test_a_valid_dataset_is_sampled_with_the_dev_sizes():
    train_data, valid_data = _examples([0, 1] * 6), _examples([0, 1] * 6)
    sampler = FewShotSampler(
        num_examples_per_label=3, also_sample_dev=True, num_examples_per_label_dev=1
    )
    train, valid = sampler(train_data, valid_data, seed=5)
    assert len(train) == 6 and len(valid) == 2
    train, valid = FewShotSampler(num_examples_per_label=1)(train_data, valid_data, seed=5)
    assert len(train) == 2 and valid is valid_data  # not sampled without also_sample_dev


def test_same_seed_same_draw_and_torch_datasets_give_subsets():
    import torch
    from torch.utils.data import Subset

    data = _examples([0, 1, 2] * 10)
    sampler = FewShotSampler(num_examples_per_label=4)
    assert [e.guid for e in sampler(data, seed=2)] == [e.guid for e in sampler(data, seed=2)]
    assert [e.guid for e in sampler(data, seed=2)] != [e.guid for e in sampler(data, seed=3)]

    class Wrapped(torch.utils.data.Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return data[i]

    subset = sampler(Wrapped(), seed=2)
    assert isinstance(subset, Subset)
    assert [subset[i].guid for i in range(len(subset))] == [e.guid for e in sampler(data, seed=2)]


def test_sampler_sizes_are_checked():
    with pytest.raises(ConfigError, match="exactly one of"):
        FewShotSampler()
    with pytest.raises(ConfigError, match="exactly one of"):
        FewShotSampler(num_examples_total=4, num_examples_per_label=2)
    with pytest.raises(ConfigError, match="at most one of"):
        FewShotSampler(
            num_examples_total=4,
            also_sample_dev=True,
            num_examples_total_dev=2,
            num_examples_per_label_dev=2,
        )
    with pytest.raises(ConfigError, match="non-negative integer"):
        FewShotSampler(num_examples_per_label=-1)
    with pytest.raises(ValueError):  # what OpenPrompt raises; ConfigError is one
        FewShotSampler(num_examples_total=2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="example 0 .* has no label"):
        FewShotSampler(num_examples_per_label=1)([{"text": "a"}], seed=0)
