"""Type checks of experiment-config values against the fields of their dataclass.

TOML and JSON give strings, numbers, booleans, arrays and tables; a dataclass
field says which it wants. :func:`check_fields` compares the two before the
dataclass is built, so ``epochs = "two"``, ``shots = [1.5]``, ``seeds = 5`` or
``manual = { negative = "bad" }`` is a :class:`~mrekv.errors.ConfigError` naming
the key, the section, the file, the expected type and the value found, instead of
a crash (or a silently wrong run) in the middle of an experiment.

Arrays become tuples, integers are accepted where a float is expected, ``true``
is never a number, and floats must be finite.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, Union

from mrekv.errors import ConfigError

DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")
DEVICES = ("cpu", "cuda", "cuda:<n>", "mps")
#: Largest seed: torch and numpy take seeds that fit a signed 64-bit integer.
MAX_SEED = 2**63 - 1


class _Mismatch(Exception):
    """A value does not have the expected type (caught and reported by check_fields)."""


def describe(hint: Any) -> str:
    """A type hint in a config writer's words (``a list of whole numbers``...)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is int:
        return "a whole number"
    if hint is float:
        return "a number"
    if hint is str:
        return "a string"
    if hint is bool:
        return "true or false"
    if hint is type(None):
        return "nothing (leave the key out)"
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        arms = [describe(a) for a in args if a is not type(None)]
        return " or ".join(arms)
    if origin is tuple:
        inner = describe(args[0])
        return f"a list of {_plural(inner)}"
    if origin in (Mapping, dict) or origin is getattr(typing, "Mapping", None):
        return f"a table of {_plural(describe(args[1]))}" if args else "a table"
    return getattr(hint, "__name__", str(hint))


def _plural(text: str) -> str:
    for single, plural in (("a whole number", "whole numbers"), ("a number", "numbers"),
                           ("a string", "strings"), ("a list of", "lists of"),
                           ("a table of", "tables of")):
        text = text.replace(single, plural)
    return text


def coerce(value: Any, hint: Any) -> Any:
    """``value`` converted to ``hint`` (arrays to tuples, ints to floats); raise _Mismatch."""
    if hint is Any:
        return value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Union, types.UnionType):
        for arm in args:
            try:
                return coerce(value, arm)
            except _Mismatch:
                continue
        raise _Mismatch
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        raise _Mismatch
    if hint is type(None):
        if value is None:
            return None
        raise _Mismatch
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                math.isfinite(value):
            return float(value)
        raise _Mismatch
    if hint is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _Mismatch
        return tuple(coerce(v, args[0]) for v in value)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise _Mismatch
        return {k: coerce(v, args[1]) for k, v in value.items()}
    if isinstance(hint, type) and isinstance(value, hint):
        return value
    raise _Mismatch


def check_fields(cls: type, values: Mapping[str, Any], section: str, source: str) -> dict[str, Any]:
    """``values`` checked against the field types of dataclass ``cls`` (and converted).

    Keys that are not fields are left to the caller (it reports unknown keys);
    a ``device`` key must also name a torch device.

    Raises:
        ConfigError: ``<file>: [<section>] <key>: expected <type>, got <value> (<type>)``.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    checked = dict(values)
    for key, value in values.items():
        if key not in fields:
            continue
        try:
            checked[key] = coerce(value, hints[key])
        except _Mismatch:
            raise ConfigError(
                f"{source}: [{section}] {key}: expected {describe(hints[key])}, got {value!r} "
                f"({_toml_type(value)})"
            ) from None
        if key in ("seed", "seeds"):
            seeds = checked[key] if isinstance(checked[key], tuple) else (checked[key],)
            bad = [s for s in seeds if isinstance(s, int) and not 0 <= s <= MAX_SEED]
            if bad:
                raise ConfigError(f"{source}: [{section}] {key}: seed {bad[0]} is out of range; "
                                  f"a seed is a whole number from 0 to 2**63 - 1 ({MAX_SEED})")
        if key == "device" and checked[key] is not None and not DEVICE.match(checked[key]):
            raise ConfigError(f"{source}: [{section}] device: unknown device {value!r}; "
                              f"valid: {', '.join(DEVICES)} (or leave it out: CUDA when "
                              "present, else CPU)")
    return checked


def missing_fields(cls: type, values: Mapping[str, Any]) -> list[str]:
    """The fields of ``cls`` without a default that ``values`` lacks."""
    return [f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            and f.name not in values]


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__
