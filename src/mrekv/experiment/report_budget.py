"""Report of the equal-budget sweep, rebuilt from its results files alone.

Per (dataset, model): macro-F1 vs budget N per method (mean over seeds with a
bootstrap interval), a picture of those curves, and paired differences of
mrekv's default frozen head (``head``) to the best same-budget baseline; the
knowledge sources at N = 0 against manual words; the trained baselines
(fine-tuning, full prompt-tuning, SetFit, in-context learning: fewer cells, their
own files) against the head on their seeds; and reliability diagrams. Intervals are a
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
HEAD = "head"
#: The main table's columns (``prior:manual``: the head without the n-gram expert).
COLUMNS = (*BASELINES, "prior:manual", HEAD)
#: Knowledge sources at N = 0 (no label of the dataset), compared with manual words.
KNOWLEDGE = ("manual+calib", "kpt+calib", "external+calib", "knowledge+calib")
#: Trained baselines (their own results files, fewer seeds), compared with the head.
TRAINED = ("finetune", "prompt-full", "setfit", "icl", "icl+calib")
#: The MRE control: words mined by word-label value vs by the copied sentence class vs none.
MRE_CONTROL = ("manual+calib", "mined+calib", "mined-values+calib")
#: Methods drawn in the reliability diagram.
RELIABILITY = ("manual+calib", "head", "knowledge+calib")
BOOTSTRAP = 1000
#: Units with fewer seeds are shown (marked) but not counted in the main win table.
MIN_SEEDS = 5


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


def summarise(rows: list[dict[str, Any]], seed: int = 0, *,
              methods: Sequence[str] | None = COLUMNS, head: str = HEAD,
              baselines: Sequence[str] = BASELINES,
              budgets: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """One row per (dataset, model, N, method): mean, interval, and ``head``'s paired gap
    to the best of ``baselines`` on the seeds every listed method has.

    Args:
        methods: the methods compared (None: every method of the rows).
        budgets: only these N (None: all).

    The zero-shot manual cell (N = 0) is the ``manual+calib`` value at every N.
    """
    check_shared_samples(r for r in rows if r.get("kind") == "cell")
    rng = np.random.default_rng(seed)
    tests, cells = _units(rows)
    out = []
    for (dataset, model, n), found in sorted(cells.items(), key=lambda kv: (kv[0][0],
                                                                            kv[0][1], kv[0][2])):
        if budgets is not None and n not in budgets:
            continue
        by_method = {m: v for m, v in found.items() if methods is None or m in methods}
        if head not in by_method or not any(m in by_method for m in baselines):
            continue  # nothing to compare the head with in this unit
        test = tests[(dataset, model)]
        gold = decode_predictions(test["gold"])
        common = sorted(set.intersection(*(set(v) for v in by_method.values())))
        if not common:  # an unfinished unit (the run was stopped)
            continue
        preds = {m: np.stack([decode_predictions(v[s]["pred"]) for s in common])
                 for m, v in by_method.items()}
        boot = bootstrap(gold, preds, len(test["classes"]), rng)
        means = {m: float(np.mean([v[s]["macro_f1"] for s in common])) for m, v in
                 by_method.items()}
        present = [m for m in baselines if m in means]
        best = max(present, key=lambda m: means[m]) if present else None
        for m in by_method:
            lo, hi = np.percentile(boot[m], [2.5, 97.5])
            row = {"dataset": dataset, "lang": test["lang"], "model": model, "budget": n,
                   "method": m, "seeds": len(common), "n_test": test["n_test"],
                   "macro_f1": means[m], "lo": float(lo), "hi": float(hi),
                   "ece": float(np.mean([v["ece"] for v in by_method[m].values()])),
                   "best_baseline": best}
            if m == head and best is not None:
                diff = boot[m] - boot[best]
                row["diff"] = means[m] - means[best]
                row["diff_lo"], row["diff_hi"] = (float(x) for x in
                                                  np.percentile(diff, [2.5, 97.5]))
            out.append(row)
    return out


def win_table(summary: Sequence[dict[str, Any]], zero: bool = False,
              min_seeds: int = 1) -> dict[str, int]:
    """Units (dataset, model, N) where the head is above / tied with / below the best baseline
    (N > 0 only, unless ``zero``: then the N = 0 units too; units with fewer than
    ``min_seeds`` seeds are not counted)."""
    counts = {"wins": 0, "ties": 0, "losses": 0, "at_or_above": 0}
    for r in summary:
        if "diff" in r and (r["budget"] > 0 or zero) and r["seeds"] >= min_seeds:
            key = "wins" if r["diff_lo"] > 0 else "losses" if r["diff_hi"] < 0 else "ties"
            counts[key] += 1
            counts["at_or_above"] += r["diff"] >= 0
    return counts


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown(summary: Sequence[dict[str, Any]], columns: Sequence[str] = COLUMNS,
             head: str = HEAD, against: str = "the best same-budget baseline",
             min_seeds: int = MIN_SEEDS) -> str:
    """A table of ``summary`` (macro-F1 %, 95% intervals) and its win count."""
    lines = ["| lang | dataset | model | N | seeds | " + " | ".join(
        f"`{m}`" for m in columns) + f" | `{head}` - best [95% CI] |",
        "|---|---|---|---|---|" + "---|" * (len(columns) + 1)]
    by_unit: dict[Any, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in summary:
        by_unit[(r["lang"], r["dataset"], r["model"], r["budget"])][r["method"]] = r
    for (lang, dataset, model, n), ms in sorted(by_unit.items()):
        cells = []
        for m in columns:
            got = ms.get(m)
            cells.append("–" if got is None else
                         f"{_pct(got['macro_f1'])} [{_pct(got['lo'])}, {_pct(got['hi'])}]")
        h = ms.get(head) or {}
        gap = (f"{100 * h['diff']:+.1f} [{100 * h['diff_lo']:+.1f}, {100 * h['diff_hi']:+.1f}] "
               f"vs `{h['best_baseline']}`" if "diff" in h else "–")
        seeds = max(r["seeds"] for r in ms.values())
        lines.append(f"| {lang} | {dataset} | `{model}` | {n} | {seeds} | " + " | ".join(cells)
                     + f" | {gap} |")
    wins = win_table(summary, zero=all(r["budget"] == 0 for r in summary), min_seeds=min_seeds)
    short = len({(r["dataset"], r["model"], r["budget"]) for r in summary
                 if r["seeds"] < min_seeds and "diff" in r})
    lines += ["", f"Units (dataset x model x N{' > 0' if any(r['budget'] for r in summary) else ''}"
              f", >= {min_seeds} seeds): `{head}` above {against} "
              f"in {wins['wins']}, tied (95% interval contains 0) in {wins['ties']}, below in "
              f"{wins['losses']}; its mean is at or above in {wins['at_or_above']} of "
              f"{wins['wins'] + wins['ties'] + wins['losses']}"
              + (f"; {short} unfinished units (fewer seeds) not counted." if short else ".")]
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
        for m, marker in zip((*COLUMNS, *TRAINED), "osv^xD*P<>h", strict=False):
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


def reliability(rows: Iterable[dict[str, Any]], methods: Sequence[str] = RELIABILITY,
                ) -> dict[str, dict[str, Any]]:
    """Per method, the confidence bins summed over its cells with N > 0 (N = 0 for the
    label-free ones), their accuracy and confidence per bin, and the pooled ECE."""
    out: dict[str, dict[str, Any]] = {}
    for m in methods:
        bins = [r["reliability"] for r in rows if r.get("kind") == "cell"
                and r["method"] == m and "reliability" in r]
        if not bins:
            continue
        total = np.asarray(bins, dtype=np.float64).sum(0)  # (bins, 3)
        n = np.maximum(total[:, 0], 1)
        acc, conf = total[:, 1] / n, total[:, 2] / n
        ece = float((total[:, 0] / total[:, 0].sum() * np.abs(acc - conf)).sum())
        briers = [r["brier"] for r in rows if r.get("kind") == "cell" and r["method"] == m
                  and "brier" in r]
        out[m] = {"counts": total[:, 0], "accuracy": acc, "confidence": conf, "ece": ece,
                  "cells": len(bins),
                  "brier": float(np.mean(briers)) if briers else None, "brier_cells": len(briers)}
    return out


def plot_reliability(stats: dict[str, dict[str, Any]], folder: Path) -> Path | None:
    """One reliability diagram (accuracy vs confidence per bin) of every method in ``stats``."""
    if not stats:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for m, st in stats.items():
        keep = st["counts"] > 0
        ax.plot(st["confidence"][keep], st["accuracy"][keep], marker="o",
                label=f"{m} (ECE {100 * st['ece']:.1f})")
    ax.set_xlabel("confidence (max probability)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7, loc="upper left")
    path = folder / "reliability.png"
    fig.tight_layout()
    fig.savefig(path.with_suffix(".tmp.png"))
    plt.close(fig)
    path.with_suffix(".tmp.png").replace(path)
    return path


#: The scoring-suite methods and the word set of each.
SUITES = {"suite:manual": "manual", "suite:knowledge": "knowledge"}


def variant_cells(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pseudo-cells ``<words>|<variant>`` (N = 0) of the fixed scoring variants that the
    suite's zero-shot cells recorded, scored against their unit's test set."""
    rows = list(rows)
    tests = {(r["dataset"], r["model"]): r for r in rows if r.get("kind") == "test-set"}
    out = []
    for r in rows:
        variants = (r.get("chosen") or {}).get("variants_pred")
        if r.get("kind") != "cell" or r["method"] not in SUITES or not variants:
            continue
        test = tests[(r["dataset"], r["model"])]
        gold = decode_predictions(test["gold"])
        for name, pred in variants.items():
            f1 = macro_f1_rows(gold[None], decode_predictions(pred)[None],
                               len(test["classes"]))[0]
            out.append({**r, "method": f"{SUITES[r['method']]}|{name}", "pred": pred,
                        "macro_f1": float(f1), "ece": float("nan")})
    return out


