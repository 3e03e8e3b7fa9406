"""The MMM catalog and load_mmm (offline only)."""

from __future__ import annotations

import time

import pytest

from mrekv.data import hub
from mrekv.data.catalog import (
    MMM_DATASETS,
    DatasetUnavailableError,
    get_mmm_dataset,
    load_mmm,
)
from mrekv.data.example import Family, MREExample, TaskWord
from mrekv.data.mmm import write_mmm
from mrekv.errors import ConfigError, MMMFormatError, MrekvError

# The file names known to be in the Hub repos (issue 9).
REAL_TRAIN = [
    "Train_Ch_0_SCNM_dataset.json", "Train_Ch_1_SCPOS_RW_clear2.json",
    "Train_Ch_2_SCPOS_1W_adj_n_clear2.json", "Train_Ch_3_SCPOS_1W_n_clear2.json",
    "Train_Ch_4_SCPOS_1W_adj_clear2.json", "Train_Ch_5_TCREE_2k_clear2.json",
    "Train_Ch_MRE_OIEDataset.json", "Train_En_0_SCNM_dataset.json",
    "Train_En_1_SCPOS_RW_dataset.json", "Train_En_2_SCPOS_1W_adj_n_clear2.json",
    "Train_En_3_SCPOS_1W_n_clear2.json", "Train_En_4_SCPOS_1W_adj_clear2.json",
    "Train_En_5_TCREE_2k_clear2.json", "Train_Ja_0_SCNM_5343.json",
    "Train_Ja_2_SCPOS_18W_adj_n.json",
]
REAL_TEST = [
    "test_Ch_0_SCNM_dataset.json", "test_Ch_1_SCPOS_RW_clear2.json",
    "test_Ch_2_SCPOS_1W_adj_n_clear2.json", "test_Ch_3_SCPOS_1W_n_clear2.json",
    "test_Ch_4_SCPOS_1W_adj_clear2.json", "test_Ch_5_TCREE_2k_clear2.json",
    "test_Cn_MRE_OIEDataset.json", "test_En_0_SCNM_dataset.json",
    "test_En_1_SCPOS_RW_dataset.json", "test_En_2_SCPOS_1W_adj_n_clear2.json",
    "test_En_3_SCPOS_1W_n_clear2.json", "test_En_4_SCPOS_1W_adj_clear2.json",
    "test_Ja_5_TCREE_2k.json",
]
# Made-up names in the same pattern for the files whose real names are not known.
GUESSED = {
    ("en-tconer", "train"): "Train_En_MRE_OIEDataset.json",
    ("en-tconer", "test"): "test_En_MRE_OIEDataset.json",
    ("en-tcree", "test"): "test_En_5_TCREE_2k_clear2.json",
    ("ja-scnm", "test"): "test_Ja_0_SCNM_1000.json",
    ("ja-scpos-rw", "train"): "Train_Ja_1_SCPOS_RW_18W.json",
    ("ja-scpos-rw", "test"): "test_Ja_1_SCPOS_RW.json",
    ("ja-scpos-adj-n", "test"): "test_Ja_2_SCPOS_adj_n.json",
    ("ja-scpos-n", "train"): "Train_Ja_3_SCPOS_18W_n.json",
    ("ja-scpos-n", "test"): "test_Ja_3_SCPOS_n.json",
    ("ja-scpos-adj", "train"): "Train_Ja_4_SCPOS_18W_adj.json",
    ("ja-scpos-adj", "test"): "test_Ja_4_SCPOS_adj.json",
    ("ja-tcree", "train"): "Train_Ja_5_TCREE_2k.json",
    ("ja-tconer", "train"): "Train_Ja_MRE_OIEDataset.json",
    ("ja-tconer", "test"): "test_Ja_MRE_OIEDataset.json",
}


def test_catalog_has_every_language_and_family_once():
    assert len(MMM_DATASETS) == 21
    assert {(d.lang, d.family) for d in MMM_DATASETS} == {
        (lang, fam) for lang in ("en", "ja", "zh") for fam in Family
    }
    assert len({d.name for d in MMM_DATASETS}) == 21
    assert len({d.alias for d in MMM_DATASETS}) == 21


