"""``load_corpus(name, root=None, *, split=None)``: a split is a keyword, never the root."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrekv.data.corpora import load_corpus

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is absent")


@pytest.mark.parametrize("split", ["train", "test", "dev"])
def test_a_split_name_given_as_root_says_to_write_split(split, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no folder of that name here
    with pytest.raises(ValueError, match=rf"load_corpus\('sst2', split='{split}'\)") as info:
        load_corpus("sst2", split)
    assert "datasets root" in str(info.value)


def test_a_folder_named_like_a_split_is_still_a_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train").mkdir()
    with pytest.raises(FileNotFoundError, match="needs the folder"):
        load_corpus("sst2", "train")


def test_split_keyword_returns_that_split(monkeypatch):
    monkeypatch.setenv("MREKV_DATASETS", str(DATASETS))
    whole = load_corpus("trec")
    test = load_corpus("trec", split="test")
    assert len(test) == len(whole.split("test")) == 500
    assert set(test.splits) == {"test"} and test.texts == whole.split("test").texts
    assert len(load_corpus("trec", DATASETS, split="train")) == len(whole.split("train"))


def test_unknown_split_lists_the_splits(monkeypatch):
    monkeypatch.setenv("MREKV_DATASETS", str(DATASETS))
    with pytest.raises(KeyError, match="'train'.*'test'"):
        load_corpus("trec", split="validation")
