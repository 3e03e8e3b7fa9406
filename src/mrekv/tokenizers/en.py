"""English word tokenizer: NLTK's Treebank tokenizer, perceptron tagger and WordNet lemmas.

Needs the ``en`` extra (``pip install "mrekv[en]"``) and NLTK data:
``taggers/averaged_perceptron_tagger_eng`` (required), ``corpora/wordnet``
(lemmas; without it the lemma is the lower-cased word) and
``tokenizers/punkt_tab`` (sentence splitting; optional). NLTK finds its data
through the ``NLTK_DATA`` environment variable or ``nltk.data.path``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mrekv.errors import MissingDependencyError
from mrekv.tokenizers.base import Token
from mrekv.tokenizers.upos import ptb_upos

TAGGER_RESOURCE = "taggers/averaged_perceptron_tagger_eng"
WORDNET_RESOURCE = "corpora/wordnet/"
PUNKT_RESOURCE = "tokenizers/punkt_tab/english/"
#: Tokens are immutable: one per distinct (word, PTB tag), cleared past this many entries.
CACHE_SIZE = 200_000

#: UPOS -> WordNet POS for lemmatization; other classes keep the lower-cased word.
_WORDNET_POS = {"NOUN": "n", "VERB": "v", "AUX": "v", "ADJ": "a", "ADV": "r"}
#: Treebank writes double quotes as `` and ''; the surface is given back as in the text.
_QUOTES = frozenset({"``", "''"})


def _import_nltk() -> Any:
    try:
        import nltk
    except ImportError as exc:
        raise MissingDependencyError(
            'English word tokenization needs nltk: pip install "mrekv[en]"'
        ) from exc
    return nltk


def _has_resource(nltk: Any, name: str) -> bool:
    try:
        nltk.data.find(name)
    except LookupError:
        return False
    return True


def _load_tagger(nltk: Any) -> Any:
    from nltk.tag import PerceptronTagger

    try:
        return PerceptronTagger(lang="eng")
    except LookupError as exc:
        raise MissingDependencyError(
            f"NLTK resource {TAGGER_RESOURCE!r} was not found (searched: "
            f"{', '.join(map(str, nltk.data.path))}). Install it with "
            "`python -m nltk.downloader averaged_perceptron_tagger_eng`, or point the "
            "NLTK_DATA environment variable at a folder that holds it."
        ) from exc


class EnglishTokenizer:
    """English words with Penn Treebank tags mapped to UPOS and WordNet lemmas.

    Words come from NLTK's ``TreebankWordTokenizer`` (after Punkt sentence
    splitting when that is enabled), tags from the averaged perceptron tagger.
    ``lemma`` is the WordNet lemma of the lower-cased word for nouns, verbs,
    adjectives and adverbs (``dogs`` -> ``dog``, ``were`` -> ``be``),
    the surface for proper nouns, and the lower-cased word otherwise or when
    WordNet is not installed.

    Args:
        sentence_split: split into sentences with Punkt first (the Treebank tokenizer
            only separates a sentence-final period). ``None``: when ``punkt_tab`` is
            installed.
        lemmatize: use WordNet lemmas when WordNet is installed.

    Raises:
        MissingDependencyError: nltk or the perceptron tagger data is missing, or
            ``sentence_split=True`` and ``punkt_tab`` is missing.

    Example:
        >>> tok = EnglishTokenizer()
        >>> [(t.surface, t.upos, t.lemma) for t in tok.tokenize("The dogs were running")][1:]
        [('dogs', 'NOUN', 'dog'), ('were', 'VERB', 'be'), ('running', 'VERB', 'run')]
    """

    lang = "en"

    def __init__(self, *, sentence_split: bool | None = None, lemmatize: bool = True) -> None:
        nltk = _import_nltk()
        from nltk.tokenize import TreebankWordTokenizer

        self._word_tokenize = TreebankWordTokenizer().tokenize
        self._tagger = _load_tagger(nltk)
        has_punkt = _has_resource(nltk, PUNKT_RESOURCE)
        if sentence_split and not has_punkt:
            raise MissingDependencyError(
                f"sentence_split=True needs the NLTK resource {PUNKT_RESOURCE!r}: "
                "`python -m nltk.downloader punkt_tab` (or set NLTK_DATA)"
            )
        self.sentence_split = has_punkt if sentence_split is None else bool(sentence_split)
        self._sent_tokenize = None
        if self.sentence_split:
            from nltk.tokenize import PunktTokenizer

            self._sent_tokenize = PunktTokenizer("english").tokenize
        self.lemmatize = bool(lemmatize) and _has_resource(nltk, WORDNET_RESOURCE)
        self._lemmatizer = None
        if self.lemmatize:
            from nltk.stem import WordNetLemmatizer

            self._lemmatizer = WordNetLemmatizer()
        self._cache: dict[tuple[str, str], Token] = {}

    def __repr__(self) -> str:
        return (
            f"EnglishTokenizer(sentence_split={self.sentence_split!r}, "
            f"lemmatize={self.lemmatize!r})"
        )

    def _make(self, word: str, tag: str) -> Token:
        upos = ptb_upos(tag)
        if upos == "PROPN":
            lemma = word
        else:
            lemma = word.lower()
            wn_pos = _WORDNET_POS.get(upos)
            if wn_pos is not None and self._lemmatizer is not None:
                lemma = self._lemmatizer.lemmatize(lemma, wn_pos)
        return Token(word, lemma, upos, tag)

    def _sentences(self, text: str) -> list[list[str]]:
        split = self._word_tokenize
        if self._sent_tokenize is None:
            return [split(text)]
        return [split(s) for s in self._sent_tokenize(text)]

    def _tokens(self, tagged: list[list[tuple[str, str]]], quote: bool) -> list[Token]:
        cache = self._cache
        out: list[Token] = []
        for sentence in tagged:
            for pair in sentence:
                token = cache.get(pair)
                if token is None:
                    if len(cache) >= CACHE_SIZE:
                        cache.clear()
                    token = cache[pair] = self._make(*pair)
                if quote and token.surface in _QUOTES:
                    token = Token('"', '"', token.upos, token.tag)
                out.append(token)
        return out

    def tokenize(self, text: str) -> list[Token]:
        """Return the words of ``text`` (an empty list for empty text)."""
        tagged = self._tagger.tag_sents(self._sentences(text))
        return self._tokens(tagged, '"' in text)

    def clear_cache(self) -> None:
        """Forget the cached tokens (they are rebuilt as needed)."""
        self._cache.clear()

    def tokenize_batch(self, texts: Iterable[str]) -> list[list[Token]]:
        """Return the words of each text, in order (one ``tag_sents`` call for all)."""
        texts = list(texts)
        per_text = [self._sentences(t) for t in texts]
        flat = [s for sentences in per_text for s in sentences]
        tagged = iter(self._tagger.tag_sents(flat))
        out = []
        for text, sentences in zip(texts, per_text, strict=True):
            out.append(self._tokens([next(tagged) for _ in sentences], '"' in text))
        return out