def test_catalog_records_exactly_the_real_file_names():
    assert sorted(d.train_file for d in MMM_DATASETS if d.train_file) == sorted(REAL_TRAIN)
    assert sorted(d.test_file for d in MMM_DATASETS if d.test_file) == sorted(REAL_TEST)
    # every name the catalog does not record is one of GUESSED's (lang, family, split)
    unknown = {(d.alias, s) for d in MMM_DATASETS for s in ("train", "test")
               if d.filename(s) is None}
    assert unknown == set(GUESSED)


def test_entry_fields():
    entry = get_mmm_dataset("zh-SCPOS:Adj & N")
    assert entry.alias == "zh-scpos-adj-n"
    assert entry.task_word is TaskWord.SENTIMENT_ADJ_AND_N
    assert entry.train_file == "Train_Ch_2_SCPOS_1W_adj_n_clear2.json"
    assert entry.filename("test") == "test_Ch_2_SCPOS_1W_adj_n_clear2.json"
    assert entry.file_patterns("test") == ("test_Ch_2_SCPOS*.json", "test_Cn_2_SCPOS*.json")
    ja_n = get_mmm_dataset("ja-SCPOS:N")
    assert ja_n.filename("train") is None and ja_n.file_patterns("train") == (
        "Train_Ja_3_SCPOS*.json",)
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
    (tmp_path / "notes.json").write_text("[]")
    with pytest.raises(DatasetUnavailableError, match="Train_Ja_0_SCNM_5343.json") as info:
        load_mmm("ja-scnm", "train", path=tmp_path)
    message = str(info.value)
    assert "filename=" in message and "Train_Ja_0_SCNM*.json" in message
    assert str(tmp_path) in message and "'notes.json'" in message  # what is there
    assert isinstance(info.value, MrekvError) and isinstance(info.value, FileNotFoundError)
    with pytest.raises(DatasetUnavailableError, match="mine.json"):
        load_mmm("ja-scnm", "train", path=tmp_path, filename="mine.json")
    with pytest.raises(DatasetUnavailableError, match="no-such-folder"):
        load_mmm("ja-scnm", "train", path=tmp_path / "no-such-folder")


def _tagged_record(entry, file_name):
    """One valid record of ``entry``'s task whose text is ``file_name``."""
    return MREExample(file_name, "label", entry.task_word)


def test_every_real_file_name_is_found_in_one_folder(tmp_path):
    """All real and pattern-named files side by side: each entry and split finds its own."""
    expected = {}
    for d in MMM_DATASETS:
        for split in ("train", "test"):
            file_name = d.filename(split) or GUESSED[(d.alias, split)]
            expected[(d.alias, split)] = file_name
            write_mmm(tmp_path / file_name, [_tagged_record(d, file_name)], format="json")
    assert len(set(expected.values())) == 42
    for (alias, split), file_name in expected.items():
        got = load_mmm(alias, split, path=tmp_path)  # type: ignore[arg-type]
        assert [e.text for e in got] == [file_name], (alias, split)


@pytest.mark.parametrize("file_name", REAL_TRAIN + REAL_TEST)
def test_each_real_file_name_is_found_alone(tmp_path, file_name):
    matches = [(d, s) for d in MMM_DATASETS for s in ("train", "test")
               if d.filename(s) == file_name]
    assert len(matches) == 1
    entry, split = matches[0]
    (tmp_path / file_name).write_bytes(b"")  # an empty file reads as no records
    (tmp_path / "README.md").write_text("not a data file")
    assert load_mmm(entry.alias, split, path=tmp_path) == []  # type: ignore[arg-type]


def test_the_recorded_name_wins_and_case_is_ignored(tmp_path):
    write_mmm(tmp_path / "Train_En_0_SCNM_dataset.json", _examples())
    (tmp_path / "Train_En_0_SCNM_old.json").write_text("[]")
    assert len(load_mmm("en-scnm", "train", path=tmp_path)) == 2
    write_mmm(tmp_path / "TRAIN_JA_3_scpos_n.JSON", _examples())
    assert len(load_mmm("ja-scpos-n", "train", path=tmp_path)) == 2


