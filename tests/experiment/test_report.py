"""The report is rebuilt from a results file alone; figures are checked by hand."""

from __future__ import annotations

import pytest

from mrekv.experiment.report import build_report, summary_rows, win_table
from mrekv.experiment.results import append_line


def rec(method, f1, *, seed=0, shots=4, dataset="d1", lang="en", family="prompt",
        calibrated=False, model="tiny", status="ok", key=None, smoke=False):
    proxy = family in ("probe", "embedding")
    return {"cell_key": key or f"{dataset}-{method}-{shots}-{seed}", "status": status,
            "dataset": dataset, "lang": lang, "method": method, "family": family,
            "calibrated": calibrated, "proxy": proxy, "shots": shots, "seed": seed,
            "model": None if proxy else model, "template": None if proxy else "default",
            "metrics": {"accuracy": f1, "macro_f1": f1}, "smoke": smoke,
            "experiment": "t", "mrekv_version": "0.1.0", "git_commit": None}


RECORDS = [
    rec("manual", 0.5, seed=0), rec("manual", 0.7, seed=1),
    rec("kpt", 0.6, seed=0), rec("kpt", 0.7, seed=1),
    rec("finetune", 0.55, seed=0, family="finetune"),
    rec("finetune", 0.8, seed=1, family="finetune"),
    rec("manual+calib", 0.4, seed=0, calibrated=True),
    rec("kpt+calib", 0.3, seed=0, calibrated=True),
    rec("probe:manual", 0.2, seed=None, shots=0, family="probe"),
    rec("probe:kpt", 0.25, seed=None, shots=0, family="probe"),
]


def test_summary_mean_and_std():
    rows = {(r["method"], r["shots"]): r for r in summary_rows(RECORDS)}
    assert rows[("manual", 4)]["macro_f1"] == [0.5, 0.7]
    assert rows[("manual", 4)]["n"] == 2
    assert rows[("probe:kpt", 0)]["proxy"] is True


def test_win_tables():
    manual = {r["method"]: r for r in win_table(RECORDS, "manual")}
    # kpt vs manual: seed 0 0.6 > 0.5 win, seed 1 0.7 = 0.7 tie
    assert (manual["kpt"]["wins"], manual["kpt"]["ties"], manual["kpt"]["losses"]) == (1, 1, 0)
    # kpt+calib is compared with manual+calib (0.3 < 0.4), not with manual
    assert (manual["kpt+calib"]["wins"], manual["kpt+calib"]["losses"]) == (0, 1)
    assert manual["probe:kpt"]["wins"] == 1
    assert "finetune" not in manual and "manual" not in manual
    fine = {r["method"]: r for r in win_table(RECORDS, "finetune")}
    # manual vs finetune: 0.5 < 0.55, 0.7 < 0.8; kpt: 0.6 > 0.55, 0.7 < 0.8
    assert (fine["manual"]["wins"], fine["manual"]["losses"]) == (0, 2)
    assert (fine["kpt"]["wins"], fine["kpt"]["losses"]) == (1, 1)
    assert "probe:kpt" not in fine  # proxies have no finetune cell at their (shots, seed)


def test_build_report_from_results_file(tmp_path):
    results = tmp_path / "r.jsonl"
    for r in RECORDS:
        append_line(results, r)
    # an older failed attempt of a cell is superseded; skipped cells are listed
    append_line(results, {**rec("embedding:manual", 0.0, family="embedding", lang="ja",
                                dataset="d2"), "status": "skipped", "metrics": None,
                          "skip_reason": "the embedding encoder handles en only, not ja"})
    report = build_report(results, tmp_path / "rep")
    text = report.read_text(encoding="utf-8")
    assert report == tmp_path / "rep" / "report.md"
    assert "| d1 | en | `manual` | 4 | 2 | 60.0 ± 14.1 | 60.0 ± 14.1 |" in text
    assert "| d1 | en | `kpt` | 4 | 2 | 65.0 ± 7.1 | 65.0 ± 7.1 |" in text
    assert "## Proxy methods (no masked LM)" in text and "Proxy results, not masked-LM" in text
    assert "| `kpt` | en | 1 | 1 | 0 | 50% |" in text
    assert "handles en only, not ja" in text
    assert "Not results" in text  # the tiny model is flagged
    png = tmp_path / "rep" / "plots" / "d1.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![d1](plots/d1.png)" in text


def test_default_report_folder_and_no_smoke_note(tmp_path):
    results = tmp_path / "suite.jsonl"
    append_line(results, rec("manual", 0.5, model="bert-base-uncased"))
    report = build_report(results)
    assert report == tmp_path / "suite-report" / "report.md"
    assert "Not results" not in report.read_text(encoding="utf-8")


@pytest.mark.parametrize("values", [[0.5], [0.25, 0.75]])
def test_std_of_single_run_is_zero(tmp_path, values):
    results = tmp_path / "r.jsonl"
    for i, v in enumerate(values):
        append_line(results, rec("manual", v, seed=i, model="m"))
    text = build_report(results).read_text(encoding="utf-8")
    expected = "50.0 ± 0.0" if len(values) == 1 else "50.0 ± 35.4"
    assert expected in text


def test_full_table_pairs_full_cells_with_frozen_cells_of_the_same_seed():
    from mrekv.experiment.report_lm import full_table

    def cell(method, f1, family, seed=0, **extra):
        r = rec(method, f1, family=family, seed=seed, shots=4, model="eval:m",
                calibrated="calib" in method)
        r["verbalizer"] = method.split(":")[-1].replace("+calib", "")
        return {**r, **extra}

    records = [
        cell("lm:manual+calib", 0.60, "lm"), cell("lm:manual+calib", 0.10, "lm", seed=1),
        cell("lm:mre-best+calib", 0.70, "lm"),
        cell("manual+calib", 0.81, "prompt", timings={"fit_s": 30.0}),
        cell("finetune", 0.55, "finetune", timings={"fit_s": 50.0}),
        cell("manual+calib", 0.99, "prompt", seed=3, proxy=True),  # a proxy never shows
    ]
    lines = full_table(records)
    rows = [line for line in lines if line.startswith("| en")]
    # one row (seed 0): frozen manual 60.0 (not seed 1's 10.0), no frozen mre-frequency,
    # frozen mre-best 70.0; full manual 81.0, no full mined cells; finetune 55.0; fit (30+50)/2
    assert rows == ["| en | d1 | `eval:m` | 4 | 0 | 60.0 | – | 70.0 | 81.0 | – | – | 55.0 | 40 |"]
    assert full_table([r for r in records if r["family"] == "lm"]) == []


def test_cells_scored_on_different_test_sets_never_pair():
    def with_n(r, n):
        return {**r, "metrics": {**r["metrics"], "n_test": n}}

    records = [with_n(rec("manual", 0.5), 500), with_n(rec("kpt", 0.6), 500),
               with_n(rec("finetune", 0.9, family="finetune"), 200)]
    assert {r["method"]: r["wins"] for r in win_table(records, "manual")} == {"kpt": 1}
    assert win_table(records, "finetune") == []  # 500 test texts vs 200: not the same cells
