"""Build a Markdown report and PNG plots from a results file (and nothing else).

The report has: what was run (experiments, versions, commits, models), a
warning when the numbers come from a smoke run or a tiny random model, mean ±
std of accuracy and macro-F1 per dataset x method x shots, a win table (how
often each method beats ``manual`` and ``kpt`` of its own family and ``finetune`` on paired
(dataset, model, shots, seed) cells, per language), the skipped cells with their
reasons, and one plot per dataset (macro-F1 vs shots, one line per method).
Proxy results (``probe:*``, ``embedding:*``) are reported in their own,
clearly labelled sections.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mrekv._io import atomic_open, atomic_write_text
from mrekv.errors import MrekvError
from mrekv.experiment.config import LM_FAMILIES
from mrekv.experiment.results import read_results

RESULT_KEYS = ("cell_key", "dataset", "method", "status")

PROXY_NOTE = (
    "**Proxy results, not masked-LM results.** `probe:*` scores label words with the "
    "model-free lexical probe (a text goes to the class whose label words it contains "
    "most); `embedding:*` classifies by cosine similarity to label-word prototypes in a "
    "pretrained sentence encoder (all-MiniLM-L6-v2 by default, English only, so other "
    "languages have no embedding cells), mixed with the k-shot example mean when shots > 0. "
    "They compare label-word sets without any masked-LM weights."
)
SMOKE_NOTE = (
    "> **Not results.** These numbers come from a smoke configuration and/or a tiny, "
    "randomly initialised masked LM (`tiny`). They show that the pipeline runs end to end; "
    "they say nothing about any method."
)


def _mean_std(values: Sequence[float]) -> str:
    if not values:
        return "–"
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def latest_ok(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last ``ok`` line of every cell (a rerun of a cell supersedes earlier lines)."""
    by_key: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("status", "ok") == "ok" and record.get("metrics"):
            by_key[str(record.get("cell_key", id(record)))] = record
    return list(by_key.values())


def summary_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean/std rows per (dataset, model, template, method, shots), sorted for display."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[(r["dataset"], r["lang"], r.get("model"), r.get("template"), r["method"],
                r["shots"], bool(r.get("proxy")))].append(r)
    rows = []
    for (dataset, lang, model, template, method, shots, proxy), rs in groups.items():
        acc = [float(r["metrics"]["accuracy"]) for r in rs]
        f1 = [float(r["metrics"]["macro_f1"]) for r in rs]
        rows.append({"dataset": dataset, "lang": lang, "model": model, "template": template,
                     "method": method, "shots": shots, "proxy": proxy, "n": len(rs),
                     "accuracy": acc, "macro_f1": f1})
    rows.sort(key=lambda r: (r["lang"], r["dataset"], str(r["model"]), str(r["template"]),
                             r["method"], r["shots"]))
    return rows


def _baseline_for(record: dict[str, Any], baseline: str) -> str | None:
    """The method name ``record`` is compared with, or None when it is the baseline itself."""
    method = record["method"]
    if baseline == "finetune":
        return None if method == "finetune" else "finetune"
    family = record.get("family")
    if family == "finetune":
        return None
    prefix = f"{family}:" if family in ("probe", "embedding", *LM_FAMILIES) else ""
    suffix = "+calib" if record.get("calibrated") else ""
    name = f"{prefix}{baseline}{suffix}"
    return None if name == method else name


def win_table(records: Sequence[dict[str, Any]], baseline: str) -> list[dict[str, Any]]:
    """Wins / ties / losses in macro-F1 of each method against ``baseline``, per language.

    Cells are paired on (dataset, model, shots, seed, number of test texts: results
    files with different test caps never pair) and, against a verbalizer (``manual``,
    ``kpt``), also on the template; proxies are compared with the baseline's words in
    their own family (``probe:manual``, ``embedding:kpt``...).
    """
    def pair_key(r: dict[str, Any], with_template: bool) -> tuple[Any, ...]:
        n_test = (r.get("metrics") or {}).get("n_test")
        key = (r["dataset"], r.get("model"), r["shots"], r.get("seed"), n_test)
        return (*key, r.get("template")) if with_template else key

    with_template = baseline != "finetune"
    index = {(r["method"], pair_key(r, with_template)): r for r in records}
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in records:
        base_name = _baseline_for(r, baseline)
        if base_name is None:
            continue
        other = index.get((base_name, pair_key(r, with_template)))
        if other is None:
            continue
        a, b = float(r["metrics"]["macro_f1"]), float(other["metrics"]["macro_f1"])
        slot = 0 if a > b else (1 if a == b else 2)
        counts[(r["method"], r["lang"])][slot] += 1
    return [{"method": m, "lang": lang, "wins": c[0], "ties": c[1], "losses": c[2]}
            for (m, lang), c in sorted(counts.items())]


