"""Label-word files: the mrekv JSON format and OpenPrompt / KPT knowledge files.

Formats:

* ``"json"``: :meth:`LabelWords.to_dict` output (words, scores, counts, provenance).
* ``"kpt"``: OpenPrompt / KPT ``.txt``: one line per class, in class order, with
  comma-separated label words (the first usually the class name). Readers accept a
  UTF-8 BOM, CRLF line ends, spaces around commas, trailing commas and blank trailing
  lines; multiword words ("go through") are kept whole.
* ``"kpt-json"``: the KPT ``.json`` form: a dict from class name to its words, or a
  list with one word list per class.

By extension: ``.txt`` is "kpt"; ``.json`` is "json" when written, and when read
"json" if the file is a dict with ``"format": "mrekv.label_words"``, else "kpt-json".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from mrekv._io import atomic_write_json, atomic_write_text
from mrekv._json import load_json
from mrekv.errors import SaveFormatError, unknown_choice
from mrekv.verbalizer.label_words import LabelWords

LabelWordFormat = Literal["json", "kpt", "kpt-json"]
FORMATS: tuple[str, ...] = get_args(LabelWordFormat)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SaveFormatError(f"{path}: no such label-word file") from None
    except UnicodeDecodeError as err:
        reason = f"not UTF-8 text ({err.reason} at byte {err.start})"
        raise SaveFormatError(f"{path}: {reason}") from None


def _load_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        return load_json(text)
    except json.JSONDecodeError as err:
        raise SaveFormatError(
            f"{path}, line {err.lineno} column {err.colno}: invalid JSON: {err.msg}"
        ) from None


def _with_classes(
    path: Path, names: list[str], lists: list[list[str]], classes: Sequence[str] | None, what: str
) -> LabelWords:
    """Name the word lists by ``classes`` (same count) or by their first-word ``names``."""
    if classes is not None:
        if len(classes) != len(lists):
            raise SaveFormatError(
                f"{path}: {len(lists)} {what} but {len(classes)} classes were given"
            )
        names = list(classes)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise SaveFormatError(f"{path}: duplicate class names {dup!r}; pass classes= to name them")
    return LabelWords.from_lists(names, lists, {"source_file": path.name})


def _split_kpt_line(line: str) -> list[str]:
    return [w.strip() for w in line.split(",") if w.strip()]


def read_kpt(path: str | Path, classes: Sequence[str] | None = None) -> LabelWords:
    """Read an OpenPrompt / KPT knowledge file (``.txt``, or the ``.json`` forms).

    Args:
        path: the file.
        classes: the class names, in line order. Default: each line's first word for
            ``.txt`` and list-of-lists ``.json``; the keys of a dict ``.json``.
            For a dict ``.json`` given ``classes``, the lists are taken in that order.

    Returns:
        The label words (scores 1.0, counts 0), in file order within each class
        (duplicates kept).

    Raises:
        SaveFormatError: unreadable file, an empty line among class lines (with its line
            number), a wrong number of classes, or duplicate class names.

    Example:
        >>> lw = read_kpt("knowledgeable_verbalizer.txt")  # doctest: +SKIP
        >>> lw.classes[:2]  # doctest: +SKIP
        ('politics', 'sports')
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        return _from_kpt_json(path, _load_json(path), classes)
    lines = _read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    lists: list[list[str]] = []
    for number, line in enumerate(lines, start=1):
        words = _split_kpt_line(line)
        if not words:
            raise SaveFormatError(f"{path}, line {number}: no label words (blank line)")
        lists.append(words)
    if not lists:
        raise SaveFormatError(f"{path}: no label words")
    return _with_classes(path, [ws[0] for ws in lists], lists, classes, "lines")


