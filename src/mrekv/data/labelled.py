"""Label files written by people: ``label<TAB>text`` (TSV) or ``label,text`` (CSV) records.

What such files carry besides the records, and what this reader does with it:

* a header row, under any names (``category<TAB>description``, ``text<TAB>label``,
  ``sentiment<TAB>review``): told from a record by content (:func:`is_header`) and
  skipped with a warning, instead of becoming a class of one example;
* quoted fields (``"positive"<TAB>"a ""great"" film"``): a field wholly in double
  quotes loses them, read by :mod:`csv` (a text that only starts with a quote,
  ``"Great" acting``, is kept as written);
* invisible differences in labels (``positive\\u200b``, full-width ``ｐｏｓｉｔｉｖｅ``):
  labels are NFKC-normalised and their zero-width / format characters removed,
  with a warning, so they do not become new classes;
* text that is not UTF-8: a UTF-16 file or a binary one is named as such.

Errors are :class:`~mrekv.errors.CorpusFormatError` naming the file and line.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from mrekv.errors import CorpusFormatError, summarize

__all__ = ["CSV_FORM", "TSV_FORM", "is_header", "normalise_label", "read_label_file",
           "read_text_lines", "split_fields"]

TSV_FORM = "'label<TAB>text' (one record a line, no tab inside the text)"
CSV_FORM = "'label,text' (a CSV record a line; quote a text that holds commas)"
#: Names a header row gives its columns (compared lower-cased).
COLUMN_NAMES = frozenset({
    "label", "labels", "class", "classes", "category", "categories", "target", "y", "gold",
    "sentiment", "polarity", "topic", "intent", "tag", "text", "texts", "sentence",
    "sentences", "document", "doc", "review", "reviews", "description", "content", "title",
    "body", "tweet", "comment", "x", "input", "utterance", "query",
})
_LABEL_NAMES = {"label", "labels", "class", "category", "target", "y"}
_TEXT_NAMES = {"text", "sentence", "texts", "document"}
_NAME = re.compile(r"[^\W\d][\w-]{0,31}")  # a column name: one short word, no punctuation


# --- text ---------------------------------------------------------------------------

def read_text_lines(path: str | Path) -> list[str]:
    """The lines of a UTF-8 text file, byte-order mark dropped, split at ``\\n`` only.

    A final newline does not make an extra empty line; ``\\r\\n`` ends a line like ``\\n``.

    Raises:
        CorpusFormatError: a UTF-16 file, a binary file, or invalid UTF-8 (with the line).
    """
    p = Path(path)
    raw = p.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusFormatError(f"{p}: the file is UTF-16 (it starts with a UTF-16 byte-order "
                                "mark); save it as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:  # no UTF-8 text holds NUL bytes
        raise CorpusFormatError(f"{p}: {_nul_reason(raw)}")
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()
    lines = []
    for lineno, chunk in enumerate(chunks, 1):
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CorpusFormatError(
                f"{p}, line {lineno}: not valid UTF-8 text (byte 0x{chunk[error.start]:02x} at "
                f"column {error.start + 1}); save the file as UTF-8") from None
        lines.append(line[:-1] if line.endswith("\r") else line)
    return lines


def _nul_reason(raw: bytes) -> str:
    """Why a file with NUL bytes is not read: UTF-16 text without a byte-order mark, or binary."""
    offset = raw.index(b"\x00")
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\t\n\r" for ch in text[:4096])
        if text and printable >= 0.95 * min(len(text), 4096):
            return ("the file looks like UTF-16 text without a byte-order mark (NUL bytes "
                    "between its characters); save it as UTF-8")
    return (f"a binary file, not text (a NUL byte at offset {offset}); expected a UTF-8 "
            "text file")


# --- records ------------------------------------------------------------------------

def split_fields(line: str, delimiter: str = "\t") -> list[str]:
    """The fields of one line; a field wholly in double quotes loses them (``""`` -> ``"``).

    A line whose quotes do not follow CSV's rules (``"Great" acting``, ``5" screen``) is
    split as written, quotes kept.
    """
    if '"' not in line:
        return line.split(delimiter)
    try:
        fields = next(csv.reader([line], delimiter=delimiter, strict=True), [])
    except csv.Error:
        return line.split(delimiter)
    return fields if fields else [""]


_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
                        r"\ufeff\ufff9-\ufffb]")


def normalise_label(label: str) -> str:
    """``label`` NFKC-normalised, zero-width and other invisible format characters removed,
    surrounding white space stripped.

    Example:
        >>> normalise_label("positive\\u200b"), normalise_label("ｐｏｓ")
        ('positive', 'pos')
    """
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", label)).strip()


def is_header(label: str, text: str, other_labels: Sequence[str]) -> bool:
    """Whether a first record ``label<TAB>text`` is a header row, judged by content.

    It is when it is ``label<TAB>text`` (or ``class<TAB>sentence``...), or when its
    label is no class of the other records, its text reads like a column name (one short
    word, no punctuation) and either field is a usual column name
    (:data:`COLUMN_NAMES`) or the other records' labels repeat (on average twice or more
    per class), as classes do.
    """
    low_label, low_text = label.strip().lower(), text.strip().lower()
    if low_label in _LABEL_NAMES and low_text in _TEXT_NAMES:
        return True
    if label in set(other_labels) or not _NAME.fullmatch(text.strip()):
        return False
    if low_label in COLUMN_NAMES or low_text in COLUMN_NAMES:
        return True
    return len(other_labels) >= 4 and 2 * len(set(other_labels)) <= len(other_labels)


def read_label_file(path: str | Path, *, tabs_in_text: bool = False) -> tuple[list[str], list[str]]:
    """Texts and labels of a ``label<TAB>text`` TSV file, or of ``label,text`` in a ``.csv``.

    Blank lines are skipped; a header row is recognised by content (:func:`is_header`);
    quoted fields lose their quotes; labels are normalised (:func:`normalise_label`).
    A warning says when a header was skipped (unless it was ``label<TAB>text``) or a
    label changed.

    Args:
        path: the file (``.csv``: comma-separated, quoted fields may span lines).
        tabs_in_text: TSV: the text is everything after the first tab (else a line
            with more than one tab is an error).

    Returns:
        ``(texts, labels)``, in file order.

    Raises:
        CorpusFormatError: not UTF-8 text, a record with another number of fields, an
            empty label or text (naming the file and line).
    """
    p = Path(path)
    csv_file = p.suffix.lower() == ".csv"
    rows = _csv_rows(p) if csv_file else _tsv_rows(p, tabs_in_text)
    form = CSV_FORM if csv_file else TSV_FORM
    records: list[tuple[int, str, str, str]] = []  # line, raw label, label, text
    for lineno, fields in rows:
        if len(fields) != 2:
            sep = "comma" if csv_file else "tab"
            found = f"no {sep}" if len(fields) == 1 else f"{len(fields)} {sep}-separated fields"
            raise CorpusFormatError(f"{p}, line {lineno}: expected {form}, found {found}")
        raw_label, text = fields
        label = normalise_label(raw_label)
        if not label:
            raise CorpusFormatError(f"{p}, line {lineno}: empty label; expected {form}")
        if not text.strip():
            raise CorpusFormatError(f"{p}, line {lineno}: empty text; expected {form}")
        records.append((lineno, raw_label, label, text))
    if records and is_header(records[0][2], records[0][3], [r[2] for r in records[1:]]):
        lineno, raw_label, label, text = records.pop(0)
        if not (label.lower() in _LABEL_NAMES and text.strip().lower() in _TEXT_NAMES):
            warnings.warn(f"{p}, line {lineno}: {raw_label!r} / {text!r} taken for a header row "
                          f"and skipped ({label!r} is no class of the other {len(records)} "
                          "records)", stacklevel=2)
    changed = Counter((raw.strip(), label) for _, raw, label, _ in records if raw.strip() != label)
    if changed:
        pairs = [f"{raw!r} -> {new!r}" for raw, new in sorted(changed)]
        warnings.warn(f"{p}: labels normalised (Unicode NFKC, zero-width characters removed) "
                      f"in {sum(changed.values())} records: {summarize(pairs)}", stacklevel=2)
    return [r[3] for r in records], [r[2] for r in records]


def _tsv_rows(p: Path, tabs_in_text: bool) -> list[tuple[int, list[str]]]:
    rows = []
    for lineno, line in enumerate(read_text_lines(p), 1):
        if not line.strip():
            continue
        fields = split_fields(line, "\t")
        if tabs_in_text and len(fields) > 2:
            fields = [fields[0], "\t".join(fields[1:])]
        rows.append((lineno, fields))
    return rows


def _csv_rows(p: Path) -> list[tuple[int, list[str]]]:
    text = "\n".join(read_text_lines(p))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    start = 1
    try:
        for fields in reader:
            if any(f.strip() for f in fields):
                rows.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as error:
        raise CorpusFormatError(f"{p}, line {start}: not valid CSV ({error}); expected "
                                f"{CSV_FORM}") from None
    return rows
