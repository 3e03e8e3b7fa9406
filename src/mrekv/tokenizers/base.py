"""The word-tokenizer protocol shared by the ja / zh / en tokenizers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: The 17 Universal Dependencies POS tags (https://universaldependencies.org/u/pos/).
UPOS_TAGS = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)


@dataclass(frozen=True, slots=True)
class Token:
    """One word.

    Args:
        surface: the word as written in the text.
        lemma: its base / dictionary form (the surface when none is known).
        upos: the Universal POS tag, one of :data:`UPOS_TAGS`.
        tag: the tagger's own tag (UniDic POS, ICTCLAS flag, Penn Treebank tag).
    """

    surface: str
    lemma: str
    upos: str
    tag: str


@runtime_checkable
class WordTokenizer(Protocol):
    """Splits text into :class:`Token` s with lemma and UPOS tag."""

    lang: str

    def tokenize(self, text: str) -> list[Token]:
        """Return the words of ``text``."""
        ...

    def tokenize_batch(self, texts: Iterable[str]) -> list[list[Token]]:
        """Return the words of each text, in order."""
        ...


def tokenize_all(tokenizer: WordTokenizer, texts: Sequence[str]) -> list[list[Token]]:
    """Tokenize ``texts`` one by one (default batch implementation)."""
    return [tokenizer.tokenize(t) for t in texts]
