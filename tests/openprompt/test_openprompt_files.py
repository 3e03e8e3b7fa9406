"""OpenPrompt's verbalizer and template files, read as OpenPrompt reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mrekv.errors import ConfigError, SaveFormatError
from mrekv.openprompt.prompts import KnowledgeableVerbalizer, ManualTemplate, ManualVerbalizer
from mrekv.openprompt.prompts.manual_verbalizer import read_words_file


def test_txt_groups_choice_and_raw_split(tmp_path: Path):
    path = tmp_path / "manual_verbalizer.txt"
    path.write_text("bad, awful\ngood\n\nterrible\ngreat,\n", encoding="utf-8")
    assert read_words_file(path, 0) == [["bad", " awful"], ["good"]]
    assert read_words_file(path, 1) == [["terrible"], ["great", ""]]
    with pytest.raises(SaveFormatError, match="choice=2"):
        read_words_file(path, 2)


def test_json_dict_is_reordered_to_the_classes(runner, tmp_path: Path):
    path = tmp_path / "kv.json"
    path.write_text(json.dumps({"pos": ["good", "great"], "neg": ["bad"]}), encoding="utf-8")
    v = ManualVerbalizer(runner.tok, classes=["neg", "pos"]).from_file(path)
    assert v.label_words == [[" bad"], [" good", " great"]]


def test_kpt_file_from_shared(runner, shared_dir: Path):
    path = shared_dir / "kpt" / "openprompt" / "agnews" / "knowledgeable_verbalizer.txt"
    if not path.is_file():
        pytest.skip("no KPT agnews file")
    classes = ["politics", "sports", "business", "technology"]
    v = KnowledgeableVerbalizer(runner.tok, classes=classes).from_file(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [ws[0].strip() for ws in v.label_words] == [ln.split(",")[0].strip() for ln in lines]
    assert all(len(ws) <= len(ln.split(",")) for ws, ln in zip(v.label_words, lines, strict=True))


def test_template_from_file(runner, shared_dir: Path, tmp_path: Path):
    path = tmp_path / "manual_template.txt"
    path.write_text(
        ' It was {"mask"} . {"placeholder": "text_a"}\n\n{"placeholder": "text_a"} {"mask"}\n'
    )
    t = ManualTemplate(runner.tok).from_file(path, choice=1)
    assert [("mask" in p, "placeholder" in p) for p in t.text] == [(False, True), (True, False)]
    with pytest.raises(ConfigError, match="choice=5"):
        ManualTemplate(runner.tok).from_file(path, choice=5)
