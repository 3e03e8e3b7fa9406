"""Malformed label-word files: errors naming the file and what was expected, never a guess."""

from __future__ import annotations

import json
import os
import stat

import pytest

from mrekv.errors import SaveFormatError
from mrekv.verbalizer.io import read_label_words, write_label_words
from mrekv.verbalizer.label_words import LabelWords

GOOD = LabelWords.from_lists(["neg", "pos"], [["bad", "awful"], ["good"]]).to_dict()


def _write(tmp_path, data, name="words.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _mrekv(**changes):
    data = json.loads(json.dumps(GOOD))
    data.update(changes)
    return data


def test_a_good_file_reads(tmp_path):
    lw = read_label_words(_write(tmp_path, GOOD))
    assert lw.classes == ("neg", "pos") and lw.as_lists() == [["bad", "awful"], ["good"]]


@pytest.mark.parametrize(("data", "message"), [
    (_mrekv(words=["bad", "good"]), r"'words' must be an object mapping each class"),
    (_mrekv(words=[{"word": "bad"}]), r"'words' must be an object mapping each class"),
    (_mrekv(classes=[]), r"'classes' must be a non-empty list"),
    (_mrekv(classes="neg"), r"'classes' must be a non-empty list"),
    (_mrekv(classes=["neg", 5]), r"'classes' must hold non-empty strings, got 5"),
    (_mrekv(classes=["neg", "neg"]), r"duplicate names in 'classes'"),
    (_mrekv(words={"neg": [{"word": 5}], "pos": [{"word": "good"}]}),
     r"'words'\['neg'\]\[0\]: expected \{\"word\": <non-empty string>"),
    (_mrekv(words={"neg": [{"word": None}], "pos": [{"word": "good"}]}),
     r"'words'\['neg'\]\[0\]: expected"),
    (_mrekv(words={"neg": ["bad"], "pos": [{"word": "good"}]}), r"'words'\['neg'\]\[0\]"),
    (_mrekv(words={"neg": "bad", "pos": [{"word": "good"}]}),
     r"'words'\['neg'\] must be a list of word entries"),
    (_mrekv(words={"neg": [{"word": "bad", "score": "high"}], "pos": [{"word": "good"}]}),
     r"'score' must be a number"),
    (_mrekv(words={"neg": [{"word": "bad", "count": 1.5}], "pos": [{"word": "good"}]}),
     r"'count' must be an integer"),
    (_mrekv(words={"neg": [{"word": "bad"}], "pos": [], "other": []}),
     r"'words' has classes \['other'\]"),
    ({"classes": ["neg"], "words": ["bad"]}, r"'format' must be 'mrekv.label_words'|'words' must"),
])
def test_malformed_mrekv_files_name_file_and_expectation(tmp_path, data, message):
    path = _write(tmp_path, data)
    with pytest.raises(SaveFormatError, match=message) as err:
        read_label_words(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(("data", "message"), [
    (["bad", "awful", "good"], r"element 0 is 'bad', not a list; a KPT JSON list holds one word"),
    ([["bad"], "good"], r"element 1 is 'good', not a list"),
    ({}, r"no classes"),
    ({"neg": ["bad", 5], "pos": ["good"]}, r"class 'neg': expected a list of strings"),
    ({"neg": [None], "pos": ["good"]}, r"class 'neg': expected a list of strings"),
    ([["bad", 5], ["good"]], r"list 0: expected a list of strings"),
])
def test_malformed_kpt_json_files_are_refused(tmp_path, data, message):
    path = _write(tmp_path, data, "kpt.json")
    with pytest.raises(SaveFormatError, match=message) as err:
        read_label_words(path)
    assert str(path) in str(err.value)


def test_a_kpt_json_list_of_lists_still_reads(tmp_path):
    lw = read_label_words(_write(tmp_path, [["bad", "awful"], ["good"]], "kpt.json"))
    assert lw.classes == ("bad", "good") and lw.as_lists() == [["bad", "awful"], ["good"]]


def test_written_label_words_follow_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        write_label_words(tmp_path / "w.json", LabelWords.from_dict(GOOD))
        write_label_words(tmp_path / "w.txt", LabelWords.from_dict(GOOD))
    finally:
        os.umask(old)
    for name in ("w.json", "w.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o664
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
