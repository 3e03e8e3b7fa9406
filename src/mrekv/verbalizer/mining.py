"""Mine label words per class from word-level labels (or from the text) of MRE examples.

The pipeline is: extract and normalise the items of every example (its word-level
labels, or the content words of its text), drop stopwords and noise, count them
into an examples x words matrix, score every (class, word) pair with one of the
pure score functions, apply the cross-class policy and keep the ``top_k``
best words of each class.

The options are :class:`~mrekv.verbalizer.mining_config.MiningConfig`, the
items come from :mod:`mrekv.verbalizer.mining_items` and the score functions
(frequency, tf-idf, PMI, chi2; formulas there) from
:mod:`mrekv.verbalizer.mining_scores`; all of them can be imported from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from mrekv.data.example import MREExample
from mrekv.errors import ConfigError, unknown_choice
from mrekv.verbalizer.label_words import LabelWord, LabelWords
from mrekv.verbalizer.mining_config import CROSS_CLASS as CROSS_CLASS
from mrekv.verbalizer.mining_config import METHODS as METHODS
from mrekv.verbalizer.mining_config import SOURCES as SOURCES
from mrekv.verbalizer.mining_config import CrossClass, MiningMethod, MiningSource
from mrekv.verbalizer.mining_config import MiningConfig as MiningConfig
from mrekv.verbalizer.mining_items import class_name_words as class_name_words
from mrekv.verbalizer.mining_items import count_matrix as count_matrix
from mrekv.verbalizer.mining_items import extract_items, filter_items, resolve_lang
from mrekv.verbalizer.mining_scores import chi2_scores as chi2_scores
from mrekv.verbalizer.mining_scores import frequency_scores as frequency_scores
from mrekv.verbalizer.mining_scores import pmi_matrix as pmi_matrix
from mrekv.verbalizer.mining_scores import pmi_scores as pmi_scores
from mrekv.verbalizer.mining_scores import tfidf_scores as tfidf_scores

if TYPE_CHECKING:
    from mrekv.tokenizers.base import WordTokenizer


# --------------------------------------------------------------------------- selection


def _ranked(
    scores: np.ndarray, counts: np.ndarray, words: Sequence[str], mask: np.ndarray
) -> list[list[int]]:
    """Per class, candidate word indices best first (score, then count, then word)."""
    order_by_word = np.argsort(np.asarray(words, dtype=object), kind="stable")
    word_rank = np.empty(len(words), dtype=np.int64)
    word_rank[order_by_word] = np.arange(len(words))
    ranked = []
    for c in range(scores.shape[0]):
        idx = np.flatnonzero(mask[c])
        order = np.lexsort((word_rank[idx], -counts[c, idx], -scores[c, idx]))
        ranked.append(idx[order].tolist())
    return ranked


def _select(
    ranked: list[list[int]], k: int, policy: str, banned: list[set[int]]
) -> list[list[int]]:
    """Take the first ``k`` allowed words per class; with "drop", ban words shared by classes."""
    banned_all: set[int] = set()
    while True:
        chosen = [
            [w for w in r if w not in banned[c] and w not in banned_all][:k]
            for c, r in enumerate(ranked)
        ]
        if policy != "drop":
            return chosen
        seen: dict[int, int] = {}
        for ws in chosen:
            for w in ws:
                seen[w] = seen.get(w, 0) + 1
        shared = {w for w, n in seen.items() if n > 1}
        if not shared:
            return chosen
        banned_all |= shared


def mine_label_words(
    examples: Sequence[MREExample],
    method: MiningMethod | str = "frequency",
    top_k: int = 100,
    *,
    classes: Sequence[str] | None = None,
    lang: str | None = None,
    source: MiningSource | str = "word_labels",
    tokenizer: WordTokenizer | None = None,
    lemmatize: bool = False,
    lowercase: bool | None = None,
    stopwords: bool = True,
    extra_stopwords: Iterable[str] = (),
    min_count: int = 1,
    drop_noise: bool = True,
    cross_class: CrossClass | str = "keep",
    class_name_first: bool = True,
    upos: Iterable[str] = ("NOUN", "PROPN", "ADJ"),
    pmi_alpha: float = 1.0,
    split_name: str | None = None,
    show_progress: bool = False,
) -> LabelWords:
    """Mine the ``top_k`` label words of every class from MRE examples.

    Args:
        examples: the knowledge split (never the few-shot train or evaluation data).
        method: "frequency", "tfidf", "pmi" or "chi2" (see the module docstring).
        top_k: words kept per class (at least the class-name words when
            ``class_name_first``).
        classes: class order; default: the sorted distinct ``text_label`` s. Examples of
            a class not listed are an error.
        lang: "en", "ja" or "zh"; default: the examples' ``lang``.
        source: "word_labels" mines ``example.words`` (the word-level items);
            "text" mines the content words (``upos``) of ``example.text`` found by the
            word tokenizer, for corpora without word labels.
        tokenizer: the word tokenizer; default ``mrekv.tokenizers.get_tokenizer(lang)``
            when ``source="text"``. With ``source="word_labels"`` it is only used to
            lemmatize the items (multiword items: lemmas joined by a space in English,
            by nothing in Japanese / Chinese).
        lemmatize: use lemmas instead of surfaces.
        lowercase: lower-case the items; default True for English only.
        stopwords: drop the language's stopwords (:func:`mrekv.verbalizer.stopwords.get_stopwords`).
        extra_stopwords: more words to drop.
        min_count: drop words with fewer occurrences than this over all classes.
        drop_noise: drop punctuation, numbers and single characters
            (:func:`mrekv.verbalizer.stopwords.is_noise`).
        cross_class: "keep" a word in every class it ranks in; "drop" words that would
            be label words of several classes (refilling from the next candidates);
            "assign" each word only to its most associated class (highest score; for
            "frequency" the highest relative frequency ``count / class total``).
        class_name_first: the class name's words (:func:`class_name_words`) lead the
            class's list, as in KPT files, with the class's best score.
        upos: content-word UPOS tags used with ``source="text"``.
        pmi_alpha: smoothing of the "pmi" method.
        split_name: the name of the knowledge split, recorded in the provenance.
        show_progress: show a progress bar while tokenizing.

    Returns:
        The label words, best first, with scores, per-class counts and provenance
        (method, options, number of examples, class counts, split name, mrekv version).

    Raises:
        ConfigError: an unknown method / policy / source / language, a bad option, no
            examples, or an example whose class is not in ``classes`` (with its index).

    Example:
        >>> ex = [MREExample("Great pasta.", "pos", word_labels=(("pos", "Great"),), lang="en"),
        ...       MREExample("Awful.", "neg", word_labels=(("neg", "Awful"),), lang="en")]
        >>> mine_label_words(ex, "frequency", 5, class_name_first=False).as_lists()
        [['awful'], ['great']]
    """
    from mrekv._version import __version__

    config = MiningConfig(
        method=method,  # type: ignore[arg-type]
        top_k=top_k,
        source=source,  # type: ignore[arg-type]
        lemmatize=lemmatize,
        lowercase=lowercase,
        stopwords=stopwords,
        extra_stopwords=tuple(extra_stopwords),
        min_count=min_count,
        drop_noise=drop_noise,
        cross_class=cross_class,  # type: ignore[arg-type]
        class_name_first=class_name_first,
        upos=tuple(upos),
        pmi_alpha=pmi_alpha,
    )
    examples = list(examples)
    if not examples:
        raise ConfigError("no examples to mine label words from")
    lang = resolve_lang(examples, lang)
    class_list = list(classes) if classes is not None else sorted({e.text_label for e in examples})
    if len(set(class_list)) != len(class_list):
        raise ConfigError(f"duplicate class names in {class_list!r}")
    class_index = {c: i for i, c in enumerate(class_list)}
    class_ids = np.empty(len(examples), dtype=np.int64)
    for i, e in enumerate(examples):
        if e.text_label not in class_index:
            raise ConfigError(f"example {i}: " + unknown_choice("class", e.text_label, class_list))
        class_ids[i] = class_index[e.text_label]
    num_classes = len(class_list)

    if config.source == "word_labels" and not any(e.word_labels for e in examples):
        raise ConfigError(
            f"none of the {len(examples)} examples has word labels to mine: mine the texts "
            "instead (source='text', `mrekv mine --source text`) or build word labels first "
            "(`mrekv build-mre`)"
        )
    items = filter_items(
        extract_items(examples, config, lang, tokenizer, show_progress), config, lang
    )
    x, vocab = count_matrix(items)
    from scipy.sparse import csr_matrix

    y = csr_matrix(
        (np.ones(len(examples)), (np.arange(len(examples)), class_ids)),
        shape=(len(examples), num_classes),
    )
    sparse_counts = (y.T @ x).tocsr()
    counts = np.asarray(sparse_counts.toarray())
    presence = (x > 0).astype(np.float64)
    doc_counts = np.asarray((y.T @ presence).toarray())
    class_sizes = np.bincount(class_ids, minlength=num_classes).astype(np.float64)

    if config.method == "frequency":
        scores = frequency_scores(counts)
    elif config.method == "tfidf":
        scores = tfidf_scores(sparse_counts)
    elif config.method == "pmi":
        scores = pmi_scores(doc_counts, class_sizes, alpha=config.pmi_alpha)
    elif x.shape[1] == 0:  # every item filtered out (stopwords, noise): nothing to score
        scores = np.zeros((num_classes, 0))
    else:
        scores = chi2_scores(presence, class_ids, num_classes)

    mask = (counts > 0) & (scores > 0) & (counts.sum(axis=0) >= config.min_count)[None, :]
    if config.cross_class == "assign" and num_classes > 1:
        assoc = scores
        if config.method == "frequency":
            totals = np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
            assoc = counts / totals
        assoc = np.where(mask, assoc, -np.inf)
        best = np.argmax(assoc, axis=0)
        mask = mask & (np.arange(num_classes)[:, None] == best[None, :])

    lower_names = config.lowercase if config.lowercase is not None else lang == "en"
    name_words = [
        class_name_words(c, lowercase=lower_names) if config.class_name_first else []
        for c in class_list
    ]
    word_id = {w: i for i, w in enumerate(vocab)}
    banned: list[set[int]] = [set() for _ in class_list]
    for c, names in enumerate(name_words):
        ids = {word_id[w] for w in names if w in word_id}
        banned[c] |= ids
        if config.cross_class != "keep":
            for other in range(num_classes):
                if other != c:
                    banned[other] |= ids
    ranked = _ranked(scores, counts, vocab, mask)
    chosen = _select(
        ranked,
        config.top_k,
        config.cross_class,
        banned,
    )

    words: dict[str, tuple[LabelWord, ...]] = {}
    for c, name in enumerate(class_list):
        mined = [
            LabelWord(vocab[w], _clean(scores[c, w]), int(counts[c, w])) for w in chosen[c]
        ]
        head_score = mined[0].score if mined else 1.0
        head = [
            LabelWord(
                w,
                max(head_score, _clean(scores[c, word_id[w]])) if w in word_id else head_score,
                int(counts[c, word_id[w]]) if w in word_id else 0,
            )
            for w in name_words[c]
        ]
        rest = mined[: max(config.top_k - len(head), 0)]
        words[name] = tuple(head + rest)

    provenance = {
        "method": config.method,
        "top_k": config.top_k,
        "source": config.source,
        "lang": lang,
        "options": config.to_dict(),
        "num_examples": len(examples),
        "class_counts": {c: int(class_sizes[i]) for i, c in enumerate(class_list)},
        "vocabulary_size": len(vocab),
        "split_name": split_name,
        "mrekv_version": __version__,
    }
    return LabelWords(tuple(class_list), words, provenance)


def _clean(value: float) -> float:
    """A finite Python float rounded to 6 significant digits (stable JSON)."""
    v = float(value)
    return 0.0 if not math.isfinite(v) else float(f"{v:.6g}")
