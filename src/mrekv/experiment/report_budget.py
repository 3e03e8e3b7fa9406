"""Report of the equal-budget sweep, rebuilt from its results file alone.

Per (dataset, model): macro-F1 vs budget N per method (mean over seeds with a
bootstrap interval), a picture of those curves, and paired differences of the
prior head (``prior:auto``) to the best same-budget baseline. Intervals are a
paired bootstrap that resamples seeds and test texts together (the same
resample for both methods); a unit is a (dataset, model, N), and a difference
whose 95% interval contains 0 is a tie. Cells whose methods did not share the
labelled sample are refused (:func:`check_shared_samples`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mrekv.experiment.budget import decode_predictions
from mrekv.experiment.results import read_results

BASELINES = ("manual+calib", "mined+calib", "tfidf-lr", "probe")
HEAD = "prior:auto"
#: Every method's column, in order (``prior:manual``: the head without the probe candidate).
COLUMNS = (*BASELINES, "prior:manual", HEAD)
BOOTSTRAP = 1000


def check_shared_samples(cells: Iterable[dict[str, Any]]) -> None:
    """Raise ValueError when two methods of one (dataset, model, N, seed) saw different samples."""
    seen: dict[tuple[Any, ...], tuple[str, str]] = {}
    for r in cells:
        unit = (r["dataset"], r["model"], r["budget"], r["seed"])
        if unit in seen and seen[unit][0] != r["sample_hash"]:
            raise ValueError(f"{unit}: {r['method']} saw sample {r['sample_hash']} but "
                             f"{seen[unit][1]} saw {seen[unit][0]}")
        seen.setdefault(unit, (r["sample_hash"], r["method"]))


def macro_f1_rows(gold: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Macro-F1 of each row of ``pred`` ``(R, n)`` against ``gold`` ``(R, n)`` (vectorised)."""
    f1 = np.zeros(pred.shape[0])
    for c in range(n_classes):
        tp = ((pred == c) & (gold == c)).sum(1)
        fp = ((pred == c) & (gold != c)).sum(1)
        fn = ((pred != c) & (gold == c)).sum(1)
        denom = 2 * tp + fp + fn
        f1 += np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return f1 / n_classes


def bootstrap(gold: np.ndarray, preds: dict[str, np.ndarray], n_classes: int,
              rng: np.random.Generator, n: int = BOOTSTRAP) -> dict[str, np.ndarray]:
    """Per method ``(n,)`` bootstrap means of macro-F1 over resampled seeds and test texts.

    Args:
        preds: method -> ``(seeds, n_test)`` predictions (same seed order for all).
    """
    seeds, n_test = next(iter(preds.values())).shape
    out = {m: np.zeros(n) for m in preds}
    for b in range(n):
        s = rng.integers(0, seeds, seeds)
        t = rng.integers(0, n_test, n_test)
        g = np.broadcast_to(gold[t], (seeds, n_test))
        for m, p in preds.items():
            out[m][b] = macro_f1_rows(g, p[s][:, t], n_classes).mean()
    return out


def _units(rows: list[dict[str, Any]]) -> tuple[dict[Any, Any], dict[Any, dict[str, Any]]]:
    tests = {(r["dataset"], r["model"]): r for r in rows if r.get("kind") == "test-set"}
    cells: dict[Any, dict[str, Any]] = defaultdict(dict)
    for r in rows:
        if r.get("kind") == "cell":
            cells[(r["dataset"], r["model"], r["budget"])].setdefault(r["method"], {})[
                r["seed"]] = r
    return tests, cells


def summarise(rows: list[dict[str, Any]], seed: int = 0) -> list[dict[str, Any]]:
    """One row per (dataset, model, N, method): mean, interval, and the head's paired gap.

    The zero-shot manual cell (N = 0) is the ``manual+calib`` value at every N.
    """
    check_shared_samples(r for r in rows if r.get("kind") == "cell")
    rng = np.random.default_rng(seed)
    tests, cells = _units(rows)
    out = []
    for (dataset, model, n), methods in sorted(cells.items(), key=lambda kv: (kv[0][0],
                                                                              kv[0][1], kv[0][2])):
        test = tests[(dataset, model)]
        gold = decode_predictions(test["gold"])
        common = sorted(set.intersection(*(set(v) for v in methods.values())))
        if not common or HEAD not in methods:  # an unfinished unit (the run was stopped)
            continue
        preds = {m: np.stack([decode_predictions(v[s]["pred"]) for s in common])
                 for m, v in methods.items()}
        boot = bootstrap(gold, preds, len(test["classes"]), rng)
        means = {m: float(np.mean([v[s]["macro_f1"] for s in common])) for m, v in
                 methods.items()}
        baselines = [m for m in BASELINES if m in means]
        best = max(baselines, key=lambda m: means[m]) if baselines else None
        for m in methods:
            lo, hi = np.percentile(boot[m], [2.5, 97.5])
            row = {"dataset": dataset, "lang": test["lang"], "model": model, "budget": n,
                   "method": m, "seeds": len(common), "n_test": test["n_test"],
                   "macro_f1": means[m], "lo": float(lo), "hi": float(hi),
                   "ece": float(np.mean([v["ece"] for v in methods[m].values()])),
                   "best_baseline": best}
            if m == HEAD and best is not None:
                diff = boot[m] - boot[best]
                row["diff"] = means[m] - means[best]
                row["diff_lo"], row["diff_hi"] = (float(x) for x in
                                                  np.percentile(diff, [2.5, 97.5]))
            out.append(row)
    return out