def cell_text(value: Any) -> str:
    """A table cell: ``None`` (an unset model, template, seed...) shows as ``–``."""
    return "–" if value is None or value == "`None`" else str(value)


def win_rate(wins: int, ties: int, losses: int) -> str:
    """Wins over all paired cells; a row of ties only is ``ties``, not 0%."""
    if wins + losses == 0:
        return "– (all ties)" if ties else "–"
    return f"{wins / (wins + ties + losses):.0%}"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell_text(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _summary_table(rows: list[dict[str, Any]]) -> str:
    show_model = len({r["model"] for r in rows}) > 1
    show_template = len({r["template"] for r in rows}) > 1
    header = ["dataset", "lang", *(["model"] if show_model else []),
              *(["template"] if show_template else []), "method", "shots", "runs",
              "accuracy", "macro-F1"]
    body = [[r["dataset"], r["lang"], *([r["model"]] if show_model else []),
             *([r["template"]] if show_template else []), f"`{r['method']}`", r["shots"], r["n"],
             _mean_std(r["accuracy"]), _mean_std(r["macro_f1"])] for r in rows]
    return _table(header, body)


def _win_section(records: list[dict[str, Any]]) -> list[str]:
    parts: list[str] = []
    for baseline in ("manual", "kpt", "finetune"):
        rows = win_table(records, baseline)
        if not rows:
            continue
        parts += [f"### Against `{baseline}`" if baseline == "finetune" else
                  f"### Against `{baseline}` (same family and calibration)", "",
                  "Paired cells where the method's macro-F1 is higher / equal / lower.", "",
                  _table(["method", "lang", "wins", "ties", "losses", "win rate"],
                         [[f"`{r['method']}`", r["lang"], r["wins"], r["ties"], r["losses"],
                           win_rate(r["wins"], r["ties"], r["losses"])]
                          for r in rows]), ""]
    return parts


def plot_dataset(rows: list[dict[str, Any]], dataset: str, path: Path) -> Path:
    """Plot macro-F1 (mean ± std over seeds) against shots, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["dataset"] == dataset:
            label = r["method"] if r["model"] is None else f"{r['method']} ({r['model']})"
            series[label].append(r)
    fig, ax = plt.subplots(figsize=(8.4, 4.2))
    shots: set[int] = set()
    for i, (label, rs) in enumerate(sorted(series.items())):
        rs = sorted(rs, key=lambda r: r["shots"])
        xs = [r["shots"] for r in rs]
        shots.update(int(x) for x in xs)
        ys = [100 * statistics.fmean(r["macro_f1"]) for r in rs]
        es = [100 * statistics.stdev(r["macro_f1"]) if len(r["macro_f1"]) > 1 else 0.0
              for r in rs]
        ax.errorbar(xs, ys, yerr=es, capsize=3, label=label, **series_style(i, rs[0]["proxy"]))
    ax.set_xticks(sorted(shots))  # shots are whole numbers: no 2.5-shot ticks
    ax.set_xlabel("shots per class")
    ax.set_ylabel("macro-F1 (%)")
    ax.set_title(f"{dataset} (dashed: proxies)")
    # outside the axes, so no line is hidden behind the legend
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    try:  # atomic: a full disk leaves no 0-byte PNG (and an older plot as it was)
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DASHES = ((0, (4, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)), (0, (2, 2)))


def series_style(index: int, proxy: bool) -> dict[str, Any]:
    """A colour, marker and line style for series ``index``: no two of the first 80 match.

    Ten colours come first; each further round of ten changes the marker, so series
    stay apart beyond ten. Proxies are dashed (one of four dash patterns).
    """
    color = COLORS[index % len(COLORS)]
    marker = MARKERS[(index // len(COLORS)) % len(MARKERS)]
    linestyle: Any = DASHES[(index // len(COLORS)) % len(DASHES)] if proxy else "-"
    return {"color": color, "marker": marker, "linestyle": linestyle}


def check_results(records: Sequence[dict[str, Any]], paths: Sequence[Path]) -> None:
    """Raise :class:`MrekvError` unless ``records`` are result lines of an experiment run."""
    names = ", ".join(str(p) for p in paths)
    if not records:
        raise MrekvError(f"{names}: no result lines; expected the JSON Lines file written by "
                         "`mrekv experiment run`")
    for index, record in enumerate(records):
        missing = [k for k in RESULT_KEYS if k not in record]
        if missing:
            raise MrekvError(
                f"{names}: result line {index + 1} lacks {', '.join(missing)}; this is not a "
                "results file of `mrekv experiment run`"
            )


def build_report(
    results_path: str | Path | Sequence[str | Path], out_dir: str | Path | None = None
) -> Path:
    """Write ``report.md`` and ``plots/*.png`` for a results file; return the report path.

    Args:
        results_path: a results JSON Lines file written by
            :func:`mrekv.experiment.runner.run_experiment`, or several (the shards of
            one run, ``--shard i/n``): their lines are merged.
        out_dir: the output folder; default ``<first results stem>-report`` beside it.

    Returns:
        The path of the Markdown report.

    Raises:
        MrekvError: a missing file, or one that is not a results file (no result lines,
            or lines without ``cell_key`` / ``dataset`` / ``method`` / ``status``).

    Example:
        >>> build_report("runs/quick.jsonl")   # doctest: +SKIP
        PosixPath('runs/quick-report/report.md')
    """
    paths = [Path(results_path)] if isinstance(results_path, (str, Path)) else \
        [Path(p) for p in results_path]
    if not paths:
        raise ValueError("build_report needs at least one results file")
    results = paths[0]
    stem = results.stem.split(".shard-")[0]
    out = Path(out_dir) if out_dir is not None else results.parent / f"{stem}-report"
    for p in paths:
        if p.is_dir():
            raise MrekvError(f"{p} is a folder; expected a results file")
        if not p.is_file():
            raise MrekvError(f"{p}: no such results file")
    all_records = [r for p in paths for r in read_results(p)]
    check_results(all_records, paths)
    records = latest_ok(all_records)
    skipped = {(r["dataset"], r["method"], r.get("skip_reason")) for r in all_records
               if r.get("status") == "skipped"}
    rows = summary_rows(records)
    main_rows = [r for r in rows if not r["proxy"]]
    proxy_rows = [r for r in rows if r["proxy"]]
    smoke = any(r.get("smoke") for r in records) or any(
        r.get("model") in ("tiny", "tiny-causal") for r in records)
    lines = [f"# Experiment report: {', '.join(p.name for p in paths)}", ""]
    if smoke:
        lines += [SMOKE_NOTE, ""]
    def known(key: str, rs: Iterable[dict[str, Any]]) -> list[str]:
        return sorted({str(r[key]) for r in rs if r.get(key) is not None})

    experiments = known("experiment", all_records)
    versions = known("mrekv_version", all_records)
    commits = [c[:12] for c in known("git_commit", all_records)]
    models = known("model", [r for r in records if not r.get("proxy")])
    lines += [f"- experiments: {', '.join(experiments) or '–'}",
              f"- cells: {len(records)} finished, {len(skipped)} skipped kinds",
              f"- mrekv: {', '.join(versions) or '–'}; commits: {', '.join(commits) or '–'}",
              f"- LMs: {', '.join(models) or 'none (proxies only)'}",
              "- scores: mean ± std over seeds, in %; label words come only from each "
              "dataset's knowledge split (disjoint from few-shot train/dev and test)", ""]
    plots_dir = out / "plots"
    datasets = sorted({r["dataset"] for r in rows})
    from mrekv.experiment.report_lm import lm_sections

    lines += lm_sections(records)
    if main_rows:
        lines += ["## All LM methods (mean ± std over seeds)", "", _summary_table(main_rows), ""]
    if proxy_rows:
        lines += ["## Proxy methods (no masked LM)", "", PROXY_NOTE, "",
                  _summary_table(proxy_rows), ""]
    wins = _win_section(records)
    if wins:
        lines += ["## Win tables (macro-F1)", "", *wins]
    if skipped:
        lines += ["## Skipped cells", "",
                  _table(["dataset", "method", "reason"],
                         [[d, f"`{m}`", why] for d, m, why in sorted(skipped, key=str)]), ""]
    if datasets:
        lines += ["## Plots", ""]
        for dataset in datasets:
            png = plot_dataset(rows, dataset, plots_dir / f"{_safe(dataset)}.png")
            lines += [f"![{dataset}](plots/{png.name})", ""]
    report = out / "report.md"
    atomic_write_text(report, "\n".join(lines).rstrip() + "\n")
    return report


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
