"""The datasets of an experiment: loading, caps, the knowledge source and leakage checks.

No leakage by construction: label words come only from the knowledge split
(:meth:`PreparedDataset.knowledge_examples`), which :func:`prepare_dataset`
checks to be disjoint from the test set and from the few-shot pool, and the
few-shot train/dev sets are drawn from the pool minus the knowledge split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrekv.data.example import Family, MREExample
from mrekv.errors import ConfigError
from mrekv.experiment.config import DatasetConfig, ExperimentConfig
from mrekv.experiment.results import indices_hash, stable_hash

#: Seed of the caps ``max_test`` / ``max_train_pool`` (fixed: they define the data, not a run).
CAP_SEED = 12345


def _normalise_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def _cap(indices: tuple[int, ...], limit: int | None) -> tuple[int, ...]:
    if limit is None or len(indices) <= limit:
        return indices
    chosen = np.random.default_rng(CAP_SEED).permutation(len(indices))[:limit]
    return tuple(sorted(indices[i] for i in chosen))


@dataclass
class PreparedDataset:
    """A dataset ready for the grid: one corpus (pool + test) and its knowledge source.

    Attributes:
        config: the dataset's config section.
        corpus: a :class:`mrekv.data.corpus.Corpus` whose ``train`` (+ ``dev``) splits are
            the few-shot pool and whose ``test`` split is the evaluation set.
        external_knowledge: label-word source outside the pool (a named split or a
            file), or None when the knowledge split is carved from the pool.
        knowledge_name: the name written in results (``"train-carved"``, a split name,
            or the file name).
    """

    config: DatasetConfig
    corpus: Any
    external_knowledge: list[MREExample] | None
    knowledge_name: str
    pool: tuple[str, ...] = ("train",)
    _splits: dict[tuple[int, int], Any] = field(default_factory=dict)
    _knowledge: list[MREExample] | None = None
    _test_tokens: list[Any] | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def lang(self) -> str:
        return str(self.corpus.lang)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.corpus.classes)

    def few_shot(self, k: int, seed: int, exp: ExperimentConfig) -> Any:
        """The :class:`~mrekv.data.split.FewShotSplit` of a cell (cached)."""
        from mrekv.data.split import few_shot_split

        if (k, seed) not in self._splits:
            carved = self.external_knowledge is None
            self._splits[(k, seed)] = few_shot_split(
                self.corpus, k, seed,
                knowledge="stratified" if carved else None,
                knowledge_fraction=exp.knowledge.fraction if carved else 0.0,
                knowledge_seed=exp.knowledge.seed,
                pool=self.pool,
            )
        return self._splits[(k, seed)]

    def test_tokens(self) -> list[Any]:
        """The test texts split into words by the language's word tokenizer (cached)."""
        if self._test_tokens is None:
            from mrekv.tokenizers import get_tokenizer

            texts = [self.corpus.texts[i] for i in self.corpus.split_indices("test")]
            self._test_tokens = get_tokenizer(self.lang).tokenize_batch(texts)
        return self._test_tokens

    def majority_class(self) -> str:
        """The most frequent class of the few-shot pool (ties: class order); never test."""
        counts = {c: 0 for c in self.classes}
        for split in self.pool:
            for i in self.corpus.splits.get(split, ()):
                counts[self.corpus.labels[i]] += 1
        return max(self.classes, key=lambda c: counts[c])

    def knowledge_indices(self, exp: ExperimentConfig) -> tuple[int, ...]:
        """Indices of the carved knowledge split (capped by ``knowledge.max_size``)."""
        return _cap(self.few_shot(0, 0, exp).knowledge, exp.knowledge.max_size)

    def knowledge_examples(self, exp: ExperimentConfig) -> list[MREExample]:
        """The knowledge split as MRE examples, with word labels (gold or built)."""
        if self._knowledge is None:
            if self.external_knowledge is not None:
                examples = _cap_list(self.external_knowledge, exp.knowledge.max_size)
            else:
                everything = self.corpus.to_examples()
                examples = [everything[i] for i in self.knowledge_indices(exp)]
            if needs_built_word_labels(self.config, examples):
                examples = with_built_word_labels(examples, self.config, self.lang)
            self._knowledge = examples
        return self._knowledge

    def knowledge_info(self, exp: ExperimentConfig) -> dict[str, Any]:
        """What results record about the split that fed the verbalizer."""
        if self.external_knowledge is not None:
            texts = [e.text for e in _cap_list(self.external_knowledge, exp.knowledge.max_size)]
            return {"name": self.knowledge_name, "size": len(texts),
                    "hash": stable_hash(sorted(texts), 12)}
        idx = self.knowledge_indices(exp)
        return {"name": self.knowledge_name, "size": len(idx), "hash": indices_hash(idx)}


def _cap_list(items: list[MREExample], limit: int | None) -> list[MREExample]:
    return [items[i] for i in _cap(tuple(range(len(items))), limit)]


# --------------------------------------------------------------------------- loading


def _read_mmm(path: Path, lang: str | None) -> list[MREExample]:
    from mrekv.data.mmm import read_mmm

    if not path.is_file():
        raise ConfigError(f"MMM file {path} does not exist")
    return list(read_mmm(path, lang=lang))