def test_several_or_no_matches_list_the_candidates(tmp_path):
    for name in ("Train_Ja_3_SCPOS_n_a.json", "Train_Ja_3_SCPOS_n_b.json", "other.jsonl"):
        (tmp_path / name).write_text("[]")
    with pytest.raises(DatasetUnavailableError) as info:
        load_mmm("ja-scpos-n", "train", path=tmp_path)
    message = str(info.value)
    assert "2 files" in message and "filename=" in message
    assert "'Train_Ja_3_SCPOS_n_a.json', 'Train_Ja_3_SCPOS_n_b.json'" in message
    assert "other.jsonl" not in message
    assert load_mmm("ja-scpos-n", "train", path=tmp_path,
                    filename="Train_Ja_3_SCPOS_n_b.json") == []
    with pytest.raises(DatasetUnavailableError) as info:
        load_mmm("ja-scpos-adj", "test", path=tmp_path)
    message = str(info.value)
    assert "no file" in message and "test_Ja_4_SCPOS*.json" in message
    assert "'Train_Ja_3_SCPOS_n_a.json', 'Train_Ja_3_SCPOS_n_b.json', 'other.jsonl'" in message


def test_find_file_on_a_listing_with_folders():
    entry = get_mmm_dataset("zh-tconer")
    listing = ["README.md", "data/Train_Cn_MRE_OIEDataset.json", "data/test_Cn_x.json"]
    assert entry.find_file("train", listing) == "data/Train_Cn_MRE_OIEDataset.json"
    assert entry.find_file("test", ["sub/test_Cn_MRE_OIEDataset.json"]) == (
        "sub/test_Cn_MRE_OIEDataset.json")
    with pytest.raises(DatasetUnavailableError, match="in the repo"):
        entry.find_file("test", listing, source="the repo")


def test_local_malformed_record_raises_or_skips(tmp_path):
    (tmp_path / "x.jsonl").write_text('{"input": "a/NER", "output": "b/NER/"}\n{"input": 1}\n')
    with pytest.raises(MMMFormatError, match="line 2"):
        load_mmm("en-scnm", path=tmp_path / "x.jsonl")
    assert len(load_mmm("en-scnm", path=tmp_path / "x.jsonl", on_error="skip")) == 1


def test_bad_split_lists_choices(tmp_path):
    with pytest.raises(ConfigError, match="'train', 'test'"):
        load_mmm("en-scnm", "dev", path=tmp_path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "wanted"),
    [("en-SCNM", "test_En_0_SCNM_dataset.json"),  # recorded name: not in the cache
     ("ja-SCNM", "test_Ja_0_SCNM*.json")],  # unknown name: the repo cannot be listed
)
def test_offline_hub_fails_fast_and_names_the_remedy(monkeypatch, tmp_path, name, wanted):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    start = time.perf_counter()
    with pytest.raises(DatasetUnavailableError) as info:
        load_mmm(name, "test")
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "HF_HUB_OFFLINE" in message
    assert "path=" in message and "--data-dir" in message
    assert "ganchengguang/MMM-datasets-Testset" in message and wanted in message


def test_unreachable_hub_fails_fast_without_retries(monkeypatch):
    monkeypatch.setattr(hub, "_offline", lambda: False)
    monkeypatch.setattr(hub, "_hub_reachable", lambda endpoint: False)
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

    monkeypatch.setattr(hub, "_offline", lambda: False)
    monkeypatch.setattr(hub, "_hub_reachable", lambda endpoint: True)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    got = load_mmm("zh-SCPOS:Adj & N", "train", revision="v1")
    assert len(got) == 2 and got[0].lang == "zh"
    repo_id, filename, kwargs = calls[0]
    assert repo_id == "ganchengguang/MMM-dataset-Trainset"
    assert filename == "Train_Ch_2_SCPOS_1W_adj_n_clear2.json"
    assert kwargs["repo_type"] == "dataset" and kwargs["revision"] == "v1"
    assert kwargs["local_files_only"] is False


