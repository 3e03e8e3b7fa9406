"""mrekv: few-shot text classification with knowledgeable verbalizers mined from MRE labels.

Importing mrekv is cheap: torch, transformers and the language tokenizers load
when first used.
"""

from __future__ import annotations

from mrekv._version import __version__
from mrekv.data.example import Family, MREExample, TaskWord
from mrekv.errors import (
    ConfigError,
    CorpusFormatError,
    MissingDependencyError,
    MMMFormatError,
    MrekvError,
    SaveFormatError,
)
from mrekv.tokenizers.base import Token, WordTokenizer
from mrekv.verbalizer.label_words import LabelWord, LabelWords

__all__ = [
    "ConfigError",
    "CorpusFormatError",
    "Family",
    "LabelWord",
    "LabelWords",
    "MMMFormatError",
    "MREExample",
    "MissingDependencyError",
    "MrekvError",
    "SaveFormatError",
    "TaskWord",
    "Token",
    "WordTokenizer",
    "__version__",
]
