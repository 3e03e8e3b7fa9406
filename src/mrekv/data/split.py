"""Few-shot splits: a fixed knowledge split for mining label words, k-shot train/dev, the test set.

The knowledge split is drawn once per corpus with its own seed, so a verbalizer
mined from it serves every few-shot seed; the k-shot train and dev examples are
drawn from the rest of the pool with the few-shot seed. All four parts are
disjoint (the DESIGN's no-leakage contract).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mrekv.data.corpus import Corpus
from mrekv.data.example import MREExample
from mrekv.errors import ConfigError, unknown_choice

#: How the knowledge split is drawn: per class (keeps class proportions), or not at all.
KnowledgeMethod = Literal["stratified"]
KNOWLEDGE_METHODS: tuple[str, ...] = ("stratified",)
#: Default seed of the knowledge split (independent of the few-shot seed).
KNOWLEDGE_SEED = 0
#: Default part of the train pool kept for mining label words.
KNOWLEDGE_FRACTION = 0.5
#: Default splits whose union is the pool the few-shot examples are drawn from.
DEFAULT_POOL = ("train", "dev")
Part = Literal["train", "dev", "test", "knowledge"]
PARTS: tuple[str, ...] = ("train", "dev", "test", "knowledge")


def stratified_sample(
    labels: Sequence[str], indices: Iterable[int], fraction: float, seed: int
) -> tuple[int, ...]:
    """Draw ``round(fraction * n_c)`` of the ``indices`` of every class ``c``, seeded.

    Classes are visited in sorted order and each gets its own permutation from one
    ``numpy.random.default_rng(seed)``, so the result depends only on the labels of
    ``indices``, ``fraction`` and ``seed``.

    Args:
        labels: the label of every record (indexed by record index).
        indices: the records to draw from.
        fraction: the part of each class to draw, in ``[0, 1]``.
        seed: the random seed.

    Returns:
        The drawn indices, sorted.

    Example:
        >>> stratified_sample(["a", "a", "b", "b"], range(4), 0.5, seed=0).__len__()
        2
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"fraction must be in [0, 1], got {fraction!r}")
    by_class: dict[str, list[int]] = {}
    for i in sorted(set(int(i) for i in indices)):
        by_class.setdefault(labels[i], []).append(i)
    rng = np.random.default_rng(seed)
    drawn: list[int] = []
    for label in sorted(by_class):
        members = np.asarray(by_class[label])
        n = int(round(fraction * len(members)))
        drawn.extend(int(i) for i in rng.permutation(members)[:n])
    return tuple(sorted(drawn))


