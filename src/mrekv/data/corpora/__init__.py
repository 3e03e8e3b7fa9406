"""Readers for the real labelled corpora, by name: ``load_corpus("sst2")``.

This module only holds the registry; each language's readers live in a sibling
module (``en.py``, ``ja.py``, ``zh.py``) imported when one of its corpora is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mrekv.data.paths import DATASETS_ENV, datasets_root
from mrekv.errors import unknown_choice

if TYPE_CHECKING:
    from mrekv.data.corpus import Corpus


@dataclass(frozen=True)
class CorpusInfo:
    """One registered corpus: its name, language, folder, reader and a one-line description."""

    name: str
    lang: str
    folder: str
    reader: str
    description: str


_REGISTRY: tuple[CorpusInfo, ...] = (
    # English
    CorpusInfo("sst2", "en", "en-sentence-cls-harvardnlp", "en:load_sst2",
               "SST-2 movie-review sentences, negative/positive; official train/dev/test"),
    CorpusInfo("sst5", "en", "en-sentence-cls-harvardnlp", "en:load_sst5",
               "SST-5 movie-review sentences, 5 sentiment grades; official train/dev/test"),
    CorpusInfo("mr", "en", "en-sentence-cls-harvardnlp", "en:load_mr",
               "MR (rt-polarity) movie-review snippets, negative/positive; seeded 80/20 split"),
    CorpusInfo("cr", "en", "en-sentence-cls-harvardnlp", "en:load_cr",
               "CR customer-review sentences, negative/positive; seeded 80/20 split"),
    CorpusInfo("subj", "en", "en-sentence-cls-harvardnlp", "en:load_subj",
               "SUBJ movie sentences, subjective/objective; seeded 80/20 split"),
    CorpusInfo("mpqa", "en", "en-sentence-cls-harvardnlp", "en:load_mpqa",
               "MPQA opinion phrases, negative/positive; seeded 80/20 split"),
    CorpusInfo("trec", "en", "en-sentence-cls-harvardnlp", "en:load_trec",
               "TREC-6 question types; official train/test"),
    CorpusInfo("agnews", "en", "en-agnews", "en:load_agnews",
               "AG News 4 topics; train/dev = 10K subset train/valid, test = test.csv"),
    CorpusInfo("amazon", "en", "en-amazon-polarity-10k", "en:load_amazon",
               "Amazon review polarity 10K subset, negative/positive; official train/test"),
    CorpusInfo("semeval14-restaurants", "en", "en-semeval14-absa", "en:load_semeval14_restaurants",
               "SemEval-2014 restaurant sentences, polarity voted from aspect terms (word labels)"),
    CorpusInfo("semeval14-laptops", "en", "en-semeval14-absa", "en:load_semeval14_laptops",
               "SemEval-2014 laptop sentences, polarity voted from aspect terms (word labels)"),
    # Japanese
    CorpusInfo("livedoor", "ja", "ja-livedoor-news", "ja:load_livedoor",
               "livedoor news, 9 topics, title + start of body; seeded 80/20 split"),
    CorpusInfo("chabsa", "ja", "ja-chabsa", "ja:load_chabsa",
               "chABSA securities-report sentences, polarity voted from opinion targets; "
               "split by document"),
    CorpusInfo("ner-wikipedia", "ja", "ja-ner-wikipedia", "ja:load_ner_wikipedia",
               "Wikipedia NER sentences, class = most frequent entity type (SCNM-style); "
               "entities as word labels"),
    # Chinese
    CorpusInfo("online-shopping-10cats", "zh", "zh-online-shopping-10cats",
               "zh:load_online_shopping_10cats",
               "e-commerce reviews, 10 product categories; seeded 80/20 split"),
    CorpusInfo("online-shopping-sentiment", "zh", "zh-online-shopping-10cats",
               "zh:load_online_shopping_sentiment",
               "the same reviews and split, negative/positive"),
    CorpusInfo("chnsenticorp", "zh", "zh-chnsenticorp-htl", "zh:load_chnsenticorp",
               "ChnSentiCorp hotel reviews, negative/positive; seeded 80/20 split"),
    CorpusInfo("thucnews-titles", "zh", "zh-thucnews-titles", "zh:load_thucnews_titles",
               "THUCNews headlines, 10 topics; train = dev.txt, test = test.txt"),
    CorpusInfo("tnews", "zh", "zh-fewclue", "zh:load_tnews",
               "FewCLUE TNEWS headlines, 15 topics, keywords as word labels; official splits"),
    CorpusInfo("eprstmt", "zh", "zh-fewclue", "zh:load_eprstmt",
               "FewCLUE EPRSTMT e-commerce reviews, negative/positive; official splits"),
    CorpusInfo("iflytek", "zh", "zh-fewclue", "zh:load_iflytek",
               "FewCLUE IFLYTEK app descriptions, 119 app categories; official splits"),
    CorpusInfo("peng-absa", "zh", "zh-absa-peng2018", "zh:load_peng_absa",
               "Peng et al. 2018 product sentences, 4 domains as class; aspect terms as "
               "word labels"),
    CorpusInfo("peng-absa-sentiment", "zh", "zh-absa-peng2018", "zh:load_peng_absa_sentiment",
               "the same sentences, polarity voted from aspect terms"),
)

CORPORA: dict[str, CorpusInfo] = {info.name: info for info in _REGISTRY}


def list_corpora(lang: str | None = None) -> list[CorpusInfo]:
    """Return the registered corpora (of one language, or all) in registry order.

    Example:
        >>> [c.name for c in list_corpora("ja")]
        ['livedoor', 'chabsa', 'ner-wikipedia']
    """
    return [c for c in _REGISTRY if lang is None or c.lang == lang]


def corpus_folder(name: str, root: str | Path | None = None) -> Path:
    """Return the folder corpus ``name`` is read from (under the datasets root)."""
    return datasets_root(root) / _info(name).folder


#: Split names a corpus may have: a ``root`` equal to one of them is a mistaken split.
_SPLIT_NAMES = ("train", "dev", "test", "validation", "valid", "knowledge")


def load_corpus(
    name: str, root: str | Path | None = None, *, split: str | None = None
) -> Corpus:
    """Read corpus ``name`` from the datasets root into a :class:`~mrekv.data.corpus.Corpus`.

    Args:
        name: a registered name (see :func:`list_corpora`).
        root: the datasets root folder; default ``$MREKV_DATASETS``, else the per-user
            ``~/.local/share/mrekv/datasets`` (see :mod:`mrekv.data.paths`). It is
            never a split: ``load_corpus("sst2", "train")`` is an error that says to
            write ``split="train"``.
        split: return only this split (``"train"``, ``"dev"``, ``"test"``...) as a
            corpus of its own, the same as ``load_corpus(name).split(split)``;
            default: every record, with its splits.

    Returns:
        The corpus with its ``train``/``test`` (and ``dev`` where official) splits, or
        the one split asked for. Corpora without an official split get a fixed seeded
        stratified 80/20 split.

    Raises:
        ValueError: unknown name (the message lists the valid ones), or a split name
            given as ``root``.
        KeyError: ``split`` is not one of the corpus's splits (the message lists them).
        FileNotFoundError: the root or the corpus folder is missing (names the env var).
        CorpusFormatError: a malformed file (names the file and line).

    Example:
        >>> corpus = load_corpus("sst2")                    # doctest: +SKIP
        >>> len(corpus.split("test")), corpus.classes       # doctest: +SKIP
        (1821, ('negative', 'positive'))
        >>> len(load_corpus("sst2", split="test"))          # doctest: +SKIP
        1821
    """
    info = _info(name)
    if isinstance(root, str) and root in _SPLIT_NAMES and not Path(root).is_dir():
        raise ValueError(
            f"load_corpus({name!r}, {root!r}): the second argument is the datasets root "
            f"folder, and there is no folder {root!r}; for the {root!r} split write "
            f"load_corpus({name!r}, split={root!r})"
        )
    base = datasets_root(root)
    if not base.is_dir():
        raise FileNotFoundError(
            f"datasets root {str(base)!r} does not exist; pass root= or set {DATASETS_ENV} "
            "to the folder holding the corpora"
        )
    folder = base / info.folder
    if not folder.is_dir():
        raise FileNotFoundError(
            f"corpus {name!r} needs the folder {str(folder)!r}, which does not exist "
            f"(check root= or {DATASETS_ENV})"
        )
    corpus = _reader(info)(folder)
    return corpus if split is None else corpus.split(split)


def _info(name: str) -> CorpusInfo:
    try:
        return CORPORA[name]
    except KeyError:
        raise ValueError(unknown_choice("corpus", name, list(CORPORA))) from None


def _reader(info: CorpusInfo) -> Callable[[Path], Corpus]:
    module_name, _, function = info.reader.partition(":")
    module = importlib.import_module(f"{__name__}.{module_name}")
    reader: Callable[[Path], Corpus] = getattr(module, function)
    return reader


__all__ = ["CORPORA", "CorpusInfo", "corpus_folder", "list_corpora", "load_corpus"]