def _words_of(path: Path, where: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise SaveFormatError(f"{path}, {where}: expected a list of strings, got {value!r:.80}")
    words = [w.strip() for w in value if w.strip()]
    if not words:
        raise SaveFormatError(f"{path}, {where}: no label words")
    return words


def _from_kpt_json(path: Path, data: Any, classes: Sequence[str] | None) -> LabelWords:
    if isinstance(data, dict) and not data:
        raise SaveFormatError(f"{path}: no classes (expected a dict class name -> word list)")
    if isinstance(data, dict):
        if classes is not None:
            missing = [c for c in classes if c not in data]
            extra = [c for c in data if c not in classes]
            if missing or extra:
                raise SaveFormatError(
                    f"{path}: classes {missing!r} are not in the file; "
                    f"the file has classes {extra!r} that were not given"
                )
            names = list(classes)
        else:
            names = [str(k) for k in data]
        lists = [_words_of(path, f"class {n!r}", data[n]) for n in names]
        return _with_classes(path, names, lists, None, "classes")
    if isinstance(data, list):
        flat = [i for i, v in enumerate(data) if not isinstance(v, list)]
        if flat:  # a flat list would make every word a class of its own
            raise SaveFormatError(
                f"{path}: element {flat[0]} is {data[flat[0]]!r:.60}, not a list; a KPT JSON "
                'list holds one word list per class ([["bad", "awful"], ["good", "great"]]), '
                'or use a dict {"<class>": ["word", ...]}'
            )
        lists = [_words_of(path, f"list {i}", v) for i, v in enumerate(data)]
        if not lists:
            raise SaveFormatError(f"{path}: no label words")
        return _with_classes(path, [ws[0] for ws in lists], lists, classes, "lists")
    raise SaveFormatError(f"{path}: expected a JSON dict or list, got {type(data).__name__}")


def write_kpt(path: str | Path, label_words: LabelWords) -> None:
    """Write label words as a KPT ``.txt`` (or, for a ``.json`` path, a KPT dict).

    The ``.txt`` form has one line per class, words joined by ``,``; scores, counts
    and provenance are not kept (use the mrekv JSON format for those).

    Raises:
        SaveFormatError: a class has no words, or a word contains a comma or line break
            (the ``.txt`` form cannot hold it).
    """
    path = Path(path)
    for c in label_words.classes:
        if not label_words.words[c]:
            raise SaveFormatError(f"{path}: class {c!r} has no label words")
    if path.suffix.lower() == ".json":
        atomic_write_json(path, dict(zip(label_words.classes, label_words.as_lists(), strict=True)))
        return
    lines = []
    for c, words in zip(label_words.classes, label_words.as_lists(), strict=True):
        for w in words:
            if "," in w or "\n" in w or "\r" in w or w != w.strip():
                raise SaveFormatError(
                    f"{path}: class {c!r} word {w!r} cannot be written to a KPT .txt file "
                    "(commas, line breaks and surrounding spaces are not representable)"
                )
        lines.append(",".join(words))
    atomic_write_text(path, "\n".join(lines) + "\n")


def _resolve_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise SaveFormatError(unknown_choice("label-word format", fmt, FORMATS))
        return fmt
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return "kpt"
    if suffix == ".json":
        return "json"
    raise SaveFormatError(
        f"{path}: cannot tell the label-word format from the extension {suffix!r} "
        f"(use .json or .txt, or pass format= one of {', '.join(map(repr, FORMATS))})"
    )


def write_label_words(
    path: str | Path, label_words: LabelWords, format: LabelWordFormat | str | None = None
) -> None:
    """Write label words atomically in ``format`` (default: by extension, .json / .txt).

    Args:
        path: the target file (parent folders are created).
        label_words: what to write.
        format: "json" (mrekv, lossless), "kpt" (.txt) or "kpt-json" (dict of lists).

    Raises:
        SaveFormatError: an unknown format or extension, or words the format cannot hold.

    Example:
        >>> lw = LabelWords.from_lists(["neg", "pos"], [["bad"], ["good"]])
        >>> write_label_words("words.json", lw)  # doctest: +SKIP
    """
    path = Path(path)
    fmt = _resolve_format(path, format)
    if fmt == "json":
        atomic_write_json(path, label_words.to_dict())
    elif fmt == "kpt-json":
        atomic_write_json(path, dict(zip(label_words.classes, label_words.as_lists(), strict=True)))
    else:
        write_kpt(path, label_words)


def read_label_words(
    path: str | Path,
    format: LabelWordFormat | str | None = None,
    classes: Sequence[str] | None = None,
) -> LabelWords:
    """Read label words written by :func:`write_label_words` or by OpenPrompt / KPT.

    Args:
        path: the file.
        format: "json", "kpt" or "kpt-json"; default by extension and content (see the
            module docstring).
        classes: the class names (for KPT files, in line order; for mrekv JSON files,
            the wanted order, which must name the file's classes).

    Returns:
        The label words.

    Raises:
        SaveFormatError: unreadable or malformed file, naming the file and line or key.
    """
    path = Path(path)
    fmt = _resolve_format(path, format)
    if fmt == "kpt":
        if path.suffix.lower() == ".json":
            return _from_kpt_json(path, _load_json(path), classes)
        return read_kpt(path, classes)
    data = _load_json(path)
    # a dict with "classes" and "words" is an mrekv file even without its "format" key
    is_mrekv = isinstance(data, Mapping) and ("format" in data or {"classes", "words"} <= set(data))
    if fmt == "kpt-json" or (format is None and not is_mrekv):
        return _from_kpt_json(path, data, classes)
    if not isinstance(data, Mapping):
        raise SaveFormatError(f"{path}: expected a JSON object with 'format': 'mrekv.label_words'")
    if data.get("format") == "mrekv.label_words" and data.get("version") == 1:
        _check_mrekv_layout(path, data)  # else from_dict names the format or version
    try:
        lw = LabelWords.from_dict(data)
    except (KeyError, TypeError, ValueError) as err:
        raise SaveFormatError(f"{path}: not a valid mrekv label-word file: {err}") from None
    if classes is None:
        return lw
    if sorted(classes) != sorted(lw.classes):
        raise SaveFormatError(
            f"{path}: classes {list(classes)!r} do not match the file's {list(lw.classes)!r}"
        )
    return LabelWords(tuple(classes), lw.words, lw.provenance)


def _check_mrekv_layout(path: Path, data: Mapping[str, Any]) -> None:
    """Check the JSON types of an mrekv label-word file (what :meth:`LabelWords.to_dict` writes).

    Raises:
        SaveFormatError: naming the key and what was expected.
    """
    expected = (
        '{"format": "mrekv.label_words", "version": 1, "classes": ["neg", "pos"], '
        '"words": {"neg": [{"word": "bad", "score": 1.0, "count": 3}, ...], ...}}'
    )
    classes = data.get("classes")
    if not isinstance(classes, list) or not classes:
        raise SaveFormatError(
            f"{path}: 'classes' must be a non-empty list of class names, got {classes!r:.60}; "
            f"expected {expected}"
        )
    bad = [c for c in classes if not isinstance(c, str) or not c.strip()]
    if bad:
        raise SaveFormatError(f"{path}: 'classes' must hold non-empty strings, got {bad[0]!r}")
    if len(set(classes)) != len(classes):
        raise SaveFormatError(f"{path}: duplicate names in 'classes' {classes!r}")
    words = data.get("words")
    if not isinstance(words, Mapping):
        raise SaveFormatError(
            f"{path}: 'words' must be an object mapping each class to its words, got a "
            f"{type(words).__name__}; expected {expected}"
        )
    extra = sorted(set(words) - set(classes))
    if extra:
        raise SaveFormatError(f"{path}: 'words' has classes {extra} that 'classes' lacks")
    for c in classes:
        entries = words.get(c)
        where = f"{path}: 'words'[{c!r}]"
        if not isinstance(entries, list):
            raise SaveFormatError(f"{where} must be a list of word entries, got {entries!r:.60}")
        for i, entry in enumerate(entries):
            word = entry.get("word") if isinstance(entry, Mapping) else None
            if not isinstance(word, str) or not word.strip():
                raise SaveFormatError(
                    f"{where}[{i}]: expected {{\"word\": <non-empty string>, \"score\": <number>, "
                    f"\"count\": <integer>}}, got {entry!r:.60}"
                )
            score, count = entry.get("score", 1.0), entry.get("count", 0)
            if isinstance(score, bool) or not isinstance(score, (int, float)) or score != score:
                raise SaveFormatError(f"{where}[{i}] ({word!r}): 'score' must be a number, "
                                      f"got {score!r}")
            if isinstance(count, bool) or not isinstance(count, int):
                raise SaveFormatError(f"{where}[{i}] ({word!r}): 'count' must be an integer, "
                                      f"got {count!r}")