def win_table(summary: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Units (dataset, model, N) where the head is above / tied with / below the best baseline."""
    counts = {"wins": 0, "ties": 0, "losses": 0}
    for r in summary:
        if "diff" in r and r["budget"] > 0:
            key = "wins" if r["diff_lo"] > 0 else "losses" if r["diff_hi"] < 0 else "ties"
            counts[key] += 1
    return counts


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown(summary: Sequence[dict[str, Any]]) -> str:
    """The report's tables (macro-F1 %, 95% intervals)."""
    lines = ["| lang | dataset | model | N | " + " | ".join(
        f"`{m}`" for m in COLUMNS) + " | head - best baseline [95% CI] |",
        "|---|---|---|---|" + "---|" * (len(COLUMNS) + 1)]
    by_unit: dict[Any, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in summary:
        by_unit[(r["lang"], r["dataset"], r["model"], r["budget"])][r["method"]] = r
    for (lang, dataset, model, n), ms in sorted(by_unit.items()):
        cells = []
        for m in COLUMNS:
            got = ms.get(m)
            cells.append("–" if got is None else
                         f"{_pct(got['macro_f1'])} [{_pct(got['lo'])}, {_pct(got['hi'])}]")
        h = ms.get(HEAD) or {}
        gap = (f"{100 * h['diff']:+.1f} [{100 * h['diff_lo']:+.1f}, {100 * h['diff_hi']:+.1f}] "
               f"vs `{h['best_baseline']}`" if "diff" in h else "–")
        lines.append(f"| {lang} | {dataset} | `{model}` | {n} | " + " | ".join(cells) +
                     f" | {gap} |")
    wins = win_table(summary)
    lines += ["", f"Units (dataset x model x N > 0): `{HEAD}` above the best same-budget baseline "
              f"in {wins['wins']}, tied (95% interval contains 0) in {wins['ties']}, below in "
              f"{wins['losses']}."]
    return "\n".join(lines)


def plot(summary: Sequence[dict[str, Any]], folder: Path) -> list[Path]:
    """One budget-curve PNG per (dataset, model): macro-F1 vs N with interval bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in summary:
        groups[(r["dataset"], r["model"])].append(r)
    written = []
    for (dataset, model), rows in sorted(groups.items()):
        fig, ax = plt.subplots(figsize=(6, 4))
        for m, marker in zip(COLUMNS, "osv^xD", strict=True):
            pts = sorted((r["budget"], r["macro_f1"], r["lo"], r["hi"]) for r in rows
                         if r["method"] == m)
            if not pts:
                continue
            x = [max(p[0], 1) for p in pts]
            ax.plot(x, [p[1] for p in pts], marker=marker, label=m)
            ax.fill_between(x, [p[2] for p in pts], [p[3] for p in pts], alpha=0.15)
        ax.set_xscale("log")
        ax.set_xlabel("labelled budget N (N = 0 drawn at 1)")
        ax.set_ylabel("macro-F1")
        ax.set_title(f"{dataset} / {model.removeprefix('eval:')}")
        ax.legend(fontsize=7, loc="lower right")
        path = folder / f"budget-{dataset}-{model.removeprefix('eval:')}.png"
        fig.tight_layout()
        fig.savefig(path.with_suffix(".tmp.png"))
        plt.close(fig)
        path.with_suffix(".tmp.png").replace(path)
        written.append(path)
    return written


def write_budget_report(results: str | Path, folder: str | Path) -> Path:
    """Write ``report.md`` and the curves into ``folder``; return the report's path."""
    from mrekv._io import atomic_write_text

    rows = read_results(results)
    summary = summarise(rows)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pictures = plot(summary, out)
    text = ["# Equal-budget sweep", "",
            f"From `{Path(results).name}` alone. Macro-F1 (%), mean over seeds, with a 95% "
            "paired bootstrap interval over seeds and test texts. Every method of a "
            "(dataset, N, seed) saw the same N labelled texts (checked by sample hash) and "
            "the same unlabelled calibration texts; N = 0 cells use no label.", "",
            markdown(summary), ""]
    text += [f"![{p.stem}]({p.name})" for p in pictures]
    report = out / "report.md"
    atomic_write_text(report, "\n".join(text) + "\n")
    return report
