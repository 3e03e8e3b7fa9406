"""Run the trained baselines of the equal-budget sweep on the real eval models (resumable).

    python scripts/run_budget_train.py [--datasets sst2] [--models eval:smollm2-135m]
        [--budgets 256,64,16] [--seeds 0,1,2] [--methods finetune,prompt-full,setfit]

Cells run budget by budget (the first listed first), then seed, then method; an
interrupted run resumes where it stopped (experiments/results/budget-train.jsonl).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments/results/budget-train.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="sst2")
    parser.add_argument("--models", default="eval:smollm2-135m")
    parser.add_argument("--budgets", default="256,64,16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default="finetune,prompt-full,setfit")
    parser.add_argument("--max-test", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    import torch

    from mrekv.experiment.budget_train import run_budget_train

    torch.set_num_threads(args.threads)
    run_budget_train(
        ROOT / "experiments/budget.toml", args.out,
        budgets=[int(x) for x in args.budgets.split(",")],
        seeds=[int(x) for x in args.seeds.split(",")], max_test=args.max_test,
        methods=args.methods.split(","),
        datasets=args.datasets.split(",") if args.datasets else None,
        models=args.models.split(",") if args.models else None,
        log=lambda line: print(line, flush=True),
    )


if __name__ == "__main__":
    main()
