"""A template's parts: ``"{text:keep,rstrip=.} It was {mask}."`` -> literal and placeholders.

A template is literal text and placeholders: ``{text}``, ``{text_b}``,
``{mask}``, ``{sep}``, ``{cls}``; ``{{`` and ``}}`` are literal braces. A text
placeholder may carry modifiers after a colon, separated by commas: ``keep``,
``strip=<chars>``, ``lstrip=<chars>``, ``rstrip=<chars>`` (see
:mod:`mrekv.prompt.template`). :func:`parse_template` checks a template and
splits it into :class:`Part` s. The masked and causal encoders
(:mod:`mrekv.prompt.template`, :mod:`mrekv.prompt.causal_template`) work on
those parts and share the rest of this module: :func:`apply_strip` (a text
part's modifiers) and :func:`text_caps` (longest-first truncation).
"""

from __future__ import annotations

from dataclasses import dataclass

from mrekv.errors import ConfigError, unknown_choice

#: Placeholders a template may use.
PLACEHOLDERS = ("text", "text_b", "mask", "sep", "cls")
#: Modifiers a ``{text}`` / ``{text_b}`` placeholder may carry.
MODIFIERS = ("keep", "strip", "lstrip", "rstrip")


@dataclass(frozen=True)
class Part:
    """One piece of a template: literal text or a placeholder with its modifiers."""

    kind: str  # "literal" or one of PLACEHOLDERS
    value: str = ""
    keep: bool = False
    strip: tuple[tuple[str, str], ...] = ()  # (method, chars) applied in order


def _parse_modifiers(
    name: str, spec: str, template: str
) -> tuple[bool, tuple[tuple[str, str], ...]]:
    keep = False
    strips: list[tuple[str, str]] = []
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        key = key.strip()
        if key not in MODIFIERS:
            raise ConfigError(
                f"template {template!r}: {unknown_choice('modifier', key, MODIFIERS)} "
                f"(in {{{name}:{spec}}})"
            )
        if key == "keep":
            if eq:
                raise ConfigError(f"template {template!r}: modifier 'keep' takes no value")
            keep = True
        else:
            if not eq or not value:
                raise ConfigError(
                    f"template {template!r}: modifier {key!r} needs characters, e.g. {key}=."
                )
            strips.append((key, value))
    return keep, tuple(strips)


def parse_template(template: str) -> tuple[Part, ...]:
    """Split ``template`` into parts.

    Raises:
        ConfigError: an unknown placeholder or modifier (the message lists the
            valid ones), unbalanced braces, or no ``{mask}`` / ``{text}``.
    """
    parts: list[Part] = []
    literal: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "{" and template.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and template.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "}":
            raise ConfigError(
                f"template {template!r}: single '}}' at character {i}; write '}}}}' for a brace"
            )
        elif ch == "{":
            end = template.find("}", i)
            if end < 0:
                raise ConfigError(f"template {template!r}: '{{' at character {i} is never closed")
            body = template[i + 1 : end]
            name, colon, spec = body.partition(":")
            if name not in PLACEHOLDERS:
                raise ConfigError(
                    f"template {template!r}: {unknown_choice('placeholder', name, PLACEHOLDERS)}"
                )
            keep: bool = False
            strips: tuple[tuple[str, str], ...] = ()
            if colon:
                if name not in ("text", "text_b"):
                    raise ConfigError(f"template {template!r}: {{{name}}} takes no modifiers")
                keep, strips = _parse_modifiers(name, spec, template)
            if literal:
                parts.append(Part("literal", "".join(literal)))
                literal = []
            parts.append(Part(name, keep=keep, strip=strips))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append(Part("literal", "".join(literal)))
    kinds = {p.kind for p in parts}
    if "mask" not in kinds:
        raise ConfigError(f"template {template!r} has no {{mask}}")
    if "text" not in kinds:
        raise ConfigError(f"template {template!r} has no {{text}}")
    return tuple(parts)


def apply_strip(text: str, strips: tuple[tuple[str, str], ...]) -> str:
    """``text`` with a text placeholder's strip modifiers applied in order."""
    for method, chars in strips:
        text = getattr(text, method)(chars)
    return text


def text_caps(lengths: list[int], shortenable: list[bool], budget: int) -> list[int]:
    """Longest-first truncation: the kept length of each text part.

    Args:
        lengths: token count of each text part.
        shortenable: False for a ``keep`` part (never cut).
        budget: how many tokens the text parts may take together.

    Raises:
        ValueError: the ``keep`` parts alone exceed ``budget``.
    """
    fixed = sum(n for n, s in zip(lengths, shortenable, strict=True) if not s)
    room = budget - fixed
    if room < 0:
        raise ValueError(f"texts marked 'keep' need {fixed} tokens but only {budget} fit")
    flexible = [n for n, s in zip(lengths, shortenable, strict=True) if s]
    if sum(flexible) <= room:
        return list(lengths)
    lo, hi = 0, max(flexible)  # the largest cap c with sum(min(n, c)) <= room
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) for n in flexible) <= room:
            lo = mid
        else:
            hi = mid - 1
    extra = room - sum(min(n, lo) for n in flexible)
    caps = []
    for n, s in zip(lengths, shortenable, strict=True):
        if not s:
            caps.append(n)
            continue
        cap = min(n, lo)
        if n > lo and extra > 0:
            cap, extra = cap + 1, extra - 1
        caps.append(cap)
    return caps