def report_sections(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's summaries: main table, knowledge sources, trained baselines."""
    from mrekv.verbalizer.scoring import DEFAULT_SCORING, SCORINGS

    variants = [*rows, *variant_cells(rows)]
    return {
        "variants_manual": summarise(variants, methods=[f"manual|{v}" for v in SCORINGS],
                                     head=f"manual|{DEFAULT_SCORING}",
                                     baselines=("manual|mean-prob/class",), budgets=(0,)),
        "variants_knowledge": summarise(
            variants, methods=[f"knowledge|{v}" for v in SCORINGS],
            head=f"knowledge|{DEFAULT_SCORING}", baselines=("knowledge|mean-log/word",),
            budgets=(0,)),
        "suite": summarise(rows, methods=("manual+calib", "knowledge+calib", "suite:manual",
                                          "suite:knowledge"), head="suite:manual",
                           baselines=("manual+calib",)),
        "main": summarise(rows),
        "knowledge_zero": summarise(rows, methods=KNOWLEDGE, head="knowledge+calib",
                                    baselines=("manual+calib",), budgets=(0,)),
        "knowledge_head": summarise(rows, methods=("head", "head:knowledge"),
                                    head="head:knowledge", baselines=("head",)),
        "head_1se": summarise(rows, methods=("head", "head:1se"), head="head:1se",
                              baselines=("head",)),
        "auto_head": summarise(rows, methods=("head", "head:auto"), head="head:auto",
                               baselines=("head",)),
        "trained": summarise(rows, methods=("probe", HEAD, *TRAINED), head=HEAD,
                             baselines=TRAINED),
        "mre_copied": summarise(rows, methods=MRE_CONTROL, head="mined-values+calib",
                                baselines=("mined+calib",)),
        "mre_none": summarise(rows, methods=MRE_CONTROL, head="mined-values+calib",
                              baselines=("manual+calib",)),
    }


def _suite_section(parts: dict[str, Any]) -> list[str]:
    from mrekv.verbalizer.scoring import DEFAULT_SCORING, SCORINGS

    if not (parts["variants_manual"] or parts["suite"]):
        return []
    text = ["", "## Scoring and calibration variants", "",
            "How the class score is made from the same words "
            "(`mrekv.verbalizer.scoring`): `mean-prob` (log of the mean word probability) or "
            "`mean-log` (mean log-probability, KPT's), with no calibration, per-word "
            "calibration (`word`, KPT's) or class-level calibration (`class`), all from the "
            "same unlabelled texts. `manual|mean-prob/class` is `manual+calib`, "
            "`knowledge|mean-log/word` is `knowledge+calib`. At N = 0 (no label chooses) "
            f"the default `{DEFAULT_SCORING}` was fixed before this sweep.", ""]
    for words, baseline in (("manual", "mean-prob/class"), ("knowledge", "mean-log/word")):
        summary = parts[f"variants_{words}"]
        if summary:
            text += [f"Fixed variants of the {words} words (N = 0; seeds are identical):", "",
                     markdown(summary, [f"{words}|{v}" for v in SCORINGS],
                              f"{words}|{DEFAULT_SCORING}", f"`{words}|{baseline}`",
                              min_seeds=1), ""]
    if parts["suite"]:
        text += ["`suite:manual` / `suite:knowledge`: the variant with the best accuracy on "
                 "the N labelled texts (ties: the default), against calibrated manual words:",
                 "", markdown(parts["suite"], ("manual+calib", "knowledge+calib",
                                               "suite:manual", "suite:knowledge"),
                              "suite:manual", "`manual+calib`")]
    return text


def write_budget_report(results: str | Path | Sequence[str | Path], folder: str | Path) -> Path:
    """Write ``report.md``, the curves and the reliability diagram into ``folder``; return the
    report's path. ``results``: the sweep's file, or several (the trained baselines' files)."""
    from mrekv._io import atomic_write_text

    paths = [Path(results)] if isinstance(results, (str, Path)) else [Path(p) for p in results]
    rows = [r for p in paths for r in read_results(p)]
    parts = report_sections(rows)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    pictures = plot([*parts["main"], *(r for r in parts["trained"] if r["method"] in TRAINED)],
                    out)
    stats = reliability(rows)
    diagram = plot_reliability(stats, out)
    names = ", ".join(f"`{p.name}`" for p in paths)
    text = ["# Equal-budget sweep", "",
            f"From {names} alone. Macro-F1 (%), mean over seeds, with a 95% "
            "paired bootstrap interval over seeds and test texts. Every method of a "
            "(dataset, N, seed) saw the same N labelled texts (checked by sample hash) and "
            "the same unlabelled calibration texts; N = 0 cells use no label. `head` is "
            "mrekv's default frozen head (the manual verbalizer as the prior of a head on the "
            "read-position state, pooled with an n-gram expert, every choice by CV within N).",
            "", markdown(parts["main"]), ""]
    text += [f"![{p.stem}]({p.name})" for p in pictures]
    if parts["knowledge_zero"]:
        text += ["", "## Knowledge sources without labels (N = 0)", "",
                 "Label words from outside the dataset: a KPT file (`kpt`), words mined from "
                 "another labelled corpus of the task (`external`), and both with the manual "
                 "words (`knowledge`), each calibrated on the same unlabelled texts.", "",
                 markdown(parts["knowledge_zero"], KNOWLEDGE, "knowledge+calib",
                          "calibrated manual words")]
    if parts["knowledge_head"]:
        text += ["", "### The head centred on the knowledge verbalizer", "",
                 markdown(parts["knowledge_head"], ("head", "head:knowledge"),
                          "head:knowledge", "`head` (centred on manual words)")]
    if parts["auto_head"]:
        text += ["", "### Words mined from the N texts as the head's prior", "",
                 "`head:auto`: cross-validation chooses the prior between the manual words and "
                 "words mined from the N texts, the mined words rebuilt on every fold's "
                 "training part.", "",
                 markdown(parts["auto_head"], ("head", "head:auto"), "head:auto",
                          "`head` (centred on manual words)")]
    if parts["head_1se"]:
        text += ["", "### The one-standard-error rule for the head's penalty (diagnostic)", "",
                 "`head:1se`: the strongest penalty (closest to the prior) whose CV loss is "
                 "within one standard error of the lowest, instead of the lowest. Added after "
                 "both suites had been seen: a candidate for the next default, not a result.",
                 "", markdown(parts["head_1se"], ("head", "head:1se"), "head:1se", "`head`")]
    text += _suite_section(parts)
    if parts["trained"]:
        text += ["", "## Trained baselines (fewer cells: their seeds only)", "",
                 "Fine-tuning, full prompt-tuning, SetFit and in-context learning on the same "
                 "samples and test texts, paired with the head on the seeds they ran.", "",
                 markdown(parts["trained"], ("probe", HEAD, *TRAINED), HEAD,
                          "the best trained baseline", min_seeds=1)]
    if parts["mre_copied"]:
        text += ["", "## The MRE control: do word-label values help?", "",
                 "At the same N, label words mined from the gold word labels of the N texts "
                 "(i) crediting each word to the class its value names (aspect polarity, entity "
                 "type: `mined-values+calib`), (ii) crediting it to its sentence's class (what "
                 "SCPOS copies: `mined+calib`), (iii) no mined words (`manual+calib`).", "",
                 "(i) - (ii):", "",
                 markdown(parts["mre_copied"], MRE_CONTROL, "mined-values+calib",
                          "`mined+calib`"), "", "(i) - (iii):", "",
                 markdown(parts["mre_none"], MRE_CONTROL, "mined-values+calib",
                          "`manual+calib`")]
    if diagram is not None:
        text += ["", "## Calibration", "",
                 "Confidence bins summed over every cell that records them (" + ", ".join(
                     f"`{m}`: {st['cells']} cells, pooled ECE {100 * st['ece']:.1f}"
                     + (f", mean Brier {st['brier']:.3f} over {st['brier_cells']} cells"
                        if st["brier"] is not None else "")
                     for m, st in stats.items()) + ").", "", f"![reliability]({diagram.name})"]
    report = out / "report.md"
    atomic_write_text(report, "\n".join(text) + "\n")
    return report
