"""What the commands read: labelled files, text files, MRE examples; JSON output.

Every reader names the file, the line and the expected form when a line is
wrong; a UTF-8 byte-order mark is dropped, and a file that is not UTF-8 (or a
folder given for a file) is a :class:`~mrekv.errors.MrekvError`, not a traceback.
Lines end at ``\\n`` only (a bare ``\\r`` stays in its text; ``\\r\\n`` is one end of line).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mrekv.data.example import guess_lang
from mrekv.data.labelled import TSV_FORM, read_label_file, read_text_lines
from mrekv.errors import MrekvError, summarize

__all__ = ["TSV_FORM", "check_labels", "examples_from_args", "input_file", "output_file",
           "print_json", "read_labelled", "read_lines", "read_texts", "require_nonempty"]


def input_file(path: str | Path, what: str = "input") -> Path:
    """``path`` as a readable file; a missing path or a folder is a :class:`MrekvError`."""
    p = Path(path)
    if p.is_dir():
        raise MrekvError(f"{what} {str(p)!r} is a folder; expected a file")
    if not p.exists():
        raise MrekvError(f"{what} {str(p)!r} does not exist")
    return p


def output_file(path: str | Path, what: str = "--out") -> Path:
    """``path`` as a file to write; a folder is a :class:`MrekvError` (nothing is written)."""
    p = Path(path)
    if p.is_dir():
        raise MrekvError(f"{what} {str(p)!r} is a folder; expected a file name")
    return p


def read_lines(path: str | Path, what: str = "input") -> list[str]:
    """The lines of a UTF-8 text file, BOM dropped, split at ``\\n`` only.

    A final newline does not make an extra empty line; ``\\r\\n`` ends a line like ``\\n``.

    Raises:
        MrekvError: a folder, a missing file, a UTF-16 or binary file, or invalid UTF-8
            (with the line number).
    """
    return read_text_lines(input_file(path, what))


def read_labelled(path: str, lang: str | None = None) -> tuple[list[str], list[str]]:
    """Texts and labels from an MMM file (.json/.jsonl), a TSV (label<TAB>text) or a CSV file.

    Blank lines and a header row (told by content, see :mod:`mrekv.data.labelled`) are
    skipped; quoted fields lose their quotes; labels are Unicode-normalised and lose
    surrounding spaces.

    Raises:
        MrekvError: a line without exactly one tab, an empty label or text, or a file
            whose columns look swapped (each names the file and line).
    """
    p = input_file(path)
    if p.suffix in {".json", ".jsonl"}:
        from mrekv.data.mmm import read_mmm

        examples = list(read_mmm(p, lang=lang))
        return [e.text for e in examples], [e.text_label for e in examples]
    texts, labels = read_label_file(p)
    _check_not_swapped(p, texts, labels)
    return texts, labels


def _check_not_swapped(p: Path, texts: Sequence[str], labels: Sequence[str]) -> None:
    """Raise when the label column looks like texts and the text column like labels."""
    distinct_labels, distinct_texts = len(set(labels)), len(set(texts))
    if len(labels) >= 10 and distinct_labels > len(labels) // 2 and distinct_texts <= 20:
        raise MrekvError(
            f"{p}: the columns look swapped ({distinct_labels} distinct labels in "
            f"{len(labels)} lines, but only {distinct_texts} distinct texts); expected {TSV_FORM}"
        )


def read_texts(path: str, lang: str | None = None, *, keep_blank: bool = False) -> list[str]:
    """Texts from an MMM file, a TSV file (label<TAB>text) or a plain file (one text a line).

    Args:
        keep_blank: keep blank lines of a plain file as empty texts (so outputs line
            up with input lines); by default they are skipped.
    """
    p = input_file(path)
    if p.suffix.lower() in {".json", ".jsonl", ".tsv", ".csv"}:
        return read_labelled(path, lang)[0]
    lines = read_lines(p)
    return lines if keep_blank else [line for line in lines if line.strip()]


def require_nonempty(items: Sequence[Any], path: str | Path, what: str = "texts") -> None:
    """Raise a :class:`MrekvError` when a file gave no records."""
    if not items:
        raise MrekvError(f"{path}: no {what} found (the file is empty or only blank lines)")


def check_labels(labels: Iterable[str], classes: Sequence[str], source: str,
                 against: str) -> None:
    """Raise when ``labels`` hold a label outside ``classes``; name them and the classes."""
    known = set(classes)
    unknown = sorted({label for label in labels if label not in known})
    if unknown:
        raise MrekvError(
            f"{source}: labels {summarize(map(repr, unknown))} are not classes of {against}; "
            f"its classes: {summarize(map(repr, classes))}"
        )


def examples_from_args(args: argparse.Namespace) -> tuple[list[Any], str | None]:
    """MRE examples from ``--input`` (MMM file) or ``--corpus``/``--split``."""
    if args.input:
        from mrekv.data.mmm import read_mmm

        examples = list(read_mmm(input_file(args.input), lang=args.lang))
        require_nonempty(examples, args.input, "records")
        lang = args.lang or next((e.lang for e in examples if e.lang), None)
        return examples, lang or guess_lang(e.text for e in examples[:200])
    from mrekv.data.corpora import load_corpus

    try:
        corpus = load_corpus(args.corpus, root=args.root)
        if args.split:
            corpus = corpus.split(args.split)
    except (ValueError, KeyError) as error:  # documented: unknown corpus / split name
        message = error.args[0] if error.args else str(error)
        raise MrekvError(f"--corpus {args.corpus}: {message}") from None
    examples = corpus.to_examples()
    require_nonempty(examples, f"corpus {args.corpus}", "records")
    return examples, corpus.lang


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))
