"""The experiment commands: experiment run, experiment report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _shard(value: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``0 <= I < N`` (an argparse type)."""
    index, sep, count = value.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or not 0 <= i < n:
        raise argparse.ArgumentTypeError(
            f"expected I/N with 0 <= I < N (e.g. 0/4 for the first of 4 shards), got {value!r}"
        )
    return i, n


def _names(value: str, example: str) -> list[str]:
    """``"A,B"`` -> ``["A", "B"]``; an empty name is an argparse error."""
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated names (e.g. {example}), got {value!r}"
        )
    return names


def _methods(value: str) -> list[str]:
    """``"M1,M2"`` -> ``["M1", "M2"]`` (an argparse type)."""
    return _names(value, "kpt,manual")


def _datasets(value: str) -> list[str]:
    """``"D1,D2"`` -> ``["D1", "D2"]`` (an argparse type)."""
    return _names(value, "sst2,agnews")


def cmd_experiment_run(args: argparse.Namespace) -> int:
    from mrekv.experiment.runner import run_experiment

    overrides: dict[str, Any] = {"model": args.model} if args.model else {}
    if args.shard is not None:
        overrides["shard"] = args.shard
    if args.methods is not None:
        overrides["methods"] = args.methods
    if args.datasets is not None:
        overrides["datasets"] = args.datasets
    path = run_experiment(args.config, output=args.output, resume=not args.no_resume,
                          progress=not args.quiet, **overrides)
    print(Path(path).resolve())
    return 0


def cmd_experiment_report(args: argparse.Namespace) -> int:
    from mrekv.experiment.report import build_report

    print(build_report(args.results, args.out))
    return 0


def add_commands(sub: Any) -> None:
    """Add the ``experiment`` command group to the ``mrekv`` subparsers ``sub``."""
    p = sub.add_parser("experiment", help="run experiments and build reports")
    exp = p.add_subparsers(dest="experiment_command", required=True)
    q = exp.add_parser("run", help="run every cell of a config (resumes finished cells)")
    q.add_argument("config")
    q.add_argument("--output", help="results file (default: from the config)")
    q.add_argument("--model", help="override the config's model id")
    q.add_argument("--shard", type=_shard, metavar="I/N",
                   help="run only shard I of N (0-based) of the cells, e.g. 0/4 "
                        "(default: all cells)")
    q.add_argument("--methods", type=_methods, metavar="M1,M2",
                   help="run only these methods of the config (default: all of them)")
    q.add_argument("--datasets", type=_datasets, metavar="D1,D2",
                   help="run only these datasets of the config, in this order "
                        "(default: all of them)")
    q.add_argument("--no-resume", action="store_true")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(func=cmd_experiment_run)
    q = exp.add_parser("report", help="Markdown report and plots from results files")
    q.add_argument("results", nargs="+",
                   help="results file(s); several (e.g. the shards of one run) are merged")
    q.add_argument("--out", default=None,
                   help="output folder (default: <first results stem>-report beside it)")
    q.set_defaults(func=cmd_experiment_report)
