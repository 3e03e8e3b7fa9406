"""Word tokenizers for Japanese, Chinese and English behind one protocol.

:func:`get_tokenizer` builds (and caches) the tokenizer of a language; the
language modules, and the libraries they wrap (fugashi, jieba, nltk), are
imported only then.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from typing import Any

from mrekv.errors import ConfigError, unknown_choice
from mrekv.tokenizers.base import UPOS_TAGS, Token, WordTokenizer

#: language -> (module, class) of its tokenizer.
_TOKENIZERS: dict[str, tuple[str, str]] = {
    "en": ("mrekv.tokenizers.en", "EnglishTokenizer"),
    "ja": ("mrekv.tokenizers.ja", "JapaneseTokenizer"),
    "zh": ("mrekv.tokenizers.zh", "ChineseTokenizer"),
}
#: The languages :func:`get_tokenizer` knows.
TOKENIZER_LANGS: tuple[str, ...] = tuple(sorted(_TOKENIZERS))

_cache: dict[tuple[str, tuple[tuple[str, Any], ...]], WordTokenizer] = {}
_lock = threading.Lock()


def tokenizer_class(lang: str) -> type:
    """Return the tokenizer class of ``lang`` (importing its module).

    Raises:
        ConfigError: ``lang`` is not one of :data:`TOKENIZER_LANGS`.
    """
    if lang not in _TOKENIZERS:
        raise ConfigError(unknown_choice("tokenizer language", lang, TOKENIZER_LANGS))
    module, name = _TOKENIZERS[lang]
    return getattr(importlib.import_module(module), name)


def get_tokenizer(lang: str, **options: Any) -> WordTokenizer:
    """Return the word tokenizer of ``lang``, built once per distinct set of options.

    Args:
        lang: ``"en"``, ``"ja"`` or ``"zh"``.
        **options: keyword options of the language's tokenizer: ja ``mecab_args``;
            zh ``backend`` (``"jieba"`` / ``"rjieba"``) and ``hmm``; en
            ``sentence_split`` and ``lemmatize``.

    Returns:
        A :class:`~mrekv.tokenizers.base.WordTokenizer`; the same object for the same
        ``lang`` and options.

    Raises:
        ConfigError: unknown language or option (the message lists the valid ones).
        MissingDependencyError: the language's package or data is not installed.

    Example:
        >>> tok = get_tokenizer("zh", backend="rjieba")
        >>> [t.surface for t in tok.tokenize("服务很好")]
        ['服务', '很', '好']
    """
    cls = tokenizer_class(lang)
    signature = inspect.signature(cls)
    valid = [
        p.name for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    for key in options:
        if key not in valid:
            raise ConfigError(unknown_choice(f"{lang} tokenizer option", key, valid))
    bound = signature.bind(**options)
    bound.apply_defaults()
    options = dict(bound.arguments)
    try:
        cache_key = (lang, tuple(sorted(options.items())))
        hash(cache_key)
    except TypeError:
        return cls(**options)
    with _lock:
        tokenizer = _cache.get(cache_key)
        if tokenizer is None:
            tokenizer = _cache[cache_key] = cls(**options)
    return tokenizer


__all__ = [
    "TOKENIZER_LANGS",
    "UPOS_TAGS",
    "Token",
    "WordTokenizer",
    "get_tokenizer",
    "tokenizer_class",
]
