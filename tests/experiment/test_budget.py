"""Equal-budget sweep: nested stratified samples, shared samples, no label outside N."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mrekv.experiment.budget import (
    BudgetData,
    decode_predictions,
    encode_predictions,
    nested_samples,
    run_cell,
)

ROOT = Path(__file__).resolve().parents[2]


def test_nested_samples_are_stratified_nested_and_seeded():
    labels = ["a"] * 70 + ["b"] * 20 + ["c"] * 10
    s = nested_samples(labels, ["a", "b", "c"], [0, 3, 16, 64, 1000], seed=1)
    assert s[0] == [] and len(s[3]) == 3 and len(s[16]) == 16 and len(s[100]) == 100
    assert Counter(labels[i] for i in s[3]) == {"a": 1, "b": 1, "c": 1}
    assert Counter(labels[i] for i in s[64]) == {"a": 45, "b": 13, "c": 6}
    assert set(s[3]) <= set(s[16]) <= set(s[64]) <= set(s[100])
    assert s == nested_samples(labels, ["a", "b", "c"], [0, 3, 16, 64, 1000], seed=1)
    assert s[16] != nested_samples(labels, ["a", "b", "c"], [16], seed=2)[16]


def test_predictions_round_trip():
    pred = np.array([0, 3, 11, 35, 1])
    assert (decode_predictions(encode_predictions(pred)) == pred).all()


SAMPLE = f"""
name = "en-sample"
source = "mmm"
lang = "en"
train = "{ROOT}/data/samples/en-scpos-adj-n.train.jsonl"
test = "{ROOT}/data/samples/en-scpos-adj-n.test.jsonl"
"""


def _config(tmp_path: Path, dataset: str = SAMPLE, min_count: int | None = None) -> Path:
    mining = "" if min_count is None else f"min_count = {min_count}"
    text = f"""
