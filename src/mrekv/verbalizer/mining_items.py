"""The items label words are mined from: extracted, normalised, filtered, counted.

An example's items are its word-level labels (``source="word_labels"``) or
the content words of its text found by the word tokenizer (``source="text"``),
optionally lemmatized and lower-cased; stopwords and noise are then dropped
and the items counted into an examples x words matrix (:func:`count_matrix`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mrekv.data.example import LANGS, MREExample
from mrekv.errors import ConfigError, unknown_choice
from mrekv.tokenizers.base import Token
from mrekv.verbalizer.mining_config import MiningConfig
from mrekv.verbalizer.stopwords import get_stopwords, is_noise

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from mrekv.tokenizers.base import WordTokenizer

#: Separators that split a class name such as "Sci/Tech" or "Society & Culture" into words.
_CLASS_NAME_SPLIT = re.compile(r"\s*(?:/|&|\||,|、|・|\band\b)\s*")


def class_name_words(name: str, *, lowercase: bool = False) -> list[str]:
    """Split a class name into label words: "Sci/Tech" -> ["Sci", "Tech"].

    Splits on ``/``, ``&``, ``|``, ``,``, ``、``, ``・`` and the word "and"; keeps
    multiword parts ("battery life") whole; skips parts that are numbers or punctuation.
    """
    parts = [p.strip() for p in _CLASS_NAME_SPLIT.split(name)]
    out: list[str] = []
    for part in parts:
        word = part.lower() if lowercase else part
        if word and not is_noise(word, "zh") and word not in out:
            out.append(word)
    return out


def resolve_lang(examples: Sequence[MREExample], lang: str | None) -> str | None:
    """``lang`` checked, or the one language of the examples (None when they name none)."""
    if lang is not None:
        if lang not in LANGS:
            raise ConfigError(unknown_choice("language", lang, LANGS))
        return lang
    found = {e.lang for e in examples if e.lang is not None}
    if len(found) > 1:
        raise ConfigError(f"examples mix languages {sorted(found)!r}; pass lang=")
    return found.pop() if found else None


def _resolve_tokenizer(tokenizer: WordTokenizer | None, lang: str | None) -> WordTokenizer:
    if tokenizer is not None:
        return tokenizer
    if lang is None:
        raise ConfigError("a tokenizer is needed: pass tokenizer= or lang=")
    from mrekv.tokenizers import get_tokenizer

    return get_tokenizer(lang)


def _tokenize(
    tokenizer: WordTokenizer, texts: Sequence[str], show_progress: bool
) -> list[list[Token]]:
    if not show_progress:
        return tokenizer.tokenize_batch(texts)
    from tqdm.auto import tqdm

    out: list[list[Token]] = []
    step = 1000
    for start in tqdm(range(0, len(texts), step), desc="tokenizing", unit_scale=step):
        out.extend(tokenizer.tokenize_batch(texts[start : start + step]))
    return out


def extract_items(
    examples: Sequence[MREExample],
    config: MiningConfig,
    lang: str | None,
    tokenizer: WordTokenizer | None,
    show_progress: bool,
) -> list[list[str]]:
    """The normalised items of every example, before stopword and noise filtering."""
    lowercase = config.lowercase if config.lowercase is not None else lang == "en"
    joiner = " " if lang in (None, "en") else ""
    if config.source == "text":
        tok = _resolve_tokenizer(tokenizer, lang)
        texts = [e.text for e in examples]
        unique = list(dict.fromkeys(texts))  # tokenize each distinct text once
        tokenized = _tokenize(tok, unique, show_progress)
        if len(unique) < len(texts):
            by_text = dict(zip(unique, tokenized, strict=True))
            tokenized = [by_text[t] for t in texts]
        keep = frozenset(config.upos)
        items = [
            [(t.lemma if config.lemmatize else t.surface) for t in toks if t.upos in keep]
            for toks in tokenized
        ]
    else:
        items = [[w.strip() for w in e.words] for e in examples]
        if config.lemmatize and tokenizer is not None:
            unique = sorted({w for ws in items for w in ws})
            lemmas = {
                w: joiner.join(t.lemma for t in toks) or w
                for w, toks in zip(unique, tokenizer.tokenize_batch(unique), strict=True)
            }
            items = [[lemmas[w] for w in ws] for ws in items]
    if lowercase:
        items = [[w.lower() for w in ws] for ws in items]
    return items


def filter_items(
    items: list[list[str]], config: MiningConfig, lang: str | None
) -> list[list[str]]:
    """``items`` without stopwords, extra stopwords and (with ``drop_noise``) noise."""
    stop = get_stopwords(lang) if config.stopwords else frozenset()
    stop = stop | frozenset(config.extra_stopwords)
    verdict: dict[str, bool] = {}

    def ok(word: str) -> bool:
        if word not in verdict:
            verdict[word] = bool(word) and word.lower() not in stop and not (
                config.drop_noise and is_noise(word, lang)
            )
        return verdict[word]

    return [[w for w in ws if ok(w)] for ws in items]


def count_matrix(items: Sequence[Sequence[str]]) -> tuple[csr_matrix, list[str]]:
    """Count items into a sparse ``(num_examples, num_words)`` matrix and its vocabulary.

    Words are numbered in order of first occurrence.
    """
    from scipy.sparse import csr_matrix

    vocab: dict[str, int] = {}
    indices: list[int] = []
    indptr = [0]
    for ws in items:
        indices.extend(vocab.setdefault(w, len(vocab)) for w in ws)
        indptr.append(len(indices))
    matrix = csr_matrix(
        (np.ones(len(indices)), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
        shape=(len(items), len(vocab)),
    )
    matrix.sum_duplicates()
    return matrix, list(vocab)
