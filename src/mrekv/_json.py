"""Reading JSON whose nesting is bounded, so a hostile file is an error, not a RecursionError.

``json.loads`` recurses once per nesting level: ``[[[[...]]]]`` a few thousand
levels deep raises ``RecursionError`` (a traceback, not a message), and
anything that walks the result recursively later may do the same. Every JSON
file mrekv reads from a folder or a results file (``config.json``,
``mrekv_config.json``, weight indexes, experiment results) goes through
:func:`load_json`, which raises :class:`JSONDepthError` (a
``json.JSONDecodeError``, so the readers' existing handlers name the file)
past :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "JSONDepthError", "json_depth", "load_json"]

#: Deeper than any configuration, tokenizer or results file mrekv writes or reads.
MAX_DEPTH = 100


class JSONDepthError(json.JSONDecodeError):
    """A JSON document nested deeper than :data:`MAX_DEPTH` levels."""

    def __init__(self, msg: str, doc: str, pos: int) -> None:
        super().__init__(msg, doc, pos)
        self.args = (msg,)  # no "line 1 column 1": the depth is not at one place

    def __str__(self) -> str:
        return self.msg


def json_depth(value: Any, limit: int | None = None) -> int:
    """How many arrays / objects deep ``value`` is (0 for a scalar); stops counting past ``limit``.

    Walks with an explicit stack, so it never recurses however deep ``value`` is.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if limit is not None and deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list)))
    return deepest


def load_json(text: str | bytes, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads(text, **kwargs)`` that refuses documents nested deeper than ``max_depth``.

    Raises:
        JSONDepthError: nested too deeply (a ``json.JSONDecodeError``).
        json.JSONDecodeError: not valid JSON.
    """
    try:
        data = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONDepthError(f"nested deeper than {max_depth} levels", _doc(text), 0) from None
    if isinstance(text, str):
        opening = text.count("[") + text.count("{")
    else:
        opening = text.count(b"[") + text.count(b"{")
    if opening > max_depth and json_depth(data, max_depth) > max_depth:
        raise JSONDepthError(f"nested deeper than {max_depth} levels", _doc(text), 0)
    return data


def _doc(text: str | bytes) -> str:
    return text if isinstance(text, str) else text.decode("utf-8", errors="replace")
