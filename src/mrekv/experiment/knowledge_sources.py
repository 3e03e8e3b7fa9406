"""Knowledge sources of the equal-budget sweep: label words from outside the N texts.

A sweep's knowledge-source axis (recorded as ``knowledge_source`` on every line):

* ``none`` - manual words, no labelled data;
* ``budget`` - words mined from (or a head trained on) the N labelled texts;
* ``kpt`` - an OpenPrompt/KPT knowledge file of the task (the dataset's ``kpt``);
* ``external:<corpus>`` - words mined from the train split of another labelled
  corpus of the same task (``[budget.external]``), e.g. Amazon reviews for SST-2:
  the honest zero-target-label use of mined knowledge. Its class names must be
  the dataset's; at most ``external_max`` of its texts (a seeded sample) are mined.

The ``knowledge`` verbalizer is the union of what a dataset has: manual words
first, then KPT, then external words (each word once, in that order), so it is
fixed before any label of the dataset is seen.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from typing import Any

from mrekv.errors import ConfigError


def external_label_words(cfg: Any, exp: Any, classes: Sequence[str], lang: str,
                         top_k: int) -> tuple[Any, str] | None:
    """Words mined from the dataset's external corpus and its source name (None: none).

    Raises:
        ConfigError: the corpus's classes do not cover the dataset's, or its language
            differs.
    """
    from mrekv.data.corpora import load_corpus
    from mrekv.experiment.datasets import needs_built_word_labels, with_built_word_labels
    from mrekv.verbalizer.mining import mine_label_words

    budget = exp.budget
    name = None if budget is None else budget.external.get(cfg.name)
    if name is None:
        return None
    corpus = load_corpus(name, cfg.root)
    if corpus.lang != lang:
        raise ConfigError(f"budget.external.{cfg.name} = {name!r} is {corpus.lang}, "
                          f"the dataset is {lang}")
    missing = [c for c in classes if c not in corpus.classes]
    if missing:
        raise ConfigError(f"budget.external.{cfg.name} = {name!r} lacks the classes "
                          f"{missing}; its classes: {list(corpus.classes)}")
    train = corpus.split("train")
    keep = [i for i, y in enumerate(train.labels) if y in classes]
    if len(keep) > budget.external_max:
        keep = sorted(random.Random(exp.knowledge.seed).sample(keep, budget.external_max))
    examples = train.subset(keep).to_examples()
    family_cfg = cfg if cfg.family else dataclasses.replace(
        cfg, family=budget.external_family, word_labels="family")
    if not any(e.word_labels for e in examples) or needs_built_word_labels(family_cfg, examples):
        examples = with_built_word_labels(examples, family_cfg, lang)
    mined = mine_label_words(examples, "frequency", top_k, classes=list(classes), lang=lang,
                             min_count=exp.mining.min_count, split_name=f"{name}:train")
    return mined, f"external:{name}"


def union_label_words(classes: Sequence[str], parts: Sequence[Any]) -> Any:
    """One LabelWords with every part's words per class, in part order, each word once."""
    from mrekv.verbalizer.label_words import LabelWords

    mappings = [dict(zip(p.classes, p.as_lists(), strict=True)) for p in parts if p is not None]
    lists = []
    for c in classes:
        seen: list[str] = []
        for mapping in mappings:
            for word in mapping.get(c, ()):
                if word not in seen:
                    seen.append(word)
        lists.append(seen)
    return LabelWords.from_lists(list(classes), lists, {"method": "union"})
