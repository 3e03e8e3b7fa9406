"""OpenPrompt's ``ManualTemplate``: its template language, parsed and filled as OpenPrompt does.

A template is plain text with ``{...}`` blocks, each a Python literal:

* ``{"placeholder": "text_a"}`` / ``"text_b"``: the example's text (shortenable);
* ``{"mask"}``: the mask (``<mask>``);
* ``{"meta": "<key>"}``: ``example.meta[key]``;
* ``{"special": "<sep>"}``: a special token (``<sep>``, ``<cls>``, ``<eos>``...);
* ``{"text": "..."}``: literal text;
* ``"shortenable": True/False`` overrides whether a piece may be truncated
  (placeholders may, everything else may not); ``"post_processing": "lambda x: ..."``
  (or the lambda written as code, as OpenPrompt's own template files do) is applied
  to a placeholder's or meta's value.

Parsing: a piece preceded by a space gets ``add_prefix_space=" "`` and plain
text is right-stripped. Filling: a placeholder or meta piece is
``add_prefix_space + post_processing(value)``, a text piece
``add_prefix_space + text``, the mask ``"<mask>"`` and a special piece the
string itself. The result is what :mod:`mrekv.openprompt.plms` tokenizes.

Unlike OpenPrompt, a block that is not a Python literal raises
:class:`~mrekv.errors.ConfigError` (OpenPrompt prints a traceback and calls
``exit()``), and so do a template without a mask and a missing meta key
(OpenPrompt: ``RuntimeError`` and ``KeyError``). ``post_processing`` strings are
Python code, evaluated with a few pure builtins (``str``, ``len``...): use templates
you trust, as with OpenPrompt.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from mrekv.errors import ConfigError
from mrekv.openprompt.data_utils import InputExample, InputFeatures

MASK = "<mask>"
#: The builtins a ``post_processing`` lambda may call (pure functions on text).
_BUILTINS = {f.__name__: f for f in (str, len, int, float, min, max, abs, round, sorted, reversed)}
_KEYS = ("placeholder", "mask", "meta", "special", "text", "shortenable", "post_processing")


def parse_template(text: str, keys: tuple[str, ...] = _KEYS) -> list[dict[str, Any]]:
    """The pieces of an OpenPrompt template string (module docstring).

    Args:
        text: the template, e.g. ``'{"placeholder":"text_a"} It was {"mask"} .'``.
        keys: the block keys allowed (soft templates allow ``"soft"`` and friends).

    Returns:
        One dict per piece, with ``add_prefix_space`` and the block's keys
        (``{"mask"}`` becomes ``{"mask": None}``).

    Raises:
        ConfigError: an unclosed ``{``, a block that is not a Python literal dict
            (or ``{"mask"}``), or an unknown key.

    Example:
        >>> parse_template('{"placeholder":"text_a"} It was {"mask"} .')[1]
        {'add_prefix_space': ' ', 'text': 'It was'}
    """
    pieces: list[dict[str, Any]] = []
    i, n = 0, len(text)
    while i < n:
        prefix = " " if i > 0 and text[i - 1] == " " else ""
        while i < n and text[i] == " ":
            prefix, i = " ", i + 1
        if i == n:
            break
        piece: dict[str, Any] = {"add_prefix_space": prefix}
        if text[i] != "{":
            j = text.find("{", i)
            j = n if j < 0 else j
            piece["text"] = text[i:j].rstrip(" ")
        else:
            j, depth = i, 0
            while j < n:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            if j == n:
                raise ConfigError(f"template {text!r}: '{{' at character {i} is never closed")
            piece.update(_block(text[i : j + 1], text, keys))
            j += 1
        pieces.append(piece)
        i = j
    return pieces


def _block(block: str, text: str, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        value = ast.literal_eval(block)
    except (ValueError, SyntaxError) as err:
        value = _block_with_lambda(block)
        if value is None:
            raise ConfigError(
                f"template {text!r}: block {block!r} is not a Python literal ({err}); "
                "write booleans as True / False"
            ) from None
    if isinstance(value, set):
        value = {k: None for k in value}
    if not isinstance(value, dict):
        raise ConfigError(f'template {text!r}: block {block!r} is not a dict or {{"mask"}}')
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise ConfigError(
            f"template {text!r}: unknown key {unknown[0]!r} in {block!r}; "
            f"valid keys: {', '.join(repr(k) for k in keys)}"
        )
    return value


def _block_with_lambda(block: str) -> dict[str, Any] | None:
    """A literal dict whose ``post_processing`` is a lambda written as code, or None.

    OpenPrompt evaluates each block, so its own template files (e.g. SuperGLUE's
    ``soft_template.txt``) write ``{"placeholder":"text_b","post_processing": lambda x:x+"."}``.
    The lambda is kept as its source text and evaluated like a ``post_processing`` string;
    every other value must still be a literal.
    """
    try:
        node = ast.parse(block, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Dict) or any(k is None for k in node.keys):
        return None
    value: dict[str, Any] = {}
    for key_node, value_node in zip(node.keys, node.values, strict=True):
        try:
            key = ast.literal_eval(key_node)  # type: ignore[arg-type]
        except ValueError:
            return None
        if key == "post_processing" and isinstance(value_node, ast.Lambda):
            value[key] = ast.get_source_segment(block, value_node)
            continue
        try:
            value[key] = ast.literal_eval(value_node)
        except ValueError:
            return None
    return value


def _post_processing(code: str | None) -> Callable[[str], str]:
    if code is None:
        return lambda x: x
    try:
        fn = eval(code, {"__builtins__": _BUILTINS}, {})  # noqa: S307 - OpenPrompt's language
    except Exception as err:  # noqa: BLE001 - any error in user code is reported the same way
        raise ConfigError(f"cannot evaluate post_processing {code!r}: {err}") from None
    if not callable(fn):
        raise ConfigError(f"post_processing {code!r} is not a function")
    return fn  # type: ignore[no-any-return]


class ManualTemplate(nn.Module):
    """OpenPrompt's ``ManualTemplate`` (the language is in the module docstring).

    Args:
        tokenizer: the model's tokenizer (kept for OpenPrompt's signature).
        text: the template string, or the already parsed pieces.
        placeholder_mapping: template placeholder -> example field.

    Raises:
        ConfigError: a malformed template, or one without ``{"mask"}``.

    Example:
        >>> text = '{"placeholder":"text_a"} It was {"mask"} .'
        >>> t = ManualTemplate(tokenizer, text=text)  # doctest: +SKIP
        >>> t.wrap_one_example(InputExample(text_a="great fun"))[0][-2]["text"]  # doctest: +SKIP
        '<mask>'
    """

    registered_inputflag_names = ["loss_ids", "shortenable_ids"]
    #: The block keys this template's language knows.
    template_keys: tuple[str, ...] = _KEYS

    def __init__(
        self,
        tokenizer: Any = None,
        text: str | list[dict[str, Any]] | None = None,
        placeholder_mapping: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.placeholder_mapping = placeholder_mapping or {
            "<text_a>": "text_a",
            "<text_b>": "text_b",
            "text_a": "text_a",
            "text_b": "text_b",
        }
        self._text: list[dict[str, Any]] = []
        if text is not None:
            self.text = text  # type: ignore[assignment]

    @property
    def text(self) -> list[dict[str, Any]]:
        """The parsed pieces (set with a template string or pieces)."""
        return self._text

    @text.setter
    def text(self, text: str | list[dict[str, Any]]) -> None:
        """Parse and set the template; raises ConfigError without a mask."""
        if isinstance(text, str):
            pieces = parse_template(text, self.template_keys)
        else:
            pieces = [dict(p) for p in text]
        if not any("mask" in p for p in pieces):
            raise ConfigError(
                f'template {text!r} has no {{"mask"}}: a classification template needs one'
            )
        self._text = self.on_text_set(pieces)

    def on_text_set(self, pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The pieces to keep for a newly set template (a hook for soft templates)."""
        return pieces

    def process_batch(self, batch: InputFeatures) -> InputFeatures:
        """The model inputs of a batch (a hook: soft templates add embeddings or a prefix)."""
        return batch

    def post_processing_outputs(self, outputs: Any) -> Any:
        """The model outputs, seen as if no soft tokens were prepended (a hook)."""
        return outputs

    def from_file(self, path: str | Path, choice: int = 0) -> ManualTemplate:
        """Set the template from line ``choice`` of a ``manual_template.txt``; return self.

        Raises:
            ConfigError: the file has no line ``choice``, or the line is not a valid template.
        """
        lines = [line.rstrip("\n") for line in Path(path).read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line.strip()]
        if not 0 <= choice < len(lines):
            raise ConfigError(f"{path}: has {len(lines)} template line(s), no choice={choice}")
        self.text = lines[choice]  # type: ignore[assignment]
        return self

    def wrap_one_example(self, example: InputExample) -> list[Any]:
        """Fill the template with one example.

        Returns:
            ``[pieces, others]``: one dict per piece with ``text``, ``loss_ids``
            (1 at the mask) and ``shortenable_ids`` (and ``soft_token_ids`` for a
            soft template), and the example's other fields (``guid``, ``label``...).

        Raises:
            ConfigError: an unknown placeholder or a missing meta key.
        """
        pieces = []
        for piece in self._text:
            wrapped = {
                "text": self._fill(piece, example),
                "loss_ids": 1 if "mask" in piece else 0,
                "shortenable_ids": int(bool(piece.get("shortenable", "placeholder" in piece))),
            }
            if "soft_token_ids" in piece:  # set by the soft templates' on_text_set
                wrapped["soft_token_ids"] = int(piece["soft_token_ids"])
            pieces.append(wrapped)
        others = {
            k: v for k, v in example.to_dict().items() if k not in ("text_a", "text_b", "meta")
        }
        return [pieces, others]

    def _fill(self, piece: dict[str, Any], example: InputExample) -> str:
        prefix = piece.get("add_prefix_space", "")
        post = _post_processing(piece.get("post_processing"))
        if "placeholder" in piece:
            field = self.placeholder_mapping.get(piece["placeholder"])
            if field is None:
                raise ConfigError(
                    f"unknown placeholder {piece['placeholder']!r}; "
                    f"valid: {sorted(self.placeholder_mapping)!r}"
                )
            return prefix + post(getattr(example, field) or "")
        if "meta" in piece:
            meta = example.meta or {}
            if piece["meta"] not in meta:
                raise ConfigError(
                    f"example {example.guid!r} has no meta key {piece['meta']!r} the template "
                    f"asks for; its meta keys: {sorted(meta)!r}"
                )
            return prefix + post(str(meta[piece["meta"]]))
        if "mask" in piece:
            return MASK
        if "special" in piece:
            return str(piece["special"])
        if "text" in piece:
            return prefix + str(piece["text"])
        raise ConfigError(
            f"template piece {piece!r} has no text, placeholder, meta, mask or special"
        )
