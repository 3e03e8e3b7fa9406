"""The common form of a labelled corpus: texts, class names, gold word labels, named splits."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from mrekv.data.example import LANGS, Family, MREExample, TaskWord
from mrekv.errors import unknown_choice

#: Splits that must never share a record.
EXCLUSIVE_SPLITS = ("train", "dev", "test")

WordLabels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Corpus:
    """A labelled text corpus in one language, with named index splits.

    Every reader in :mod:`mrekv.data.corpora` returns this form, and MMM data
    becomes one through :meth:`from_examples`.

    Args:
        name: the corpus name (as given to :func:`mrekv.data.corpora.load_corpus`).
        lang: ``"en"``, ``"ja"`` or ``"zh"``.
        texts: the texts, one per record.
        labels: the human-readable class name of each record.
        classes: every class name, in a fixed order (the order classifiers use).
        word_labels: gold ``(label, span)`` pairs per record (aspect terms with their
            polarity, entities with their type, keywords), or None when the corpus has
            no word-level labels.
        splits: split name -> sorted record indices. ``"train"``, ``"dev"`` and ``"test"``
            are pairwise disjoint; other names (e.g. FewCLUE's ``"train_0"``) may overlap them.
        family: the MMM family the word labels correspond to (a hint for MRE-mix
            building and for :meth:`to_examples`), or None.
        source: where the records were read from.
        description: how the records, labels and splits were derived.

    Raises:
        ValueError: lengths disagree, a label is not in ``classes``, a split index is out
            of range, or ``train``/``dev``/``test`` overlap.

    Example:
        >>> c = Corpus("toy", "en", ("good", "bad"), ("positive", "negative"),
        ...            ("negative", "positive"), splits={"train": (0,), "test": (1,)})
        >>> len(c.split("test")), c.split("test").labels
        (1, ('negative',))
    """

    name: str
    lang: str
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    classes: tuple[str, ...]
    word_labels: tuple[WordLabels, ...] | None = None
    splits: Mapping[str, tuple[int, ...]] = field(default_factory=dict, hash=False)
    family: Family | None = None
    source: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise ValueError(unknown_choice("language", self.lang, LANGS))
        texts = tuple(self.texts)
        labels = tuple(self.labels)
        classes = tuple(self.classes)
        object.__setattr__(self, "texts", texts)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "classes", classes)
        if len(texts) != len(labels):
            raise ValueError(f"corpus {self.name!r}: {len(texts)} texts but {len(labels)} labels")
        if len(set(classes)) != len(classes):
            raise ValueError(f"corpus {self.name!r}: repeated class in {classes!r}")
        known = set(classes)
        for i, label in enumerate(labels):
            if label not in known:
                raise ValueError(
                    f"corpus {self.name!r}, record {i}: " + unknown_choice("class", label, classes)
                )
        if self.word_labels is not None:
            wl = tuple(tuple((str(a), str(b)) for a, b in pairs) for pairs in self.word_labels)
            if len(wl) != len(texts):
                raise ValueError(
                    f"corpus {self.name!r}: {len(texts)} texts but {len(wl)} word-label tuples"
                )
            object.__setattr__(self, "word_labels", wl)
        if self.family is not None:
            object.__setattr__(self, "family", Family.parse(self.family))
        splits = {name: tuple(sorted(int(i) for i in idx)) for name, idx in self.splits.items()}
        for name, idx in splits.items():
            if idx and (idx[0] < 0 or idx[-1] >= len(texts)):
                raise ValueError(f"corpus {self.name!r}: split {name!r} has an index out of range")
            if len(set(idx)) != len(idx):
                raise ValueError(f"corpus {self.name!r}: split {name!r} repeats an index")
        present = [s for s in EXCLUSIVE_SPLITS if s in splits]
        for a_pos, a in enumerate(present):
            for b in present[a_pos + 1 :]:
                shared = set(splits[a]) & set(splits[b])
                if shared:
                    raise ValueError(
                        f"corpus {self.name!r}: splits {a!r} and {b!r} share "
                        f"{len(shared)} records (e.g. index {min(shared)})"
                    )
        object.__setattr__(self, "splits", MappingProxyType(splits))

    def __len__(self) -> int:
        return len(self.texts)

    def split_indices(self, name: str) -> tuple[int, ...]:
        """Return the record indices of split ``name``; raise KeyError listing the splits."""
        try:
            return self.splits[name]
        except KeyError:
            msg = f"corpus {self.name!r}: " + unknown_choice("split", name, list(self.splits))
            raise KeyError(msg) from None

    def subset(self, indices: Iterable[int], *, name: str | None = None) -> Corpus:
        """Return the records at ``indices`` (in that order) as a new corpus.

        Splits are restricted to the kept records and renumbered; splits left empty
        are dropped. Classes keep their order even when a class has no record left.
        """
        keep = tuple(int(i) for i in indices)
        new_pos = {old: new for new, old in enumerate(keep)}
        splits = {}
        for split_name, idx in self.splits.items():
            kept = [new_pos[i] for i in idx if i in new_pos]
            if kept:
                splits[split_name] = tuple(kept)
        word_labels = None
        if self.word_labels is not None:
            word_labels = tuple(self.word_labels[i] for i in keep)
        return Corpus(
            name=self.name if name is None else name,
            lang=self.lang,
            texts=tuple(self.texts[i] for i in keep),
            labels=tuple(self.labels[i] for i in keep),
            classes=self.classes,
            word_labels=word_labels,
            splits=splits,
            family=self.family,
            source=self.source,
            description=self.description,
        )

    def split(self, name: str) -> Corpus:
        """Return split ``name`` as a corpus of its own (indices renumbered from 0).

        Raises:
            KeyError: no split of that name; the message lists the splits.
        """
        return self.subset(self.split_indices(name))

    def class_counts(self, split: str | None = None) -> dict[str, int]:
        """Return ``{class: number of records}`` in ``classes`` order (zeros included)."""
        idx = range(len(self)) if split is None else self.split_indices(split)
        counts = Counter(self.labels[i] for i in idx)
        return {c: counts.get(c, 0) for c in self.classes}

    def summary(self) -> dict[str, object]:
        """Return a JSON-ready summary: name, language, classes, records per split."""
        return {
            "name": self.name,
            "lang": self.lang,
            "records": len(self),
            "classes": list(self.classes),
            "splits": {name: len(idx) for name, idx in self.splits.items()},
            "word_labels": self.word_labels is not None,
            "family": None if self.family is None else self.family.value,
        }

    def to_examples(
        self, split: str | None = None, *, task: TaskWord | str | None = None
    ) -> list[MREExample]:
        """Return the records (of one split, or all) as :class:`MREExample` objects.

        Args:
            split: a split name, or None for every record.
            task: the task word to give the examples; default the family's task word,
                or ``Sentiment Adj and N`` when the corpus has no family (the words
                would then be extracted as adjectives and nouns, as MMM's SCPOS data).

        Returns:
            One example per record, in index order, with ``lang`` set.
        """
        if task is not None:
            task_word = TaskWord.parse(task)
        elif self.family is not None:
            task_word = self.family.task_word
        else:
            task_word = TaskWord.SENTIMENT_ADJ_AND_N
        idx = range(len(self)) if split is None else self.split_indices(split)
        return [
            MREExample(
                text=self.texts[i],
                text_label=self.labels[i],
                task=task_word,
                word_labels=() if self.word_labels is None else self.word_labels[i],
                lang=self.lang,
            )
            for i in idx
        ]

    @classmethod
    def from_examples(
        cls,
        examples: Sequence[MREExample],
        name: str,
        lang: str | None = None,
        splits: Mapping[str, Iterable[int]] | None = None,
        *,
        classes: Sequence[str] | None = None,
        family: Family | str | None = None,
        source: str = "",
        description: str = "",
    ) -> Corpus:
        """Build a corpus from MRE examples (e.g. MMM records loaded with the catalog).

        Args:
            examples: the records; their ``word_labels`` become the gold word labels.
            name: the corpus name.
            lang: the language; default the examples' common ``lang``.
            splits: split name -> indices into ``examples``; default ``{"train": all}``.
            classes: the class order; default the sorted distinct ``text_label`` values.
            family: the MMM family of the word labels, if known.
            source: where the examples came from.
            description: free text.

        Raises:
            ValueError: ``lang`` is not given and the examples do not share one language.

        Example:
            >>> ex = [MREExample("Great pasta.", "positive", lang="en")]
            >>> Corpus.from_examples(ex, "toy").classes
            ('positive',)
        """
        if lang is None:
            langs = {e.lang for e in examples}
            if len(langs) != 1 or None in langs:
                raise ValueError(
                    f"corpus {name!r}: pass lang=; the examples' languages are "
                    f"{sorted(map(str, langs))}"
                )
            lang = langs.pop()
        labels = tuple(e.text_label for e in examples)
        return cls(
            name=name,
            lang=str(lang),
            texts=tuple(e.text for e in examples),
            labels=labels,
            classes=tuple(classes) if classes is not None else tuple(sorted(set(labels))),
            word_labels=tuple(e.word_labels for e in examples),
            splits=(
                {"train": tuple(range(len(examples)))}
                if splits is None
                else {k: tuple(v) for k, v in splits.items()}
            ),
            family=None if family is None else Family.parse(family),
            source=source,
            description=description,
        )
