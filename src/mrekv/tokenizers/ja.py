"""Japanese word tokenizer: MeCab through fugashi, with the UniDic-lite dictionary.

Needs the ``ja`` extra (``pip install "mrekv[ja]"``: fugashi and unidic-lite).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mrekv.errors import MissingDependencyError
from mrekv.tokenizers.base import Token
from mrekv.tokenizers.upos import unidic_upos

#: Tokens are immutable, so the tokenizer keeps one per distinct (surface, feature string)
#: and clears the cache when it grows past this many entries.
CACHE_SIZE = 200_000


def _import_fugashi() -> tuple[Any, str]:
    try:
        import fugashi
        import unidic_lite
    except ImportError as exc:
        raise MissingDependencyError(
            f"Japanese word tokenization needs fugashi and unidic-lite ({exc.name} is missing): "
            'pip install "mrekv[ja]"'
        ) from exc
    return fugashi, unidic_lite.DICDIR


def _lemma(surface: str, lemma: str | None, orth_base: str | None) -> str:
    """UniDic lemma without its loanword-origin suffix, else orthBase, else the surface.

    UniDic writes the origin of loanwords after a hyphen (``ラーメン-Rahmen``); the
    part before it is the Japanese word.
    """
    for form in (lemma, orth_base):
        if form and form != "*":
            if "-" in form[1:]:
                form = form[0] + form[1:].split("-", 1)[0]
            return form
    return surface


class JapaneseTokenizer:
    """Japanese words with UniDic lemma and POS mapped to UPOS.

    ``tag`` is the UniDic POS joined with ``-`` (``名詞-普通名詞-一般``); ``lemma`` is
    UniDic's lemma (``食べ`` -> ``食べる``, ``おいしかっ`` -> ``美味しい``), or the
    surface for unknown words. Whitespace tokens (空白) are dropped.

    Args:
        mecab_args: extra MeCab options appended to the UniDic-lite dictionary options.

    Raises:
        MissingDependencyError: fugashi or unidic-lite is not installed.

    Example:
        >>> tok = JapaneseTokenizer()
        >>> [(t.surface, t.upos, t.lemma) for t in tok.tokenize("ラーメンを食べた")][2]
        ('食べ', 'VERB', '食べる')
    """

    lang = "ja"

    def __init__(self, *, mecab_args: str = "") -> None:
        fugashi, dicdir = _import_fugashi()
        self.mecab_args = mecab_args
        options = f'-d "{dicdir}" -r "{dicdir}/mecabrc" {mecab_args}'.strip()
        self._tagger = fugashi.Tagger(options)
        self._cache: dict[tuple[str, str], Token] = {}

    def __repr__(self) -> str:
        return f"JapaneseTokenizer(mecab_args={self.mecab_args!r})"

    def _make(self, node: Any) -> Token:
        f = node.feature
        surface = node.surface
        tag = "-".join(p for p in (f.pos1, f.pos2, f.pos3, f.pos4) if p and p != "*")
        lemma = _lemma(surface, getattr(f, "lemma", None), getattr(f, "orthBase", None))
        return Token(surface, lemma, unidic_upos(f.pos1, f.pos2), tag)

    def tokenize(self, text: str) -> list[Token]:
        """Return the words of ``text`` (an empty list for empty text)."""
        cache = self._cache
        out: list[Token] = []
        for node in self._tagger(text):
            key = (node.surface, node.feature_raw)
            token = cache.get(key)
            if token is None:
                if key[0].isspace():
                    continue
                if len(cache) >= CACHE_SIZE:
                    cache.clear()
                token = cache[key] = self._make(node)
            out.append(token)
        return out

    def clear_cache(self) -> None:
        """Forget the cached tokens (they are rebuilt as needed)."""
        self._cache.clear()

    def tokenize_batch(self, texts: Iterable[str]) -> list[list[Token]]:
        """Return the words of each text, in order."""
        tokenize = self.tokenize
        return [tokenize(t) for t in texts]
