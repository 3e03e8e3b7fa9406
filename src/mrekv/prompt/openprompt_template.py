"""Reading OpenPrompt's template syntax (``manual_template.txt``) into mrekv's.

OpenPrompt writes ``{"placeholder": "text_a"} It was {"mask"} .``; each
``{...}`` block is a Python literal. :func:`openprompt_to_template` turns one
such line into mrekv's template text (``"{text} It was {mask} ."``); it is
what :meth:`mrekv.prompt.template.Template.from_openprompt` reads with.
Supported blocks: ``{"placeholder": "text_a" | "text_b"}`` (with
``"shortenable": False`` -> ``keep``, and ``"post_processing"`` of the form
``lambda x: x.strip('<chars>')`` / ``lstrip`` / ``rstrip``), ``{"mask"}`` and
``{"special": "<sep>" | "<cls>"}``.
"""

from __future__ import annotations

import ast
import re

from mrekv.errors import ConfigError, unknown_choice


def openprompt_to_template(line: str) -> str:
    """mrekv template text for one line of OpenPrompt's template syntax.

    Raises:
        ConfigError: a block that is not valid, or a key / value outside
            those listed in the module docstring (the message names it and the valid ones).

    Example:
        >>> openprompt_to_template(' {"placeholder": "text_a"} It was {"mask"} .')
        '{text} It was {mask} .'
    """
    out: list[str] = []
    i = 0
    src = line.strip()
    while i < len(src):
        if src[i] != "{":
            out.append(src[i].replace("{", "{{").replace("}", "}}"))
            i += 1
            continue
        end = src.find("}", i)
        if end < 0:
            raise ConfigError(
                f"OpenPrompt template {line!r}: '{{' at character {i} is never closed"
            )
        out.append(_openprompt_block(src[i : end + 1], line))
        i = end + 1
    return "".join(out)


_LAMBDA = re.compile(r"^lambda\s+(\w+)\s*:\s*\1\.(strip|lstrip|rstrip)\((['\"])([^,}]+?)\3\)$")
_OP_KEYS = ("placeholder", "shortenable", "post_processing", "mask", "special")
_OP_SPECIALS = {"<sep>": "sep", "<cls>": "cls"}


def _openprompt_block(block: str, line: str) -> str:
    try:
        value = ast.literal_eval(block)
    except (ValueError, SyntaxError) as err:
        raise ConfigError(
            f"OpenPrompt template {line!r}: cannot read block {block!r} ({err})"
        ) from None
    if value == {"mask"}:
        return "{mask}"
    if not isinstance(value, dict):
        raise ConfigError(
            f'OpenPrompt template {line!r}: block {block!r} is neither a dict nor {{"mask"}}'
        )
    unknown = [k for k in value if k not in _OP_KEYS]
    if unknown:
        raise ConfigError(
            f"OpenPrompt template {line!r}: {unknown_choice('key', unknown[0], _OP_KEYS)}"
        )
    if "special" in value:
        name = _OP_SPECIALS.get(value["special"])
        if name is None:
            raise ConfigError(
                f"OpenPrompt template {line!r}: "
                f"{unknown_choice('special token', value['special'], _OP_SPECIALS)}"
            )
        return "{" + name + "}"
    slot = {"text_a": "text", "text_b": "text_b"}.get(str(value.get("placeholder")))
    if slot is None:
        raise ConfigError(
            f"OpenPrompt template {line!r}: "
            f"{unknown_choice('placeholder', value.get('placeholder'), ['text_a', 'text_b'])}"
        )
    mods = []
    if value.get("shortenable", True) is False:
        mods.append("keep")
    if "post_processing" in value:
        match = _LAMBDA.match(str(value["post_processing"]).strip())
        if match is None:
            raise ConfigError(
                f"OpenPrompt template {line!r}: unsupported post_processing "
                f"{value['post_processing']!r}; "
                "only lambda x: x.strip/lstrip/rstrip('<chars>') is read"
            )
        mods.append(f"{match.group(2)}={match.group(4)}")
    return "{" + slot + (":" + ",".join(mods) if mods else "") + "}"
