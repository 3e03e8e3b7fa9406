"""The MRE example record: one sentence with its sentence-level class and word-level labels."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from mrekv.errors import unknown_choice


class TaskWord(StrEnum):
    """The task words of the MMM / OIELLM format (the part after ``/`` in ``input``)."""

    NER = "NER"
    SENTIMENT_RELATION_WORD = "Sentiment Relation Word"
    SENTIMENT_ADJ_AND_N = "Sentiment Adj and N"
    SENTIMENT_ADJ = "Sentiment Adj"
    SENTIMENT_N = "Sentiment N"
    RELATION_EXTRACTION = "Relation Extraction"
    EVENT_EXTRACTION = "Event Extraction"

    @classmethod
    def parse(cls, value: str | TaskWord) -> TaskWord:
        """Return the task word for ``value``; raise ValueError listing the valid ones."""
        if isinstance(value, TaskWord):
            return value
        for member in cls:
            if member.value == value:
                return member
        raise ValueError(unknown_choice("task word", value, [m.value for m in cls]))


class Family(StrEnum):
    """The MMM sub-dataset families (the kind of word-level labels they carry)."""

    SCNM = "SCNM"
    SCPOS_RW = "SCPOS:RW"
    SCPOS_ADJ_N = "SCPOS:Adj & N"
    SCPOS_ADJ = "SCPOS:Adj"
    SCPOS_N = "SCPOS:N"
    TCREE = "TCREE"
    TCONER = "TCONER"

    @property
    def task_word(self) -> TaskWord:
        """The task word records of this family carry."""
        return _FAMILY_TASK[self]

    @classmethod
    def parse(cls, value: str | Family) -> Family:
        """Return the family for ``value`` (case-insensitive, ``&``/``and`` alike)."""
        if isinstance(value, Family):
            return value
        key = _family_key(value)
        for member in cls:
            if _family_key(member.value) == key or _family_key(member.name) == key:
                return member
        raise ValueError(unknown_choice("family", value, [m.value for m in cls]))


def _family_key(value: str) -> str:
    return "".join(ch for ch in value.lower().replace("and", "&") if ch.isalnum() or ch == "&")


_FAMILY_TASK = {
    Family.SCNM: TaskWord.NER,
    Family.SCPOS_RW: TaskWord.SENTIMENT_RELATION_WORD,
    Family.SCPOS_ADJ_N: TaskWord.SENTIMENT_ADJ_AND_N,
    Family.SCPOS_ADJ: TaskWord.SENTIMENT_ADJ,
    Family.SCPOS_N: TaskWord.SENTIMENT_N,
    Family.TCREE: TaskWord.RELATION_EXTRACTION,
    Family.TCONER: TaskWord.NER,
}

LANGS = ("en", "ja", "zh")

#: The separator characters of the MMM word-label part: ASCII and the full-width
#: forms some original Japanese records use.
COLONS = ":\uff1a"
SEMICOLONS = ";\uff1b"


@dataclass(frozen=True)
class MREExample:
    """One sentence with a sentence-level class and its word-level labels.

    Args:
        text: the sentence (may contain ``/``, ``:`` and ``;``).
        text_label: the sentence-level class.
        task: the task word of the record.
        word_labels: ``(label, span)`` pairs, in record order; for the SCPOS families
            the label is the word's sentiment or POS label and the span the word.
        relations: ``(head, relation, tail)`` triples (``Relation Extraction`` only).
        lang: ``"en"``, ``"ja"``, ``"zh"`` or None when unknown.
        separators: how the record's word-label part was written, for byte-exact
            writing back: None for the canonical ASCII ``:`` / ``;``, else one
            character per separator in record order (``":;:;"`` style, e.g.
            ``"\uff1a\uff1b"`` for a full-width record). Ignored by ``==`` and
            ``hash``: two examples with the same content are equal however they
            were written. See :mod:`mrekv.data.mmm`.

    Example:
        >>> MREExample("Great pasta.", "positive", TaskWord.SENTIMENT_ADJ,
        ...            word_labels=(("positive", "Great"),), lang="en").words
        ('Great',)
    """

    text: str
    text_label: str
    task: TaskWord = TaskWord.NER
    word_labels: tuple[tuple[str, str], ...] = ()
    relations: tuple[tuple[str, str, str], ...] = ()
    lang: str | None = None
    separators: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", TaskWord.parse(self.task))
        object.__setattr__(self, "word_labels", tuple(tuple(p) for p in self.word_labels))
        object.__setattr__(self, "relations", tuple(tuple(t) for t in self.relations))
        for pair in self.word_labels:
            if len(pair) != 2:
                raise ValueError(f"word label {pair!r} is not a (label, span) pair")
        for triple in self.relations:
            if len(triple) != 3:
                raise ValueError(f"relation {triple!r} is not a (head, relation, tail) triple")
        if self.lang is not None and self.lang not in LANGS:
            raise ValueError(unknown_choice("language", self.lang, LANGS))
        if self.separators is not None and not all(
            ch in COLONS + SEMICOLONS for ch in self.separators
        ):
            raise ValueError(
                f"separators {self.separators!r} may only hold {COLONS + SEMICOLONS!r}"
            )

    @property
    def words(self) -> tuple[str, ...]:
        """The word-level items: spans of ``word_labels``, then relation words."""
        return tuple(span for _, span in self.word_labels) + tuple(r for _, r, _ in self.relations)

    @property
    def word_label_classes(self) -> tuple[str, ...]:
        """The distinct word-level labels, in first-seen order."""
        return tuple(dict.fromkeys(label for label, _ in self.word_labels))


def guess_lang(texts: Iterable[str]) -> str:
    """Guess ``"ja"``, ``"zh"`` or ``"en"`` from the scripts used in ``texts``.

    Kana means Japanese; CJK ideographs without kana mean Chinese; anything else
    is taken as English. Used where records do not say their language.

    Example:
        >>> guess_lang(["美味しいラーメン"]), guess_lang(["很好吃"]), guess_lang(["tasty"])
        ('ja', 'zh', 'en')
    """
    han = 0
    for text in texts:
        for ch in text:
            code = ord(ch)
            if 0x3040 <= code <= 0x30FF:  # hiragana and katakana
                return "ja"
            if 0x4E00 <= code <= 0x9FFF:
                han += 1
    return "zh" if han else "en"
