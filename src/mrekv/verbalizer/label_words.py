"""LabelWords: the label words of each class, with scores, counts and provenance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LabelWord:
    """One label word of a class.

    Args:
        word: the word (surface or lemma, as mined).
        score: the mining score (higher is more associated with the class).
        count: how often it occurred with the class in the knowledge data.
    """

    word: str
    score: float = 1.0
    count: int = 0


@dataclass(frozen=True)
class LabelWords:
    """The label words of every class, in class order.

    Args:
        classes: the class names, in the order the classifier uses.
        words: for each class name, its label words, best first.
        provenance: where the words came from (method, knowledge split, options,
            mrekv version); saved with the words.

    Example:
        >>> lw = LabelWords.from_lists(["neg", "pos"], [["bad", "awful"], ["good"]])
        >>> lw.as_lists()
        [['bad', 'awful'], ['good']]
    """

    classes: tuple[str, ...]
    words: Mapping[str, tuple[LabelWord, ...]]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        classes = tuple(self.classes)
        if len(set(classes)) != len(classes):
            raise ValueError(f"duplicate class names in {classes!r}")
        missing = [c for c in classes if c not in self.words]
        extra = [c for c in self.words if c not in classes]
        if missing or extra:
            raise ValueError(
                f"label words and classes disagree: classes without words {missing!r}, "
                f"words for unknown classes {extra!r}"
            )
        object.__setattr__(self, "classes", classes)
        object.__setattr__(
            self, "words", {c: tuple(self.words[c]) for c in classes}
        )
        object.__setattr__(self, "provenance", dict(self.provenance))

    @classmethod
    def from_lists(
        cls,
        classes: Sequence[str],
        words: Sequence[Iterable[str]],
        provenance: Mapping[str, Any] | None = None,
    ) -> LabelWords:
        """Build from one list of words per class (scores 1.0, counts 0)."""
        if len(classes) != len(words):
            raise ValueError(f"{len(classes)} classes but {len(words)} word lists")
        return cls(
            tuple(classes),
            {c: tuple(LabelWord(w) for w in ws) for c, ws in zip(classes, words, strict=True)},
            provenance or {},
        )

    def as_lists(self) -> list[list[str]]:
        """The words of each class, in class order."""
        return [[lw.word for lw in self.words[c]] for c in self.classes]

    def counts(self) -> dict[str, int]:
        """How many label words each class has."""
        return {c: len(self.words[c]) for c in self.classes}

    def top(self, k: int) -> LabelWords:
        """Keep the ``k`` best words of each class."""
        if k < 1:
            raise ValueError(f"top k must be >= 1, got {k}")
        return LabelWords(
            self.classes, {c: self.words[c][:k] for c in self.classes}, self.provenance
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the mrekv label-word JSON format)."""
        return {
            "format": "mrekv.label_words",
            "version": 1,
            "classes": list(self.classes),
            "words": {
                c: [{"word": w.word, "score": w.score, "count": w.count} for w in self.words[c]]
                for c in self.classes
            },
            "provenance": dict(self.provenance),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelWords:
        """Inverse of :meth:`to_dict`; raises ValueError naming the bad key."""
        allowed = {"format", "version", "classes", "words", "provenance"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)!r}; valid keys: {sorted(allowed)!r}")
        if data.get("format") != "mrekv.label_words":
            raise ValueError(f"'format' must be 'mrekv.label_words', got {data.get('format')!r}")
        if data.get("version") != 1:
            raise ValueError(f"unsupported label-word file version {data.get('version')!r}")
        classes = data["classes"]
        words = {}
        for c in classes:
            entries = data["words"].get(c)
            if entries is None:
                raise ValueError(f"no words for class {c!r}")
            words[c] = tuple(
                LabelWord(str(e["word"]), float(e.get("score", 1.0)), int(e.get("count", 0)))
                for e in entries
            )
        return cls(tuple(classes), words, data.get("provenance", {}))
