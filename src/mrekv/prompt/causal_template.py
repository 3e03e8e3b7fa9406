"""Encoding a template for a causal LM: the label word is the text's next token.

A causal LM has no mask token to fill; it reads the prompt left to right and
predicts what comes next. So for a causal backbone the template's single
``{mask}`` must end it (``"{text} It was {mask}"``): the prompt is everything
before ``{mask}``, with trailing whitespace removed (the label word brings its
own leading space, ``" great"``), and the position read is the prompt's last
token. A template with text after ``{mask}``, more than one ``{mask}``, or
``{sep}`` / ``{cls}`` is a :class:`~mrekv.errors.ConfigError` naming it.

Special tokens: what the tokenizer puts in front of a text (``<bos>`` for
Gemma / Llama) is kept; what it puts behind (an ``<eos>``) is dropped, since
the model must continue the text. The whole prompt is tokenized in one piece
(so it gets exactly the ids the model saw in pre-training); when it is longer
than ``max_length``, the texts are cut (longest first, ``keep`` texts never)
by their own token counts, decoded, and the prompt is tokenized again.

Example:
    >>> enc = encode_causal(Template("{text} It was {mask}"), tok, ["Great!"])  # doctest: +SKIP
    >>> tok.decode(enc[0].input_ids), enc[0].mask_positions                         # doctest: +SKIP
    ('<bos>Great food! It was', [5])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mrekv.errors import ConfigError
from mrekv.prompt.template import CAUSAL_DEFAULTS as CAUSAL_DEFAULTS
from mrekv.prompt.template import EncodedPrompt, Template, default_template
from mrekv.prompt.template_parts import apply_strip, text_caps


def check_causal(template: Template) -> None:
    """Raise :class:`ConfigError` unless ``template`` can prompt a causal LM."""
    parts = template._parts
    kinds = [p.kind for p in parts]
    if kinds.count("mask") != 1 or kinds[-1] != "mask":
        raise ConfigError(
            f"template {template.text!r} cannot prompt a causal LM: it needs exactly one "
            "{mask}, at the very end (the label word is the next token), e.g. "
            "'{text} It was {mask}'"
        )
    bad = sorted({k for k in kinds if k in ("sep", "cls")})
    if bad:
        raise ConfigError(f"template {template.text!r}: {{{bad[0]}}} is not supported for "
                          "causal LMs")


def prefix_ids(tokenizer: Any) -> list[int]:
    """The special ids the tokenizer puts in front of a text (e.g. ``[<bos>]``)."""
    full = list(tokenizer("a")["input_ids"])
    bare = list(tokenizer("a", add_special_tokens=False)["input_ids"])
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return full[:start]
    return []


def encode_causal(
    template: Template,
    tokenizer: Any,
    texts: Sequence[str],
    texts_b: Sequence[str] | None = None,
    *,
    max_length: int = 128,
) -> list[EncodedPrompt]:
    """Encode prompts for a causal LM; ``mask_positions`` is ``[last index]``.

    Args:
        template: a template whose only ``{mask}`` ends it.
        tokenizer: the causal LM's tokenizer.
        texts: the ``{text}`` of each prompt.
        texts_b: the ``{text_b}`` of each prompt (``None``: empty).
        max_length: the most ids a prompt may have, special tokens included.

    Returns:
        One unpadded :class:`EncodedPrompt` per text.

    Raises:
        ConfigError: the template is not a causal template, or its words alone
            do not fit in ``max_length``.
        ValueError: ``texts_b`` has another length, or ``keep`` texts do not fit.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings")
    check_causal(template)
    if texts_b is not None and len(texts_b) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(texts_b)} texts_b")
    parts = template._parts[:-1]
    head = prefix_ids(tokenizer)
    values: list[list[str]] = []
    for j in range(len(texts)):
        row = []
        for part in parts:
            if part.kind == "text":
                row.append(apply_strip(str(texts[j]), part.strip))
            elif part.kind == "text_b":
                raw = "" if texts_b is None else str(texts_b[j])
                row.append(apply_strip(raw, part.strip))
            else:
                row.append(part.value)
        values.append(row)
    slots = [k for k, p in enumerate(parts) if p.kind in ("text", "text_b")]
    fixed = "".join(p.value for p in parts if p.kind == "literal").rstrip()
    fixed_len = len(head) + len(tokenizer(fixed, add_special_tokens=False)["input_ids"])
    if fixed_len > max_length:
        raise ConfigError(f"template {template.text!r} alone needs about {fixed_len} tokens "
                          f"but max_length is {max_length}")

    def render(row: list[str]) -> str:
        return "".join(row).rstrip()

    encoded = tokenizer([render(r) for r in values], add_special_tokens=False)["input_ids"]
    out = []
    for j, ids in enumerate(encoded):
        ids = list(ids)
        budget = max_length - len(head)
        tries = 0
        while len(ids) > budget:
            if tries == 3:
                ids = ids[len(ids) - budget :]  # last resort: keep the end, next to the mask
                break
            tries += 1
            row = list(values[j])
            pieces = [tokenizer(row[k], add_special_tokens=False)["input_ids"] for k in slots]
            lengths = [len(p) for p in pieces]
            room = sum(lengths) - (len(ids) - budget) - tries  # a margin for re-tokenization
            try:
                caps = text_caps(lengths, [not parts[k].keep for k in slots], max(room, 0))
            except ValueError as err:
                raise ValueError(f"text {j}: {err}") from None
            for k, piece, cap in zip(slots, pieces, caps, strict=True):
                if cap < len(piece):
                    row[k] = tokenizer.decode(piece[:cap])
            values[j] = row
            ids = list(tokenizer(render(row), add_special_tokens=False)["input_ids"])
        full = head + ids
        if not full:
            raise ValueError(f"text {j}: the prompt is empty")
        out.append(EncodedPrompt(full, [len(full) - 1]))
    return out


def default_causal_template(lang: str, kind: str = "generic") -> Template:
    """The default causal-LM template of a language and task kind (``{mask}`` last).

    The same as ``default_template(lang, kind, backbone="causal")``.

    Raises:
        ConfigError: an unknown language or kind (the message lists the valid ones).
    """
    return default_template(lang, kind, backbone="causal")
