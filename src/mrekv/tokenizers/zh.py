"""Chinese word tokenizer: jieba's POS segmenter (``jieba.posseg``), optionally on rjieba.

Needs the ``zh`` extra (``pip install "mrekv[zh]"``: jieba, and rjieba for the
``"rjieba"`` backend).

Both backends give the same words for the same ``hmm`` setting:

* ``backend="jieba"`` is ``jieba.posseg.cut(text, HMM=hmm)``.
* ``backend="rjieba"`` takes jieba's dictionary segmentation from rjieba (the
  Rust port, same dictionary, same maximum-probability route) and its
  dictionary POS flags. With ``hmm=True`` every stretch that jieba would hand
  to its new-word HMM (a run of two or more single-character pieces, or a
  merged ASCII run, that is not itself a dictionary word) is cut by
  ``jieba.posseg`` itself, so the words are jieba's. rjieba's own HMM is not
  used: it is a different model (jieba.cut's B/M/E/S HMM, not posseg's joint
  POS HMM) and cuts unknown words differently.

Speed: with ``hmm=False`` rjieba is about ten times faster than jieba.posseg;
with ``hmm=True`` jieba.posseg's pure-Python POS HMM dominates, and the rjieba
backend gains mainly by running it only on the stretches that need it, once
per distinct stretch (about 2.5 times faster than jieba.posseg on reviews; see
``benchmarks/bench_tokenizers.py``). The fastest setting is
``backend="rjieba", hmm=False`` (unknown words then come out character by
character).

The flags of the two backends can differ on non-dictionary tokens (a lone
digit is ``x`` in jieba, ``m`` in rjieba); UPOS is derived from the characters
for those catch-all flags, so both give NUM. ``lemma`` is the surface.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any, Literal, get_args

from mrekv.errors import ConfigError, MissingDependencyError, unknown_choice
from mrekv.tokenizers.base import Token
from mrekv.tokenizers.upos import jieba_upos

ZhBackend = Literal["jieba", "rjieba"]
BACKENDS: tuple[str, ...] = get_args(ZhBackend)
#: Tokens are immutable: one per distinct (word, flag), cleared past this many entries.
CACHE_SIZE = 200_000

_ASCII_RUN = re.compile(r"[a-zA-Z0-9]+\Z").match


def _import_jieba() -> Any:
    try:
        import jieba
        import jieba.posseg
    except ImportError as exc:
        raise MissingDependencyError(
            'Chinese word tokenization needs jieba: pip install "mrekv[zh]"'
        ) from exc
    # jieba logs "Building prefix dict ..." at INFO on its own logger the first time it
    # loads; quieten that logger only (never the root logger), and only when a user
    # builds a Chinese tokenizer, not at import of mrekv.
    logger = logging.getLogger("jieba")
    if logger.level == logging.NOTSET or logger.level < logging.WARNING:
        logger.setLevel(logging.WARNING)
    jieba.posseg.dt.tokenizer.initialize()
    return jieba


def _import_rjieba() -> Any:
    try:
        import rjieba
    except ImportError as exc:
        raise MissingDependencyError(
            'the "rjieba" backend needs rjieba: pip install "mrekv[zh]" (or pip install rjieba)'
        ) from exc
    return rjieba


class ChineseTokenizer:
    """Chinese words with jieba POS flags mapped to UPOS.

    Args:
        backend: ``"jieba"`` (jieba.posseg) or ``"rjieba"`` (same words, faster dictionary pass).
        hmm: use jieba's HMM to find words missing from the dictionary (jieba's default).

    Raises:
        ConfigError: ``backend`` is not one of :data:`BACKENDS`.
        MissingDependencyError: jieba (or rjieba for that backend) is not installed.

    Example:
        >>> tok = ChineseTokenizer()
        >>> [(t.surface, t.upos) for t in tok.tokenize("服务很好")]
        [('服务', 'NOUN'), ('很', 'ADV'), ('好', 'ADJ')]
    """

    lang = "zh"

    def __init__(self, *, backend: ZhBackend = "jieba", hmm: bool = True) -> None:
        if backend not in BACKENDS:
            raise ConfigError(unknown_choice("zh backend", backend, BACKENDS))
        self.backend = backend
        self.hmm = bool(hmm)
        jieba = _import_jieba()
        self._posseg_cut = jieba.posseg.cut
        self._freq = jieba.posseg.dt.tokenizer.FREQ
        self._in_block = jieba.posseg.re_han_internal.match
        self._run_cache: dict[str, list[tuple[str, str]]] = {}
        self._rjieba_tag = _import_rjieba().tag if backend == "rjieba" else None
        self._cache: dict[tuple[str, str], Token] = {}

    def __repr__(self) -> str:
        return f"ChineseTokenizer(backend={self.backend!r}, hmm={self.hmm!r})"

    def _pairs(self, text: str) -> list[tuple[str, str]]:
        """(word, flag) pairs of ``text`` from rjieba (re-cut with jieba's HMM if ``hmm``)."""
        assert self._rjieba_tag is not None
        pieces = self._rjieba_tag(text, False)
        return self._with_posseg_hmm(pieces) if self.hmm else pieces

    def _with_posseg_hmm(self, pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Re-cut with jieba.posseg the stretches jieba would give to its HMM.

        jieba.posseg splits the text into blocks of Han characters / ASCII letters
        and digits, buffers consecutive single-character pieces of the dictionary
        route inside a block and runs its HMM over the buffer unless it is a
        dictionary word; rjieba's dictionary-only mode additionally merges runs of
        single ASCII letters / digits. Both kinds of piece are collected into runs
        (ended by multi-character words and by characters outside the blocks, such
        as punctuation) and each run of two or more characters is cut by
        jieba.posseg, which reproduces jieba's output on the whole text. The cut of
        a run depends on the run alone, so it is cached.
        """
        freq = self._freq
        in_block = self._in_block
        runs = self._run_cache
        cut = self._posseg_cut
        out: list[tuple[str, str]] = []
        run: list[str] = []

        def flush() -> None:
            text = "".join(run)
            run.clear()
            if len(text) == 1:
                out.append(last_single)
                return
            pairs = runs.get(text)
            if pairs is None:
                if len(runs) >= CACHE_SIZE:
                    runs.clear()
                pairs = runs[text] = [(p.word, p.flag) for p in cut(text)]
            out.extend(pairs)

        last_single: tuple[str, str] = ("", "")
        for piece in pieces:
            word = piece[0]
            if len(word) == 1:
                if in_block(word):
                    run.append(word)
                    last_single = piece
                    continue
            elif _ASCII_RUN(word) and not freq.get(word):
                run.append(word)
                continue
            if run:
                flush()
            out.append(piece)
        if run:
            flush()
        return out

    def _miss(self, word: str, flag: str) -> Token | None:
        """Build (and cache) the token of a pair not yet seen; None for whitespace."""
        if word.isspace():
            return None
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        token = self._cache[(word, flag)] = Token(word, word, jieba_upos(word, flag), flag)
        return token

    def tokenize(self, text: str) -> list[Token]:
        """Return the words of ``text``; whitespace is dropped."""
        get = self._cache.get
        out: list[Token] = []
        append = out.append
        if self._rjieba_tag is None:
            # jieba's pair objects are not tuples: one loop reads and looks them up
            for p in self._posseg_cut(text, HMM=self.hmm):
                token = get((p.word, p.flag))
                if token is None:
                    token = self._miss(p.word, p.flag)
                    if token is None:
                        continue
                append(token)
            return out
        for pair in self._pairs(text):
            token = get(pair)
            if token is None:
                token = self._miss(*pair)
                if token is None:
                    continue
            append(token)
        return out

    def clear_cache(self) -> None:
        """Forget the cached tokens and cuts (they are rebuilt as needed)."""
        self._cache.clear()
        self._run_cache.clear()

    def tokenize_batch(self, texts: Iterable[str]) -> list[list[Token]]:
        """Return the words of each text, in order."""
        tokenize = self.tokenize
        return [tokenize(t) for t in texts]
