"""Wrong inputs to the command line: one clear line, a non-zero exit, nothing lost.

Every error is printed as ``mrekv <command>: error: ...`` and names the file, the
line or the option; inputs are checked before a model is loaded or trained.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from mrekv_testing import cli_error_line, run_cli

from mrekv.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
TRAIN = SAMPLES / "en-scpos-adj-n.train.jsonl"
TEST = SAMPLES / "en-scpos-adj-n.test.jsonl"
SHARED_DATASETS = ROOT.parent / "shared" / "datasets"


run = run_cli
error_line = cli_error_line


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")
    return path


# -- the one place errors are reported ---------------------------------------------


def test_an_unexpected_exception_keeps_its_traceback(monkeypatch):
    import mrekv.cli.data

    def boom(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(mrekv.cli.data, "cmd_datasets", boom)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["datasets", "mmm"])


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/ro/out.jsonl"),
         "/ro/out.jsonl: Permission denied (check the permissions"),
        (OSError(errno.EROFS, "Read-only file system", "/ro/x"), "/ro/x: Read-only file system"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/d"), "/d: is a folder"),
        (UnicodeDecodeError("utf-8", b"ab\xff", 2, 3, "invalid start byte"),
         "not valid utf-8 text (byte 0xff at offset 2)"),
    ],
)
def test_os_and_decode_errors_are_one_line(capsys, monkeypatch, error, expected):
    import mrekv.cli.data

    def fail(args):
        raise error

    monkeypatch.setattr(mrekv.cli.data, "cmd_datasets", fail)
    code, _, err = run(capsys, "datasets", "corpora")
    assert code == 2 and expected in error_line(err, "datasets")


def test_disk_full_on_mmm_convert_is_one_line_and_keeps_the_old_file(tmp_path, capsys,
                                                                      monkeypatch):
    import mrekv._io

    target = write(tmp_path / "out.jsonl", "old contents\n")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mrekv._io.os, "fsync", full)
    code, _, err = run(capsys, "mmm", "convert", TRAIN, target)
    line = error_line(err, "mmm convert")
    assert code == 2 and "No space left on device" in line
    assert target.read_text(encoding="utf-8") == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary left


def test_ctrl_c_during_experiment_run_says_what_is_saved(tmp_path, capsys, monkeypatch):
    import mrekv.experiment.runner

    results = tmp_path / "r.jsonl"

    def interrupted(config_path, **kwargs):
        results.write_text(json.dumps({"cell_key": "a"}) + "\n" + json.dumps({"cell_key": "b"})
                           + "\n", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(mrekv.experiment.runner, "run_experiment", interrupted)
    code, _, err = run(capsys, "experiment", "run", "quick.toml", "--out", results)
    assert code == 130
    assert "2 cells are saved" in err and str(results) in err and "resume" in err
    assert "Traceback" not in err


def test_ctrl_c_elsewhere_exits_130(capsys, monkeypatch):
    import mrekv.data.catalog

    class Interrupting:
        def __iter__(self):
            raise KeyboardInterrupt

    monkeypatch.setattr(mrekv.data.catalog, "MMM_DATASETS", Interrupting())
    code, _, err = run(capsys, "datasets", "mmm")
    assert code == 130 and "mrekv datasets: interrupted" in err


# -- tokenize, mine, probe, build-mre ------------------------------------------------


def test_tokenize_without_text_is_an_error(capsys):
    code, _, err = run(capsys, "tokenize", "--lang", "en")
    assert code == 2 and "--input" in error_line(err, "tokenize")


@pytest.mark.parametrize("command", ["tokenize", "build-mre", "train"])
def test_a_tsv_line_with_three_columns_names_the_line(tmp_path, capsys, command):
    tsv = write(tmp_path / "in.tsv", "positive\tgood\nnegative\tbad\textra column\n")
    out = tmp_path / "out"
    argv = {
        "tokenize": ["tokenize", "--lang", "en", "--input", tsv],
        "build-mre": ["build-mre", "--input", tsv, "--lang", "en", "--family", "SCPOS:Adj",
                      "--out", out],
        "train": ["train", "--model", "org/never-loaded", "--train", tsv, "--out", out],
    }[command]
    code, _, err = run(capsys, *argv)
    line = error_line(err, command)
    assert code == 2 and "in.tsv, line 2" in line and "3 tab-separated fields" in line
    assert "label<TAB>text" in line
    assert not out.exists()


@pytest.mark.parametrize("data", [b"positive\tgood \xff\xfe text\n", "positive\tgood\n"
                                  .encode("utf-16")])
@pytest.mark.parametrize("command", ["tokenize", "build-mre", "train", "predict", "evaluate"])
def test_undecodable_text_files_are_named(tmp_path, capsys, command, data):
    bad = write(tmp_path / "in.tsv", b"negative\tfine\n" + data if data[:2] != b"\xff\xfe"
                else data)
    out = tmp_path / "out"
    argv = {
        "tokenize": ["tokenize", "--lang", "en", "--input", bad],
        "build-mre": ["build-mre", "--input", bad, "--lang", "en", "--family", "SCPOS:Adj",
                      "--out", out],
        "train": ["train", "--model", "org/never-loaded", "--train", bad, "--out", out],
        "predict": ["predict", "--model-dir", tmp_path / "no-model", "--input", bad],
        "evaluate": ["evaluate", "--model-dir", tmp_path / "no-model", "--input", bad],
    }[command]
    code, _, err = run(capsys, *argv)
    line = error_line(err, command)
    assert code == 2 and "in.tsv" in line
    assert ("UTF-16" in line) if data[:2] == b"\xff\xfe" else ("line 2" in line
                                                                and "UTF-8" in line)


def test_mine_unknown_corpus_lists_the_valid_ones(tmp_path, capsys):
    code, _, err = run(capsys, "mine", "--corpus", "sst3", "--out", tmp_path / "kv.json")
    line = error_line(err, "mine")
    assert code == 2 and "'sst3'" in line and "'sst2'" in line


@pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="../shared/datasets is missing")
def test_mine_unknown_split_lists_the_splits(tmp_path, capsys):
    code, _, err = run(capsys, "mine", "--corpus", "sst2", "--split", "validation",
                       "--root", SHARED_DATASETS, "--out", tmp_path / "kv.json")
    line = error_line(err, "mine")
    assert code == 2 and "validation" in line and "train" in line


@pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="../shared/datasets is missing")
def test_mine_on_a_corpus_without_word_labels_is_an_error(tmp_path, capsys):
    out = tmp_path / "kv.json"
    code, _, err = run(capsys, "mine", "--corpus", "sst2", "--split", "dev",
                       "--root", SHARED_DATASETS, "--out", out)
    line = error_line(err, "mine")
    assert code == 2 and "no word-level labels" in line and "--source text" in line
    assert not out.exists()


def test_probe_on_an_empty_file_is_an_error(tmp_path, capsys):
    label_words = write(tmp_path / "kv.json", json.dumps({"negative": ["bad"],
                                                          "positive": ["good"]}))
    empty = write(tmp_path / "empty.jsonl", "\n")
    code, out, err = run(capsys, "probe", "--input", empty, "--label-words", label_words)
    line = error_line(err, "probe")
    assert code == 2 and out == "" and "empty.jsonl" in line and "no records" in line


def test_probe_with_label_words_of_other_classes(tmp_path, capsys):
    kv = write(tmp_path / "kv.json", json.dumps({"Sports": ["goal"], "World": ["war"]}))
    code, _, err = run(capsys, "probe", "--input", TEST, "--label-words", kv)
    line = error_line(err, "probe")
    assert code == 2 and "'negative'" in line and "'Sports'" in line


@pytest.mark.parametrize("command", ["mine", "build-mre"])
def test_a_folder_as_out_is_an_error(tmp_path, capsys, command):
    folder = tmp_path / "folder"
    folder.mkdir()
    argv = {"mine": ["mine", "--input", TRAIN, "--out", folder],
            "build-mre": ["build-mre", "--input", write(tmp_path / "a.tsv", "p\tgood\n"),
                          "--lang", "en", "--family", "SCPOS:Adj", "--out", folder]}[command]
    code, _, err = run(capsys, *argv)
    line = error_line(err, command)
    assert code == 2 and "is a folder" in line and str(folder) in line
    assert list(folder.iterdir()) == []


# -- the TSV reader -------------------------------------------------------------------


def test_tsv_reader_drops_a_bom_a_header_and_label_spaces(tmp_path):
    from mrekv.cli._inputs import read_labelled

    tsv = write(tmp_path / "a.tsv", "\ufefflabel\ttext\r\nnegative \tbad\r\n\npositive\tgood\n")
    texts, labels = read_labelled(str(tsv))
    assert labels == ["negative", "positive"] and texts == ["bad", "good"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("positive\tgood\n\tno label\n", "line 2: empty label"),
        ("positive\tgood\nno tab here\n", "line 2: expected 'label<TAB>text'"),
        ("positive\t \n", "line 1: empty text"),
        ("".join(f"text number {i}\t{'positive' if i % 2 else 'negative'}\n"
                 for i in range(12)), "columns look swapped"),
    ],
)
def test_tsv_reader_names_the_wrong_line(tmp_path, content, expected):
    from mrekv.cli._inputs import read_labelled
    from mrekv.errors import MrekvError

    tsv = write(tmp_path / "a.tsv", content)
    with pytest.raises(MrekvError, match="a.tsv") as info:
        read_labelled(str(tsv))
    assert expected in str(info.value)


def test_plain_text_lines_split_at_newline_only(tmp_path):
    from mrekv.cli._inputs import read_texts

    txt = write(tmp_path / "t.txt", "one\rstill one\n\nthree\r\n")
    assert read_texts(str(txt), keep_blank=True) == ["one\rstill one", "", "three"]
    assert read_texts(str(txt)) == ["one\rstill one", "three"]




def test_build_mre_reads_bom_crlf_and_padded_labels_in_both_files(tmp_path, capsys):
    pos, neg = ["good", "great", "lovely", "nice", "tasty"], ["bad", "awful", "dirty", "rude"]
    lines = [f"{'positive' if i % 2 else 'negative'} \tThe food was "
             f"{(pos if i % 2 else neg)[i % 4]} and the room was {(pos if i % 2 else neg)[i % 4]}."
             for i in range(60)]
    knowledge = write(tmp_path / "k.tsv", "\ufeff" + "\r\n".join(lines) + "\r\n")
    data = write(tmp_path / "d.tsv", "\ufeffpositive\tThe soup was great.\r\n"
                 "negative \tThe staff were rude.\r\n")
    out = tmp_path / "rw.jsonl"
    code, _, err = run(capsys, "build-mre", "--input", data, "--knowledge", knowledge,
                       "--lang", "en", "--family", "SCPOS:RW", "--min-count", "2", "--out", out)
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["output"].split("/")[0] for r in records] == ["positive", "negative"]
    assert records[0]["input"] == "The soup was great./Sentiment Relation Word"

# -- help --------------------------------------------------------------------------------


def _all_parsers():
    import argparse

    from mrekv.cli import build_parser

    todo = [("mrekv", build_parser())]
    while todo:
        name, parser = todo.pop()
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [(f"{name} {n}", p) for n, p in action.choices.items()]


def test_every_option_has_help_and_shows_its_default():
    import argparse

    for name, parser in _all_parsers():
        text = parser.format_help()
        assert "%(default)" not in text and "(default: None)" not in text, name
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                                   argparse._SubParsersAction)):
                continue
            label = f"{name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{label} has no help"
            if action.default not in (None, False, argparse.SUPPRESS) and action.option_strings:
                assert "default" in parser._get_formatter()._get_help_string(action), label


def test_same_option_names_everywhere():
    for name, parser in _all_parsers():
        options = {o for a in parser._actions for o in a.option_strings}
        if name == "mrekv experiment run":
            assert "--out" in options
        assert "--output-file" not in options and "--outfile" not in options
