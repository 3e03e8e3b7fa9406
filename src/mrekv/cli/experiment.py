"""The experiment commands: experiment run, experiment report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mrekv.cli._types import MAX_SEED


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


def _integers(value: str) -> list[int]:
    """``"0,16,64"`` -> ``[0, 16, 64]`` (an argparse type; each >= 0)."""
    try:
        numbers = [int(x) for x in _names(value, "0,16,64")]
    except ValueError:
        numbers = [-1]
    if any(n < 0 for n in numbers):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 0 (e.g. 0,16,64), got {value!r}")
    return numbers


def _seeds(value: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]`` (an argparse type; each a seed, 0 to 2**63 - 1)."""
    numbers = _integers(value)
    if any(n > MAX_SEED for n in numbers):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated seeds from 0 to 2**63 - 1 ({MAX_SEED}), got {value!r}")
    return numbers


def _datasets(value: str) -> list[str]:
    """``"D1,D2"`` -> ``["D1", "D2"]`` (an argparse type)."""
    return _names(value, "sst2,agnews")


def _results_path(args: argparse.Namespace) -> Path | None:
    """Where ``experiment run`` writes its results (as the runner decides), or None."""
    if args.out:
        return Path(args.out)
    try:
        from mrekv.experiment.config import load_config

        config = load_config(args.config)
    except Exception:  # noqa: BLE001 - only for the interrupt message
        return None
    out = config.resolve(config.output)
    if out is not None and args.shard is not None:
        index, count = args.shard
        out = out.with_name(f"{out.stem}.shard-{index}-of-{count}{out.suffix}")
    return out


def _interrupted(args: argparse.Namespace) -> int:
    """Say how many cells are saved and that a rerun resumes; exit 130 (Ctrl-C)."""
    from mrekv.cli._types import EXIT_INTERRUPTED

    path = _results_path(args)
    saved = "the finished cells are saved"
    if path is not None and path.is_file():
        from mrekv.experiment.results import finished_keys

        try:
            n = len(finished_keys(path))
            saved = f"{n} cell{'s are' if n != 1 else ' is'} saved in {path}"
        except Exception:  # noqa: BLE001 - a best-effort count
            saved = f"the finished cells are saved in {path}"
    elif path is not None:
        saved = f"no cell was finished yet ({path} not written)"
    print(f"\nmrekv experiment run: interrupted; {saved}. Run the same command again to "
          "resume: finished cells are skipped.", file=sys.stderr)
    return EXIT_INTERRUPTED


def cmd_experiment_run(args: argparse.Namespace) -> int:
    from mrekv.experiment.runner import run_experiment

    if args.output is not None:
        print("mrekv experiment run: --output is deprecated; use --out", file=sys.stderr)
        if args.out is not None and args.out != args.output:
            from mrekv.errors import ConfigError

            raise ConfigError(f"--out {args.out!r} and --output {args.output!r} disagree; "
                              "give only --out")
        args.out = args.output
    if args.out is not None and Path(args.out).is_dir():
        from mrekv.errors import MrekvError

        raise MrekvError(f"--out {args.out!r} is a folder; expected a results file "
                         "(e.g. runs/name.jsonl)")
    from mrekv.experiment.config import load_config

    try:  # a config that does not load is reported by the grid runner, as before
        sweep = load_config(args.config).budget is not None
    except Exception:  # noqa: BLE001
        sweep = False
    if sweep or args.budgets or args.seeds:
        return _run_budget(args)
    overrides: dict[str, Any] = {"model": args.model} if args.model else {}
    if args.shard is not None:
        overrides["shard"] = args.shard
    if args.methods is not None:
        overrides["methods"] = args.methods
    if args.datasets is not None:
        overrides["datasets"] = args.datasets
    try:
        path = run_experiment(args.config, output=args.out, resume=not args.no_resume,
                              progress=not args.quiet, **overrides)
    except KeyboardInterrupt:
        return _interrupted(args)
    print(Path(path).resolve())
    return 0


def _run_budget(args: argparse.Namespace) -> int:
    """``experiment run`` of a config with a ``[budget]`` section: the equal-budget sweep."""
    from mrekv.errors import ConfigError
    from mrekv.experiment.budget_runner import run_budget_sweep

    for flag in ("shard", "no_resume"):
        if getattr(args, flag):
            raise ConfigError(f"--{flag.replace('_', '-')} does not apply to a budget sweep "
                              "(it always resumes; run datasets apart with --datasets)")
    try:
        path = run_budget_sweep(
            args.config, args.out, budgets=args.budgets, seeds=args.seeds,
            methods=args.methods, datasets=args.datasets,
            models=[args.model] if args.model else None, progress=not args.quiet)
    except KeyboardInterrupt:
        return _interrupted(args)
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
    q.add_argument("config", help="the experiment config (.toml or .json)")
    q.add_argument("--out", help="results file (default: the config's output)")
    q.add_argument("--output", help="deprecated alias of --out")
    q.add_argument("--model", help="override the config's model id (default: the config's)")
    q.add_argument("--shard", type=_shard, metavar="I/N",
                   help="run only shard I of N (0-based) of the cells, e.g. 0/4 "
                        "(default: all cells)")
    q.add_argument("--methods", type=_methods, metavar="M1,M2",
                   help="run only these methods of the config (default: all of them)")
    q.add_argument("--datasets", type=_datasets, metavar="D1,D2",
                   help="run only these datasets of the config, in this order "
                        "(default: all of them)")
    q.add_argument("--budgets", type=_integers, metavar="N1,N2",
                   help="run the equal-budget sweep with these labelled budgets (0: "
                        "zero-shot; default: the config's [budget] section, if any)")
    q.add_argument("--seeds", type=_seeds, metavar="S1,S2",
                   help="the budget sweep's seeds (default: the config's [budget] section)")
    q.add_argument("--no-resume", action="store_true",
                   help="start over: move an existing results file aside instead of skipping "
                        "its finished cells")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_experiment_run)
    q = exp.add_parser("report", help="Markdown report and plots from results files")
    q.add_argument("results", nargs="+",
                   help="results file(s); several (e.g. the shards of one run) are merged")
    q.add_argument("--out", default=None,
                   help="output folder (default: <first results stem>-report beside it)")
    q.set_defaults(func=cmd_experiment_report)
