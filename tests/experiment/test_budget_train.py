"""Trained baselines on the equal-budget samples: fields, shared samples, no label outside N."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from mrekv.experiment.budget import BudgetData
from mrekv.experiment.budget_train import Protocol, dev_split, run_budget_train

ROOT = Path(__file__).resolve().parents[2]
FAST = Protocol(min_steps=2, min_epochs=2, max_epochs=2)
# setfit is an evaluation dependency (make eval-models), not one of mrekv's: without it the
# network baselines still run and are checked, and the setfit cell is left out.
HAS_SETFIT = all(importlib.util.find_spec(m) is not None for m in ("setfit", "datasets"))
METHODS = ("finetune", "prompt-full") + (("setfit",) if HAS_SETFIT else ())
CELL_FIELDS = ("kind", "key", "experiment", "dataset", "lang", "model", "template", "test_hash",
               "n_test", "classes", "method", "budget", "seed", "sample_hash",
               "knowledge_source", "n_calibration", "macro_f1", "accuracy", "ece", "chosen",
               "pred", "timings")


def _config(tmp_path: Path) -> Path:
    text = f"""
name = "budget-test"
output = "b.jsonl"
methods = ["lm:manual"]
[model]
ids = ["tiny-causal"]
[training]
max_length = 64
calibration_size = 8
[setfit]
num_iterations = 1
[mining]
top_k = 20
[[datasets]]
name = "en-sample"
source = "mmm"
lang = "en"
train = "{ROOT}/data/samples/en-scpos-adj-n.train.jsonl"
test = "{ROOT}/data/samples/en-scpos-adj-n.test.jsonl"
manual = {{ negative = ["bad"], positive = ["good"] }}
"""
    path = tmp_path / "budget.toml"
    path.write_text(text, "utf-8")
    return path


class _Recording(BudgetData):
    """BudgetData that records every corpus id whose label is read after sampling."""

    read: set[int] = set()
    sampling = True

    def labels(self, ids):
        if not type(self).sampling:
            type(self).read |= set(ids)
        return super().labels(ids)

    def samples(self, budgets, seed):
        type(self).sampling = True  # stratified sampling itself reads the pool's labels
        try:
            return super().samples(budgets, seed)
        finally:
            type(self).sampling = False


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import mrekv.experiment.budget_runner as module  # iter_units builds the BudgetData

    tmp = tmp_path_factory.mktemp("budget-train")
    out = tmp / "t.jsonl"
    saved, module.BudgetData = module.BudgetData, _Recording  # type: ignore[misc]
    try:
        run_budget_train(_config(tmp), out, budgets=(8,), seeds=(0,), max_test=20,
                         protocol=FAST, methods=METHODS)
    finally:
        module.BudgetData = saved  # type: ignore[misc]
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    return tmp, out, rows, set(_Recording.read)


def test_lines_carry_the_sweep_fields_and_a_test_set_line(trained):
    _, _, rows, _ = trained
    assert [r["kind"] for r in rows] == ["test-set"] + ["cell"] * len(METHODS)
    assert [r["method"] for r in rows[1:]] == list(METHODS)
    for r in rows[1:]:
        assert set(CELL_FIELDS) <= set(r), set(CELL_FIELDS) - set(r)
        assert r["knowledge_source"] == "budget" and r["n_test"] == 20 == len(r["pred"])
        assert r["test_hash"] == rows[0]["test_hash"] and len(rows[0]["gold"]) == 20
    for r in rows[1:3]:
        chosen = r["chosen"]
        assert chosen["n_train"] + chosen["n_dev"] == 8 and chosen["chosen_epoch"] >= 1
        assert [c["epoch"] for c in chosen["curve"]] == [0, 1, 2]
        assert all({"dev_loss", "dev_accuracy", "train_loss"} <= set(c) for c in chosen["curve"])


def test_samples_and_keys_match_the_main_sweep(trained):
    from mrekv.experiment.budget_runner import run_budget_sweep

    tmp, _, rows, _ = trained
    sweep = run_budget_sweep(_config(tmp), tmp / "s.jsonl", budgets=(0, 8), seeds=(0,),
                             max_test=20, methods=("tfidf-lr",), progress=False)
    main = [json.loads(line) for line in sweep.read_text("utf-8").splitlines()]
    assert main[0]["key"] == rows[0]["key"] and main[0]["gold"] == rows[0]["gold"]
    tfidf = next(r for r in main if r.get("method") == "tfidf-lr")
    for r in rows[1:]:
        for field in ("sample_hash", "test_hash", "budget", "seed", "template", "model"):
            assert r[field] == tfidf[field], field


def test_no_method_reads_a_label_outside_its_sample(trained):
    _, _, _, read = trained
    data = _Recording.build(_prepared(trained[0]), max_test=20, calibration_size=8)
    ids = data.samples([8], 0)[8]
    assert read and read <= set(ids) | set(data.test_ids)
    assert not read & (set(data.pool_ids) - set(ids))


def _prepared(tmp: Path):
    import dataclasses

    from mrekv.experiment.config import load_config
    from mrekv.experiment.datasets import prepare_dataset

    exp = load_config(_config(tmp))
    return prepare_dataset(dataclasses.replace(exp.datasets[0], max_test=None), exp)


def test_a_rerun_resumes_without_new_lines(trained):
    tmp, out, rows, _ = trained
    run_budget_train(_config(tmp), out, budgets=(8,), seeds=(0,), max_test=20, protocol=FAST,
                     methods=METHODS)
    assert len(out.read_text("utf-8").splitlines()) == len(rows)


def test_dev_split_is_stratified_and_keeps_singletons_for_training():
    labels = ["a"] * 10 + ["b"] * 5 + ["c"]
    train, dev = dev_split(labels, 0.2, seed=3)
    assert sorted(train + dev) == list(range(16)) and not set(train) & set(dev)
    assert sorted(labels[i] for i in dev) == ["a", "a", "b"]
    assert dev_split(labels, 0.2, seed=3) == (train, dev)


def test_protocol_gives_small_budgets_more_epochs():
    p = Protocol()
    assert p.epochs(204) == 4 and p.epochs(51) == 10 and p.epochs(13) == 30
