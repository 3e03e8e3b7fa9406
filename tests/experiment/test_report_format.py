"""What a reader of the report notices: tables without ``None``, honest win rates, plots
whose series can be told apart, integer shot ticks and a legend outside the data."""

from __future__ import annotations

import pytest

from mrekv.errors import MrekvError
from mrekv.experiment.report import build_report, plot_dataset, series_style, win_rate
from mrekv.experiment.results import append_line


def rec(method, f1, *, seed=0, shots=4, family="prompt", model="bert", template="default"):
    proxy = family in ("probe", "embedding")
    return {"cell_key": f"{method}-{model}-{shots}-{seed}", "status": "ok", "dataset": "d1",
            "lang": "en", "method": method, "family": family, "calibrated": False,
            "proxy": proxy, "shots": shots, "seed": seed, "model": None if proxy else model,
            "template": None if proxy else template,
            "metrics": {"accuracy": f1, "macro_f1": f1}, "experiment": None,
            "mrekv_version": None, "git_commit": None}


def test_win_rate_of_an_all_tie_row_is_not_zero():
    assert win_rate(0, 3, 0) == "– (all ties)"
    assert win_rate(0, 0, 0) == "–"
    assert win_rate(1, 1, 0) == "50%"
    assert win_rate(0, 1, 1) == "0%"


def test_report_has_no_literal_none_and_marks_all_ties(tmp_path):
    results = tmp_path / "r.jsonl"
    for seed in (0, 1):
        append_line(results, rec("manual", 0.5, seed=seed))
        append_line(results, rec("kpt", 0.5, seed=seed))  # ties manual on every seed
        append_line(results, rec("manual", 0.4, seed=seed, model="other"))
    append_line(results, rec("probe:manual", 0.2, seed=None, shots=0, family="probe"))
    append_line(results, rec("finetune", 0.6, family="finetune", template=None))
    text = build_report(results, tmp_path / "rep").read_text(encoding="utf-8")
    assert "None" not in text
    assert "| `kpt` | en | 0 | 2 | 0 | – (all ties) |" in text
    assert "| d1 | en | bert | – | `finetune` | 4 | 1 |" in text  # no template


def test_series_styles_are_distinct():
    styles = [series_style(i, proxy) for i in range(40) for proxy in (False, True)]
    keys = {(s["color"], s["marker"], str(s["linestyle"])) for s in styles}
    assert len(keys) == len(styles)
    assert len({series_style(i, False)["color"] for i in range(10)}) == 10


def test_plot_has_integer_shot_ticks_and_the_legend_outside(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    rows = [{"dataset": "d1", "model": "m", "method": f"method-{i}", "shots": shots,
             "proxy": i % 2 == 1, "macro_f1": [0.1 * (i % 9), 0.1]}
            for i in range(12) for shots in (1, 2, 4, 16)]
    path = plot_dataset(rows, "d1", tmp_path / "d1.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    (fig,) = figures
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [1, 2, 4, 16]
    lines = [c.lines[0] for c in ax.containers if c.get_label().startswith("method-")]
    assert len({(line.get_color(), line.get_marker(), str(line.get_linestyle()))
                for line in lines}) == 12
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    axes = ax.get_window_extent()
    assert legend.x0 >= axes.x1  # right of the data, not over it


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "no result lines"),
        ('{"input": "a text/NER", "output": "x/NER/"}\n', "not a results file"),
        ("not json\n", "not a JSON result line"),
    ],
)
def test_report_on_a_file_that_is_not_results(tmp_path, content, expected):
    path = tmp_path / "x.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MrekvError, match=expected):
        build_report(path, tmp_path / "rep")
    assert not (tmp_path / "rep").exists()


def test_report_on_a_folder_or_a_missing_file(tmp_path):
    with pytest.raises(MrekvError, match="is a folder"):
        build_report(tmp_path, tmp_path / "rep")
    with pytest.raises(MrekvError, match="no such results file"):
        build_report(tmp_path / "none.jsonl", tmp_path / "rep")