name = "budget-test"
output = "b.jsonl"
methods = ["lm:manual"]
[model]
ids = ["tiny-causal"]
[training]
max_length = 64
calibration_size = 8
[mining]
top_k = 20
{mining}
[[datasets]]
{dataset.strip()}
manual = {{ negative = ["bad"], positive = ["good"] }}
"""
    path = tmp_path / "budget.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    from mrekv.experiment.budget_runner import run_budget_sweep

    tmp = tmp_path_factory.mktemp("budget")
    out = run_budget_sweep(_config(tmp), tmp / "b.jsonl", budgets=(0, 4, 16), seeds=(0, 1),
                           max_test=20, progress=False)
    return tmp, out, [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def test_every_line_carries_the_budget_fields_and_methods_share_samples(sweep):
    _, _, rows = sweep
    cells = [r for r in rows if r["kind"] == "cell"]
    for r in cells:
        for key in ("dataset", "model", "method", "budget", "seed", "sample_hash",
                    "knowledge_source", "n_test", "macro_f1"):
            assert key in r, key
    by_unit: dict = {}
    for r in cells:
        by_unit.setdefault((r["budget"], r["seed"]), set()).add(r["sample_hash"])
    assert all(len(h) == 1 for h in by_unit.values())
    assert len({r["sample_hash"] for r in cells if r["budget"] == 16}) == 2  # seeds differ
    assert {r["method"] for r in cells if r["budget"] == 0} == {
        "manual+calib", "prior:manual", "prior:auto", "head", "head:auto", "suite:manual",
        "head:1se"}
    # the sample config names no KPT file and no external corpus: those methods skip
    assert not {r["method"] for r in cells} & {"kpt+calib", "external+calib",
                                                "knowledge+calib", "head:knowledge",
                                                "suite:knowledge"}
    assert len({r["n_test"] for r in cells}) == 1


def test_a_rerun_resumes_without_new_lines(sweep):
    from mrekv.experiment.budget_runner import run_budget_sweep

    tmp, out, rows = sweep
    run_budget_sweep(_config(tmp), out, budgets=(0, 4, 16), seeds=(0, 1), max_test=20,
                     progress=False)
    assert len(out.read_text("utf-8").splitlines()) == len(rows)


def test_the_report_refuses_cells_whose_samples_differ(sweep, tmp_path):
    from mrekv.experiment.report_budget import check_shared_samples, summarise

    _, _, rows = sweep
    summary = summarise(rows)
    assert {r["budget"] for r in summary} == {0, 4, 16}
    head = [r for r in summary if r["method"] == "head" and r["budget"] > 0]
    assert head and all(r["diff_lo"] <= r["diff"] <= r["diff_hi"] for r in head)
    bad = [dict(r) for r in rows if r["kind"] == "cell"]
    victim = next(r for r in bad if r["method"] == "probe")
    victim["sample_hash"] = "different"
    with pytest.raises(ValueError, match="saw sample"):
        check_shared_samples(bad)


class _Recording(BudgetData):
    """BudgetData that records every corpus id whose label is read."""

    read: frozenset = frozenset()

    def labels(self, ids):
        self.read = self.read | set(ids)
        return super().labels(ids)


EXTERNAL = """
[budget]
max_test = 20
external_max = 60
[budget.external]
en-sample = "amazon"
"""


@pytest.mark.parametrize("method", ["mined+calib", "tfidf-lr", "probe", "prior:manual",
                                    "prior:auto", "manual+calib", "head", "external+calib",
                                    "knowledge+calib", "head:knowledge", "head:auto",
                                    "suite:manual", "suite:knowledge", "head:1se"])
def test_no_method_reads_a_label_outside_its_sample(method, tmp_path):
    from mrekv.experiment.budget import DatasetModel
    from mrekv.experiment.budget_runner import _prepare

    config = _config(tmp_path)
    if "knowledge" in method or "external" in method:
        config.write_text(config.read_text("utf-8") + EXTERNAL, "utf-8")
    dm, ids = _prepare(config, tmp_path / "x.jsonl", budgets=(8,), seed=0,
                       max_test=20, data_class=_Recording)
    dm.data.read = frozenset()  # stratified sampling itself reads the pool's labels
    assert isinstance(dm, DatasetModel)
    out = run_cell(dm, method, ids, 0)
    assert out["proba"].shape == (20, 2)
    assert dm.data.read <= set(ids)


def test_external_words_come_from_the_named_corpus_and_never_from_the_dataset(tmp_path):
    from mrekv.experiment.budget_runner import _prepare

    config = _config(tmp_path)
    config.write_text(config.read_text("utf-8") + EXTERNAL, "utf-8")
    dm, ids = _prepare(config, tmp_path / "x.jsonl", budgets=(8,), seed=0, max_test=20)
    words, source = dm.knowledge["external"]
    assert source == "external:amazon" and "kpt" not in dm.knowledge
    assert words.provenance.get("split") == "amazon:train" or "amazon" in str(words.provenance)
    assert all(words.as_lists())
    assert dm.source_name("knowledge+calib") == "none+external:amazon"
    assert dm.knowledge_verbalizer("knowledge+calib").num_classes == 2


def test_the_union_keeps_part_order_and_each_word_once():
    from mrekv.experiment.knowledge_sources import union_label_words
    from mrekv.verbalizer.label_words import LabelWords

    manual = LabelWords.from_lists(["neg", "pos"], [["bad"], ["good", "great"]])
    mined = LabelWords.from_lists(["neg", "pos"], [["awful", "bad"], ["great", "fun"]])
    union = union_label_words(["neg", "pos"], [manual, None, mined])
    assert union.as_lists() == [["bad", "awful"], ["good", "great", "fun"]]


def test_an_external_corpus_of_another_task_or_the_dataset_itself_is_refused(tmp_path):
    from mrekv.errors import ConfigError
    from mrekv.experiment.config import load_config

    config = _config(tmp_path)
    config.write_text(config.read_text("utf-8") + EXTERNAL.replace('"amazon"', '"amazonn"'),
                      "utf-8")
    with pytest.raises(ConfigError, match="amazonn"):
        load_config(config)
    config.write_text(_config(tmp_path).read_text("utf-8")
                      + EXTERNAL.replace("en-sample", "nope"), "utf-8")
    with pytest.raises(ConfigError, match="'nope', not a dataset"):
        load_config(config)


def test_experiment_run_takes_the_budget_axes_from_the_config_and_flags(tmp_path, capsys):
    from mrekv.cli import main

    config = _config(tmp_path)
    config.write_text(config.read_text("utf-8") + """
[budget]
budgets = [0, 4]
seeds = [0]
max_test = 12
methods = ["manual+calib", "head"]
""", "utf-8")
    assert main(["experiment", "run", str(config), "--quiet"]) == 0
    out = Path(capsys.readouterr().out.strip())
    rows = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    cells = [r for r in rows if r["kind"] == "cell"]
    assert out == tmp_path / "b.jsonl"  # the config's output, beside it
    assert {(r["method"], r["budget"]) for r in cells} == {
        ("manual+calib", 0), ("manual+calib", 4), ("head", 0), ("head", 4)}
    assert {r["n_test"] for r in cells} == {12}
    # flags override the section: one more seed adds only its cells
    assert main(["experiment", "run", str(config), "--quiet", "--seeds", "0,1",
                 "--budgets", "4"]) == 0
    capsys.readouterr()
    again = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    new = [r for r in again[len(rows):] if r["kind"] == "cell"]
    assert {(r["seed"], r["budget"]) for r in new} == {(1, 4)}


def test_the_mre_control_mines_each_word_for_the_class_its_value_names(tmp_path):
    from mrekv.experiment.budget_runner import _prepare

    config = _config(tmp_path, """