def group_sample(
    groups: Sequence[str], indices: Iterable[int], fraction: float, seed: int
) -> tuple[int, ...]:
    """Draw ``round(fraction * n_groups)`` whole groups of ``indices`` (e.g. documents), seeded.

    Args:
        groups: the group of every record (indexed by record index).
        indices: the records to draw from.
        fraction: the part of the groups to draw, in ``[0, 1]``.
        seed: the random seed.

    Returns:
        The indices of every record of the drawn groups, sorted.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"fraction must be in [0, 1], got {fraction!r}")
    idx = sorted(set(int(i) for i in indices))
    names = sorted({groups[i] for i in idx})
    n = int(round(fraction * len(names)))
    chosen = {names[j] for j in np.random.default_rng(seed).permutation(len(names))[:n]}
    return tuple(i for i in idx if groups[i] in chosen)


@dataclass(frozen=True)
class FewShotSplit:
    """Record indices of a few-shot experiment's four disjoint parts.

    Attributes:
        train: k examples per class for training (sorted indices into the corpus).
        dev: ``dev_k`` examples per class for model selection.
        test: the corpus's test split.
        knowledge: the records label words may be mined from (empty when none).
        k: examples per class in ``train``.
        dev_k: examples per class in ``dev``.
        seed: the seed the train/dev examples were drawn with.
        knowledge_method: ``"stratified"`` or None (no knowledge split).
        knowledge_fraction: the part of the pool kept for knowledge.
        knowledge_seed: the seed the knowledge split was drawn with.
        pool: the corpus splits the train/dev/knowledge records came from.
        corpus: the corpus name.
    """

    train: tuple[int, ...]
    dev: tuple[int, ...]
    test: tuple[int, ...]
    knowledge: tuple[int, ...]
    k: int
    dev_k: int
    seed: int
    knowledge_method: str | None
    knowledge_fraction: float
    knowledge_seed: int
    pool: tuple[str, ...]
    corpus: str = ""

    def indices(self, part: str) -> tuple[int, ...]:
        """Return the indices of ``part`` (``train``, ``dev``, ``test`` or ``knowledge``)."""
        if part not in PARTS:
            raise ValueError(unknown_choice("split part", part, PARTS))
        return tuple(getattr(self, part))

    def texts(self, corpus: Corpus, part: str) -> list[str]:
        """Return the texts of ``part`` of ``corpus``."""
        return [corpus.texts[i] for i in self.indices(part)]

    def labels(self, corpus: Corpus, part: str) -> list[str]:
        """Return the class names of ``part`` of ``corpus``."""
        return [corpus.labels[i] for i in self.indices(part)]

    def examples(self, corpus: Corpus, part: str) -> list[MREExample]:
        """Return ``part`` of ``corpus`` as MRE examples (e.g. the knowledge split for mining)."""
        everything = corpus.to_examples()
        return [everything[i] for i in self.indices(part)]

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict (what a results file records about the split)."""
        return {
            "corpus": self.corpus,
            "k": self.k,
            "dev_k": self.dev_k,
            "seed": self.seed,
            "pool": list(self.pool),
            "knowledge_method": self.knowledge_method,
            "knowledge_fraction": self.knowledge_fraction,
            "knowledge_seed": self.knowledge_seed,
            "sizes": {part: len(self.indices(part)) for part in PARTS},
        }


def _pool_indices(corpus: Corpus, pool: Sequence[str]) -> tuple[int, ...]:
    if "train" not in corpus.splits:
        raise ConfigError(
            f"corpus {corpus.name!r} has no 'train' split; its splits: {sorted(corpus.splits)}"
        )
    for name in pool:
        if name == "test":
            raise ConfigError("the test split cannot be part of the few-shot pool")
        if name not in corpus.splits and name != "dev":
            choice = unknown_choice("pool split", name, list(corpus.splits))
            raise ConfigError(f"corpus {corpus.name!r}: {choice}")
    chosen: set[int] = set()
    for name in pool:
        chosen.update(corpus.splits.get(name, ()))
    return tuple(sorted(chosen))


def knowledge_split(
    corpus: Corpus,
    fraction: float = KNOWLEDGE_FRACTION,
    seed: int = KNOWLEDGE_SEED,
    *,
    pool: Sequence[str] = DEFAULT_POOL,
) -> tuple[int, ...]:
    """Return the fixed knowledge split: a stratified ``fraction`` of the pool, by class.

    Args:
        corpus: the corpus.
        fraction: the part of every class of the pool to keep for knowledge.
        seed: the knowledge seed (not the few-shot seed).
        pool: the splits whose union is the pool (``dev`` is skipped where absent).

    Returns:
        Sorted record indices.
    """
    return stratified_sample(corpus.labels, _pool_indices(corpus, pool), fraction, seed)


