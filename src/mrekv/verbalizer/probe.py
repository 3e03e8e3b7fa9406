"""A model-free probe of how informative label words are: count them in held-out texts.

This is a diagnostic, not a classifier to use or report as a method: it predicts
the class whose label words occur in a text, with no language model, to compare
knowledge sources (mined vs KPT vs manual words) cheaply and to see how many
texts contain any label word at all (coverage).

Matching. Each text is split into words by the language's word tokenizer; a label
word matches a text when (lower-cased, by default):

* it equals a word's surface or lemma (single words);
* its space-separated parts equal consecutive surfaces, or consecutive lemmas
  (multiword words such as "go through" / "battery life");
* in Japanese and Chinese, which are written without spaces, it also matches as a
  substring of the text when it is at least 2 characters long (the tokenizer may
  split a mined word such as 企業業績 differently; single characters would match
  inside unrelated words, so they match whole words only).

Each distinct label word counts once per text, however often it occurs. In
English a label word that the tokenizer itself splits (``can't`` -> ``ca`` ``n't``)
only matches when written as those parts separated by spaces.

Class scores. A class scores the summed weights of its matched words; with
``normalise=True`` (default) that sum is divided by the summed weights of all its
words, so a class with 300 words does not win only because it has more chances to
match. Weights: "uniform" (1 each), "score" (the mining score), or "idf"
(``ln(K / k_w)`` where ``k_w`` of the ``K`` classes list the word: a word listed by
every class weighs nothing).

Prediction. The best-scoring class; a text with no matching word, or with all
scores 0, gets ``default``; ties go to ``default`` if it is tied, else to the first
tied class in class order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from mrekv.data.example import LANGS
from mrekv.errors import ConfigError, unknown_choice
from mrekv.tokenizers.base import Token
from mrekv.verbalizer.label_words import LabelWords

if TYPE_CHECKING:
    from mrekv.tokenizers.base import WordTokenizer

Weighting = Literal["uniform", "score", "idf"]
WEIGHTINGS: tuple[str, ...] = get_args(Weighting)
_UNSPACED = ("ja", "zh")


@dataclass(frozen=True)
class ClassCounts:
    """Per-class tallies of a probe run.

    Args:
        support: texts whose gold label is the class.
        predicted: texts predicted as the class.
        correct: texts of the class predicted correctly.
        matched: texts where at least one of the class's words matched.
    """

    support: int
    predicted: int
    correct: int
    matched: int


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of :func:`probe_label_words`.

    Args:
        classes: the class order of ``scores``.
        accuracy: fraction of texts predicted correctly.
        macro_f1: scikit-learn's macro-averaged F1 over ``classes``.
        coverage: fraction of texts where any label word matched.
        predictions: the predicted class of each text.
        scores: ``(num_texts, num_classes)`` class scores.
        per_class: :class:`ClassCounts` of each class.
        default: the fallback class used for texts with no match.
    """

    classes: tuple[str, ...]
    accuracy: float
    macro_f1: float
    coverage: float
    predictions: tuple[str, ...]
    scores: np.ndarray
    per_class: dict[str, ClassCounts]
    default: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-text predictions and scores)."""
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "coverage": self.coverage,
            "n": len(self.predictions),
            "default": self.default,
            "per_class": {c: vars(v).copy() for c, v in self.per_class.items()},
        }


def _class_weights(
    label_words: LabelWords, weighting: str, normalise: bool, lowercase: bool
) -> list[dict[str, float]]:
    """Per class: distinct (normalised-case) word -> weight, ready to sum over matches."""
    per_class: list[dict[str, float]] = []
    for c in label_words.classes:
        weights: dict[str, float] = {}
        for lw in label_words.words[c]:
            word = " ".join(lw.word.lower().split() if lowercase else lw.word.split())
            if word and word not in weights:
                weights[word] = float(lw.score) if weighting == "score" else 1.0
        per_class.append(weights)
    if weighting == "idf":
        k = len(per_class)
        listed: dict[str, int] = {}
        for weights in per_class:
            for word in weights:
                listed[word] = listed.get(word, 0) + 1
        per_class = [{w: math.log(k / listed[w]) for w in weights} for weights in per_class]
    if normalise:
        out = []
        for weights in per_class:
            total = sum(v for v in weights.values() if v > 0)
            out.append({w: (v / total if total > 0 else 0.0) for w, v in weights.items()})
        per_class = out
    return per_class


def _matches(
    tokens: Sequence[Token],
    text: str,
    vocab: frozenset[str],
    ngram_sizes: Sequence[int],
    substr: dict[int, frozenset[str]],
    lowercase: bool,
) -> set[str]:
    """The label words (from ``vocab`` / ``substr``) that occur in one text."""
    surfaces = [t.surface.lower() if lowercase else t.surface for t in tokens]
    lemmas = [t.lemma.lower() if lowercase else t.lemma for t in tokens]
    found = (set(surfaces) | set(lemmas)) & vocab
    for n in ngram_sizes:
        for seq in (surfaces, lemmas):
            grams = (" ".join(seq[i : i + n]) for i in range(len(seq) - n + 1))
            found.update(g for g in grams if g in vocab)
    if substr:
        norm = text.lower() if lowercase else text
        for size, words in substr.items():
            grams = (norm[i : i + size] for i in range(len(norm) - size + 1))
            found.update(words.intersection(grams))
    return found


def probe_label_words(
    label_words: LabelWords,
    texts: Sequence[str],
    labels: Sequence[str],
    lang: str | None,
    *,
    tokenizer: WordTokenizer | None = None,
    tokens: Sequence[Sequence[Token]] | None = None,
    weighting: Weighting | str = "uniform",
    normalise: bool = True,
    lowercase: bool = True,
    default: str | None = None,
) -> ProbeResult:
    """Score texts by the label words they contain (a model-free diagnostic, not a classifier).

    See the module docstring for the matching, weighting and tie rules.

    Args:
        label_words: the label words of each class.
        texts: held-out texts (never the data the words were mined from).
        labels: their gold classes (each one of ``label_words.classes``).
        lang: "en", "ja" or "zh" (picks the word tokenizer and substring matching).
        tokenizer: the word tokenizer; default ``mrekv.tokenizers.get_tokenizer(lang)``.
        tokens: the texts already tokenized (then no tokenizer is used).
        weighting: "uniform", "score" or "idf".
        normalise: divide each class's matched weight by its total weight.
        lowercase: compare lower-cased words and texts.
        default: the class predicted when nothing matches; default: the first class
            (pass the most frequent training class for a fair baseline).

    Returns:
        A :class:`ProbeResult` with accuracy, macro-F1, coverage, per-class counts,
        predictions and scores.

    Raises:
        ConfigError: an unknown weighting / language / default class, a label that is
            not a class (with its index), or mismatched lengths.

    Example:
        >>> lw = LabelWords.from_lists(["neg", "pos"], [["bad"], ["good"]])
        >>> probe_label_words(lw, ["a good film"], ["pos"], "en").accuracy  # doctest: +SKIP
        1.0
    """
    if weighting not in WEIGHTINGS:
        raise ConfigError(unknown_choice("probe weighting", weighting, WEIGHTINGS))
    if lang is not None and lang not in LANGS:
        raise ConfigError(unknown_choice("language", lang, LANGS))
    classes = label_words.classes
    if len(texts) != len(labels):
        raise ConfigError(f"{len(texts)} texts but {len(labels)} labels")
    if tokens is not None and len(tokens) != len(texts):
        raise ConfigError(f"{len(texts)} texts but {len(tokens)} tokenized texts")
    default = classes[0] if default is None else default
    if default not in classes:
        raise ConfigError(unknown_choice("default class", default, classes))
    index = {c: i for i, c in enumerate(classes)}
    for i, label in enumerate(labels):
        if label not in index:
            raise ConfigError(f"label {i}: " + unknown_choice("class", label, classes))

    if tokens is None:
        if tokenizer is None:
            if lang is None:
                raise ConfigError("pass lang= or tokenizer= to tokenize the texts")
            from mrekv.tokenizers import get_tokenizer

            tokenizer = get_tokenizer(lang)
        tokens = tokenizer.tokenize_batch(list(texts))

    weights = _class_weights(label_words, weighting, normalise, lowercase)
    vocab = frozenset(w for ws in weights for w in ws)
    ngram_sizes = sorted({len(w.split()) for w in vocab if " " in w})
    substr: dict[int, frozenset[str]] = {}
    if lang in _UNSPACED:
        by_size: dict[int, set[str]] = {}
        for w in vocab:
            for form in {w, w.replace(" ", "")}:
                if len(form) >= 2:
                    by_size.setdefault(len(form), set()).add(form)
        substr = {n: frozenset(ws) for n, ws in sorted(by_size.items())}
    # substring forms map back to the label word they came from
    form_of = {
        w.replace(" ", ""): w for w in vocab if " " in w and w.replace(" ", "") not in vocab
    }

    k = len(classes)
    scores = np.zeros((len(texts), k))
    matched_any = np.zeros(len(texts), dtype=bool)
    class_matched = np.zeros(k, dtype=np.int64)
    for i, (toks, text) in enumerate(zip(tokens, texts, strict=True)):
        hits_here = _matches(toks, text, vocab, ngram_sizes, substr, lowercase)
        found = {form_of.get(w, w) for w in hits_here}
        if not found:
            continue
        matched_any[i] = True
        for c, ws in enumerate(weights):
            hits = [ws[w] for w in found if w in ws]
            if hits:
                class_matched[c] += 1
                scores[i, c] = sum(hits)

    default_id = index[default]
    predictions = []
    for row in scores:
        best = row.max()
        if best <= 0:
            predictions.append(default)
            continue
        tied = np.flatnonzero(row == best)
        predictions.append(classes[default_id] if default_id in tied else classes[int(tied[0])])

    from sklearn.metrics import accuracy_score, f1_score

    gold = list(labels)
    n = len(gold)
    per_class = {
        c: ClassCounts(
            support=sum(1 for g in gold if g == c),
            predicted=sum(1 for p in predictions if p == c),
            correct=sum(1 for g, p in zip(gold, predictions, strict=True) if g == p == c),
            matched=int(class_matched[j]),
        )
        for j, c in enumerate(classes)
    }
    return ProbeResult(
        classes=classes,
        accuracy=float(accuracy_score(gold, predictions)) if n else 0.0,
        macro_f1=float(
            f1_score(gold, predictions, labels=list(classes), average="macro", zero_division=0)
        )
        if n
        else 0.0,
        coverage=float(matched_any.mean()) if n else 0.0,
        predictions=tuple(predictions),
        scores=scores,
        per_class=per_class,
        default=default,
    )
