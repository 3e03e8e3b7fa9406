"""The MMM / OIELLM record format: parse and format one record.

One record is one JSON object with exactly two string keys::

    {"input": "<text>/<task word>",
     "output": "<text label>/<task word>/:<label>;<span>:<label>;<span>..."}

``Relation Extraction`` records carry triples ``:<head>;<relation>;<tail>``
instead of pairs; the word-label part may be empty (``"positive/Sentiment Adj/"``).

How a record is split (texts, spans, heads and tails may hold ``/ : ;``):

* ``input`` must end with ``/<task word>``; everything before is the text. No
  task word is a ``/``-suffix of another, so this is never ambiguous.
* ``output`` must hold ``/<task word>/`` with the input's task word; the text
  label is everything before its *first* occurrence, the word labels everything
  after. A text label therefore never contains ``/<task word>/`` nor ends with
  ``/<task word>`` (:func:`format_mmm_record` refuses such labels).
* Word labels: ``:`` and ``;`` may also be the full-width ``：`` ``；`` of the
  original Japanese SCNM records, mixed freely. Labels, relation names and heads
  never hold a colon, and labels and relation names never hold a semicolon, so
  an item starts at a colon that is followed, before any other colon, by a
  non-empty label and a semicolon. A colon that does not start such an item
  belongs to the span before it. Where several segmentations remain (a span
  that itself looks like ``...:x;y``, as URLs and times do), the parser picks
  the one whose spans (heads and tails) that occur verbatim in the text cover
  the most characters, then the one with the most items, then the one with the
  shortest first items. So ``:url;https://a.b/?x=1;y=2`` is one item when the
  text holds the URL, and ``:loc;Kyoto:loc;Osaka`` two items unless the text
  literally holds ``Kyoto:loc;Osaka``. One span may swallow at most
  ``MAX_MERGE - 1`` look-alike items.

Writing back: an example remembers in ``MREExample.separators`` the separator
characters its record used (None when all ASCII), and :func:`format_mmm_record`
writes them back, so a full-width record reads and writes back byte for byte; a
new or edited example is written in the canonical ASCII form. The canonical
JSON text of a record is ``json.dumps({"input": ..., "output": ...},
ensure_ascii=False)`` (:func:`mmm_record_to_json`); files written by
:func:`write_mmm` read and write back to the same bytes.

Every malformed record raises :class:`mrekv.errors.MMMFormatError` naming the
file, the line (JSON Lines) or the record index (JSON array) and what was
expected; no other exception escapes for any record content.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Mapping
from typing import Any

from mrekv.data.example import COLONS, LANGS, SEMICOLONS, MREExample, TaskWord
from mrekv.data.mmm.substrings import SubstringIndex
from mrekv.errors import ConfigError, MMMFormatError, unknown_choice

__all__ = [
    "MAX_MERGE",
    "check_lang",
    "format_mmm_record",
    "mmm_record_to_json",
    "parse_mmm_record",
]

#: How many candidate items one span may absorb at most (bounds the search).
MAX_MERGE = 16
_KEYS = ("input", "output")
_SEPARATORS = COLONS + SEMICOLONS
_TASK_WORDS = tuple(t.value for t in TaskWord)


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(f"duplicate key {key!r}")
        out[key] = value
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)


def check_lang(lang: str | None) -> str | None:
    """Return ``lang`` if it is None or a known language; raise ConfigError otherwise."""
    if lang is not None and lang not in LANGS:
        raise ConfigError(unknown_choice("language", lang, LANGS))
    return lang


def _short(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


def _decode_json(text: str) -> Any:
    """``json.loads`` with duplicate keys refused; raise ValueError for any bad input."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as err:
        where = f"column {err.colno}"
        if err.lineno > 1:
            where = f"line {err.lineno} {where}"
        raise ValueError(f"invalid JSON: {err.msg} at {where}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    except ValueError as err:  # duplicate keys, over-long integers
        raise ValueError(f"invalid JSON: {err}") from None


def parse_mmm_record(
    record: Mapping[str, Any] | str,
    *,
    lang: str | None = None,
    source: str | None = None,
    line: int | None = None,
    index: int | None = None,
) -> MREExample:
    """Parse one MMM record (a mapping, or its JSON text) into an :class:`MREExample`.

    Args:
        record: ``{"input": ..., "output": ...}`` or the JSON text of it.
        lang: language to set on the example (``"en"``, ``"ja"``, ``"zh"``, None).
        source, line, index: where the record came from, for error messages.

    Returns:
        The example; ``separators`` remembers non-ASCII separators (see module doc).

    Raises:
        MMMFormatError: the record is malformed; the message says what was expected.
        ConfigError: ``lang`` is not a known language.

    Example:
        >>> ex = parse_mmm_record({"input": "Meet at 10:30/NER",
        ...                        "output": "event/NER/:time;10:30"})
        >>> ex.text, ex.text_label, ex.word_labels
        ('Meet at 10:30', 'event', (('time', '10:30'),))
    """
    check_lang(lang)

    def fail(reason: str) -> MMMFormatError:
        return MMMFormatError(reason, source=source, line=line, index=index)

    if isinstance(record, str):
        try:
            record = _decode_json(record)
        except ValueError as err:
            raise fail(str(err)) from None
    if not isinstance(record, Mapping):
        raise fail(
            f"record must be a JSON object with keys 'input' and 'output', "
            f"got {type(record).__name__}"
        )
    keys = list(record.keys())
    missing = [k for k in _KEYS if k not in keys]
    extra = [k for k in keys if k not in _KEYS]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing key(s) {', '.join(repr(k) for k in missing)}")
        if extra:
            parts.append(f"extra key(s) {', '.join(repr(k) for k in extra)}")
        raise fail(f"record must have exactly the keys 'input' and 'output': {'; '.join(parts)}")
    values = {}
    for key in _KEYS:
        value = record[key]
        if not isinstance(value, str):
            raise fail(f"{key!r} must be a string, got {type(value).__name__}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            raise fail(f"{key!r} is not valid Unicode (lone surrogate at {err.start})") from None
        values[key] = value
    text, task = _split_input(values["input"], fail)
    text_label, rest = _split_output(values["output"], task, fail)
    items, seps = _parse_items(rest, task, text, fail)
    is_relation = task is TaskWord.RELATION_EXTRACTION
    return MREExample(
        text=text,
        text_label=text_label,
        task=task,
        word_labels=() if is_relation else tuple(items),  # type: ignore[arg-type]
        relations=tuple(items) if is_relation else (),  # type: ignore[arg-type]
        lang=lang,
        separators=None if seps.isascii() else seps,
    )


def _split_input(value: str, fail: Any) -> tuple[str, TaskWord]:
    for word in _TASK_WORDS:
        if value.endswith("/" + word):
            text = value[: -len(word) - 1]
            if not text:
                raise fail(f"input {_short(value)} has an empty text before '/{word}'")
            return text, TaskWord(word)
    choices = ", ".join(repr(w) for w in _TASK_WORDS)
    raise fail(f"input must end with '/<task word>', one of {choices}; got {_short(value)}")


def _split_output(value: str, task: TaskWord, fail: Any) -> tuple[str, str]:
    marker = f"/{task.value}/"
    at = value.find(marker)
    if at == -1:
        others = [(value.find(f"/{w}/"), w) for w in _TASK_WORDS if f"/{w}/" in value]
        if others:
            other = min(others)[1]
            raise fail(f"task word in input {task.value!r} differs from output {other!r}")
        raise fail(f"output must start with '<text label>{marker}'; got {_short(value)}")
    if at == 0:
        raise fail(f"output must start with '<text label>{marker}'; the text label is empty")
    return value[:at], value[at + len(marker) :]


def _next_separator(part: str) -> list[int]:
    """For each position, the index of the first separator at or after it (len if none)."""
    nxt = [len(part)] * (len(part) + 1)
    for i in range(len(part) - 1, -1, -1):
        nxt[i] = i if part[i] in _SEPARATORS else nxt[i + 1]
    return nxt


def _found(value: str, text: SubstringIndex) -> int:
    """How many characters of ``value`` the text vouches for: all if it occurs in it, else 0."""
    return len(value) if text.contains(value) else 0


def _parse_chunk(
    part: str, start: int, end: int, arity: int, text: SubstringIndex, semis: list[int]
) -> tuple[tuple[str, ...], str, int] | None:
    """Parse ``part[start:end]`` (starting with a colon) as one item, or None.

    ``semis`` are the positions of every semicolon in ``part``, ascending.
    """
    first = bisect_left(semis, start + 1)
    if arity == 2:
        s = semis[first]
        label, span = part[start + 1 : s], part[s + 1 : end]
        return (label, span), part[start] + part[s], _found(span, text)
    inner = semis[first : bisect_left(semis, end, first)]
    best: tuple[tuple[str, ...], str, int] | None = None
    for j in range(len(inner) - 1):
        head = part[start + 1 : inner[j]]
        if any(ch in COLONS for ch in head):
            break
        relation = part[inner[j] + 1 : inner[j + 1]]
        if not relation or any(ch in COLONS for ch in relation):
            continue
        tail = part[inner[j + 1] + 1 : end]
        score = _found(head, text) + _found(tail, text)
        if best is None or score > best[2]:
            seps = part[start] + part[inner[j]] + part[inner[j + 1]]
            best = ((head, relation, tail), seps, score)
    return best


def _parse_items(
    part: str, task: TaskWord, text: str, fail: Any
) -> tuple[list[tuple[str, ...]], str]:
    """Split the word-label part into items (see the module docstring).

    Linear in the number of candidate items: at most ``MAX_MERGE`` chunks per
    item, and for pairs the merging stops at the first merged span the text does
    not hold (a longer merge extends that span, so the text holds none of them,
    and splitting scores at least as many characters with more items).
    """
    if not part:
        return [], ""
    arity = 3 if task is TaskWord.RELATION_EXTRACTION else 2
    shape = ":<head>;<relation>;<tail>" if arity == 3 else ":<label>;<span>"
    if part[0] not in COLONS:
        raise fail(
            f"word labels after '/{task.value}/' must start with ':' ('{shape}...'); "
            f"got {_short(part)}"
        )
    index = SubstringIndex(text)
    semis = [i for i, ch in enumerate(part) if ch in SEMICOLONS]
    nxt = _next_separator(part)
    # An item starts at a colon followed by a non-empty, colon-free label and a semicolon.
    starts = [
        i
        for i, ch in enumerate(part)
        if ch in COLONS and nxt[i + 1] < len(part) and nxt[i + 1] > i + 1
        and part[nxt[i + 1]] in SEMICOLONS
    ]
    n = len(starts)
    best: list[tuple[int, int] | None] = [None] * (n + 1)
    choice: list[tuple[int, tuple[str, ...], str] | None] = [None] * (n + 1)
    best[n] = (0, 0)
    if starts and starts[0] == 0:
        for k in range(n - 1, -1, -1):
            for nxt_k in range(k + 1, min(n, k + MAX_MERGE) + 1):
                after = best[nxt_k]
                if after is None:
                    continue
                end = starts[nxt_k] if nxt_k < n else len(part)
                parsed = _parse_chunk(part, starts[k], end, arity, index, semis)
                if parsed is None:
                    continue
                if arity == 2 and nxt_k > k + 1 and parsed[2] == 0:
                    break
                score = (parsed[2] + after[0], 1 + after[1])
                current = best[k]
                if current is None or score > current:
                    best[k] = score
                    choice[k] = (nxt_k, parsed[0], parsed[1])
    if not starts or starts[0] != 0 or best[0] is None:
        bad = _first_bad_piece(part, arity, index, semis)
        raise fail(f"word label {_short(bad)} is not '{shape}'")
    items: list[tuple[str, ...]] = []
    seps = []
    k = 0
    while k < n:
        picked = choice[k]
        assert picked is not None
        k, fields, sep = picked
        items.append(fields)
        seps.append(sep)
    return items, "".join(seps)


def _first_bad_piece(part: str, arity: int, text: SubstringIndex, semis: list[int]) -> str:
    """The first colon-delimited piece that is not an item by itself (for messages)."""
    cuts = [i for i, ch in enumerate(part) if ch in COLONS] + [len(part)]
    for a, b in zip(cuts, cuts[1:], strict=False):
        piece = part[a:b]
        label_end = next((i for i, ch in enumerate(piece) if ch in SEMICOLONS), -1)
        if label_end <= 1 or _parse_chunk(part, a, b, arity, text, semis) is None:
            return piece
    return part


def format_mmm_record(example: MREExample) -> dict[str, str]:
    """Return the MMM record ``{"input": ..., "output": ...}`` of ``example``.

    Separators are written as ``example.separators`` records them when that fits
    the number of items, else in canonical ASCII.

    Raises:
        MMMFormatError: the example cannot be written so that it reads back the
            same (empty text or text label, a text label holding ``/<task word>/``,
            a label holding a separator, items that would split differently, pairs
            on a ``Relation Extraction`` example or triples on another task).

    Example:
        >>> format_mmm_record(MREExample("Meet at 10:30", "event",
        ...                              word_labels=[("time", "10:30")]))
        {'input': 'Meet at 10:30/NER', 'output': 'event/NER/:time;10:30'}
    """
    task = example.task
    is_relation = task is TaskWord.RELATION_EXTRACTION
    prefix = "cannot write example as an MMM record: "
    if is_relation and example.word_labels:
        raise MMMFormatError(prefix + "a 'Relation Extraction' record holds relations only")
    if not is_relation and example.relations:
        raise MMMFormatError(prefix + f"a {task.value!r} record cannot hold relations")
    marker = f"/{task.value}"
    if marker + "/" in example.text_label or example.text_label.endswith(marker):
        raise MMMFormatError(
            prefix + f"text label {_short(example.text_label)} must not contain "
            f"'{marker}/' nor end with '{marker}'"
        )
    items: tuple[tuple[str, ...], ...] = example.relations if is_relation else example.word_labels
    width = 3 if is_relation else 2
    seps = example.separators
    if seps is None or len(seps) != width * len(items):
        seps = (":;;" if is_relation else ":;") * len(items)
    pieces = []
    for n, fields in enumerate(items):
        for sep, value in zip(seps[n * width : (n + 1) * width], fields, strict=True):
            pieces.append(sep + value)
    record = {
        "input": f"{example.text}/{task.value}",
        "output": f"{example.text_label}/{task.value}/{''.join(pieces)}",
    }
    try:
        back = parse_mmm_record(record)
    except MMMFormatError as err:
        raise MMMFormatError(prefix + err.reason) from None
    for name in ("text", "text_label", "word_labels", "relations"):
        if getattr(back, name) != getattr(example, name):
            raise MMMFormatError(
                prefix + f"its {name} {getattr(example, name)!r} would read back as "
                f"{getattr(back, name)!r} (a label or span holds separators that make "
                "the record ambiguous)"
            )
    return record


def mmm_record_to_json(example: MREExample) -> str:
    """Return the canonical JSON text (one line, UTF-8 characters kept) of ``example``.

    Raises:
        MMMFormatError: as :func:`format_mmm_record`.
    """
    return json.dumps(format_mmm_record(example), ensure_ascii=False)
