"""mrekv: few-shot text classification with knowledgeable verbalizers mined from MRE labels.

Importing mrekv is cheap: the names below that need torch, transformers,
scikit-learn or a language tokenizer are resolved on first access.

Example:
    >>> import mrekv
    >>> lw = mrekv.LabelWords.from_lists(["negative", "positive"], [["bad"], ["good"]])
    >>> lw.counts()
    {'negative': 1, 'positive': 1}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

# Public names resolved lazily: name -> module that defines it.
_LAZY = {
    # data
    "parse_mmm_record": "mrekv.data.mmm",
    "format_mmm_record": "mrekv.data.mmm",
    "read_mmm": "mrekv.data.mmm",
    "write_mmm": "mrekv.data.mmm",
    "validate_mmm": "mrekv.data.mmm",
    "MMMReader": "mrekv.data.mmm",
    "MMM_DATASETS": "mrekv.data.catalog",
    "MMMDataset": "mrekv.data.catalog",
    "get_mmm_dataset": "mrekv.data.catalog",
    "load_mmm": "mrekv.data.catalog",
    "Corpus": "mrekv.data.corpus",
    "CorpusInfo": "mrekv.data.corpora",
    "list_corpora": "mrekv.data.corpora",
    "load_corpus": "mrekv.data.corpora",
    "FewShotSplit": "mrekv.data.split",
    "few_shot_split": "mrekv.data.split",
    "knowledge_split": "mrekv.data.split",
    "build_mre_examples": "mrekv.data.mre_mix",
    # word tokenizers
    "get_tokenizer": "mrekv.tokenizers",
    # label words
    "MiningConfig": "mrekv.verbalizer.mining",
    "mine_label_words": "mrekv.verbalizer.mining",
    "read_label_words": "mrekv.verbalizer.io",
    "write_label_words": "mrekv.verbalizer.io",
    "read_kpt": "mrekv.verbalizer.io",
    "write_kpt": "mrekv.verbalizer.io",
    "VocabReport": "mrekv.verbalizer.vocab",
    "filter_by_vocab": "mrekv.verbalizer.vocab",
    "ProbeResult": "mrekv.verbalizer.probe",
    "probe_label_words": "mrekv.verbalizer.probe",
    "choose_label_words": "mrekv.verbalizer.selection",
    # prompt engine
    "Template": "mrekv.prompt.template",
    "EncodedPrompt": "mrekv.prompt.template",
    "default_template": "mrekv.prompt.template",
    "Verbalizer": "mrekv.verbalizer.base",
    "verbalizer_from_config": "mrekv.verbalizer.registry",
    "ManualVerbalizer": "mrekv.verbalizer.manual",
    "KnowledgeableVerbalizer": "mrekv.verbalizer.knowledgeable",
    "SoftVerbalizer": "mrekv.verbalizer.soft",
    "PromptClassifier": "mrekv.prompt.classifier",
    "FineTuneClassifier": "mrekv.finetune",
    "load_masked_lm": "mrekv.models",
    "load_lm": "mrekv.models",
    "convert_gguf": "mrekv.gguf",
    "load_classifier": "mrekv.classifiers",
    "make_tiny_mlm": "mrekv.models",
    "make_tiny_causal_lm": "mrekv.tiny_causal",
    "classification_metrics": "mrekv.metrics",
    # experiments and the embedding verbalizer
    "ExperimentConfig": "mrekv.experiment.config",
    "load_config": "mrekv.experiment.config",
    "run_experiment": "mrekv.experiment.runner",
    "build_report": "mrekv.experiment.report",
    "EmbeddingClassifier": "mrekv.embedding",
    "SentenceEncoder": "mrekv.embedding",
}

__all__ = [
    "ConfigError",
    "Corpus",
    "CorpusFormatError",
    "CorpusInfo",
    "EmbeddingClassifier",
    "EncodedPrompt",
    "ExperimentConfig",
    "Family",
    "FewShotSplit",
    "FineTuneClassifier",
    "KnowledgeableVerbalizer",
    "LabelWord",
    "LabelWords",
    "MMMDataset",
    "MMMFormatError",
    "MMMReader",
    "MMM_DATASETS",
    "MREExample",
    "ManualVerbalizer",
    "MiningConfig",
    "MissingDependencyError",
    "MrekvError",
    "ProbeResult",
    "PromptClassifier",
    "SaveFormatError",
    "SentenceEncoder",
    "SoftVerbalizer",
    "TaskWord",
    "Template",
    "Token",
    "Verbalizer",
    "VocabReport",
    "WordTokenizer",
    "__version__",
    "build_mre_examples",
    "build_report",
    "choose_label_words",
    "classification_metrics",
    "convert_gguf",
    "default_template",
    "few_shot_split",
    "filter_by_vocab",
    "format_mmm_record",
    "get_mmm_dataset",
    "get_tokenizer",
    "knowledge_split",
    "list_corpora",
    "load_config",
    "load_corpus",
    "load_classifier",
    "load_lm",
    "load_masked_lm",
    "load_mmm",
    "make_tiny_causal_lm",
    "make_tiny_mlm",
    "mine_label_words",
    "parse_mmm_record",
    "probe_label_words",
    "read_kpt",
    "read_label_words",
    "read_mmm",
    "run_experiment",
    "validate_mmm",
    "verbalizer_from_config",
    "write_kpt",
    "write_label_words",
    "write_mmm",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mrekv' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from mrekv.classifiers import load_classifier
    from mrekv.data.catalog import MMM_DATASETS, MMMDataset, get_mmm_dataset, load_mmm
    from mrekv.data.corpora import CorpusInfo, list_corpora, load_corpus
    from mrekv.data.corpus import Corpus
    from mrekv.data.mmm import (
        MMMReader,
        format_mmm_record,
        parse_mmm_record,
        read_mmm,
        validate_mmm,
        write_mmm,
    )
    from mrekv.data.mre_mix import build_mre_examples
    from mrekv.data.split import FewShotSplit, few_shot_split, knowledge_split
    from mrekv.embedding import EmbeddingClassifier, SentenceEncoder
    from mrekv.experiment.config import ExperimentConfig, load_config
    from mrekv.experiment.report import build_report
    from mrekv.experiment.runner import run_experiment
    from mrekv.finetune import FineTuneClassifier
    from mrekv.gguf import convert_gguf
    from mrekv.metrics import classification_metrics
    from mrekv.models import load_lm, load_masked_lm, make_tiny_mlm
    from mrekv.prompt.classifier import PromptClassifier
    from mrekv.prompt.template import EncodedPrompt, Template, default_template
    from mrekv.tiny_causal import make_tiny_causal_lm
    from mrekv.tokenizers import get_tokenizer
    from mrekv.verbalizer.base import Verbalizer
    from mrekv.verbalizer.io import read_kpt, read_label_words, write_kpt, write_label_words
    from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
    from mrekv.verbalizer.manual import ManualVerbalizer
    from mrekv.verbalizer.mining import MiningConfig, mine_label_words
    from mrekv.verbalizer.probe import ProbeResult, probe_label_words
    from mrekv.verbalizer.registry import verbalizer_from_config
    from mrekv.verbalizer.selection import choose_label_words
    from mrekv.verbalizer.soft import SoftVerbalizer
    from mrekv.verbalizer.vocab import VocabReport, filter_by_vocab
