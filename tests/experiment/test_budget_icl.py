"""In-context learning on the equal-budget cells: demonstrations only from the sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_budget import _config, _Recording

from mrekv.experiment.budget_icl import (
    ICLSettings,
    nearest_demonstrations,
    open_icl_model,
    run_budget_icl,
    run_icl_cell,
)

SMALL = ICLSettings(max_per_class=2, max_total=8, demo_tokens=12, max_length=400)


def test_nearest_demonstrations_are_class_balanced_deterministic_and_nearest_last():
    texts = ["red apple pie", "green apple", "blue sky", "red sky at night", "apple tart red"]
    labels = ["fruit", "fruit", "sky", "sky", "fruit"]
    near = nearest_demonstrations(texts, labels, ["red apple", "night sky"], ["fruit", "sky"],
                                  per_class=1, lang="en")
    assert near == nearest_demonstrations(texts, labels, ["red apple", "night sky"],
                                          ["fruit", "sky"], per_class=1, lang="en")
    for row in near:
        assert sorted(labels[j] for j in row) == ["fruit", "sky"]
    assert near[0][-1] in (0, 1, 4) and near[1][-1] == 3  # the nearest one is last
    assert sorted(nearest_demonstrations(texts, labels, ["zzz"], ["fruit", "sky"], 2, "en")[0]) \
        == [0, 1, 2, 3]  # no overlap at all: ties go to the lower positions
    two = nearest_demonstrations(texts, labels, ["red"], ["fruit", "sky"], per_class=5, lang="en")
    assert sorted(two[0]) == [0, 1, 2, 3, 4]  # fewer than per_class: the whole class


def test_settings_are_validated_and_give_k():
    assert ICLSettings().per_class(2) == 2 and ICLSettings().per_class(4) == 2
    assert ICLSettings().per_class(10) == 1
    with pytest.raises(Exception, match="demo_tokens"):
        ICLSettings(demo_tokens=0)


@pytest.mark.parametrize("method", ["icl", "icl+calib"])
def test_demonstrations_come_only_from_the_sample(method, tmp_path):
    from mrekv.experiment.budget_runner import _prepare
    from mrekv.experiment.config import load_config

    config = _config(tmp_path)
    out = tmp_path / "x.jsonl"
    dm, ids = _prepare(config, out, budgets=(8,), seed=0, max_test=20, data_class=_Recording)
    icl = open_icl_model(load_config(config), dm, SMALL, out, "tiny-causal", False)
    dm.data.read = frozenset()  # stratified sampling itself reads the pool's labels
    result = run_icl_cell(icl, method, ids)
    assert result["proba"].shape == (20, 2)
    assert dm.data.read <= set(ids)
    shown = result["demonstrations"]
    assert len(shown) == 20 and all(row and set(row) <= set(ids) for row in shown)
    labels = dm.data.labels(ids)
    for row in shown:  # class-balanced: per_class of each class
        picked = [labels[ids.index(i)] for i in row]
        assert sorted(set(picked)) == ["negative", "positive"]
        assert picked.count("negative") == picked.count("positive") == 2
    assert result["info"]["k"] == 4 and result["info"]["selection"] == "tfidf-knn-balanced"


@pytest.fixture(scope="module")
def icl_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("icl")
    out = run_budget_icl(_config(tmp), tmp / "icl.jsonl", budgets=(0, 4, 16), seeds=(0, 1),
                         max_test=20, settings=SMALL, progress=False)
    return tmp, out, [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def test_lines_carry_the_sweep_fields_and_its_sample_hashes(icl_run):
    from mrekv.experiment.budget_runner import run_budget_sweep

    tmp, _, rows = icl_run
    cells = [r for r in rows if r["kind"] == "cell"]
    assert [r["kind"] for r in rows].count("test-set") == 1
    assert {(r["method"], r["budget"], r["seed"]) for r in cells} == {
        (m, n, s) for m in ("icl", "icl+calib") for n in (4, 16) for s in (0, 1)}
    for r in cells:
        for key in ("key", "experiment", "dataset", "lang", "model", "template", "test_hash",
                    "n_test", "classes", "method", "budget", "seed", "sample_hash",
                    "knowledge_source", "n_calibration", "macro_f1", "accuracy", "ece",
                    "chosen", "pred", "timings"):
            assert key in r, key
        assert r["knowledge_source"] == "budget" and len(r["pred"]) == r["n_test"]
        assert {"k", "selection", "truncation"} <= set(r["chosen"])
    sweep = run_budget_sweep(_config(tmp), tmp / "sweep.jsonl", budgets=(0, 4, 16),
                             seeds=(0, 1), max_test=20, methods=("manual+calib",),
                             progress=False)
    main = [json.loads(line) for line in sweep.read_text("utf-8").splitlines()]
    hashes = {(r["budget"], r["seed"]): r["sample_hash"] for r in main if r["kind"] == "cell"}
    for r in cells:
        assert r["sample_hash"] == hashes[(r["budget"], r["seed"])]
        assert r["test_hash"] == main[0]["test_hash"] and r["template"] == main[0]["template"]
    assert len({r["sample_hash"] for r in cells}) == 4  # budgets and seeds differ


def test_a_rerun_resumes_without_new_lines(icl_run):
    tmp, out, rows = icl_run
    run_budget_icl(_config(tmp), out, budgets=(0, 4, 16), seeds=(0, 1), max_test=20,
                   settings=SMALL, progress=False)
    assert len(out.read_text("utf-8").splitlines()) == len(rows)


def test_unknown_method_is_refused(tmp_path: Path):
    with pytest.raises(Exception, match="icl\\+calib"):
        run_budget_icl(_config(tmp_path), tmp_path / "o.jsonl", methods=("icl-calib",))