def _fake_hub(monkeypatch, tmp_path, listing):
    """Hub reachable, ``listing`` as every repo's files; returns the calls made."""
    import huggingface_hub

    target = tmp_path / "downloaded.json"
    write_mmm(target, _examples(), format="json")
    calls = {"list": [], "download": []}

    def fake_list(repo_id, **kwargs):
        calls["list"].append((repo_id, kwargs))
        return list(listing)

    def fake_download(repo_id, filename, **kwargs):
        calls["download"].append((repo_id, filename))
        return str(target)

    monkeypatch.setattr(hub, "_offline", lambda: False)
    monkeypatch.setattr(hub, "_hub_reachable", lambda endpoint: True)
    monkeypatch.setattr(huggingface_hub, "list_repo_files", fake_list)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    return calls


def test_hub_listing_resolves_the_names_not_recorded(monkeypatch, tmp_path):
    listing = [".gitattributes", "README.md", *REAL_TEST, "test_Ja_0_SCNM_3000.json"]
    calls = _fake_hub(monkeypatch, tmp_path, listing)
    assert len(load_mmm("ja-scnm", "test", revision="v2")) == 2
    assert calls["list"] == [("ganchengguang/MMM-datasets-Testset",
                              {"repo_type": "dataset", "revision": "v2"})]
    assert calls["download"] == [("ganchengguang/MMM-datasets-Testset",
                                  "test_Ja_0_SCNM_3000.json")]
    load_mmm("en-scnm", "test")  # a recorded name needs no listing
    assert len(calls["list"]) == 1
    assert calls["download"][-1] == ("ganchengguang/MMM-datasets-Testset",
                                     "test_En_0_SCNM_dataset.json")


def test_hub_listing_with_several_or_no_matches_lists_them(monkeypatch, tmp_path):
    _fake_hub(monkeypatch, tmp_path, ["README.md", *REAL_TRAIN, "Train_Ja_4_SCPOS_a.json",
                                      "Train_Ja_4_SCPOS_b.json"])
    with pytest.raises(DatasetUnavailableError) as info:
        load_mmm("ja-scpos-adj", "train")
    message = str(info.value)
    assert "2 files in ganchengguang/MMM-dataset-Trainset" in message
    assert "'Train_Ja_4_SCPOS_a.json', 'Train_Ja_4_SCPOS_b.json'" in message
    with pytest.raises(DatasetUnavailableError) as info:
        load_mmm("ja-tconer", "train")
    message = str(info.value)
    assert "no file" in message and "Train_Ja_MRE_OIE*.json" in message
    assert "'Train_Ch_MRE_OIEDataset.json'" in message and "README.md" not in message


def test_hub_listing_failure_is_a_clear_error(monkeypatch, tmp_path):
    import huggingface_hub

    _fake_hub(monkeypatch, tmp_path, [])

    def broken(repo_id, **kwargs):
        raise TimeoutError("read timed out")

    monkeypatch.setattr(huggingface_hub, "list_repo_files", broken)
    with pytest.raises(DatasetUnavailableError, match="TimeoutError: read timed out") as info:
        load_mmm("en-tconer", "test")
    assert "path=" in str(info.value)


def test_offline_names_not_recorded_are_found_in_the_hub_cache(monkeypatch, tmp_path):
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    repo = cache / "datasets--ganchengguang--MMM-datasets-Testset"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    write_mmm(snapshot / "test_Ja_1_SCPOS_RW_clear2.json", _examples(), format="json")
    write_mmm(snapshot / "test_En_0_SCNM_dataset.json", _examples()[:1], format="json")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    assert len(load_mmm("ja-scpos-rw", "test")) == 2
    assert len(load_mmm("en-scnm", "test")) == 1
    with pytest.raises(DatasetUnavailableError, match="test_Ja_4_SCPOS"):
        load_mmm("ja-scpos-adj", "test")
