"""Run the equal-budget sweep on the real eval models (resumable), or rebuild its report.

    python scripts/run_budget.py [--datasets sst2,chabsa] [--models eval:gemma-3-270m]
    python scripts/run_budget.py --report
    python scripts/run_budget.py --config experiments/budget-heldout.toml [--report]

The report goes to ``<results stem>-report/`` and its tables into README.md between
``<!-- budget...:begin/end -->`` markers (the held-out check's under ``budget-heldout``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments/results/budget-sweep.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default=None)
    parser.add_argument("--models", default=None)
    parser.add_argument("--budgets", default=None, help="default: the config's [budget]")
    parser.add_argument("--seeds", default=None, help="default: the config's [budget]")
    parser.add_argument("--max-test", type=int, default=None)
    parser.add_argument("--methods", default=None)
    parser.add_argument("--config", default=str(ROOT / "experiments/budget.toml"))
    parser.add_argument("--out", default=None, help="default: the config's output file")
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.out is None:
        from mrekv.experiment.config import load_config

        exp = load_config(args.config)
        args.out = str(exp.resolve(exp.output))
    main_sweep = Path(args.out).resolve() == RESULTS.resolve()
    if args.report:
        from mrekv.experiment.report_budget import (
            HEAD,
            KNOWLEDGE,
            TRAINED,
            markdown,
            report_sections,
            write_budget_report,
        )
        from mrekv.experiment.results import read_results

        out = Path(args.out)
        trained = (RESULTS.with_name("budget-train.jsonl"), RESULTS.with_name("budget-icl.jsonl"))
        files = [out, *(p for p in trained if main_sweep and p.is_file())]
        print(write_budget_report(files, out.with_name(f"{out.stem}-report")))
        parts = report_sections([r for p in files for r in read_results(p)])
        prefix = "budget" if main_sweep else out.stem
        tables = {
            prefix: markdown(parts["main"]),
            f"{prefix}-knowledge": markdown(parts["knowledge_zero"], KNOWLEDGE,
                                            "knowledge+calib", "calibrated manual words"),
        }
        if main_sweep:
            tables["budget-trained"] = markdown(parts["trained"], ("probe", HEAD, *TRAINED), HEAD,
                                                "the best trained baseline", min_seeds=1)
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        for name, table in tables.items():
            begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
            if begin in text and end in text:
                head, rest = text.split(begin, 1)
                text = f"{head}{begin}\n{table}\n{end}{rest.split(end, 1)[1]}"
        readme.write_text(text, encoding="utf-8")
        return
    from mrekv.experiment.budget_runner import run_budget_sweep

    run_budget_sweep(
        args.config, args.out,
        budgets=[int(x) for x in args.budgets.split(",")] if args.budgets else None,
        seeds=[int(x) for x in args.seeds.split(",")] if args.seeds else None,
        max_test=args.max_test,
        methods=args.methods.split(",") if args.methods else None,
        datasets=args.datasets.split(",") if args.datasets else None,
        models=args.models.split(",") if args.models else None,
    )


if __name__ == "__main__":
    main()
