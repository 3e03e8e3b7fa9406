"""Keep only label words that a masked LM's tokenizer can predict at the mask.

A label word is usable at one ``[MASK]`` when it is at most ``max_subtokens``
sub-tokens long and none of them is the unknown token. BPE / byte-level models
(RoBERTa, GPT-2 vocabularies) spell a word inside a sentence with a leading space
(``Ġgood``), so for them the word is tokenized as ``" " + word``; WordPiece (BERT)
and SentencePiece (XLM-R, which adds ``▁`` itself) tokenizers are left as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mrekv.verbalizer.label_words import LabelWord, LabelWords

DropReason = Literal["unknown", "too_long", "empty"]

_SPACE_PROBES = ("the", "good", "a")


@dataclass(frozen=True)
class DroppedWord:
    """A label word the vocabulary filter removed.

    Args:
        word: the label word.
        reason: "unknown" (a sub-token is the unknown token), "too_long" (more than
            ``max_subtokens`` sub-tokens) or "empty" (no sub-tokens at all).
        num_subtokens: how many sub-tokens the tokenizer made of it.
    """

    word: str
    reason: DropReason
    num_subtokens: int


@dataclass(frozen=True)
class VocabReport:
    """What :func:`filter_by_vocab` kept and dropped, per class.

    ``print(report)`` shows a table: kept and dropped counts per class and the first
    dropped words with their sub-token counts (``?`` marks unknown-token words).
    """

    classes: tuple[str, ...]
    kept: Mapping[str, tuple[str, ...]]
    dropped: Mapping[str, tuple[DroppedWord, ...]]
    max_subtokens: int
    add_prefix_space: bool
    tokenizer: str = ""

    def kept_counts(self) -> dict[str, int]:
        """Words kept per class."""
        return {c: len(self.kept[c]) for c in self.classes}

    def dropped_counts(self) -> dict[str, int]:
        """Words dropped per class."""
        return {c: len(self.dropped[c]) for c in self.classes}

    @property
    def empty_classes(self) -> tuple[str, ...]:
        """Classes left with no label word (a verbalizer cannot score them)."""
        return tuple(c for c in self.classes if not self.kept[c])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "tokenizer": self.tokenizer,
            "max_subtokens": self.max_subtokens,
            "add_prefix_space": self.add_prefix_space,
            "kept": self.kept_counts(),
            "dropped": {
                c: [{"word": d.word, "reason": d.reason, "num_subtokens": d.num_subtokens}
                    for d in self.dropped[c]]
                for c in self.classes
            },
        }

    def to_table(self, max_examples: int = 5) -> str:
        """A plain-text table, one row per class, and a total row."""
        width = max([len("class"), len("total"), *(len(c) for c in self.classes)])
        rows = [f"{'class':<{width}}  {'kept':>6}  {'dropped':>7}  dropped words"]
        for c in self.classes:
            shown = ", ".join(
                f"{d.word} ({'?' if d.reason == 'unknown' else d.num_subtokens})"
                for d in self.dropped[c][:max_examples]
            )
            if len(self.dropped[c]) > max_examples:
                shown += ", ..."
            rows.append(
                f"{c:<{width}}  {len(self.kept[c]):>6}  {len(self.dropped[c]):>7}  {shown}".rstrip()
            )
        kept = sum(self.kept_counts().values())
        dropped = sum(self.dropped_counts().values())
        rows.append(f"{'total':<{width}}  {kept:>6}  {dropped:>7}")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.to_table()


def _is_unspaced_script(ch: str) -> bool:
    """CJK ideographs, kana, hangul and full-width forms: words written without spaces."""
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x20000 <= code <= 0x3FFFF
    )


def _ids(hf_tokenizer: Any, texts: list[str]) -> list[list[int]]:
    if not texts:
        return []
    return [list(ids) for ids in hf_tokenizer(texts, add_special_tokens=False)["input_ids"]]


def space_sensitive(hf_tokenizer: Any) -> bool:
    """Whether the tokenizer spells a word differently after a space (BPE with ``Ġ``)."""
    plain = _ids(hf_tokenizer, list(_SPACE_PROBES))
    spaced = _ids(hf_tokenizer, [" " + w for w in _SPACE_PROBES])
    return plain != spaced


def filter_by_vocab(
    label_words: LabelWords,
    hf_tokenizer: Any,
    *,
    max_subtokens: int = 1,
    lowercase: bool | None = None,
    add_prefix_space: bool | None = None,
) -> tuple[LabelWords, VocabReport]:
    """Drop label words that are too long in sub-tokens or hold the unknown token.

    Args:
        label_words: the words to filter.
        hf_tokenizer: a Hugging Face tokenizer (``tokenizer(texts,
            add_special_tokens=False)["input_ids"]`` and ``unk_token_id`` are used).
        max_subtokens: the most sub-tokens a kept word may have (>= 1).
        lowercase: lower-case the words first (the kept words are the lower-cased
            ones); default: leave them as they are (uncased tokenizers lower-case).
        add_prefix_space: tokenize ``" " + word``; default: when the tokenizer is
            space-sensitive (:func:`space_sensitive`) and the word does not start with a
            CJK / kana / hangul character (those are written without spaces).

    Returns:
        The kept words (same order, scores and counts; provenance gains a
        ``"vocab_filter"`` entry) and a :class:`VocabReport`. A class can end up with no
        words: check ``report.empty_classes``.

    Raises:
        ValueError: ``max_subtokens`` < 1.

    Example:
        >>> tok = AutoTokenizer.from_pretrained("bert-base-uncased")  # doctest: +SKIP
        >>> kept, report = filter_by_vocab(lw, tok)  # doctest: +SKIP
        >>> print(report)  # doctest: +SKIP
    """
    if max_subtokens < 1:
        raise ValueError(f"max_subtokens must be >= 1, got {max_subtokens}")
    sensitive = space_sensitive(hf_tokenizer) if add_prefix_space is None else add_prefix_space
    unk = getattr(hf_tokenizer, "unk_token_id", None)

    def prepare(word: str) -> str:
        word = word.lower() if lowercase else word
        if add_prefix_space or (
            add_prefix_space is None and sensitive and not _is_unspaced_script(word[:1] or "a")
        ):
            return " " + word
        return word

    entries = [(c, lw) for c in label_words.classes for lw in label_words.words[c]]
    texts = [prepare(lw.word) for _, lw in entries]
    ids_of = _ids(hf_tokenizer, texts)

    kept: dict[str, list[LabelWord]] = {c: [] for c in label_words.classes}
    dropped: dict[str, list[DroppedWord]] = {c: [] for c in label_words.classes}
    for (c, lw), ids in zip(entries, ids_of, strict=True):
        word = lw.word.lower() if lowercase else lw.word
        if not ids:
            dropped[c].append(DroppedWord(word, "empty", 0))
        elif unk is not None and unk in ids:
            dropped[c].append(DroppedWord(word, "unknown", len(ids)))
        elif len(ids) > max_subtokens:
            dropped[c].append(DroppedWord(word, "too_long", len(ids)))
        else:
            kept[c].append(LabelWord(word, lw.score, lw.count))

    name = str(getattr(hf_tokenizer, "name_or_path", "") or type(hf_tokenizer).__name__)
    uses_space = bool(add_prefix_space) if add_prefix_space is not None else sensitive
    report = VocabReport(
        classes=label_words.classes,
        kept={c: tuple(w.word for w in kept[c]) for c in label_words.classes},
        dropped={c: tuple(dropped[c]) for c in label_words.classes},
        max_subtokens=max_subtokens,
        add_prefix_space=uses_space,
        tokenizer=name,
    )
    provenance = dict(label_words.provenance)
    provenance["vocab_filter"] = {
        "tokenizer": name,
        "max_subtokens": max_subtokens,
        "add_prefix_space": uses_space,
        "lowercase": bool(lowercase),
        "dropped": sum(report.dropped_counts().values()),
    }
    filtered = LabelWords(
        label_words.classes, {c: tuple(kept[c]) for c in label_words.classes}, provenance
    )
    return filtered, report
