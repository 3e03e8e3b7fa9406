"""Prompt templates: ``"{text} It was {mask}."`` -> token ids and mask positions.

A :class:`Template` is a string with placeholders:

* ``{text}`` the input text, ``{text_b}`` an optional second text (empty when
  not given), ``{mask}`` one mask slot (expanded to ``num_masks`` consecutive
  mask tokens), ``{sep}`` / ``{cls}`` the tokenizer's separator / classifier
  token. ``{{`` and ``}}`` are literal braces.
* A text placeholder may carry modifiers after a colon, separated by commas:
  ``keep`` (never truncated), ``strip=<chars>`` / ``lstrip=<chars>`` /
  ``rstrip=<chars>`` (strip those characters from the text first; the
  characters may not include ``,`` or ``}``). Example: ``"{text:keep,rstrip=.} is a {mask} ."``.

Encoding works piece by piece so that truncation shortens only the texts
(longest first when there are several), never the template words or masks,
while giving the ids the model would see for the whole sentence:

* the special-token wrapping (``[CLS] ... [SEP]``, ``<s> ... </s>``) is found
  by comparing ``tokenizer("a")`` with ``tokenizer("a", add_special_tokens=False)``;
* whitespace in front of a text belongs to the text (``" " + text`` is
  tokenized, so BPE / SentencePiece models get the ``Ġword`` / ``▁word`` forms);
* every piece except the one at the very start is tokenized behind a mask
  token, and a piece followed by a mask / special token in front of one
  (``"<mask>" + piece + "<mask>"``, anchors removed). This reproduces how the
  tokenizer treats a piece after an added token (leading-space rules,
  ``lstrip`` masks) using only ``tokenizer(...)`` and ``mask_token``.

Known limit: where a text and a template word touch without whitespace
(``"{text}この文は{mask}。"``), a tokenizer that could merge characters across
that boundary (MeCab, SentencePiece with ``prepend_scheme="always"``) may split
the full sentence differently from the pieces; the prompt is still valid.

Example:
    >>> t = default_template("en", "sentiment")
    >>> t.text
    '{text} It was {mask}.'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mrekv.errors import ConfigError, unknown_choice
from mrekv.prompt.template_parts import MODIFIERS as MODIFIERS
from mrekv.prompt.template_parts import PLACEHOLDERS as PLACEHOLDERS
from mrekv.prompt.template_parts import Part, apply_strip, parse_template, text_caps

TASK_KINDS = ("topic", "sentiment", "generic")

_DEFAULTS: dict[str, dict[str, str]] = {
    # English: the KPT / PET templates that work well for BERT / RoBERTa.
    "en": {
        "topic": "[ Topic : {mask} ] {text}",
        "sentiment": "{text} It was {mask}.",
        "generic": "{text} This text is about {mask}.",
    },
    # Japanese: "<text>この文は<mask>。" ("this sentence is <mask>"),
    # "<mask>のニュース：" ("<mask> news:").
    "ja": {
        "topic": "{mask}のニュース：{text}",
        "sentiment": "{text}この文は{mask}。",
        "generic": "{text}これは{mask}についての文です。",
    },
    # Chinese: "这句话很<mask>。" ("this sentence is very <mask>"), "<mask>新闻：" ("<mask> news:").
    "zh": {
        "topic": "{mask}新闻：{text}",
        "sentiment": "{text}这句话很{mask}。",
        "generic": "{text}这句话是关于{mask}的。",
    },
}

#: Defaults for causal LMs: the label word is the prompt's next token, so ``{mask}`` ends
#: the template, with no punctuation after it (:mod:`mrekv.prompt.causal_template`).
CAUSAL_DEFAULTS: dict[str, dict[str, str]] = {
    "en": {
        "topic": "{text}\nThis news article is about {mask}",
        "sentiment": "{text} It was {mask}",
        "generic": "{text} This text is about {mask}",
    },
    "ja": {
        "topic": "{text}\nこのニュースのジャンルは{mask}",
        "sentiment": "{text}\nこの文の感想は{mask}",
        "generic": "{text}\nこれは{mask}",
    },
    "zh": {
        "topic": "{text}\n这条新闻的类别是{mask}",
        "sentiment": "{text}\n这句话的评价是{mask}",
        "generic": "{text}\n这句话是关于{mask}",
    },
}


@dataclass(frozen=True)
class EncodedPrompt:
    """One encoded prompt.

    Args:
        input_ids: token ids with the model's special tokens, not padded,
            ``len(input_ids) <= max_length``.
        mask_positions: indices into ``input_ids`` of the mask tokens, in order:
            (number of ``{mask}`` slots) * ``num_masks`` entries.
    """

    input_ids: list[int]
    mask_positions: list[int]


@dataclass(frozen=True)
class _Wrapping:
    prefix: list[int]
    suffix: list[int]
    mask_id: int
    mask_token: str
    special_ids: dict[str, int]


def _wrapping(tokenizer: Any) -> _Wrapping:
    mask_id = tokenizer.mask_token_id
    if mask_id is None or tokenizer.mask_token is None:
        raise ConfigError(
            f"tokenizer {type(tokenizer).__name__} has no mask token; a masked LM is needed"
        )
    full = list(tokenizer("a")["input_ids"])
    bare = list(tokenizer("a", add_special_tokens=False)["input_ids"])
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            prefix, suffix = full[:start], full[start + len(bare) :]
            break
    else:  # pragma: no cover - no known tokenizer does this
        raise ConfigError(f"cannot find the special-token wrapping of {type(tokenizer).__name__}")
    specials = {}
    for name in ("sep", "cls"):
        token_id = getattr(tokenizer, f"{name}_token_id", None)
        if token_id is not None:
            specials[name] = int(token_id)
    return _Wrapping(prefix, suffix, int(mask_id), str(tokenizer.mask_token), specials)


def _tokenize(
    tokenizer: Any, wrap: _Wrapping, strings: Sequence[str], left: bool, right: bool
) -> list[list[int]]:
    """Token ids of ``strings`` as they appear after (``left``) / before (``right``) a mask."""
    if not strings:
        return []
    anchored = [
        (wrap.mask_token if left else "") + s + (wrap.mask_token if right else "") for s in strings
    ]
    out = []
    encoded = tokenizer(anchored, add_special_tokens=False)["input_ids"]
    for s, ids in zip(strings, encoded, strict=True):
        ids = list(ids)
        if left:
            if not ids or ids[0] != wrap.mask_id:
                raise ConfigError(f"tokenizer did not keep the mask token in front of {s!r}")
            ids = ids[1:]
        if right:
            if not ids or ids[-1] != wrap.mask_id:
                raise ConfigError(f"tokenizer did not keep the mask token after {s!r}")
            ids = ids[:-1]
        out.append(ids)
    return out


@dataclass(frozen=True)
class Template:
    """A prompt template such as ``"{text} It was {mask}."`` (syntax in the module docstring).

    Args:
        text: the template string; must hold ``{text}`` and at least one ``{mask}``.

    Raises:
        ConfigError: an unknown placeholder or modifier (the message lists the
            valid ones), unbalanced braces, or no ``{mask}`` / ``{text}``.

    Example:
        >>> t = Template("{text} It was {mask}.")
        >>> enc = t.encode(tokenizer, "Great food!")          # doctest: +SKIP
        >>> tokenizer.decode(enc.input_ids)                   # doctest: +SKIP
        '[CLS] great food! it was [MASK]. [SEP]'
    """

    text: str
    _parts: tuple[Part, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ConfigError(f"template must be a string, got {type(self.text).__name__}")
        object.__setattr__(self, "_parts", parse_template(self.text))

    @property
    def num_mask_slots(self) -> int:
        """How many ``{mask}`` slots the template has."""
        return sum(p.kind == "mask" for p in self._parts)

    @property
    def has_text_b(self) -> bool:
        """Whether the template holds a ``{text_b}`` placeholder."""
        return any(p.kind == "text_b" for p in self._parts)

    def encode(
        self,
        tokenizer: Any,
        text: str,
        text_b: str | None = None,
        *,
        max_length: int = 128,
        num_masks: int = 1,
    ) -> EncodedPrompt:
        """Encode one text (see :meth:`encode_batch`)."""
        texts_b = None if text_b is None else [text_b]
        return self.encode_batch(
            tokenizer, [text], texts_b, max_length=max_length, num_masks=num_masks
        )[0]

    def encode_batch(
        self,
        tokenizer: Any,
        texts: Sequence[str],
        texts_b: Sequence[str] | None = None,
        *,
        max_length: int = 128,
        num_masks: int = 1,
    ) -> list[EncodedPrompt]:
        """Fill the template with each text and tokenize it.

        Args:
            tokenizer: any Hugging Face masked-LM tokenizer (fast or slow).
            texts: the ``{text}`` of each prompt.
            texts_b: the ``{text_b}`` of each prompt (``None``: empty).
            max_length: the most ids a prompt may have, special tokens included.
            num_masks: mask tokens per ``{mask}`` slot.

        Returns:
            One :class:`EncodedPrompt` per text, unpadded.

        Raises:
            ConfigError: the template words, masks and special tokens alone do
                not fit in ``max_length``; ``texts_b`` given to a template
                without ``{text_b}``; a bad ``num_masks``.
            ValueError: ``texts_b`` and ``texts`` differ in length, or texts
                marked ``keep`` do not fit (the message names the text index).
        """
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings; use encode() for one text")
        if num_masks < 1:
            raise ConfigError(f"num_masks must be >= 1, got {num_masks}")
        if texts_b is not None:
            if not self.has_text_b:
                raise ConfigError(f"texts_b given but template {self.text!r} has no {{text_b}}")
            if len(texts_b) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(texts_b)} texts_b")
        wrap = _wrapping(tokenizer)
        units = self._units()
        fixed_ids: list[list[int] | None] = []
        text_ids: dict[int, list[list[int]]] = {}
        fixed_len = len(wrap.prefix) + len(wrap.suffix)
        for k, (part, lead, left, right) in enumerate(units):
            if part.kind == "literal":
                ids = _tokenize(tokenizer, wrap, [part.value], left, right)[0]
                fixed_ids.append(ids)
                fixed_len += len(ids)
            elif part.kind == "mask":
                fixed_ids.append([wrap.mask_id] * num_masks)
                fixed_len += num_masks
            elif part.kind in ("sep", "cls"):
                if part.kind not in wrap.special_ids:
                    raise ConfigError(
                        f"template uses {{{part.kind}}} but the tokenizer has no {part.kind} token"
                    )
                fixed_ids.append([wrap.special_ids[part.kind]])
                fixed_len += 1
            else:
                source = texts if part.kind == "text" else texts_b
                raw = [""] * len(texts) if source is None else [str(s) for s in source]
                values = [apply_strip(s, part.strip) for s in raw]
                nonempty = [j for j, v in enumerate(values) if v]
                tokenized = _tokenize(
                    tokenizer, wrap, [lead + values[j] for j in nonempty], left, right
                )
                ids_per_text: list[list[int]] = [[] for _ in values]
                for j, ids in zip(nonempty, tokenized, strict=True):
                    ids_per_text[j] = ids
                text_ids[k] = ids_per_text
                fixed_ids.append(None)
        budget = max_length - fixed_len
        if budget < 0:
            raise ConfigError(
                f"template {self.text!r} alone needs {fixed_len} tokens (with special tokens and "
                f"{num_masks} mask(s) per slot) but max_length is {max_length}"
            )
        slots = [k for k in range(len(units)) if fixed_ids[k] is None]
        shortenable = [not units[k][0].keep for k in slots]
        out = []
        for j in range(len(texts)):
            lengths = [len(text_ids[k][j]) for k in slots]
            try:
                caps = dict(zip(slots, text_caps(lengths, shortenable, budget), strict=True))
            except ValueError as err:
                raise ValueError(f"text {j}: {err}") from None
            ids = list(wrap.prefix)
            masks: list[int] = []
            for k, (part, _, _, _) in enumerate(units):
                piece = fixed_ids[k]
                if piece is None:
                    piece = text_ids[k][j][: caps[k]]
                elif part.kind == "mask":
                    masks.extend(range(len(ids), len(ids) + num_masks))
                ids.extend(piece)
            ids.extend(wrap.suffix)
            out.append(EncodedPrompt(ids, masks))
        return out

    def _units(self) -> list[tuple[Part, str, bool, bool]]:
        """(part, leading whitespace of a text, anchor left, anchor right) for each piece."""
        parts = list(self._parts)
        leads = [""] * len(parts)
        for k in range(len(parts) - 1):
            cur, nxt = parts[k], parts[k + 1]
            if cur.kind == "literal" and nxt.kind in ("text", "text_b"):
                stripped = cur.value.rstrip()
                leads[k + 1] = cur.value[len(stripped) :]
                parts[k] = Part("literal", stripped)
        boundary = ("mask", "sep", "cls")
        units: list[tuple[Part, str, bool, bool]] = []
        for k, part in enumerate(parts):
            if part.kind == "literal" and not part.value:
                continue
            left = bool(units) or k > 0 and parts[k - 1].kind in boundary
            right = k + 1 < len(parts) and parts[k + 1].kind in boundary
            units.append((part, leads[k], left, right))
        return units

    def to_config(self) -> dict[str, Any]:
        """JSON-ready data for :meth:`from_config`."""
        return {"text": self.text}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Template:
        """Inverse of :meth:`to_config`; an unknown key is a :class:`ConfigError`."""
        unknown = set(config) - {"text"}
        if unknown:
            raise ConfigError(f"unknown template keys {sorted(unknown)!r}; valid keys: ['text']")
        if "text" not in config:
            raise ConfigError("template config has no 'text'")
        return cls(config["text"])

    @classmethod
    def from_openprompt(cls, line: str) -> Template:
        """Read one line of OpenPrompt's ``manual_template.txt`` syntax.

        Supported blocks: ``{"placeholder": "text_a" | "text_b"}`` (with
        ``"shortenable": False`` -> ``keep``, and ``"post_processing"`` of the form
        ``lambda x: x.strip('<chars>')`` / ``lstrip`` / ``rstrip``), ``{"mask"}``
        and ``{"special": "<sep>" | "<cls>"}``.

        Raises:
            ConfigError: a block that is not valid, or a key / value outside
                those listed (the message names it and the valid ones).

        Example:
            >>> Template.from_openprompt(' {"placeholder": "text_a"} It was {"mask"} .').text
            '{text} It was {mask} .'
        """
        from mrekv.prompt.openprompt_template import openprompt_to_template

        return cls(openprompt_to_template(line))


def default_template(lang: str, kind: str = "generic", *, backbone: str = "masked") -> Template:
    """A natural default template for a language, task kind and backbone.

    Masked LMs get a cloze sentence (``"{text} It was {mask}."``); causal LMs one
    that ends at ``{mask}`` with nothing after it (``"{text} It was {mask}"``),
    because the label word is read as the prompt's next token.

    Args:
        lang: ``"en"``, ``"ja"`` or ``"zh"``.
        kind: ``"topic"``, ``"sentiment"`` or ``"generic"``.
        backbone: ``"masked"`` or ``"causal"``.

    Raises:
        ConfigError: an unknown language, kind or backbone (the message lists the valid ones).

    Example:
        >>> default_template("zh", "sentiment").text
        '{text}这句话很{mask}。'
        >>> default_template("en", "sentiment", backbone="causal").text
        '{text} It was {mask}'
    """
    tables = {"masked": _DEFAULTS, "causal": CAUSAL_DEFAULTS}
    if backbone not in tables:
        raise ConfigError(unknown_choice("backbone", backbone, list(tables)))
    table = tables[backbone]
    if lang not in table:
        raise ConfigError(unknown_choice("language", lang, sorted(table)))
    if kind not in TASK_KINDS:
        raise ConfigError(unknown_choice("task kind", kind, TASK_KINDS))
    return Template(table[lang][kind])
