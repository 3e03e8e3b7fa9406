"""The options of label-word mining (:class:`MiningConfig`), validated when built.

They are saved in the mined words' provenance (``to_dict`` / ``from_dict``);
:func:`mrekv.verbalizer.mining.mine_label_words` documents each of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

from mrekv.errors import ConfigError, unknown_choice
from mrekv.tokenizers.base import UPOS_TAGS

MiningMethod = Literal["frequency", "tfidf", "pmi", "chi2"]
CrossClass = Literal["keep", "drop", "assign"]
MiningSource = Literal["word_labels", "text"]

METHODS: tuple[str, ...] = get_args(MiningMethod)
CROSS_CLASS: tuple[str, ...] = get_args(CrossClass)
SOURCES: tuple[str, ...] = get_args(MiningSource)


@dataclass(frozen=True)
class MiningConfig:
    """The options of :func:`~mrekv.verbalizer.mining.mine_label_words` (validated when built).

    See :func:`~mrekv.verbalizer.mining.mine_label_words` for the meaning of each field.
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
