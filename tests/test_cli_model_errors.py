"""Wrong inputs to the model and experiment commands: checked before a model is loaded.

Every error is printed as ``mrekv <command>: error: ...`` and names the file, the
line or the option; nothing already written is lost.
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


run = run_cli
error_line = cli_error_line


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    """A tiny prompt model trained for one epoch on the English samples."""
    folder = tmp_path_factory.mktemp("cli-errors")
    model = folder / "tiny"
    assert main(["tiny-model", "--out", str(model), "--texts", str(TRAIN)]) == 0
    kv = folder / "kv.json"
    assert main(["mine", "--input", str(TRAIN), "--top-k", "5", "--out", str(kv)]) == 0
    saved = folder / "clf"
    assert main(["train", "--model", str(model), "--label-words", str(kv), "--lang", "en",
                 "--train", str(TRAIN), "--epochs", "1", "--out", str(saved)]) == 0
    return saved


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", newline="")
    return path


# -- train: every input is checked before a model is loaded ---------------------------


def test_train_on_an_empty_file(tmp_path, capsys):
    empty = write(tmp_path / "empty.tsv", "")
    code, _, err = run(capsys, "train", "--model", "org/never-loaded", "--train", empty,
                       "--out", tmp_path / "clf")
    line = error_line(err, "train")
    assert code == 2 and "empty.tsv" in line and "no labelled records" in line


def test_train_with_a_missing_local_model_fails_at_once(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--model", "./no-such-model", "--train", TRAIN,
                       "--out", tmp_path / "clf")
    line = error_line(err, "train")
    assert code == 2 and "'./no-such-model'" in line and "no such file or folder" in line


def test_train_label_words_of_other_classes_fail_before_loading(tmp_path, capsys):
    kv = write(tmp_path / "kv.json", json.dumps({"Sports": ["goal"], "World": ["war"]}))
    code, _, err = run(capsys, "train", "--model", "org/never-loaded", "--label-words", kv,
                       "--train", TRAIN, "--out", tmp_path / "clf")
    line = error_line(err, "train")
    assert code == 2 and "'negative'" in line and "'positive'" in line
    assert "'Sports', 'World'" in line and "kv.json" in line


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--label-words", "{kv}", "--calibrate", "{missing}"], "does not exist"),
        (["--calibrate", "{train}"], "soft"),  # no --label-words: a soft verbalizer
        (["--dev", "{empty}"], "no labelled records"),
        (["--label-words", "{missing}"], "does not exist"),
        (["--finetune", "--calibrate", "{train}"], "--finetune"),
        (["--finetune", "--backbone", "causal"], "--backbone"),
        (["--finetune", "--template", "{{text}} {{mask}}"], "--template"),
    ],
)
def test_train_input_mistakes_are_found_before_training(tmp_path, capsys, extra, expected):
    empty = write(tmp_path / "empty.tsv", "")
    kv = write(tmp_path / "kv.json", json.dumps({"negative": ["bad"], "positive": ["good"]}))
    names = {"missing": tmp_path / "missing.txt", "train": TRAIN, "empty": empty, "kv": kv}
    extra = [e.format(**names) for e in extra]
    out = tmp_path / "clf"
    code, _, err = run(capsys, "train", "--model", "org/never-loaded", "--train", TRAIN,
                       "--out", out, *extra)
    assert code == 2 and expected in error_line(err, "train")
    assert not out.exists()


def test_train_unknown_device_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "org/m", "--train", str(TRAIN), "--out", str(tmp_path / "o"),
              "--device", "tpu"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--device" in err and "'tpu'" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--hidden", "0"], ["--layers", "-1"], ["--hidden", "x"],
    ],
)
def test_tiny_model_bad_numbers_are_argparse_errors(tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(["tiny-model", "--out", str(tmp_path / "m"), "--texts", str(TRAIN), *argv])
    assert info.value.code == 2 and argv[0] in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--texts", "{missing}"], "does not exist"),
        (["--texts", "{empty}"], "no texts"),
        (["--texts"], "at least one file"),
        ([], "exactly one of --texts and --tokenizer-from"),
        (["--tokenizer-from", "./no-such-tokenizer"], "no such file or folder"),
        (["--texts", "{train}", "--tokenizer-from", "{folder}"], "exactly one of"),
        (["--texts", "{train}", "--hidden", "3"], "--hidden 3"),
        (["--kind", "llama", "--texts", "{train}", "--hidden", "3"], "divisible"),
    ],
)
def test_tiny_model_argument_errors(tmp_path, capsys, argv, expected):
    names = {"missing": tmp_path / "missing.txt", "empty": write(tmp_path / "e.txt", "\n"),
             "train": TRAIN, "folder": tmp_path}
    code, _, err = run(capsys, "tiny-model", "--out", tmp_path / "m",
                       *[a.format(**names) for a in argv])
    assert code == 2 and expected in error_line(err, "tiny-model")
    assert not (tmp_path / "m").exists()


def test_train_on_a_folder_that_is_not_a_model(tmp_path, capsys):
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    code, _, err = run(capsys, "train", "--model", folder, "--train", TRAIN,
                       "--out", tmp_path / "clf")
    assert code == 2 and "no config.json" in error_line(err, "train")
    (folder / "config.json").write_text("{}", encoding="utf-8")
    code, _, err = run(capsys, "train", "--model", folder, "--train", TRAIN,
                       "--out", tmp_path / "clf")
    assert code == 2 and "'model_type'" in error_line(err, "train")


@pytest.mark.parametrize("content", [b"", b"not gguf at all"])
def test_convert_of_a_file_that_is_not_gguf(tmp_path, capsys, content):
    gguf = write(tmp_path / "m.gguf", content)
    code, _, err = run(capsys, "convert", "--gguf", gguf, "--cache-dir", tmp_path / "cache")
    assert code == 2 and "not a GGUF file" in error_line(err, "convert")


def test_mmm_validate_of_an_empty_file_fails(tmp_path, capsys):
    code, _, err = run(capsys, "mmm", "validate", write(tmp_path / "e.jsonl", ""))
    assert code == 1 and "no records" in err


# -- predict and evaluate ---------------------------------------------------------------


def test_predict_on_a_folder_or_an_empty_file(tmp_path, capsys, saved_model):
    code, _, err = run(capsys, "predict", "--model-dir", saved_model, "--input", tmp_path)
    assert code == 2 and "is a folder" in error_line(err, "predict")
    empty = write(tmp_path / "empty.txt", "\n\n")
    code, out, err = run(capsys, "predict", "--model-dir", saved_model, "--input", empty)
    assert code == 2 and out == "" and "no texts" in error_line(err, "predict")


def test_predict_rows_line_up_with_input_lines(tmp_path, capsys, saved_model):
    texts = write(tmp_path / "t.txt", "good soup\rstill the first text\n\nbad room\n")
    code, out, err = run(capsys, "predict", "--model-dir", saved_model, "--input", texts)
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["text"] for r in rows] == [
        "good soup\rstill the first text", "", "bad room"]
    assert "1 blank line" in err


def test_predict_out_is_atomic(tmp_path, capsys, saved_model, monkeypatch):
    import mrekv._io

    preds = write(tmp_path / "preds.jsonl", "previous predictions\n")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mrekv._io.os, "fsync", full)
    code, _, err = run(capsys, "predict", "--model-dir", saved_model, "--input", TEST,
                       "--out", preds)
    assert code == 2 and "No space left" in error_line(err, "predict")
    assert preds.read_text(encoding="utf-8") == "previous predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preds.jsonl"]


def test_predict_out_a_folder(tmp_path, capsys, saved_model):
    code, _, err = run(capsys, "predict", "--model-dir", saved_model, "--input", TEST,
                       "--out", tmp_path)
    assert code == 2 and "is a folder" in error_line(err, "predict")


def test_evaluate_with_unknown_gold_labels(tmp_path, capsys, saved_model):
    tsv = write(tmp_path / "gold.tsv", "positive\tgood\nneutral\tso so\nmixed\tgood and bad\n")
    code, out, err = run(capsys, "evaluate", "--model-dir", saved_model, "--input", tsv)
    line = error_line(err, "evaluate")
    assert code == 2 and out == ""
    assert "'mixed', 'neutral'" in line and "'negative', 'positive'" in line


def test_evaluate_checks_gold_labels_before_loading_the_weights(tmp_path, capsys, saved_model,
                                                                monkeypatch):
    import mrekv.classifiers

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the labels were checked")

    monkeypatch.setattr(mrekv.classifiers, "load_classifier", no_load)
    tsv = write(tmp_path / "gold.tsv", "neutral\tso so\n")
    code, _, err = run(capsys, "evaluate", "--model-dir", saved_model, "--input", tsv)
    assert code == 2 and "'neutral'" in error_line(err, "evaluate")


def test_evaluate_on_an_empty_file(tmp_path, capsys, saved_model):
    empty = write(tmp_path / "empty.tsv", "")
    code, _, err = run(capsys, "evaluate", "--model-dir", saved_model, "--input", empty)
    assert code == 2 and "no labelled records" in error_line(err, "evaluate")


def test_predict_with_a_missing_model_folder(tmp_path, capsys):
    code, _, err = run(capsys, "predict", "--model-dir", tmp_path / "none", "--input", TEST)
    assert code == 2 and "no such folder" in error_line(err, "predict")


# -- experiment -------------------------------------------------------------------------


def test_experiment_report_on_a_file_that_is_not_results(tmp_path, capsys):
    out = tmp_path / "report"
    code, _, err = run(capsys, "experiment", "report", TRAIN, "--out", out)
    line = error_line(err, "experiment report")
    assert code == 2 and "not a results file" in line and TRAIN.name in line
    assert not out.exists()
    empty = write(tmp_path / "empty.jsonl", "")
    code, _, err = run(capsys, "experiment", "report", empty, "--out", out)
    assert code == 2 and "no result lines" in error_line(err, "experiment report")


def test_experiment_run_with_a_bad_config_value(tmp_path, capsys):
    config = write(tmp_path / "c.toml", 'methods = ["manual"]\n[training]\nepochs = "two"\n'
                   '[[datasets]]\nsource = "corpus"\ncorpus = "sst2"\n')
    code, _, err = run(capsys, "experiment", "run", config)
    line = error_line(err, "experiment run")
    assert code == 2 and "c.toml" in line and "[training] epochs" in line
    assert "a whole number" in line and "'two'" in line


def test_experiment_run_out_is_canonical_and_output_a_deprecated_alias(tmp_path, capsys,
                                                                        monkeypatch):
    import mrekv.experiment.runner

    calls = []
    monkeypatch.setattr(mrekv.experiment.runner, "run_experiment",
                        lambda config, **kw: calls.append(kw) or Path(kw["output"]))
    assert run(capsys, "experiment", "run", "q.toml", "--out", tmp_path / "a.jsonl")[0] == 0
    assert calls[-1]["output"] == str(tmp_path / "a.jsonl")
    code, _, err = run(capsys, "experiment", "run", "q.toml", "--output", tmp_path / "b.jsonl")
    assert code == 0 and calls[-1]["output"] == str(tmp_path / "b.jsonl")
    assert "--output is deprecated; use --out" in err
    code, _, err = run(capsys, "experiment", "run", "q.toml", "--out", tmp_path)
    assert code == 2 and "is a folder" in error_line(err, "experiment run")


def test_ctrl_c_in_a_real_run_then_a_rerun_resumes(tmp_path, capsys, monkeypatch):
    import mrekv.experiment.runner as runner

    config = write(tmp_path / "c.toml", f"""
methods = ["probe:manual", "probe:mre-frequency"]
shots = [0]
seeds = [0]
[[datasets]]
source = "mmm"
lang = "en"
train = "{TRAIN}"
test = "{TEST}"
""")
    results = tmp_path / "r.jsonl"
    real = runner.append_line
    calls = []

    def interrupt_second(path, record):
        calls.append(record)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(path, record)

    monkeypatch.setattr(runner, "append_line", interrupt_second)
    code, _, err = run(capsys, "experiment", "run", config, "--out", results, "--quiet")
    assert code == 130 and "1 cell is saved" in err and "resume" in err
    monkeypatch.setattr(runner, "append_line", real)
    code, _, _ = run(capsys, "experiment", "run", config, "--out", results, "--quiet")
    lines = results.read_text(encoding="utf-8").splitlines()
    assert code == 0 and len(lines) == 2
    assert {json.loads(line)["method"] for line in lines} == {"probe:manual",
                                                              "probe:mre-frequency"}
