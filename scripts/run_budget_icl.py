"""Run the in-context-learning baseline on the equal-budget cells (resumable).

    python scripts/run_budget_icl.py                      # sst2 x smollm2, N 16/64, seeds 0-2
    python scripts/run_budget_icl.py --datasets agnews    # more cells when there is time
    python scripts/run_budget_icl.py --datasets chnsenticorp --models eval:gemma-3-270m

Results: experiments/results/budget-icl.jsonl (see mrekv.experiment.budget_icl).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments/results/budget-icl.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="sst2")
    parser.add_argument("--models", default="eval:smollm2-135m")
    parser.add_argument("--budgets", default="16,64")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default="icl,icl+calib")
    parser.add_argument("--max-test", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()

    import torch

    from mrekv.experiment.budget_icl import run_budget_icl

    torch.set_num_threads(args.threads)
    out = run_budget_icl(
        ROOT / "experiments/budget.toml", args.out,
        budgets=[int(x) for x in args.budgets.split(",")],
        seeds=[int(x) for x in args.seeds.split(",")], max_test=args.max_test,
        methods=args.methods.split(","), datasets=args.datasets.split(","),
        models=args.models.split(","),
    )
    print(out)


if __name__ == "__main__":
    main()
