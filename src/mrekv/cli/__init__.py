"""The ``mrekv`` command line: a thin layer over the public functions.

Each command parses its arguments, calls one public function that returns data,
then prints or writes it. Heavy libraries load only inside the command that
needs them, so ``mrekv --help`` is instant. The commands live in
:mod:`mrekv.cli.data`, :mod:`mrekv.cli.models` and :mod:`mrekv.cli.experiment`,
each with the ``add_commands`` that declares their arguments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mrekv._version import __version__
from mrekv.cli import data, experiment, models
from mrekv.errors import MrekvError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mrekv", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mrekv {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    data.add_commands(sub)
    models.add_commands(sub)
    experiment.add_commands(sub)
    return parser


def _quiet_hub_libraries() -> None:
    """Silence per-load progress bars and load reports of transformers in CLI runs.

    The command line is an application, so it may set these process-wide; the
    library itself never does.
    """
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - transformers is a core dependency
        return
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mrekv`` command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command in {"train", "predict", "evaluate", "experiment", "tiny-model", "convert"}:
        _quiet_hub_libraries()
    try:
        return int(args.func(args) or 0)
    except (MrekvError, FileNotFoundError) as error:
        print(f"mrekv: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
