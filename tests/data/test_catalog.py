"""The MMM catalog and load_mmm (offline only)."""

from __future__ import annotations

import time

import pytest

from mrekv.data import catalog
from mrekv.data.catalog import (
    MMM_DATASETS,
    DatasetUnavailableError,
    get_mmm_dataset,
    load_mmm,
)
from mrekv.data.example import Family, MREExample, TaskWord
from mrekv.data.mmm import write_mmm
from mrekv.errors import ConfigError, MMMFormatError, MrekvError


def test_catalog_has_every_language_and_family_once():
    assert len(MMM_DATASETS) == 21
    assert {(d.lang, d.family) for d in MMM_DATASETS} == {
        (lang, fam) for lang in ("en", "ja", "zh") for fam in Family
    }
    assert len({d.name for d in MMM_DATASETS}) == 21
    assert len({d.alias for d in MMM_DATASETS}) == 21
    assert len({d.train_file for d in MMM_DATASETS} | {d.test_file for d in MMM_DATASETS}) == 42


def test_entry_fields():
    entry = get_mmm_dataset("zh-SCPOS:Adj & N")
    assert entry.alias == "zh-scpos-adj-n"
    assert entry.task_word is TaskWord.SENTIMENT_ADJ_AND_N
    assert entry.train_file == "zh_scpos-adj-n_train.json"
    assert entry.filename("test") == "zh_scpos-adj-n_test.json"
    assert entry.repo_id("train") == "ganchengguang/MMM-dataset-Trainset"
    assert entry.repo_id("test") == "ganchengguang/MMM-datasets-Testset"
    assert get_mmm_dataset("en-TCREE").task_word is TaskWord.RELATION_EXTRACTION
    assert get_mmm_dataset("ja-TCONER").task_word is TaskWord.NER


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("en-SCPOS:Adj", "en-SCPOS:Adj"),
        ("EN-scpos:adj", "en-SCPOS:Adj"),
        ("en-scpos-adj", "en-SCPOS:Adj"),
        ("en-scpos-adj-n", "en-SCPOS:Adj & N"),
        ("en-SCPOS:Adj and N", "en-SCPOS:Adj & N"),
        ("EN_SCPOS_ADJ_N", "en-SCPOS:Adj & N"),
        ("ja-scpos-rw", "ja-SCPOS:RW"),
        ("Zh-Tconer", "zh-TCONER"),
        ("zh-scpos-n", "zh-SCPOS:N"),
    ],
)
def test_names_resolve_case_insensitively_with_aliases(query, name):
    assert get_mmm_dataset(query).name == name


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ConfigError) as info:
        get_mmm_dataset("en-SCPOS")
    message = str(info.value)
    assert "'en-SCPOS'" in message and "'ja-SCNM'" in message and "'zh-TCONER'" in message


def _examples():
    return [
        MREExample("Tasty soup.", "positive", TaskWord.SENTIMENT_ADJ_AND_N,
                   word_labels=[("positive", "Tasty")]),
        MREExample("Cold, bland rice.", "negative", TaskWord.SENTIMENT_ADJ_AND_N,
                   word_labels=[("negative", "bland"), ("negative", "rice")]),
    ]


def test_load_from_local_folder_and_file(tmp_path):
    entry = get_mmm_dataset("en-scpos-adj-n")
    write_mmm(tmp_path / entry.test_file, _examples(), format="json")
    got = load_mmm("en-scpos-adj-n", "test", path=tmp_path)
    assert [e.text_label for e in got] == ["positive", "negative"]
    assert all(e.lang == "en" for e in got)
    assert load_mmm("en-scpos-adj-n", "test", path=tmp_path / entry.test_file) == got
    write_mmm(tmp_path / "mine.jsonl", _examples())
    assert load_mmm("en-scpos-adj-n", path=tmp_path, filename="mine.jsonl") == got


def test_local_missing_file_names_what_was_expected(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="ja_scnm_train.json") as info:
        load_mmm("ja-scnm", "train", path=tmp_path)
    assert "filename=" in str(info.value)
    assert isinstance(info.value, MrekvError) and isinstance(info.value, FileNotFoundError)


def test_local_malformed_record_raises_or_skips(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"input": "a/NER", "output": "b/NER/"}\n{"input": 1}\n')
    with pytest.raises(MMMFormatError, match="line 2"):
        load_mmm("en-scnm", path=tmp_path / "x.jsonl")
    assert len(load_mmm("en-scnm", path=tmp_path / "x.jsonl", on_error="skip")) == 1


def test_bad_split_lists_choices(tmp_path):
    with pytest.raises(ConfigError, match="'train', 'test'"):
        load_mmm("en-scnm", "dev", path=tmp_path)  # type: ignore[arg-type]


def test_offline_hub_fails_fast_and_names_the_remedy(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError) as info:
        load_mmm("ja-SCNM", "test")
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "HF_HUB_OFFLINE" in message
    assert "path=" in message and "--data-dir" in message
    assert "ganchengguang/MMM-datasets-Testset" in message and "ja_scnm_test.json" in message


def test_unreachable_hub_fails_fast_without_retries(monkeypatch):
    monkeypatch.setattr(catalog, "_offline", lambda: False)
    monkeypatch.setattr(catalog, "_hub_reachable", lambda endpoint: False)
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError, match="cannot be reached"):
        load_mmm("zh-tcree", "train", filename="surely-not-cached-mrekv.json")
    assert time.perf_counter() - start < 5


def test_hub_download_is_called_with_the_recorded_names(monkeypatch, tmp_path):
    import huggingface_hub

    target = tmp_path / "downloaded.json"
    write_mmm(target, _examples(), format="json")
    calls = []

    def fake_download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs))
        return str(target)

    monkeypatch.setattr(catalog, "_offline", lambda: False)
    monkeypatch.setattr(catalog, "_hub_reachable", lambda endpoint: True)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    got = load_mmm("zh-SCPOS:Adj & N", "train", revision="v1")
    assert len(got) == 2 and got[0].lang == "zh"
    repo_id, filename, kwargs = calls[0]
    assert repo_id == "ganchengguang/MMM-dataset-Trainset"
    assert filename == "zh_scpos-adj-n_train.json"
    assert kwargs["repo_type"] == "dataset" and kwargs["revision"] == "v1"
    assert kwargs["local_files_only"] is False