def few_shot_split(
    corpus: Corpus,
    k: int,
    seed: int,
    *,
    knowledge: KnowledgeMethod | None = "stratified",
    knowledge_fraction: float = KNOWLEDGE_FRACTION,
    knowledge_seed: int = KNOWLEDGE_SEED,
    dev_k: int | None = None,
    pool: Sequence[str] = DEFAULT_POOL,
) -> FewShotSplit:
    """Draw k-shot train and dev sets, beside a fixed knowledge split and the test split.

    The pool is the union of ``pool`` splits (default train plus the official dev set
    where there is one: few-shot work draws its own small dev set, so the large official
    dev set is pool material, never used whole). The knowledge split is a stratified
    ``knowledge_fraction`` of the pool drawn with ``knowledge_seed`` only, so it is the
    same for every ``seed``. Train and dev take ``k`` and ``dev_k`` examples of every
    class from the pool minus the knowledge split, with ``numpy.random.default_rng(seed)``.
    Test is the corpus's test split.

    Args:
        corpus: a corpus with ``train`` and ``test`` splits.
        k: examples per class for training; 0 gives empty train and dev (zero-shot).
        seed: the few-shot seed.
        knowledge: ``"stratified"``, or None for no knowledge split.
        knowledge_fraction: the part of the pool kept for knowledge, in ``[0, 1)``.
        knowledge_seed: the knowledge seed.
        dev_k: examples per class for dev; default ``k``.
        pool: the splits the train/dev/knowledge records come from.

    Returns:
        A :class:`FewShotSplit` with four disjoint index tuples.

    Raises:
        ConfigError: a bad ``k``/``dev_k``/``knowledge``/fraction, a missing split, or a
            class with fewer than ``k + dev_k`` records left in the pool (the message
            names the class and the counts).

    Example:
        >>> from mrekv.data.corpora import load_corpus          # doctest: +SKIP
        >>> s = few_shot_split(load_corpus("sst2"), k=16, seed=1)  # doctest: +SKIP
        >>> len(s.train), len(s.dev)                             # doctest: +SKIP
        (32, 32)
    """
    if k < 0:
        raise ConfigError(f"k must be >= 0, got {k}")
    dev_k = k if dev_k is None else dev_k
    if dev_k < 0:
        raise ConfigError(f"dev_k must be >= 0, got {dev_k}")
    if knowledge is not None and knowledge not in KNOWLEDGE_METHODS:
        raise ConfigError(unknown_choice("knowledge method", knowledge, [*KNOWLEDGE_METHODS, None]))
    if knowledge is not None and not 0.0 <= knowledge_fraction < 1.0:
        raise ConfigError(f"knowledge_fraction must be in [0, 1), got {knowledge_fraction!r}")
    pool = tuple(pool)
    pool_idx = _pool_indices(corpus, pool)
    test = corpus.split_indices("test")
    if knowledge is None:
        know: tuple[int, ...] = ()
    else:
        know = stratified_sample(corpus.labels, pool_idx, knowledge_fraction, knowledge_seed)
    know_set = set(know)
    available: dict[str, list[int]] = {c: [] for c in corpus.classes}
    for i in pool_idx:
        if i not in know_set:
            available[corpus.labels[i]].append(i)
    need = k + dev_k
    train: list[int] = []
    dev: list[int] = []
    if need > 0:
        short = {c: len(v) for c, v in available.items() if len(v) < need}
        if short:
            listed = ", ".join(f"{c!r}: {n}" for c, n in short.items())
            raise ConfigError(
                f"corpus {corpus.name!r}: k={k} and dev_k={dev_k} need {need} records per class "
                f"outside the knowledge split, but these classes have fewer: {listed} "
                f"(pool {'+'.join(pool)}, knowledge fraction "
                f"{knowledge_fraction if knowledge else 0})"
            )
        rng = np.random.default_rng(seed)
        for c in corpus.classes:
            drawn = rng.permutation(np.asarray(available[c]))[:need]
            train.extend(int(i) for i in drawn[:k])
            dev.extend(int(i) for i in drawn[k:])
    result = FewShotSplit(
        train=tuple(sorted(train)),
        dev=tuple(sorted(dev)),
        test=test,
        knowledge=know,
        k=k,
        dev_k=dev_k,
        seed=seed,
        knowledge_method=knowledge,
        knowledge_fraction=knowledge_fraction if knowledge is not None else 0.0,
        knowledge_seed=knowledge_seed,
        pool=pool,
        corpus=corpus.name,
    )
    _check_disjoint(result)
    return result


def _check_disjoint(split: FewShotSplit) -> None:
    parts = {part: set(split.indices(part)) for part in PARTS}
    for a_pos, a in enumerate(PARTS):
        for b in PARTS[a_pos + 1 :]:
            shared = parts[a] & parts[b]
            if shared:
                raise AssertionError(
                    f"few-shot parts {a!r} and {b!r} share {len(shared)} records "
                    f"(e.g. index {min(shared)}): the corpus splits overlap"
                )