source = "corpus"
corpus = "semeval14-restaurants"
word_labels = "gold"
max_train_pool = 300
""", min_count=1)
    dm, ids = _prepare(config, tmp_path / "x.jsonl", budgets=(64,), seed=0, max_test=20)
    assert dm.has_source("mined-values+calib")
    examples = dm.data.prepared.corpus.to_examples()
    spans = {c: {span.lower() for i in ids for value, span in examples[i].word_labels
                 if value == c} for c in dm.classes}
    by_value, filled = dm.mined(ids, by_value=True)
    assert filled == 0
    for c, words in zip(dm.classes, by_value.label_words.as_lists(), strict=True):
        mined = [w for w in words if w != c]  # the miner adds the class name itself
        assert mined and all(any(w.lower() in s for s in spans[c]) for w in mined), c
    copied, _ = dm.mined(ids)  # the sentence class copied onto its words: other counts
    assert copied.label_words.as_lists() != by_value.label_words.as_lists()
    out = run_cell(dm, "mined-values+calib", ids, 0)
    assert out["proba"].shape == (20, 2)


def test_win_tables_count_finished_units_and_mark_ties_by_the_interval():
    from mrekv.experiment.report_budget import win_table

    def row(n, lo, hi, seeds=5):
        return {"budget": n, "seeds": seeds, "diff": (lo + hi) / 2, "diff_lo": lo,
                "diff_hi": hi}

    summary = [row(16, 0.01, 0.05), row(64, -0.02, 0.03), row(256, -0.05, -0.01),
               row(256, 0.02, 0.04, seeds=2), row(0, 0.1, 0.2)]
    # row(64, ...) is a tie whose mean (+0.005) is at or above the best baseline
    assert win_table(summary, min_seeds=5) == {"wins": 1, "ties": 1, "losses": 1,
                                               "at_or_above": 2}
    assert win_table(summary) == {"wins": 2, "ties": 1, "losses": 1, "at_or_above": 3}
    assert win_table(summary, zero=True, min_seeds=5)["wins"] == 2


def test_the_scoring_suite_defaults_without_labels_and_its_fixed_variants_match(sweep):
    from mrekv.experiment.budget import decode_predictions
    from mrekv.verbalizer.scoring import DEFAULT_SCORING, SCORINGS

    _, _, rows = sweep
    suite = [r for r in rows if r.get("method") == "suite:manual"]
    zero = [r for r in suite if r["budget"] == 0]
    assert zero and all(r["chosen"]["scoring"] == DEFAULT_SCORING for r in zero)
    assert all(r["knowledge_source"] == "none" for r in zero)
    assert all(set(r["chosen"]["variants_pred"]) == set(SCORINGS) for r in zero)
    for r in zero:  # the chosen variant's recorded predictions are the cell's own
        assert (decode_predictions(r["chosen"]["variants_pred"][DEFAULT_SCORING])
                == decode_predictions(r["pred"])).all()
    labelled = [r for r in suite if r["budget"] > 0]
    assert labelled and all(set(r["chosen"]["train_accuracy"]) == set(SCORINGS)
                            and r["knowledge_source"] == "none+budget" for r in labelled)
    # calibrated manual words are the mean-prob/class variant, scored the same way
    manual = {(r["budget"], r["seed"]): r["pred"] for r in rows
              if r.get("method") == "manual+calib"}
    for r in zero:
        assert r["chosen"]["variants_pred"]["mean-prob/class"] == manual[(0, r["seed"])]


def test_the_report_scores_the_fixed_variants_against_the_test_set(sweep, tmp_path):
    from mrekv.experiment.report_budget import report_sections, write_budget_report
    from mrekv.verbalizer.scoring import SCORINGS

    _, out, rows = sweep
    parts = report_sections(rows)
    variants = {r["method"]: r for r in parts["variants_manual"]}
    assert set(variants) == {f"manual|{v}" for v in SCORINGS}
    manual = [r for r in rows if r.get("method") == "manual+calib" and r["budget"] == 0]
    assert variants["manual|mean-prob/class"]["macro_f1"] == pytest.approx(
        np.mean([r["macro_f1"] for r in manual]), abs=1e-9)
    assert {r["budget"] for r in parts["suite"]} == {0, 4, 16}
    text = write_budget_report(out, tmp_path / "report").read_text("utf-8")
    assert "## Scoring and calibration variants" in text and "`manual|mean-log/word`" in text


def test_cells_record_brier_and_nll_and_the_report_pools_them(sweep, tmp_path):
    from mrekv.experiment.report_budget import reliability

    _, _, rows = sweep
    cells = [r for r in rows if r.get("kind") == "cell"]
    assert all(0 <= r["brier"] <= 2 and r["nll"] >= 0 for r in cells)
    head = reliability(rows)["head"]
    briers = [r["brier"] for r in cells if r["method"] == "head"]
    assert head["brier"] == pytest.approx(np.mean(briers)) and head["brier_cells"] == len(briers)
