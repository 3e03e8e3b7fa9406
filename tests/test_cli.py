"""The command line, run in-process through ``mrekv.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

from mrekv.cli import main

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
    assert code == 2 and "mrekv: error" in err


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