def _load_corpus(cfg: DatasetConfig, exp: ExperimentConfig) -> tuple[Any, list[MREExample] | None,
                                                                     str]:
    from mrekv.data.corpus import Corpus

    if cfg.source == "corpus":
        from mrekv.data.corpora import load_corpus

        root = exp.resolve(cfg.root) if cfg.root else None
        corpus = load_corpus(str(cfg.corpus), root=root)
        knowledge = None
        name = "pool-carved"
        if cfg.knowledge is not None and cfg.knowledge not in ("train", "pool"):
            if cfg.knowledge not in corpus.splits:
                raise ConfigError(f"dataset {cfg.name!r}: knowledge split {cfg.knowledge!r} is "
                                  f"not a split of the corpus; splits: {sorted(corpus.splits)}")
            knowledge = corpus.to_examples(cfg.knowledge)
            name = cfg.knowledge
        return corpus, knowledge, name
    if cfg.source == "catalog":
        from mrekv.data.catalog import load_mmm

        path = exp.resolve(cfg.path)
        train = list(load_mmm(str(cfg.catalog), "train", path=path))
        test = list(load_mmm(str(cfg.catalog), "test", path=path))
    else:
        train = _read_mmm(exp.resolve(cfg.train), cfg.lang)  # type: ignore[arg-type]
        test = _read_mmm(exp.resolve(cfg.test), cfg.lang)  # type: ignore[arg-type]
    lang = cfg.lang or next((e.lang for e in train if e.lang), None)
    if lang is None:
        raise ConfigError(f"dataset {cfg.name!r}: set lang (the MMM records do not say)")
    classes = sorted({e.text_label for e in train} | {e.text_label for e in test})
    examples = [MREExample(e.text, e.text_label, e.task, e.word_labels, e.relations, lang)
                for e in [*train, *test]]
    splits = {"train": range(len(train)), "test": range(len(train), len(examples))}
    corpus = Corpus.from_examples(examples, cfg.name, lang, splits, classes=classes,
                                  family=cfg.family, source=str(cfg.train or cfg.catalog))
    knowledge = None
    name = "train-carved"
    if cfg.knowledge is not None and cfg.knowledge != "train":
        kpath = exp.resolve(cfg.knowledge)
        assert kpath is not None
        knowledge = [MREExample(e.text, e.text_label, e.task, e.word_labels, e.relations, lang)
                     for e in _read_mmm(kpath, lang)]
        name = kpath.name
    return corpus, knowledge, name


def check_no_leakage(data: PreparedDataset, exp: ExperimentConfig) -> None:
    """Refuse a knowledge source that shares texts with the test set or the few-shot pool.

    Raises:
        ConfigError: naming the dataset, the knowledge source and an overlapping text.
    """
    if data.external_knowledge is None:
        return  # carved from the pool by few_shot_split, which checks disjointness itself
    corpus = data.corpus
    know = {_normalise_text(e.text) for e in data.external_knowledge}
    for part, splits in (("test", ("test",)), ("few-shot pool", data.pool)):
        for split in splits:
            for i in corpus.splits.get(split, ()):
                if _normalise_text(corpus.texts[i]) in know:
                    raise ConfigError(
                        f"dataset {data.name!r}: the knowledge source {data.knowledge_name!r} "
                        f"shares texts with the {part} ({split} record {i}: "
                        f"{corpus.texts[i][:60]!r}); label words would leak. Use a disjoint "
                        "knowledge file or leave 'knowledge' unset to carve it from the pool"
                    )


def prepare_dataset(cfg: DatasetConfig, exp: ExperimentConfig) -> PreparedDataset:
    """Load a dataset, apply its caps, and check its knowledge source for leakage.

    Raises:
        ConfigError: missing files, bad splits, or a knowledge source overlapping test/pool.
    """
    corpus, knowledge, name = _load_corpus(cfg, exp)
    if "test" not in corpus.splits:
        raise ConfigError(f"dataset {cfg.name!r} has no test split; splits: "
                          f"{sorted(corpus.splits)}")
    pool = tuple(s for s in ("train", "dev") if s in corpus.splits and s != cfg.knowledge)
    if cfg.max_test or cfg.max_train_pool:
        keep = set(_cap(corpus.split_indices("test"), cfg.max_test))
        keep |= set(_cap(tuple(i for s in pool for i in corpus.split_indices(s)),
                         cfg.max_train_pool))
        corpus = corpus.subset(sorted(keep))
    data = PreparedDataset(cfg, corpus, knowledge, name, pool)
    check_no_leakage(data, exp)
    return data


def needs_built_word_labels(cfg: DatasetConfig, examples: list[MREExample]) -> bool:
    """True when the knowledge examples need word labels built from POS for ``cfg.family``."""
    if cfg.word_labels == "family":
        return True
    if cfg.word_labels == "gold" and not any(e.word_labels for e in examples):
        raise ConfigError(f"dataset {cfg.name!r}: word_labels = 'gold' but its knowledge "
                          "examples carry no word labels; set family and word_labels = 'family'")
    return cfg.word_labels == "auto" and not any(e.word_labels for e in examples)


def with_built_word_labels(examples: list[MREExample], cfg: DatasetConfig,
                           lang: str) -> list[MREExample]:
    """The knowledge examples with word labels built from POS for ``cfg.family`` (MRE-mix).

    Only the knowledge split is processed: it is the only data label words come from.
    """
    from mrekv.data.mre_mix import build_mre_examples

    if cfg.family is None:
        raise ConfigError(f"dataset {cfg.name!r} has no gold word labels: set family "
                          f"(e.g. 'SCPOS:Adj & N') to build them")
    texts = [e.text for e in examples]
    labels = [e.text_label for e in examples]
    return list(build_mre_examples(texts, labels, lang, Family.parse(cfg.family),
                                   knowledge=(texts, labels)))
