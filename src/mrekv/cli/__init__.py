"""The ``mrekv`` command line: a thin layer over the public functions.

Each command parses its arguments, calls one public function that returns data,
then prints or writes it. Heavy libraries load only inside the command that
needs them, so ``mrekv --help`` is instant. The commands live in
:mod:`mrekv.cli.data`, :mod:`mrekv.cli.models` and :mod:`mrekv.cli.experiment`,
each with the ``add_commands`` that declares their arguments.

Errors are reported in one place, :func:`main`: mrekv's documented errors, OS
errors (a missing file, a folder for a file, a full disk) and undecodable text
print one line ``mrekv <command>: error: ...`` and exit non-zero; Ctrl-C exits
130. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mrekv._version import __version__
from mrekv.cli import data, experiment, models
from mrekv.cli._help import Parser
from mrekv.cli._types import EXIT_ERROR, EXIT_INTERRUPTED
from mrekv.errors import MrekvError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="mrekv", description=__doc__.splitlines()[0])
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


def command_name(args: argparse.Namespace) -> str:
    """``"mrekv train"``, ``"mrekv experiment run"``...: who reports an error."""
    words = [args.command]
    for sub in ("experiment_command", "mmm_command"):
        if getattr(args, sub, None):
            words.append(getattr(args, sub))
    return " ".join(["mrekv", *words])


def describe_os_error(error: OSError) -> str:
    """One line for an OS error: the path, what went wrong, and what was kept."""
    import errno

    what = error.strerror or str(error)
    where = f"{error.filename}: " if error.filename is not None else ""
    if error.errno == errno.ENOSPC:
        return f"{where}{what}; the write failed and any previous file was left as it was"
    if error.errno == errno.EISDIR:
        return f"{where}is a folder; expected a file"
    if error.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
        return f"{where}{what} (check the permissions of the file and its folder)"
    return f"{where}{what}" if where or error.strerror else str(error) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mrekv`` command line; return the exit status."""
    args = build_parser().parse_args(argv)
    if args.command in {"train", "predict", "evaluate", "experiment", "tiny-model", "convert"}:
        _quiet_hub_libraries()
    name = command_name(args)
    try:
        return int(args.func(args) or 0)
    except MrekvError as error:
        message = str(error)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as error:
        message = describe_os_error(error)
    except UnicodeDecodeError as error:
        byte = error.object[error.start]
        message = (f"input is not valid {error.encoding} text (byte 0x{byte:02x} at offset "
                   f"{error.start}); save the file as UTF-8")
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(f"{name}: error: {message}", file=sys.stderr)
    return EXIT_ERROR
