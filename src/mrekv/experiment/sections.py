"""The typed sections of an experiment config (training, mining, knowledge, models...).

Each is a frozen dataclass validated when built; :mod:`mrekv.experiment.config` reads
them from the ``[training]``, ``[mining]``... tables of a config file, where an unknown
key is an error naming the section, the file and the valid keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mrekv.data.example import LANGS
from mrekv.errors import ConfigError, unknown_choice

MINING_METHODS = ("frequency", "tfidf", "pmi", "chi2")


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of the prompt / fine-tuning classifiers and of calibration."""

    epochs: int = 5
    batch_size: int = 8
    learning_rate: float = 3e-5
    max_length: int = 128
    device: str | None = None
    calibration_size: int = 200
    verbalizer_learning_rate: float = 1e-2
    eval_batch_size: int = 16

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_size", "max_length", "calibration_size", "eval_batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"training.{key} must be >= 1, got {getattr(self, key)}")
        for key in ("learning_rate", "verbalizer_learning_rate"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"training.{key} must be > 0, got {getattr(self, key)}")


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of the ``finetune`` baseline only (its cells' keys include them when set).

    Args:
        head_learning_rate: AdamW rate of the new classification head (default: the
            ``[training]`` learning rate, as for the rest of the model). A few-shot run
            makes few optimizer steps; at a language-model rate the randomly initialised
            head barely moves from chance.
    """

    head_learning_rate: float | None = None

    def __post_init__(self) -> None:
        if self.head_learning_rate is not None and self.head_learning_rate <= 0:
            raise ConfigError(
                f"finetune.head_learning_rate must be > 0, got {self.head_learning_rate}")


@dataclass(frozen=True)
class MiningConfig:
    """How label words are mined from the knowledge split.

    Args:
        best_method: the method behind ``mre-best``, or ``"auto"``: chosen with
            ``select_top_k`` on a held-out part of the knowledge split
            (:mod:`mrekv.verbalizer.selection`), by the LM's calibrated zero-shot
            macro-F1 in ``lm`` cells and by the model-free probe elsewhere.
        top_k: label words kept per class (the paper's WLI-KV keeps 100).
        min_count: a word must occur at least this often with the class.
        select_top_k: the k values ``"auto"`` chooses among.
        held_out: the fraction of the knowledge split held out for ``"auto"``.
        max_held_out: at most this many held-out texts are scored.
    """

    best_method: str = "tfidf"
    top_k: int = 100
    min_count: int = 1
    select_top_k: tuple[int, ...] = (10, 25, 50, 100)
    held_out: float = 0.3
    max_held_out: int = 300

    def __post_init__(self) -> None:
        if self.best_method not in (*MINING_METHODS, "auto"):
            raise ConfigError(unknown_choice("mining.best_method", self.best_method,
                                             (*MINING_METHODS, "auto")))
        object.__setattr__(self, "select_top_k", tuple(int(k) for k in self.select_top_k))
        if self.top_k < 1 or self.min_count < 1:
            raise ConfigError("mining.top_k and mining.min_count must be >= 1")
        if not self.select_top_k or min(self.select_top_k) < 1:
            raise ConfigError(f"mining.select_top_k must be a non-empty list of numbers >= 1, "
                              f"got {list(self.select_top_k)}")
        if not 0.0 < self.held_out < 1.0:
            raise ConfigError(f"mining.held_out must be in (0, 1), got {self.held_out}")
        if self.max_held_out < 1:
            raise ConfigError(f"mining.max_held_out must be >= 1, got {self.max_held_out}")


@dataclass(frozen=True)
class KnowledgeConfig:
    """How the knowledge split is carved from the training pool when no source is named.

    The split is fixed per dataset (``seed``), so label words are mined once and
    shared by every cell; few-shot sets are drawn from the rest of the pool.
    """

    fraction: float = 0.5
    max_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction < 1.0:
            raise ConfigError(f"knowledge.fraction must be in (0, 1), got {self.fraction}")
        if self.max_size is not None and self.max_size < 1:
            raise ConfigError(f"knowledge.max_size must be >= 1, got {self.max_size}")


@dataclass(frozen=True)
class EmbeddingConfig:
    """The embedding proxy (:class:`mrekv.embedding.EmbeddingClassifier`).

    Args:
        encoder: ``"default"`` (the packaged all-MiniLM-L6-v2), a local folder or a Hub id.
        mix: weight of the k-shot example mean in the updated prototype: ``"auto"``
            (``n / (n + prior_shots)`` for a class with n examples) or a number in [0, 1].
        prior_shots: with ``mix = "auto"``, how many examples the label words are worth.
        langs: languages the encoder handles (all-MiniLM-L6-v2 is English only).
        batch_size: texts per encoder batch.
    """

    encoder: str = "default"
    mix: float | Literal["auto"] = "auto"
    prior_shots: float = 8.0
    langs: tuple[str, ...] = ("en",)
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.mix != "auto" and not (
            isinstance(self.mix, (int, float)) and 0.0 <= self.mix <= 1.0
        ):
            raise ConfigError(f"embedding.mix must be 'auto' or in [0, 1], got {self.mix!r}")
        if self.prior_shots <= 0:
            raise ConfigError(f"embedding.prior_shots must be > 0, got {self.prior_shots}")
        if self.batch_size < 1:
            raise ConfigError(f"embedding.batch_size must be >= 1, got {self.batch_size}")
        for lang in self.langs:
            if lang not in LANGS:
                raise ConfigError(unknown_choice("embedding language", lang, LANGS))


@dataclass(frozen=True)
class SetFitConfig:
    """The ``peer:setfit`` baseline (:mod:`mrekv.experiment.peer`).

    Args:
        body: ``"default"`` (the packaged all-MiniLM-L6-v2), a local folder or a Hub id.
        num_iterations: contrastive pairs of each kind (same / other class) per example.
        num_epochs: epochs of contrastive body training.
        batch_size: pairs per body training step.
        body_learning_rate: learning rate of the body.
        langs: languages the body handles (all-MiniLM-L6-v2 is English only).
        device: torch device (default: SetFit's choice, a GPU when there is one).
    """

    body: str = "default"
    num_iterations: int = 20
    num_epochs: int = 1
    batch_size: int = 16
    body_learning_rate: float = 2e-5
    langs: tuple[str, ...] = ("en",)
    device: str | None = None

    def __post_init__(self) -> None:
        for key in ("num_iterations", "num_epochs", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(f"setfit.{key} must be >= 1, got {getattr(self, key)}")
        if self.body_learning_rate <= 0:
            raise ConfigError(f"setfit.body_learning_rate must be > 0, got "
                              f"{self.body_learning_rate}")
        for lang in self.langs:
            if lang not in LANGS:
                raise ConfigError(unknown_choice("setfit language", lang, LANGS))


@dataclass(frozen=True)
class PathsConfig:
    """Where the shared assets are (relative to the config file unless absolute)."""

    kpt: str = "$MREKV_KPT"
    models: str | None = None


@dataclass(frozen=True)
class ModelConfig:
    """The masked LMs: ``ids`` for every dataset, else ``by_lang[lang]``.

    ``"tiny"`` builds a tiny random MLM (``"tiny-causal"``: a Llama-style causal LM) with a
    vocabulary trained on the dataset's non-test texts, cached in the output folder.
    """

    ids: tuple[str, ...] = ()
    by_lang: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for lang in self.by_lang:
            if lang not in LANGS:
                raise ConfigError(unknown_choice("model.by_lang language", lang, LANGS))

    def for_lang(self, lang: str) -> tuple[str, ...]:
        """The model ids a dataset in ``lang`` runs with."""
        if self.ids:
            return tuple(self.ids)
        if lang in self.by_lang:
            value = self.by_lang[lang]
            return (value,) if isinstance(value, str) else tuple(value)
        raise ConfigError(f"no model for language {lang!r}: set model.ids or model.by_lang.{lang}")


#: The equal-budget sweep's methods (:mod:`mrekv.experiment.budget` documents each).
BUDGET_METHODS = ("manual+calib", "mined+calib", "mined-values+calib", "tfidf-lr", "probe",
                  "prior:manual", "prior:auto", "head", "kpt+calib", "external+calib",
                  "knowledge+calib", "head:knowledge", "head:auto", "suite:manual",
                  "suite:knowledge", "head:1se")


@dataclass(frozen=True)
class BudgetConfig:
    """The equal-budget sweep (:mod:`mrekv.experiment.budget`); its presence makes
    ``mrekv experiment run`` run the sweep instead of the few-shot grid.

    Args:
        budgets: labelled budgets N (0: zero-shot), each capped by the pool.
        seeds: one stratified sample order per seed (>= 5 for the report's intervals).
        max_test: the fixed test sample per dataset (the whole split when smaller).
        methods: the budget methods to run (empty: all of them).
        external: dataset name -> a registered corpus of the same task whose train
            split label words are mined from (the ``external`` knowledge source: no
            label of the dataset itself is used).
        external_family: the MMM family whose word labels are built for an external
            corpus, when the dataset names none.
        external_max: at most this many external texts are mined (a seeded sample).
    """

    budgets: tuple[int, ...] = (0, 16, 64, 256)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    max_test: int = 1000
    methods: tuple[str, ...] = ()
    external: Mapping[str, str] = field(default_factory=dict)
    external_family: str = "SCPOS:Adj & N"
    external_max: int = 4000

    def __post_init__(self) -> None:
        from mrekv.data.corpora import CORPORA

        if not self.budgets or any(n < 0 for n in self.budgets):
            raise ConfigError(f"budget.budgets must be integers >= 0, got {list(self.budgets)}")
        if not self.seeds:
            raise ConfigError("budget.seeds must not be empty")
        for key in ("budgets", "seeds", "methods"):
            values = list(getattr(self, key))
            dupes = sorted({v for v in values if values.count(v) > 1}, key=str)
            if dupes:
                raise ConfigError(f"budget.{key} lists {dupes!r} more than once")
        for m in self.methods:
            if m not in BUDGET_METHODS:
                raise ConfigError(unknown_choice("budget method", m, BUDGET_METHODS))
        for dataset, corpus in self.external.items():
            if corpus not in CORPORA:
                raise ConfigError(f"budget.external.{dataset}: "
                                  + unknown_choice("corpus", corpus, sorted(CORPORA)))
        if self.max_test < 1 or self.external_max < 1:
            raise ConfigError("budget.max_test and budget.external_max must be >= 1")
