"""MMM files: stream records from JSON Lines or JSON arrays, write them atomically, validate.

A malformed record raises :class:`~mrekv.errors.MMMFormatError` naming the file and
its line (JSON Lines) or record index (JSON array); ``on_error="skip"`` skips and
counts instead. Files written by :func:`write_mmm` read and write back to the same
bytes (see :mod:`mrekv.data.mmm.record` for the record format).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mrekv._io import atomic_open
from mrekv.data.example import MREExample
from mrekv.data.mmm.record import (
    _DECODER,
    _decode_json,
    check_lang,
    mmm_record_to_json,
    parse_mmm_record,
)
from mrekv.errors import ConfigError, MMMFormatError, unknown_choice

__all__ = ["FileFormat", "MMMReader", "MMMValidation", "OnError", "read_mmm", "validate_mmm",
           "write_mmm"]

# --------------------------------------------------------------------------- files

OnError = Literal["raise", "skip"]
FileFormat = Literal["jsonl", "json"]
_ON_ERROR = ("raise", "skip")
_FORMATS = ("jsonl", "json")
_JSON_SPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


def _detect_format(path: Path) -> FileFormat:
    """``"json"`` if the first non-space byte (after a UTF-8 BOM) is ``[``, else ``"jsonl"``."""
    with path.open("rb") as handle:
        head = handle.read(len(_BOM))
        if head != _BOM:
            handle.seek(0)
        while chunk := handle.read(65536):
            stripped = chunk.lstrip(_JSON_SPACE)
            if stripped:
                return "json" if stripped[:1] == b"[" else "jsonl"
    return "jsonl"


class MMMReader:
    """An iterable over the examples of one MMM file; made by :func:`read_mmm`.

    JSON Lines files are streamed line by line (blank lines are ignored). JSON
    array files are loaded whole into memory, then decoded one element at a
    time, so errors name both the line and the record index; use JSON Lines for
    files that do not fit in memory.

    With ``on_error="skip"`` malformed records are left out and collected: after
    (or during) an iteration, ``errors`` holds one :class:`MMMFormatError` per
    skipped record and ``skipped`` their number. Each iteration starts them
    afresh. A JSON syntax error inside a JSON array cannot be stepped over (the
    next element cannot be located): it is recorded and ends the iteration.

    Attributes:
        path: the file.
        format: ``"jsonl"`` or ``"json"`` (detected from the first non-space byte).
        lang: language set on every example.
        on_error: ``"raise"`` or ``"skip"``.
        errors: the errors of the records skipped by the latest iteration.
    """

    def __init__(self, path: str | Path, *, lang: str | None = None, on_error: OnError = "raise"):
        if on_error not in _ON_ERROR:
            raise ConfigError(unknown_choice("on_error", on_error, _ON_ERROR))
        self.path = Path(path)
        self.lang = check_lang(lang)
        self.on_error: OnError = on_error
        self.format: FileFormat = _detect_format(self.path)
        self.errors: list[MMMFormatError] = []

    @property
    def skipped(self) -> int:
        """How many records the latest iteration skipped."""
        return len(self.errors)

    def __repr__(self) -> str:
        return f"MMMReader({str(self.path)!r}, format={self.format!r}, skipped={self.skipped})"

    def read(self) -> list[MREExample]:
        """Read every example into a list."""
        return list(self)

    def __iter__(self) -> Iterator[MREExample]:
        self.errors = []
        records = self._jsonl() if self.format == "jsonl" else self._json_array()
        source = str(self.path)
        for item in records:
            try:
                if isinstance(item, MMMFormatError):
                    raise item
                value, line, index = item
                if not isinstance(value, dict):  # a JSON string is never decoded a second time
                    raise MMMFormatError(
                        "record must be a JSON object with keys 'input' and 'output', got a "
                        f"JSON {_json_type(value)}"
                        + (" (a record encoded twice?)" if isinstance(value, str) else ""),
                        source=source, line=line, index=index,
                    )
                yield parse_mmm_record(value, lang=self.lang, source=source, line=line, index=index)
            except MMMFormatError as err:
                if self.on_error == "raise":
                    raise
                self.errors.append(err)

    def _jsonl(self) -> Iterator[tuple[Any, int, None] | MMMFormatError]:
        source = str(self.path)
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                if not raw.strip(_JSON_SPACE):
                    continue
                try:
                    yield _decode_json(raw.rstrip(b"\r\n").decode("utf-8")), number, None
                except UnicodeDecodeError as err:
                    yield MMMFormatError(
                        f"not UTF-8: byte {raw[err.start]:#04x} at column {err.start + 1}",
                        source=source,
                        line=number,
                    )
                except ValueError as err:
                    yield MMMFormatError(str(err), source=source, line=number)

    def _json_array(self) -> Iterator[tuple[Any, int, int] | MMMFormatError]:
        source = str(self.path)
        data = self.path.read_bytes()
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            reason = f"not UTF-8: byte {data[err.start]:#04x}"
            yield MMMFormatError(reason, source=source, line=line)
            return
        pos = _skip_space(text, 0) + 1  # past "["
        line, counted, index = 1, 0, 0

        def broken(reason: str, at: int) -> MMMFormatError:
            where = text.count("\n", 0, at) + 1
            return MMMFormatError(f"invalid JSON array: {reason}", source=source, line=where)

        pos = _skip_space(text, pos)
        if text.startswith("]", pos):
            pos += 1
        else:
            while True:
                line += text.count("\n", counted, pos)
                counted = pos
                try:
                    value, pos = _DECODER.raw_decode(text, pos)
                except json.JSONDecodeError as err:
                    yield broken(f"{err.msg} (record {index})", err.pos)
                    return
                except (RecursionError, ValueError) as err:
                    yield broken(f"{type(err).__name__} {err} (record {index})", pos)
                    return
                yield value, line, index
                index += 1
                pos = _skip_space(text, pos)
                if text.startswith(",", pos):
                    pos = _skip_space(text, pos + 1)
                    continue
                if text.startswith("]", pos):
                    pos += 1
                    break
                yield broken(f"expected ',' or ']' after record {index - 1}", pos)
                return
        pos = _skip_space(text, pos)
        if pos != len(text):
            yield broken("extra data after the closing ']'", pos)


def _json_type(value: Any) -> str:
    names = {str: "string", bool: "boolean", int: "number", float: "number", list: "array"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def read_mmm(
    path: str | Path, *, lang: str | None = None, on_error: OnError = "raise"
) -> MMMReader:
    """Read an MMM file (JSON array or JSON Lines, detected from its first byte).

    Args:
        path: the file.
        lang: language to set on every example.
        on_error: ``"raise"`` stops at the first malformed record; ``"skip"``
            leaves malformed records out and collects them in ``reader.errors``.

    Returns:
        An :class:`MMMReader`: iterate it (again and again) for the examples.

    Raises:
        ConfigError: unknown ``on_error`` or ``lang``.
        OSError: the file cannot be opened (raised here, not on iteration).
        MMMFormatError: while iterating with ``on_error="raise"``.

    Example:
        >>> reader = read_mmm("data/samples/en-scpos-adj-n.train.jsonl", lang="en",
        ...                   on_error="skip")  # doctest: +SKIP
        >>> examples = reader.read(); reader.skipped  # doctest: +SKIP
        0
    """
    return MMMReader(path, lang=lang, on_error=on_error)


def write_mmm(
    path: str | Path, examples: Iterable[MREExample], *, format: FileFormat = "jsonl"
) -> int:
    """Write ``examples`` to ``path`` atomically, one canonical record each.

    JSON Lines: one record per line. JSON array: ``[``, one record per line
    separated by ``,`` line ends, ``]`` (``[]`` when empty); both end with a newline.

    Args:
        path: the file (its folder is created).
        examples: the examples.
        format: ``"jsonl"`` or ``"json"``.

    Returns:
        The number of records written.

    Raises:
        ConfigError: unknown ``format``.
        MMMFormatError: an example cannot be written (its index is named); the
            file is then left untouched.
    """
    if format not in _FORMATS:
        raise ConfigError(unknown_choice("format", format, _FORMATS))
    count = 0
    with atomic_open(path, "w") as handle:
        if format == "json":
            handle.write("[")
        for count, example in enumerate(examples, start=1):
            try:
                line = mmm_record_to_json(example)
            except MMMFormatError as err:
                raise MMMFormatError(err.reason, source=str(path), index=count - 1) from None
            if format == "json":
                handle.write(("\n" if count == 1 else ",\n") + line)
            else:
                handle.write(line + "\n")
        if format == "json":
            handle.write("\n]\n" if count else "]\n")
    return count


@dataclass(frozen=True)
class MMMValidation:
    """What :func:`validate_mmm` found in one file.

    Attributes:
        path: the file.
        format: ``"jsonl"`` or ``"json"``.
        records: how many records parsed.
        errors: one error per malformed record (each names its line / record).
        tasks: records per task word.
        text_labels: records per text label.
    """

    path: Path
    format: FileFormat
    records: int
    errors: tuple[MMMFormatError, ...]
    tasks: dict[str, int] = field(default_factory=dict)
    text_labels: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no record is malformed."""
        return not self.errors


def validate_mmm(path: str | Path) -> MMMValidation:
    """Read a whole MMM file, collecting every error instead of stopping at the first.

    Raises:
        OSError: the file cannot be opened.
    """
    reader = read_mmm(path, on_error="skip")
    tasks: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    for example in reader:
        tasks[example.task.value] += 1
        labels[example.text_label] += 1
    return MMMValidation(
        path=Path(path),
        format=reader.format,
        records=sum(tasks.values()),
        errors=tuple(reader.errors),
        tasks=dict(tasks),
        text_labels=dict(labels),
    )
