"""Argument types and exit codes shared by the commands.

argparse reports a type's error with the option it belongs to.
"""

from __future__ import annotations

import argparse

EXIT_ERROR = 2  # a wrong input, reported in one line
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


def positive_int(value: str) -> int:
    """An integer >= 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return number


MAX_SEED = 2**63 - 1  # torch and numpy take seeds that fit a signed 64-bit integer


def seed(value: str) -> int:
    """A random seed: a whole number from 0 to 2**63 - 1."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 0 to 2**63 - 1 ({MAX_SEED}), got {value!r}")
    return number


def positive_float(value: str) -> float:
    """A finite number > 0."""
    import math

    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value!r}")
    return number


def probability(value: str) -> float:
    """A number in (0, 1]."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 < number <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {value!r}")
    return number


def device(value: str) -> str:
    """A torch device name: ``cpu``, ``cuda``, ``cuda:<n>`` or ``mps``."""
    import re

    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", value):
        raise argparse.ArgumentTypeError(
            f"expected cpu, cuda, cuda:<n> or mps, got {value!r}"
        )
    return value
