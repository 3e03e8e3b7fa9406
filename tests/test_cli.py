"""The command line, run in-process through ``mrekv.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mrekv.cli import main
from mrekv.metrics import expected_calibration_error, fit_temperature

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_tokenize_prints_surface_and_upos(capsys):
    code, out, _ = run(capsys, "tokenize", "--lang", "ja", "美味しいラーメンを食べた。")
    assert code == 0
    assert "美味しい/ADJ" in out and "ラーメン/NOUN" in out


def test_mine_then_probe_on_samples(tmp_path, capsys):
    kv = tmp_path / "kv.json"
    code, _, err = run(capsys, "mine", "--input", SAMPLES / "en-scpos-adj-n.train.jsonl",
                       "--method", "chi2", "--top-k", "20", "--out", kv)
    assert code == 0 and "label words" in err
    data = json.loads(kv.read_text(encoding="utf-8"))
    assert data["classes"] == ["negative", "positive"]
    assert all(1 <= len(words) <= 20 for words in data["words"].values())
    code, out, _ = run(capsys, "probe", "--input", SAMPLES / "en-scpos-adj-n.test.jsonl",
                       "--label-words", kv)
    result = json.loads(out)
    assert code == 0 and result["n"] == 20 and 0.0 <= result["macro_f1"] <= 1.0


def test_mine_writes_a_kpt_file(tmp_path, capsys):
    out_file = tmp_path / "kv.txt"
    code, _, _ = run(capsys, "mine", "--input", SAMPLES / "zh-scpos-adj-n.train.jsonl",
                     "--format", "kpt", "--out", out_file)
    lines = out_file.read_text(encoding="utf-8").splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].split(",")[0] == "negative" and lines[1].split(",")[0] == "positive"


def test_validate_names_the_bad_line(tmp_path, capsys):
    good = (SAMPLES / "en-scnm.train.jsonl").read_text(encoding="utf-8").splitlines()[0]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good + "\n" + '{"input": "no task word"}\n', encoding="utf-8")
    code, out, err = run(capsys, "mmm", "validate", bad)
    assert code == 1
    assert "1 valid records, 1 malformed" in out
    assert "line 2" in err


def test_build_mre_from_tsv(tmp_path, capsys):
    tsv = tmp_path / "in.tsv"
    tsv.write_text("positive\tThe soup was delicious.\nnegative\tThe room was dirty.\n",
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, _ = run(capsys, "build-mre", "--input", tsv, "--lang", "en",
                     "--family", "SCPOS:Adj", "--out", out)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert code == 0
    assert records[0]["output"] == "positive/Sentiment Adj/:positive;delicious"
    assert records[1]["output"] == "negative/Sentiment Adj/:negative;dirty"


def test_missing_file_is_a_clean_error(capsys):
    code, _, err = run(capsys, "mmm", "validate", "/nonexistent/file.jsonl")
    assert code == 2 and "mrekv mmm validate: error" in err and "file.jsonl" in err


def test_datasets_lists_the_21_mmm_subsets(capsys):
    code, out, _ = run(capsys, "datasets", "mmm")
    assert code == 0 and len(out.strip().splitlines()) == 21


def test_train_evaluate_predict_round_trip(tmp_path, capsys):
    model = tmp_path / "tiny"
    assert run(capsys, "tiny-model", "--out", model, "--texts",
               SAMPLES / "en-scpos-adj-n.train.jsonl")[0] == 0
    kv = tmp_path / "kv.json"
    assert run(capsys, "mine", "--input", SAMPLES / "en-scpos-adj-n.train.jsonl",
               "--top-k", "10", "--out", kv)[0] == 0
    saved = tmp_path / "clf"
    code, _, _ = run(capsys, "train", "--model", model, "--label-words", kv, "--lang", "en",
                     "--train", SAMPLES / "en-scpos-adj-n.train.jsonl", "--epochs", "1",
                     "--learning-rate", "1e-3", "--out", saved)
    assert code == 0 and (saved / "mrekv_config.json").is_file()
    code, out, _ = run(capsys, "evaluate", "--model-dir", saved,
                       "--input", SAMPLES / "en-scpos-adj-n.test.jsonl")
    metrics = json.loads(out)
    assert code == 0 and metrics["n"] == 20
    preds = tmp_path / "preds.jsonl"
    code, _, _ = run(capsys, "predict", "--model-dir", saved,
                     "--input", SAMPLES / "en-scpos-adj-n.test.jsonl", "--out", preds)
    rows = [json.loads(line) for line in preds.read_text(encoding="utf-8").splitlines()]
    assert code == 0 and len(rows) == 20
    assert all(r["label"] in ("negative", "positive") for r in rows)
    assert all(abs(sum(r["proba"].values()) - 1.0) < 1e-5 for r in rows)


def test_evaluate_zero_shot_with_label_words_needs_no_training(tmp_path, capsys):
    import mrekv

    model = tmp_path / "tiny"
    assert run(capsys, "tiny-model", "--kind", "llama", "--out", model, "--texts",
               SAMPLES / "en-scpos-adj-n.train.jsonl")[0] == 0
    kv = tmp_path / "kv.json"
    assert run(capsys, "mine", "--input", SAMPLES / "en-scpos-adj-n.train.jsonl",
               "--top-k", "5", "--out", kv)[0] == 0
    test = SAMPLES / "en-scpos-adj-n.test.jsonl"
    code, out, _ = run(capsys, "evaluate", "--model", model, "--label-words", kv,
                       "--lang", "en", "--input", test, "--calibrate", test)
    metrics = json.loads(out)
    assert code == 0 and metrics["zero_shot"] and metrics["calibrated"] and metrics["n"] == 20
    # the same classifier built in Python scores the same
    records = mrekv.read_mmm(test)
    clf = mrekv.PromptClassifier(str(model), template=metrics["template"],
                                 verbalizer=mrekv.read_label_words(kv), lang="en",
                                 progress=False)
    clf.calibrate([r.text for r in records])
    texts, gold = [r.text for r in records], [r.text_label for r in records]
    assert clf.score(texts, gold) == metrics["accuracy"]
    proba = clf.predict_proba(texts)
    y = np.array([list(clf.classes_).index(g) for g in gold])
    assert metrics["probability"]["ece"] == pytest.approx(expected_calibration_error(proba, y))
    assert metrics["probability"]["brier"] == pytest.approx(
        ((proba - np.eye(proba.shape[1])[y]) ** 2).sum(1).mean())
    # temperature scaling on held-out texts changes confidence, never a prediction
    held = tmp_path / "held.tsv"
    held.write_text("".join(f"{g}\t{t}\n" for g, t in zip(gold[:10], texts[:10], strict=True)),
                    "utf-8")
    code, out, _ = run(capsys, "evaluate", "--model", model, "--label-words", kv, "--lang",
                       "en", "--input", test, "--calibrate", test, "--fit-temperature", held)
    scaled = json.loads(out)
    assert code == 0 and scaled["n_temperature"] == 10 and scaled["temperature"] > 0
    assert scaled["temperature"] == pytest.approx(
        fit_temperature(np.log(proba[:10]), y[:10]), rel=1e-3)
    assert scaled["accuracy"] == metrics["accuracy"]
    assert scaled["probability"]["mean_confidence"] != metrics["probability"]["mean_confidence"]
    code, _, err = run(capsys, "evaluate", "--model", model, "--model-dir", tmp_path,
                       "--input", test)
    assert code != 0 and "not both or neither" in err
    code, _, err = run(capsys, "evaluate", "--model", model, "--input", test)
    assert code != 0 and "--label-words" in err


# -- causal LMs, GGUF conversion, experiment sharding -----------------------------------


def test_tiny_causal_model_then_frozen_exact_training_and_prediction(tmp_path, capsys):
    model = tmp_path / "tiny-gpt2"
    code, _, err = run(capsys, "tiny-model", "--kind", "gpt2", "--out", model, "--texts",
                       SAMPLES / "en-scpos-adj-n.train.jsonl", SAMPLES / "en-scnm.train.jsonl")
    assert code == 0 and "causal LM (gpt2)" in err
    assert json.loads((model / "config.json").read_text())["architectures"] == ["GPT2LMHeadModel"]
    kv = tmp_path / "kv.json"
    assert run(capsys, "mine", "--input", SAMPLES / "en-scpos-adj-n.train.jsonl",
               "--top-k", "5", "--out", kv)[0] == 0
    saved = tmp_path / "clf"
    code, _, _ = run(capsys, "train", "--model", model, "--label-words", kv, "--lang", "en",
                     "--train", SAMPLES / "en-scpos-adj-n.train.jsonl", "--epochs", "2",
                     "--train-mode", "frozen", "--aggregate", "exact", "--out", saved)
    assert code == 0
    config = json.loads((saved / "mrekv_config.json").read_text(encoding="utf-8"))
    assert (config["backbone"], config["train_mode"]) == ("causal", "frozen")
    assert config["verbalizer"]["aggregate"] == "exact"
    assert config["template"]["text"].endswith("{mask}")  # the causal default template
    code, out, _ = run(capsys, "evaluate", "--model-dir", saved,
                       "--input", SAMPLES / "en-scpos-adj-n.test.jsonl")
    assert code == 0 and json.loads(out)["n"] == 20


def test_train_with_an_explicit_causal_backbone_and_template(tmp_path, capsys):
    model = tmp_path / "tiny-llama"
    assert run(capsys, "tiny-model", "--kind", "llama", "--out", model, "--texts",
               SAMPLES / "en-scnm.train.jsonl")[0] == 0
    saved = tmp_path / "clf"
    code, _, _ = run(capsys, "train", "--model", model, "--backbone", "causal",
                     "--template", "{text} It was about {mask}",
                     "--train", SAMPLES / "en-scnm.train.jsonl", "--epochs", "1",
                     "--learning-rate", "1e-3", "--out", saved)
    assert code == 0
    config = json.loads((saved / "mrekv_config.json").read_text(encoding="utf-8"))
    assert config["backbone"] == "causal" and config["train_mode"] == "full"
    assert config["verbalizer"]["type"] == "soft"


def test_train_option_mistakes_are_clean_errors(tmp_path, capsys):
    model = tmp_path / "tiny"
    assert run(capsys, "tiny-model", "--out", model, "--texts",
               SAMPLES / "en-scnm.train.jsonl")[0] == 0
    common = ["train", "--model", model, "--train", SAMPLES / "en-scnm.train.jsonl",
              "--out", tmp_path / "clf"]
    code, _, err = run(capsys, *common, "--aggregate", "mean")
    assert code == 2 and "--aggregate" in err and "--label-words" in err
    code, _, err = run(capsys, *common, "--finetune", "--train-mode", "frozen")
    assert code == 2 and "--finetune" in err
    assert not (tmp_path / "clf").exists()


def test_tiny_causal_model_needs_one_vocabulary_source(tmp_path, capsys):
    code, _, err = run(capsys, "tiny-model", "--kind", "llama", "--out", tmp_path / "m")
    assert code == 2 and "exactly one of --texts and --tokenizer-from" in err


def test_convert_prints_the_converted_folder(tmp_path, capsys, monkeypatch):
    import mrekv.gguf

    calls = []

    def fake(path, *, cache_dir=None):
        calls.append((path, cache_dir))
        return Path(cache_dir or "/cache") / "0123456789abcdef"

    monkeypatch.setattr(mrekv.gguf, "convert_gguf", fake)
    monkeypatch.chdir(tmp_path)
    Path("m.gguf").write_bytes(b"GGUF\x03\x00\x00\x00")
    code, out, _ = run(capsys, "convert", "--gguf", "m.gguf", "--cache-dir", tmp_path)
    assert code == 0 and out.strip() == str(tmp_path / "0123456789abcdef")
    assert calls == [("m.gguf", str(tmp_path))]
    code, out, _ = run(capsys, "convert", "--gguf", "m.gguf")
    assert code == 0 and calls[-1] == ("m.gguf", None)


def test_convert_of_a_missing_file_is_a_clean_error(tmp_path, capsys):
    code, out, err = run(capsys, "convert", "--gguf", tmp_path / "missing.gguf")
    assert code == 2 and out == "" and "missing.gguf" in err and "mrekv convert: error" in err


@pytest.fixture
def fake_runner(monkeypatch, tmp_path):
    import mrekv.experiment.runner

    calls: list[dict] = []

    def fake(config_path, **kwargs):
        calls.append({"config": config_path, **kwargs})
        return tmp_path / "results.jsonl"

    monkeypatch.setattr(mrekv.experiment.runner, "run_experiment", fake)
    return calls


def test_experiment_run_passes_shard_and_methods(fake_runner, capsys):
    code, out, _ = run(capsys, "experiment", "run", "quick.toml", "--shard", "1/4",
                       "--methods", "kpt, manual", "--quiet")
    assert code == 0 and out.strip().endswith("results.jsonl")
    assert fake_runner[-1]["shard"] == (1, 4)
    assert fake_runner[-1]["methods"] == ["kpt", "manual"]
    assert run(capsys, "experiment", "run", "quick.toml")[0] == 0
    assert "shard" not in fake_runner[-1] and "methods" not in fake_runner[-1]
    assert "datasets" not in fake_runner[-1]
    assert run(capsys, "experiment", "run", "quick.toml", "--datasets", "sst2,agnews")[0] == 0
    assert fake_runner[-1]["datasets"] == ["sst2", "agnews"]


@pytest.mark.parametrize("value", ["4/4", "-1/2", "1/0", "a/b", "3", "1/2/3", ""])
def test_a_bad_shard_is_an_argparse_error(fake_runner, capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["experiment", "run", "quick.toml", f"--shard={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--shard" in err and "0 <= I < N" in err and repr(value) in err
    assert fake_runner == []


@pytest.mark.parametrize("value", ["kpt,,manual", ",", "kpt,"])
def test_a_bad_method_list_is_an_argparse_error(fake_runner, capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["experiment", "run", "quick.toml", "--methods", value])
    assert info.value.code == 2 and "--methods" in capsys.readouterr().err


def test_the_runner_accepts_shard_and_methods():
    import inspect

    from mrekv.experiment.runner import run_experiment

    params = inspect.signature(run_experiment).parameters
    if not {"shard", "methods"} <= set(params):
        pytest.skip("run_experiment does not take shard= / methods= yet")
    inspect.signature(run_experiment).bind("c.toml", shard=(0, 2), methods=["kpt"])


def _subparser(parser, *names):
    import argparse

    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (["train"], ["--backbone", "--train-mode", "--aggregate"]),
        (["tiny-model"], ["--kind"]),
        (["convert"], ["--cache-dir"]),
        (["experiment", "run"], ["--shard", "--methods"]),
    ],
)
def test_new_options_show_their_default_in_the_help(command, options):
    from mrekv.cli import build_parser

    parser = _subparser(build_parser(), *command)
    helps = {opt: a.help or "" for a in parser._actions for opt in a.option_strings}
    for option in options:
        assert "default" in helps[option], option
    text = parser.format_help()
    assert "%(default)s" not in text and "(default: None)" not in text
