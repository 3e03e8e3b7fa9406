"""Helpers shared by the corpus readers: checked file reading, label votes, seeded splits."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from mrekv.data.split import group_sample, stratified_sample
from mrekv.errors import CorpusFormatError

#: Seed of the fixed train/test split of corpora that have no official split.
SPLIT_SEED = 42
#: Part of such a corpus held out as its test split.
TEST_FRACTION = 0.2


def format_error(path: Path, line: int | None, reason: str) -> CorpusFormatError:
    """Return a CorpusFormatError naming the file, the 1-based line (if any) and the problem."""
    where = f"{path}" if line is None else f"{path}, line {line}"
    return CorpusFormatError(f"{where}: {reason}")


def require_file(path: Path) -> Path:
    """Return ``path`` if it is a file, else raise CorpusFormatError naming it."""
    if not path.is_file():
        raise CorpusFormatError(f"{path}: file not found (is the datasets root right?)")
    return path


def read_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """Return the lines of ``path`` without line ends, splitting on ``\\n`` only.

    ``str.splitlines`` is not used on purpose: Latin-1/Windows-1252 text may hold
    U+0085 or other characters it treats as line breaks inside a record.
    Trailing empty lines are dropped; ``\\r`` before ``\\n`` is removed.
    """
    try:
        text = require_file(path).read_bytes().decode(encoding)
    except UnicodeDecodeError as err:
        line = text_line_of(require_file(path).read_bytes(), err.start)
        raise format_error(path, line, f"not valid {encoding} ({err.reason})") from None
    lines = text.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def text_line_of(data: bytes, offset: int) -> int:
    """Return the 1-based line number of byte ``offset`` in ``data``."""
    return data.count(b"\n", 0, offset) + 1


def read_label_first(
    path: Path, label_names: Sequence[str], encoding: str = "utf-8", *, skip_empty: bool = False
) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line number, label name, text)`` from ``'<label id> <text>'`` lines.

    Args:
        path: the file (harvardnlp sentence-classification format).
        label_names: the class name of each integer label id.
        encoding: the file's encoding.
        skip_empty: skip lines whose text is empty (CR and MPQA have a few) instead
            of raising.

    Raises:
        CorpusFormatError: a line without a valid integer label id, or without text
            when ``skip_empty`` is false.
    """
    for n, line in enumerate(read_lines(path, encoding), start=1):
        head, _, text = line.partition(" ")
        if not head.isdigit() or int(head) >= len(label_names):
            raise format_error(
                path, n, f"expected '<label 0-{len(label_names) - 1}> <text>', got {line[:60]!r}"
            )
        text = text.strip()
        if not text and skip_empty:
            continue
        if not text:
            raise format_error(path, n, "empty text")
        yield n, label_names[int(head)], text


def read_dat(path: Path, label_names: Sequence[str]) -> Iterator[tuple[int, str, str]]:
    """Yield ``(line number, label name, text)`` from PyABSA ``'<text>$LABEL$<id>'`` lines.

    Raises:
        CorpusFormatError: a line without exactly one ``$LABEL$`` and a valid id.
    """
    for n, line in enumerate(read_lines(path), start=1):
        if line.count("$LABEL$") != 1:
            raise format_error(path, n, "expected '<text>$LABEL$<id>' with one '$LABEL$'")
        text, _, label = line.partition("$LABEL$")
        label = label.strip()
        if not label.isdigit() or int(label) >= len(label_names):
            raise format_error(
                path, n, f"expected label id 0-{len(label_names) - 1} after $LABEL$, got {label!r}"
            )
        yield n, label_names[int(label)], text


def read_csv_rows(path: Path, header: Sequence[str] | None) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(record number, cells)`` from a UTF-8 CSV file, checking the header and widths.

    The record number is 1-based and counts the header, so it equals the line number
    for files without quoted line breaks.

    Raises:
        CorpusFormatError: a different header, or a row with another number of cells.
    """
    width = None if header is None else len(header)
    with require_file(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        for n, row in enumerate(reader, start=1):
            if n == 1 and header is not None:
                if [c.strip() for c in row] != list(header):
                    raise format_error(path, 1, f"expected header {list(header)}, got {row}")
                continue
            if width is None:
                width = len(row)
            if len(row) != width:
                raise format_error(path, n, f"expected {width} cells, got {len(row)}")
            yield n, row


def majority_polarity(polarities: Iterable[str]) -> str | None:
    """Return the sentence polarity voted by its aspect/opinion polarities, or None.

    Only ``positive`` and ``negative`` votes count (case-insensitive); ``neutral`` and
    ``conflict`` are ignored. The sentence is ``positive`` or ``negative`` by strict
    majority; a tie, or no positive/negative vote at all, gives None (the record is
    dropped by the readers).

    Example:
        >>> majority_polarity(["positive", "neutral", "negative", "positive"])
        'positive'
    """
    votes = Counter(p.lower() for p in polarities)
    pos, neg = votes["positive"], votes["negative"]
    if pos > neg:
        return "positive"
    if neg > pos:
        return "negative"
    return None


def holdout_splits(
    labels: Sequence[str],
    *,
    groups: Sequence[str] | None = None,
    fraction: float = TEST_FRACTION,
    seed: int = SPLIT_SEED,
) -> dict[str, tuple[int, ...]]:
    """Return a fixed seeded ``{"train", "test"}`` split for a corpus without one.

    Stratified by class (``fraction`` of every class to test), or by whole groups
    when ``groups`` is given (e.g. chABSA documents, which must not straddle splits).
    """
    everything = range(len(labels))
    if groups is None:
        test = stratified_sample(labels, everything, fraction, seed)
    else:
        test = group_sample(groups, everything, fraction, seed)
    test_set = set(test)
    return {"train": tuple(i for i in everything if i not in test_set), "test": test}


def first_occurrences(texts: Sequence[str]) -> list[int]:
    """Return the indices of the first occurrence of every distinct text, in order."""
    seen: set[str] = set()
    keep = []
    for i, text in enumerate(texts):
        if text not in seen:
            seen.add(text)
            keep.append(i)
    return keep
