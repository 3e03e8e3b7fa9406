"""The results file: one complete line per append, torn tails ignored and repaired."""

from __future__ import annotations

import pytest

from mrekv.errors import MrekvError
from mrekv.experiment.results import (
    append_line,
    finished_keys,
    indices_hash,
    read_results,
    repair,
    stable_hash,
)


def test_append_and_read(tmp_path):
    path = tmp_path / "sub" / "r.jsonl"
    append_line(path, {"cell_key": "a", "x": "日本"})
    append_line(path, {"cell_key": "b", "x": 2})
    assert path.read_text(encoding="utf-8") == (
        '{"cell_key": "a", "x": "日本"}\n{"cell_key": "b", "x": 2}\n')
    assert read_results(path) == [{"cell_key": "a", "x": "日本"}, {"cell_key": "b", "x": 2}]
    assert finished_keys(path) == {"a", "b"}
    assert finished_keys(tmp_path / "missing.jsonl") == set()


def test_torn_tail_is_ignored_then_repaired(tmp_path):
    path = tmp_path / "r.jsonl"
    append_line(path, {"cell_key": "a"})
    whole = path.read_bytes()
    with path.open("ab") as handle:
        handle.write(b'{"cell_key": "b", "metr')
    assert [r["cell_key"] for r in read_results(path)] == ["a"]
    assert repair(path) == len(b'{"cell_key": "b", "metr')
    assert path.read_bytes() == whole
    assert repair(path) == 0
    append_line(path, {"cell_key": "c"})
    assert [r["cell_key"] for r in read_results(path)] == ["a", "c"]


def test_repair_of_a_single_torn_line_empties_the_file(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"cell')
    assert repair(path) == 6
    assert path.read_bytes() == b""


def test_corrupt_middle_line_names_the_line(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"a": 1}\nnot json\n{"b": 2}\n', encoding="utf-8")
    with pytest.raises(MrekvError, match="line 2"):
        read_results(path)


def test_hashes_are_canonical():
    assert stable_hash({"b": 1, "a": [2, 3]}) == stable_hash({"a": [2, 3], "b": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})
    assert len(stable_hash("x")) == 16
    assert indices_hash((3, 1, 2)) == indices_hash([1, 2, 3]) != indices_hash([1, 2])
