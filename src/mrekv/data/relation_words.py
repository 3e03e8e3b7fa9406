"""Relation words: the words of each class that a knowledge split singles out.

They are the items of MRE-mix's ``SCPOS:RW`` family
(:func:`mrekv.data.mre_mix.build_mre_examples`). Candidates are content words
(UPOS NOUN, PROPN, ADJ, VERB or ADV, with at least one letter), compared by
lemma. On a **knowledge split** given explicitly (``knowledge=``), never on
the texts being labelled, each lemma ``w`` and class ``c`` get the 2×2 table
of knowledge texts ``a`` = class ``c`` containing ``w``, ``b`` = other
classes containing ``w``, ``c'`` = class ``c`` without ``w``, ``d`` = the
rest, and the chi-square statistic with one degree of freedom and no
continuity correction, ``N(ad − bc)² / ((a+b)(c'+d)(a+c')(b+d))``. ``w`` is
a relation word of ``c`` when it occurs in at least ``min_count`` knowledge
texts, is over-represented in ``c`` (``ad > bc``) and its statistic reaches
the chi-square critical value of ``p_value`` (3.841 for 0.05; one test per
(word, class) pair, uncorrected). A token of a sentence of class ``y`` is a
relation word when its lemma is a relation word of ``y``; a sentence whose
class the knowledge split lacks gets none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from mrekv.errors import ConfigError

if TYPE_CHECKING:
    from mrekv.tokenizers.base import WordTokenizer

#: UPOS tags of relation-word candidates (content words).
RELATION_UPOS = frozenset({"NOUN", "PROPN", "ADJ", "VERB", "ADV"})


def chi_square_2x2(a: float, b: float, c: float, d: float) -> float:
    """Chi-square statistic (1 dof, no continuity correction) of the table [[a, b], [c, d]].

    Returns 0 when a row or column of the table is empty.

    Example:
        >>> chi_square_2x2(4, 0, 0, 4)
        8.0
    """
    n = a + b + c + d
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    if denominator == 0:
        return 0.0
    return n * (a * d - b * c) ** 2 / denominator


def chi_square_critical(p_value: float) -> float:
    """The chi-square value (1 dof) exceeded with probability ``p_value``."""
    if not 0.0 < p_value < 1.0:
        raise ConfigError(f"p_value must be in (0, 1), got {p_value!r}")
    from scipy.stats import chi2

    return float(chi2.isf(p_value, 1))


@dataclass(frozen=True)
class RelationWords:
    """Words significantly associated with each class on a knowledge split.

    Args:
        words: class -> the lemmas that are relation words of that class.
        scores: class -> lemma -> chi-square statistic, for the relation words.
        min_count: the minimum number of knowledge texts a word occurred in.
        p_value: the significance level used.
        n_texts: the number of knowledge texts.
    """

    words: Mapping[str, frozenset[str]]
    scores: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    min_count: int = 3
    p_value: float = 0.05
    n_texts: int = 0

    def of(self, label: str) -> frozenset[str]:
        """The relation words of class ``label`` (empty for an unknown class)."""
        return self.words.get(label, frozenset())


def has_letters(word: str) -> bool:
    """True when ``word`` holds at least one letter."""
    return any(ch.isalpha() for ch in word)


def word_tokenizer(lang: str, tokenizer: WordTokenizer | None) -> WordTokenizer:
    """``tokenizer``, or the default word tokenizer of ``lang``."""
    if tokenizer is not None:
        return tokenizer
    from mrekv.tokenizers import get_tokenizer

    return get_tokenizer(lang)


def check_lengths(texts: Sequence[str], labels: Sequence[str], what: str) -> None:
    """ConfigError naming ``what`` unless there is one label per text."""
    if len(texts) != len(labels):
        raise ConfigError(f"{what}: {len(texts)} texts but {len(labels)} labels")


def mine_relation_words(
    texts: Sequence[str],
    labels: Sequence[str],
    lang: str,
    *,
    tokenizer: WordTokenizer | None = None,
    min_count: int = 3,
    p_value: float = 0.05,
) -> RelationWords:
    """Find the relation words of each class on a knowledge split (see the module docstring).

    Args:
        texts: the knowledge texts (never the data that will be evaluated).
        labels: their classes.
        lang: ``"en"``, ``"ja"`` or ``"zh"``.
        tokenizer: the word tokenizer (default: ``get_tokenizer(lang)``).
        min_count: the minimum number of knowledge texts a word must occur in.
        p_value: the significance level of the chi-square test.

    Returns:
        The relation words per class, with their chi-square statistics.

    Raises:
        ConfigError: lengths differ, ``min_count < 1`` or ``p_value`` outside (0, 1).

    Example:
        >>> rw = mine_relation_words(["good food"] * 3 + ["bad food"] * 3,
        ...                          ["pos"] * 3 + ["neg"] * 3, "en")
        >>> sorted(rw.of("pos")), sorted(rw.of("neg"))
        (['good'], ['bad'])
    """
    check_lengths(texts, labels, "knowledge")
    if min_count < 1:
        raise ConfigError(f"min_count must be at least 1, got {min_count!r}")
    critical = chi_square_critical(p_value)
    tokens = word_tokenizer(lang, tokenizer).tokenize_batch(texts)
    class_size: dict[str, int] = {}
    with_word: dict[tuple[str, str], int] = {}  # (lemma, class) -> texts
    doc_freq: dict[str, int] = {}
    for label, sentence in zip(labels, tokens, strict=True):
        class_size[label] = class_size.get(label, 0) + 1
        lemmas = {t.lemma for t in sentence if t.upos in RELATION_UPOS and has_letters(t.lemma)}
        for lemma in lemmas:
            doc_freq[lemma] = doc_freq.get(lemma, 0) + 1
            with_word[lemma, label] = with_word.get((lemma, label), 0) + 1
    n = len(texts)
    words: dict[str, set[str]] = {c: set() for c in class_size}
    scores: dict[str, dict[str, float]] = {c: {} for c in class_size}
    for (lemma, label), a in with_word.items():
        df = doc_freq[lemma]
        if df < min_count:
            continue
        b = df - a
        c = class_size[label] - a
        d = n - a - b - c
        if a * d <= b * c:
            continue
        score = chi_square_2x2(a, b, c, d)
        if score >= critical:
            words[label].add(lemma)
            scores[label][lemma] = score
    return RelationWords(
        words=MappingProxyType({c: frozenset(w) for c, w in words.items()}),
        scores=MappingProxyType({c: MappingProxyType(s) for c, s in scores.items()}),
        min_count=min_count,
        p_value=p_value,
        n_texts=n,
    )
