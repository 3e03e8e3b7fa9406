"""Label-word files: mrekv JSON, KPT .txt / .json, and the real KPT files in ../shared/kpt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrekv.errors import SaveFormatError
from mrekv.verbalizer.io import read_kpt, read_label_words, write_kpt, write_label_words
from mrekv.verbalizer.label_words import LabelWord, LabelWords

# folder -> (number of classes, first word of each of the first lines)
EXPECTED = {
    "openprompt/agnews": (4, ["politics", "sports", "business", "technology"]),
    "openprompt/amazon": (2, ["bad", "good"]),
    "openprompt/imdb": (2, ["bad", "good"]),
    "openprompt/dbpedia": (14, ["corporation", "school", "artist"]),
    "openprompt/yahoo_answers_topics": (10, ["society", "science", "health"]),
    "mre-author": (7, ["experience"]),
}


def knowledge_files(kpt: Path) -> list[Path]:
    return sorted(
        p for p in kpt.rglob("*")
        if p.is_file() and p.suffix in (".txt", ".json") and "erbalizer" in p.name
    )


@pytest.fixture(scope="module")
def kpt(shared_dir: Path) -> Path:
    path = shared_dir / "kpt"
    if not path.is_dir():
        pytest.skip("../shared/kpt is missing")
    return path


def test_every_shared_kpt_file_loads_with_expected_classes(kpt):
    files = knowledge_files(kpt)
    assert len(files) >= 13
    for path in files:
        folder = str(path.parent.relative_to(kpt))
        num_classes, first_words = EXPECTED[folder]
        lw = read_label_words(path)
        assert len(lw.classes) == num_classes, path
        assert all(lw.counts()[c] >= 1 for c in lw.classes), path
        assert all(w.word == w.word.strip() and w.word for ws in lw.words.values() for w in ws)
        if "knowledgeable" in path.name.lower():
            firsts = [ws[0].lower() for ws in lw.as_lists()]
            assert firsts[: len(first_words)] == first_words, path


def test_spot_checks_of_real_files(kpt):
    agnews = read_kpt(kpt / "openprompt/agnews/knowledgeable_verbalizer.txt")
    assert agnews.classes == ("politics", "sports", "business", "technology")
    assert agnews.as_lists()[0][:3] == ["politics", "government", "diplomatic"]
    # ", " separators
    dbpedia = read_kpt(kpt / "openprompt/dbpedia/knowledgeable_verbalizer.txt")
    assert dbpedia.as_lists()[0][:3] == ["corporation", "company", "corp"]
    # no final newline; duplicates and apostrophes kept
    amazon = read_kpt(kpt / "openprompt/amazon/knowledgeable_verbalizer.txt")
    assert amazon.classes == ("bad", "good")
    assert "can't" in amazon.as_lists()[0] and amazon.as_lists()[0].count("bad") == 2
    # CRLF and trailing commas on one-word lines
    rule = read_kpt(kpt / "mre-author/KnowledgeableVerbalizerRule.txt")
    assert rule.as_lists()[0] == ["experience"]
    assert rule.classes[-1] == "object"
    # multiword words kept whole
    k700 = read_kpt(kpt / "mre-author/KnowledgeableVerbalizer700.txt")
    assert k700.as_lists()[0][2] == "go through"
    assert k700.classes[1] == "personal information"
    yahoo = read_label_words(kpt / "openprompt/yahoo_answers_topics/knowledgeable_verbalizer.json")
    assert yahoo.classes[0] == "Society & Culture"
    assert yahoo.as_lists()[0][:2] == ["society", "culture"]


def test_real_files_round_trip_through_every_format(kpt, tmp_path):
    for i, path in enumerate(knowledge_files(kpt)):
        lw = read_label_words(path)
        for name, fmt in (("w.txt", None), ("w.json", None), ("w.kpt.json", "kpt-json")):
            out = tmp_path / f"{i}-{name}"
            write_label_words(out, lw, format=fmt)
            back = read_label_words(out, classes=lw.classes)
            assert back.classes == lw.classes, (path, name)
            assert back.as_lists() == lw.as_lists(), (path, name)


def test_messy_kpt_txt(tmp_path):
    path = tmp_path / "k.txt"
    path.write_bytes(
        "\ufeffgood , great,go through,\r\nbad,awful , ,\r\n\r\n\r\n".encode()
    )
    lw = read_kpt(path)
    assert lw.classes == ("good", "bad")
    assert lw.as_lists() == [["good", "great", "go through"], ["bad", "awful"]]
    named = read_kpt(path, classes=["positive", "negative"])
    assert named.classes == ("positive", "negative")


def test_kpt_errors_name_file_and_line(tmp_path):
    path = tmp_path / "k.txt"
    path.write_text("good,great\n\nbad\n", encoding="utf-8")
    with pytest.raises(SaveFormatError, match=r"k\.txt, line 2: no label words"):
        read_kpt(path)
    path.write_text("good\nbad\n", encoding="utf-8")
    with pytest.raises(SaveFormatError, match="2 lines but 3 classes"):
        read_kpt(path, classes=["a", "b", "c"])
    path.write_text("good,x\ngood,y\n", encoding="utf-8")
    with pytest.raises(SaveFormatError, match=r"duplicate class names \['good'\]"):
        read_kpt(path)
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(SaveFormatError, match="no label words"):
        read_kpt(path)
    path.write_bytes(b"caf\xe9\n")
    with pytest.raises(SaveFormatError, match="not UTF-8"):
        read_kpt(path)
    with pytest.raises(SaveFormatError, match="no such label-word file"):
        read_kpt(tmp_path / "missing.txt")


def test_kpt_json_forms(tmp_path):
    d = tmp_path / "d.json"
    d.write_text(json.dumps({"pos": ["good", "great"], "neg": "bad"}), encoding="utf-8")
    lw = read_label_words(d)
    assert lw.classes == ("pos", "neg") and lw.as_lists() == [["good", "great"], ["bad"]]
    reordered = read_label_words(d, classes=["neg", "pos"])
    assert reordered.as_lists() == [["bad"], ["good", "great"]]
    with pytest.raises(SaveFormatError, match=r"classes \['neutral'\] are not in the file"):
        read_label_words(d, classes=["neg", "pos", "neutral"])
    lst = tmp_path / "l.json"
    lst.write_text(json.dumps([["good", "great"], ["bad"]]), encoding="utf-8")
    assert read_kpt(lst).classes == ("good", "bad")
    lst.write_text(json.dumps([["good"], [1, 2]]), encoding="utf-8")
    with pytest.raises(SaveFormatError, match="list 1: expected a list of strings"):
        read_kpt(lst)
    bad = tmp_path / "bad.json"
    bad.write_text('{"pos": ["good",\n  ]}', encoding="utf-8")
    with pytest.raises(SaveFormatError, match=r"bad\.json, line 2 column 3: invalid JSON"):
        read_label_words(bad)


def test_mrekv_json_round_trip_keeps_scores_and_provenance(tmp_path):
    lw = LabelWords(
        ("neg", "pos"),
        {
            "neg": (LabelWord("bad", 2.5, 4),),
            "pos": (LabelWord("good", 1.25, 3), LabelWord("好", 0.5, 1)),
        },
        {"method": "pmi", "split_name": "knowledge"},
    )
    path = tmp_path / "sub" / "lw.json"
    write_label_words(path, lw)
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "mrekv.label_words"
    assert "好" in path.read_text(encoding="utf-8")  # not \u-escaped
    assert read_label_words(path) == lw
    assert read_label_words(path, classes=["pos", "neg"]).classes == ("pos", "neg")
    with pytest.raises(SaveFormatError, match="do not match"):
        read_label_words(path, classes=["pos", "other"])
    assert read_label_words(path, format="json") == lw


def test_corrupt_mrekv_json_names_file(tmp_path):
    path = tmp_path / "lw.json"
    path.write_text(json.dumps({"format": "mrekv.label_words", "version": 9}), encoding="utf-8")
    with pytest.raises(SaveFormatError, match=r"lw\.json: not a valid mrekv label-word.*version"):
        read_label_words(path)


def test_format_choice_errors(tmp_path):
    lw = LabelWords.from_lists(["a"], [["x"]])
    with pytest.raises(SaveFormatError, match=r"unknown label-word format 'yaml'.*'kpt-json'"):
        write_label_words(tmp_path / "a.json", lw, format="yaml")
    with pytest.raises(SaveFormatError, match=r"extension '\.csv'"):
        write_label_words(tmp_path / "a.csv", lw)
    write_label_words(tmp_path / "a.words", lw, format="kpt")
    assert (tmp_path / "a.words").read_text(encoding="utf-8") == "x\n"


def test_write_kpt_rejects_unrepresentable_words_and_keeps_old_file(tmp_path):
    path = tmp_path / "k.txt"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(SaveFormatError, match=r"class 'a' word 'x, y'"):
        write_kpt(path, LabelWords.from_lists(["a"], [["x, y"]]))
    with pytest.raises(SaveFormatError, match="class 'b' has no label words"):
        write_kpt(path, LabelWords.from_lists(["a", "b"], [["x"], []]))
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["k.txt"]


def test_write_kpt_txt_exact_bytes(tmp_path):
    path = tmp_path / "k.txt"
    write_kpt(path, LabelWords.from_lists(["pos", "neg"], [["pos", "go through"], ["neg"]]))
    assert path.read_bytes() == b"pos,go through\nneg\n"
