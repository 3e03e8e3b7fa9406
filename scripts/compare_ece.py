"""Compare one method's ECE between two budget-sweep results files, cell by cell.

Used to measure the head's temperature scaling: rerun ``head`` into another file on a
copy of the cached features, then compare with the committed cells (the same samples,
so macro-F1 must not move; only confidence does):

    cp -r experiments/results/budget-sweep.features /tmp/tc/
    python scripts/run_budget.py --methods head --datasets sst2,agnews --out /tmp/tc/budget-sweep.jsonl
    python scripts/compare_ece.py experiments/results/budget-sweep.jsonl /tmp/tc/budget-sweep.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np


def _cells(path: str, method: str) -> dict[tuple, dict]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "cell" and r["method"] == method and r["budget"] > 0:
                out[(r["dataset"], r["model"], r["budget"], r["seed"])] = r
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--method", default="head")
    args = parser.parse_args()
    before, after = _cells(args.before, args.method), _cells(args.after, args.method)
    units: dict[tuple, list[tuple[float, float]]] = defaultdict(list)
    moved = 0
    for key, r in after.items():
        if key in before:
            units[key[:3]].append((before[key]["ece"], r["ece"]))
            moved += before[key]["macro_f1"] != r["macro_f1"]
    pairs = np.array([p for v in units.values() for p in v])
    if not len(pairs):
        raise SystemExit("no cell in common")
    print("| dataset | model | N | cells | ECE before | ECE after |\n|---|---|---|---|---|---|")
    for (dataset, model, n), v in sorted(units.items()):
        a = np.array(v).mean(0)
        print(f"| {dataset} | `{model}` | {n} | {len(v)} | {100 * a[0]:.1f} | {100 * a[1]:.1f} |")
    print(f"\n{len(pairs)} cells: mean ECE {100 * pairs[:, 0].mean():.2f} -> "
          f"{100 * pairs[:, 1].mean():.2f}; lower after in {(pairs[:, 1] < pairs[:, 0]).sum()}; "
          f"macro-F1 changed in {moved}")


if __name__ == "__main__":
    main()
