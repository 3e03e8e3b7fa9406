"""Mine label words per class from word-level labels (or from the text) of MRE examples.

The pipeline is: extract and normalise the items of every example (its word-level
labels, or the content words of its text), drop stopwords and noise, count them
into an examples x words matrix, score every (class, word) pair with one of the
pure score functions below, apply the cross-class policy and keep the ``top_k``
best words of each class.

Score functions take count matrices of shape ``(num_classes, num_words)`` and
return scores of the same shape (higher = more associated with the class):

* ``frequency``: occurrences of the word with the class (the MRE paper's WLI-KV).
* ``tfidf``: each class is one document; scikit-learn's ``TfidfTransformer``
  (smooth idf, l2-normalised rows) on the class x word count matrix.
* ``pmi``: smoothed positive PMI on example (document) counts, weighted by log count:
  ``max(0, log p(c|w) / p(c)) * log(1 + df(w, c))`` with
  ``p(c|w) = (df(w, c) + alpha) / (df(w) + alpha * K)`` and ``p(c) = N_c / N``,
  where ``df`` counts examples, ``K`` classes and ``N`` examples. The smoothing and
  the log-count weight keep words seen once from topping the list.
* ``chi2``: scikit-learn's ``chi2`` on the word presence matrix against each class
  one-vs-rest, signed: positive when the word occurs in more examples of the class
  than expected (``df(w, c) > df(w) * N_c / N``), negative otherwise. Only positively
  associated words are kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from mrekv.data.example import LANGS, MREExample
from mrekv.errors import ConfigError, unknown_choice
from mrekv.tokenizers.base import UPOS_TAGS, Token
from mrekv.verbalizer.label_words import LabelWord, LabelWords
from mrekv.verbalizer.stopwords import get_stopwords, is_noise

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from mrekv.tokenizers.base import WordTokenizer

MiningMethod = Literal["frequency", "tfidf", "pmi", "chi2"]
CrossClass = Literal["keep", "drop", "assign"]
MiningSource = Literal["word_labels", "text"]

METHODS: tuple[str, ...] = get_args(MiningMethod)
CROSS_CLASS: tuple[str, ...] = get_args(CrossClass)
SOURCES: tuple[str, ...] = get_args(MiningSource)

#: Separators that split a class name such as "Sci/Tech" or "Society & Culture" into words.
_CLASS_NAME_SPLIT = re.compile(r"\s*(?:/|&|\||,|、|・|\band\b)\s*")


@dataclass(frozen=True)
class MiningConfig:
    """The options of :func:`mine_label_words` (validated when built, saved in provenance).

    See :func:`mine_label_words` for the meaning of each field.
    """

    method: MiningMethod = "frequency"
    top_k: int = 100
    source: MiningSource = "word_labels"
    lemmatize: bool = False
    lowercase: bool | None = None
    stopwords: bool = True
    extra_stopwords: tuple[str, ...] = ()
    min_count: int = 1
    drop_noise: bool = True
    cross_class: CrossClass = "keep"
    class_name_first: bool = True
    upos: tuple[str, ...] = ("NOUN", "PROPN", "ADJ")
    pmi_alpha: float = 1.0

    def __post_init__(self) -> None:
        for name, value, choices in (
            ("mining method", self.method, METHODS),
            ("cross_class policy", self.cross_class, CROSS_CLASS),
            ("mining source", self.source, SOURCES),
        ):
            if value not in choices:
                raise ConfigError(unknown_choice(name, value, choices))
        if not isinstance(self.top_k, int) or self.top_k < 1:
            raise ConfigError(f"top_k must be an integer >= 1, got {self.top_k!r}")
        if not isinstance(self.min_count, int) or self.min_count < 1:
            raise ConfigError(f"min_count must be an integer >= 1, got {self.min_count!r}")
        if self.pmi_alpha < 0:
            raise ConfigError(f"pmi_alpha must be >= 0, got {self.pmi_alpha!r}")
        bad = [t for t in self.upos if t not in UPOS_TAGS]
        if bad:
            raise ConfigError(unknown_choice("UPOS tag", bad[0], UPOS_TAGS))
        object.__setattr__(self, "upos", tuple(self.upos))
        object.__setattr__(self, "extra_stopwords", tuple(self.extra_stopwords))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready options (lists for tuples)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MiningConfig:
        """Inverse of :meth:`to_dict`; an unknown key is a ConfigError listing the valid ones."""
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(f"unknown mining options {unknown!r}; valid options: {valid!r}")
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**values)


# --------------------------------------------------------------------------- scores


def frequency_scores(class_counts: np.ndarray) -> np.ndarray:
    """Frequency scores: the counts themselves.

    Args:
        class_counts: occurrences of each word with each class, ``(num_classes, num_words)``.

    Returns:
        Float scores, ``(num_classes, num_words)``.
    """
    return np.asarray(class_counts, dtype=np.float64).copy()


def tfidf_scores(class_counts: Any) -> np.ndarray:
    """Class-as-document TF-IDF (scikit-learn ``TfidfTransformer``, smooth idf, l2 rows).

    ``idf(w) = ln((1 + K) / (1 + n_classes_with(w))) + 1``; ``tfidf = count * idf``,
    then each class row is scaled to unit l2 norm.

    Args:
        class_counts: ``(num_classes, num_words)`` occurrence counts (dense or scipy sparse).

    Returns:
        ``(num_classes, num_words)`` dense scores.
    """
    from scipy.sparse import csr_matrix, issparse
    from sklearn.feature_extraction.text import TfidfTransformer

    counts = class_counts if issparse(class_counts) else np.asarray(class_counts, dtype=float)
    transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=False)
    return np.asarray(transformer.fit_transform(csr_matrix(counts, dtype=float)).toarray())


def pmi_matrix(
    class_doc_counts: np.ndarray, class_sizes: np.ndarray, *, alpha: float = 1.0
) -> np.ndarray:
    """Smoothed pointwise mutual information ``log p(c|w) / p(c)`` on example counts.

    Args:
        class_doc_counts: ``df(w, c)``, examples of class c containing w, ``(K, V)``.
        class_sizes: ``N_c``, examples per class, ``(K,)``.
        alpha: additive smoothing of ``df(w, c)`` (0 gives the plain PMI).

    Returns:
        ``(K, V)`` PMI values (natural log; ``-inf`` where ``df(w, c) = alpha = 0``).
    """
    df = np.asarray(class_doc_counts, dtype=np.float64)
    sizes = np.asarray(class_sizes, dtype=np.float64)
    k = df.shape[0]
    p_c = sizes / sizes.sum()
    p_c_given_w = (df + alpha) / (df.sum(axis=0, keepdims=True) + alpha * k)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p_c_given_w / p_c[:, None])


def pmi_scores(
    class_doc_counts: np.ndarray, class_sizes: np.ndarray, *, alpha: float = 1.0
) -> np.ndarray:
    """Positive smoothed PMI weighted by log count: ``max(0, PMI) * log(1 + df(w, c))``.

    Args:
        class_doc_counts: ``(K, V)`` example counts ``df(w, c)``.
        class_sizes: ``(K,)`` examples per class.
        alpha: additive smoothing (see :func:`pmi_matrix`).

    Returns:
        ``(K, V)`` non-negative scores.
    """
    df = np.asarray(class_doc_counts, dtype=np.float64)
    pmi = np.nan_to_num(pmi_matrix(df, class_sizes, alpha=alpha), nan=0.0, neginf=0.0)
    return np.maximum(pmi, 0.0) * np.log1p(df)


def chi2_scores(presence: Any, class_ids: np.ndarray, num_classes: int) -> np.ndarray:
    """Signed one-vs-rest chi-squared statistic of each word for each class.

    Args:
        presence: ``(num_examples, V)`` word presence matrix (0/1, dense or scipy sparse).
        class_ids: ``(num_examples,)`` class index of each example.
        num_classes: ``K``.

    Returns:
        ``(K, V)``: scikit-learn's ``chi2`` of the word against "class c vs the rest",
        positive when the word is over-represented in c, negative when under-represented.
    """
    from sklearn.feature_selection import chi2

    class_ids = np.asarray(class_ids)
    n = class_ids.shape[0]
    doc_freq = np.asarray(presence.sum(axis=0), dtype=np.float64).ravel()
    out = np.zeros((num_classes, doc_freq.shape[0]))
    for c in range(num_classes):
        in_class = class_ids == c
        size = int(in_class.sum())
        if size == 0 or size == n:
            continue
        stat, _ = chi2(presence, in_class.astype(np.int64))
        observed = np.asarray(presence[in_class].sum(axis=0), dtype=np.float64).ravel()
        expected = doc_freq * size / n
        out[c] = np.where(observed > expected, 1.0, -1.0) * np.nan_to_num(stat)
    return out


# --------------------------------------------------------------------------- items


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


def _resolve_lang(examples: Sequence[MREExample], lang: str | None) -> str | None:
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


def _extract_items(
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


def _filter_items(
    items: list[list[str]], config: MiningConfig, lang: str | None
) -> list[list[str]]:
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
    lang = _resolve_lang(examples, lang)
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

    items = _filter_items(
        _extract_items(examples, config, lang, tokenizer, show_progress), config, lang
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
