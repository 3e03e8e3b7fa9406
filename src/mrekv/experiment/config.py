"""The experiment config: typed sections read from one TOML or JSON file, validated when built.

An unknown key anywhere is a :class:`~mrekv.errors.ConfigError` naming the key,
its section, the file and the valid keys; a bad value lists the valid choices.
Relative paths are resolved against the folder of the config file, and
``$VARS`` / ``~`` in paths are expanded. A top-level ``base = "other.toml"``
starts from another config (same folder assumed for its relative paths) and
overrides its keys; tables are merged one level deep, arrays are replaced.

Method names follow one small grammar, ``[<proxy>:]<verbalizer>[+calib]``:

* prompt methods (a masked LM with a verbalizer): ``manual``, ``kpt``,
  ``mre-frequency``, ``mre-best``, each optionally ``+calib``, and ``soft`` (no
  ``soft+calib``: calibration is a prior over label words, which it has none of);
* ``finetune`` (full fine-tuning, no verbalizer, no calibration);
* proxies that need no masked-LM weights: ``probe:<words>`` (the model-free
  label-word probe) and ``embedding:<words>`` (the sentence-encoder
  verbalizer), for ``<words>`` in ``manual``, ``kpt``, ``mre-frequency``,
  ``mre-best``;
* frozen-LM methods (masked or causal LM, one cached LM pass per text serves
  every verbalizer; few-shot cells train only the verbalizer's word weights):
  ``lm:<words>`` (first sub-token scores), ``lm-exact:<words>`` (causal LMs:
  each word's full log-probability; zero-shot cells only) and ``lm-exact-mean:<words>``
  (the same per sub-token, from the same cached pass), each optionally ``+calib``;
* peer baselines, other few-shot classifiers on the same splits (no verbalizer, no
  calibration, no zero-shot cell): ``peer:setfit`` (SetFit, see :mod:`mrekv.experiment.peer`).

Example:
    >>> parse_method("kpt+calib")
    MethodSpec(family='prompt', words='kpt', calibrated=True)
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mrekv._json import MAX_DEPTH, json_depth, load_json
from mrekv.data.example import LANGS, Family
from mrekv.errors import ConfigError, unknown_choice
from mrekv.experiment.config_types import check_fields, missing_fields
from mrekv.experiment.sections import (
    BudgetConfig,
    EmbeddingConfig,
    FinetuneConfig,
    KnowledgeConfig,
    MiningConfig,
    ModelConfig,
    PathsConfig,
    SetFitConfig,
    TrainingConfig,
)

MethodFamily = Literal["prompt", "finetune", "probe", "embedding", "lm", "lm-exact",
                       "lm-exact-mean", "peer"]
WORD_SOURCES = ("manual", "kpt", "mre-frequency", "mre-best")
PROMPT_VERBALIZERS = (*WORD_SOURCES, "soft")
PROXIES = ("probe", "embedding")
LM_FAMILIES = ("lm", "lm-exact", "lm-exact-mean")
#: Frozen-LM families scored by teacher forcing (causal LMs; zero-shot cells only).
EXACT_FAMILIES = ("lm-exact", "lm-exact-mean")
PEERS = ("setfit",)
SOURCES = ("mmm", "corpus", "catalog")
WORD_LABELS = ("auto", "gold", "family")


@dataclass(frozen=True)
class MethodSpec:
    """One parsed method name (see the module docstring for the grammar)."""

    family: MethodFamily
    words: str | None
    calibrated: bool = False

    @property
    def name(self) -> str:
        """The canonical method name, as written in results."""
        if self.family == "finetune":
            return "finetune"
        base = self.words if self.family == "prompt" else f"{self.family}:{self.words}"
        return f"{base}+calib" if self.calibrated else str(base)

    @property
    def proxy(self) -> bool:
        """True for the proxy families (no masked LM involved)."""
        return self.family in PROXIES

    @property
    def needs_training(self) -> bool:
        """True when the method trains on the few-shot set (so shots=0 changes it)."""
        return self.family in ("prompt", "finetune", "embedding", "lm", "peer")


def valid_methods() -> list[str]:
    """Every method name the runner accepts."""
    names = [*PROMPT_VERBALIZERS, *(f"{v}+calib" for v in WORD_SOURCES), "finetune"]
    names += [f"{p}:{w}" for p in PROXIES for w in WORD_SOURCES]
    names += [f"{f}:{w}{c}" for f in LM_FAMILIES for w in WORD_SOURCES for c in ("", "+calib")]
    names += [f"peer:{p}" for p in PEERS]
    return names


def parse_method(name: str) -> MethodSpec:
    """Parse a method name; raise :class:`ConfigError` listing the valid ones."""
    text = str(name).strip()
    if text == "finetune":
        return MethodSpec("finetune", None)
    base, calibrated = (text[: -len("+calib")], True) if text.endswith("+calib") else (text, False)
    if ":" in base:
        proxy, words = base.split(":", 1)
        if proxy in PROXIES and words in WORD_SOURCES and not calibrated:
            return MethodSpec(proxy, words)  # type: ignore[arg-type]
        if proxy in LM_FAMILIES and words in WORD_SOURCES:
            return MethodSpec(proxy, words, calibrated)  # type: ignore[arg-type]
        if proxy == "peer" and words in PEERS and not calibrated:
            return MethodSpec("peer", words)
    elif base == "soft" and calibrated:
        raise ConfigError(
            f"method {name!r}: contextual calibration sets a prior over label words, and the "
            "soft verbalizer has none (it learns one vector per class); use 'soft', or "
            "calibrate a verbalizer with words, e.g. 'kpt+calib'"
        )
    elif base in PROMPT_VERBALIZERS:
        return MethodSpec("prompt", base, calibrated)
    raise ConfigError(unknown_choice("method", name, valid_methods()))


@dataclass(frozen=True)
class DatasetConfig:
    """One dataset of the grid.

    Args:
        name: the name written in results (defaults to the corpus / catalog name).
        source: ``"mmm"`` (local MMM files ``train``/``test``), ``"corpus"`` (a
            :func:`mrekv.data.corpora.load_corpus` corpus) or ``"catalog"`` (an MMM
            sub-dataset by catalog name, read from the local folder ``path``).
        lang: ``en``/``ja``/``zh``; required for MMM files, else taken from the corpus.
        family: the MMM family whose word-level labels are built for a corpus
            without gold ones (e.g. ``"SCPOS:Adj & N"``).
        word_labels: ``"gold"`` (the corpus's own word labels), ``"family"`` (build
            them from POS with ``family``) or ``"auto"`` (gold when present).
        template_kind: passed to the prompt template (e.g. ``"sentiment"``, ``"topic"``).
        corpus, root: the corpus name and corpora root (``source="corpus"``).
        catalog, path: the MMM sub-dataset name and local folder (``source="catalog"``).
        train, test: MMM files (``source="mmm"``).
        knowledge: where label words are mined from: a split name of the corpus
            (never its test split) or, for MMM sources, an MMM file; default: a
            seeded part of the training pool (see :class:`KnowledgeConfig`).
        kpt: an OpenPrompt knowledge set name under ``paths.kpt`` (e.g. ``"agnews"``)
            or a path to a ``knowledgeable_verbalizer.txt``; lines map to classes in order.
        kpt_classes: the dataset's classes in the order of the knowledge file's lines
            (default: the dataset's class order).
        manual: manual label words per class (default: the class name itself).
        max_train_pool, max_test: seeded caps (for quick runs).
    """

    name: str = ""
    source: str = "mmm"
    lang: str | None = None
    family: str | None = None
    word_labels: str = "auto"
    template_kind: str | None = None
    corpus: str | None = None
    root: str | None = None
    catalog: str | None = None
    path: str | None = None
    train: str | None = None
    test: str | None = None
    knowledge: str | None = None
    kpt: str | None = None
    kpt_classes: tuple[str, ...] | None = None
    manual: Mapping[str, tuple[str, ...]] | None = None
    max_train_pool: int | None = None
    max_test: int | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ConfigError(unknown_choice("dataset source", self.source, SOURCES))
        if self.lang is not None and self.lang not in LANGS:
            raise ConfigError(unknown_choice("language", self.lang, LANGS))
        if self.word_labels not in WORD_LABELS:
            raise ConfigError(unknown_choice("word_labels", self.word_labels, WORD_LABELS))
        if self.family is not None:
            try:
                Family.parse(self.family)
            except ValueError as error:
                raise ConfigError(str(error)) from None
        required = {"mmm": ("train", "test", "lang"), "corpus": ("corpus",),
                    "catalog": ("catalog", "path")}[self.source]
        missing = [k for k in required if getattr(self, k) in (None, "")]
        if missing:
            raise ConfigError(f"dataset {self.name or '?'!r} (source={self.source!r}) needs "
                              f"{', '.join(missing)}")
        if not self.name:
            fallback = self.corpus or self.catalog or Path(self.train or "").stem
            object.__setattr__(self, "name", fallback)
        for key in ("max_train_pool", "max_test"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"dataset {self.name!r}: {key} must be >= 1, got {value}")
        if self.knowledge is not None and self.knowledge.strip().lower() == "test":
            raise ConfigError(
                f"dataset {self.name!r}: knowledge = 'test' would mine label words from the "
                "evaluation data (leakage); use 'train', 'dev' or a separate file"
            )


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: a grid of datasets x models x templates x methods x shots x seeds.

    Build it with :func:`load_config`; ``source`` is the file it came from.
    """

    name: str
    output: str
    datasets: tuple[DatasetConfig, ...]
    methods: tuple[str, ...]
    shots: tuple[int, ...] = (0, 4, 16)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    templates: tuple[str, ...] = ("default",)
    description: str = ""
    smoke: bool = False
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    mining: MiningConfig = field(default_factory=MiningConfig)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    setfit: SetFitConfig = field(default_factory=SetFitConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    budget: BudgetConfig | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if not self.datasets:
            raise ConfigError("the config names no [[datasets]]")
        names = [d.name for d in self.datasets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"duplicate dataset names {dupes!r}")
        specs = [parse_method(m) for m in self.methods]
        if not specs:
            raise ConfigError(f"the config names no methods; valid: {', '.join(valid_methods())}")
        object.__setattr__(self, "methods", tuple(s.name for s in specs))
        if any(k < 0 for k in self.shots) or not self.shots:
            raise ConfigError(f"shots must be non-negative integers, got {list(self.shots)}")
        if not self.seeds:
            raise ConfigError("seeds must not be empty")
        for key in ("methods", "shots", "seeds", "templates"):
            values = list(getattr(self, key))
            dupes = sorted({v for v in values if values.count(v) > 1}, key=str)
            if dupes:  # each would run (and be written) twice
                raise ConfigError(f"{key} lists {', '.join(repr(d) for d in dupes)} more than "
                                  f"once: {values!r}")
        if self.budget is not None:
            unknown = sorted(set(self.budget.external) - set(names))
            if unknown:
                raise ConfigError(f"budget.external names {unknown[0]!r}, not a dataset of "
                                  f"the config; datasets: {', '.join(names)}")
            corpora = {d.name: d.corpus for d in self.datasets}
            same = [d for d, c in self.budget.external.items() if corpora.get(d) == c]
            if same:
                raise ConfigError(f"budget.external.{same[0]} is the dataset's own corpus: "
                                  "its labels are the evaluation data (leakage)")
        needs_mlm = any(s.family in ("prompt", "finetune", *LM_FAMILIES) for s in specs)
        if needs_mlm and not self.model.ids and not self.model.by_lang:
            raise ConfigError(
                "prompt/finetune methods need a model: set model.ids or model.by_lang"
            )

    @property
    def method_specs(self) -> tuple[MethodSpec, ...]:
        """The config's ``methods``, each parsed into its proxy, verbalizer and calibration."""
        return tuple(parse_method(m) for m in self.methods)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths are resolved against."""
        return Path(self.source).resolve().parent if self.source else Path.cwd()

    def resolve(self, path: str | None) -> Path | None:
        """``path`` with ``$VARS`` and ``~`` expanded, relative to :attr:`base_dir`."""
        if path is None:
            return None
        expanded = os.path.expanduser(os.path.expandvars(path))
        if "$" in expanded:
            return None  # an unset variable: the caller falls back or reports it
        p = Path(expanded)
        return p if p.is_absolute() else self.base_dir / p

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (the config as validated, without ``source``)."""
        data = dataclasses.asdict(self)
        data.pop("source", None)
        if data.get("budget") is None:  # configs without a sweep keep their old hash
            data.pop("budget", None)
        return data


_SECTIONS: dict[str, type] = {
    "model": ModelConfig, "training": TrainingConfig, "mining": MiningConfig,
    "knowledge": KnowledgeConfig, "embedding": EmbeddingConfig, "paths": PathsConfig,
    "setfit": SetFitConfig, "finetune": FinetuneConfig, "budget": BudgetConfig,
}


def _build(cls: type, data: Any, section: str, source: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: [{section}] must be a table, got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls)
             if not (cls is ExperimentConfig and f.name == "source")]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key {unknown[0]!r} in [{section}]; valid keys: {', '.join(names)}"
        )
    missing = missing_fields(cls, data)
    if missing:
        raise ConfigError(
            f"{source}: [{section}] needs {', '.join(repr(k) for k in missing)}"
            + (" (e.g. methods = [\"manual\", \"kpt\"] and a [[datasets]] table)"
               if cls is ExperimentConfig else "")
        )
    values: dict[str, Any] = {}
    built = {"datasets"} | (set(_SECTIONS) if cls is ExperimentConfig else set())
    plain = check_fields(cls, {k: v for k, v in data.items() if k not in built}, section, source)
    for key, value in data.items():
        if key == "datasets":
            if not isinstance(value, list) or not all(isinstance(d, Mapping) for d in value):
                raise ConfigError(f"{source}: 'datasets' must be an array of tables "
                                  "([[datasets]]), got " + repr(value)[:80])
            value = tuple(_build(DatasetConfig, d, f"datasets[{i}]", source)
                          for i, d in enumerate(value))
        elif key in _SECTIONS and cls is ExperimentConfig:
            value = _build(_SECTIONS[key], value, key, source)
        else:
            value = plain[key]
        values[key] = value
    try:
        return cls(**values)
    except ConfigError as error:
        raise ConfigError(f"{source}: [{section}]: {error}") from None
    except TypeError as error:
        raise ConfigError(f"{source}: [{section}]: {error}") from None


def config_from_dict(data: Mapping[str, Any], source: str | Path | None = None) -> ExperimentConfig:
    """Build and validate an :class:`ExperimentConfig` from parsed TOML/JSON data."""
    where = str(source) if source is not None else "<config>"
    values = dict(data)
    values.setdefault("name", Path(where).stem if source is not None else "experiment")
    values.setdefault("output", f"../runs/{values['name']}.jsonl")
    config = _build(ExperimentConfig, values, "top level", where)
    return dataclasses.replace(config, source=None if source is None else str(source))


def load_config(path: str | Path) -> ExperimentConfig:
    """Read an experiment config from a ``.toml`` or ``.json`` file.

    Raises:
        ConfigError: unknown keys or bad values (naming the key, section and file),
            or a file that is not valid TOML/JSON.
    """
    p = Path(path)
    return config_from_dict(_read_with_base(p, ()), p)


def _read_with_base(p: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The parsed file, merged over its ``base`` config (one level deep per section)."""
    if p.is_dir():
        raise ConfigError(f"{p} is a folder; expected a .toml or .json config file")
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark is dropped
    except UnicodeDecodeError as error:
        raise ConfigError(f"{p}: not valid UTF-8 (byte {error.start}); save it as UTF-8") from None
    try:
        data = load_json(text) if p.suffix == ".json" else tomllib.loads(text)
        if p.suffix != ".json" and json_depth(data, MAX_DEPTH) > MAX_DEPTH:
            raise tomllib.TOMLDecodeError(f"nested deeper than {MAX_DEPTH} levels")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        kind = "JSON" if p.suffix == ".json" else "TOML"
        raise ConfigError(f"{p}: not valid {kind}: {error}") from None
    except RecursionError:  # tomllib recurses once per nested array or table
        raise ConfigError(f"{p}: not valid TOML: nested deeper than {MAX_DEPTH} levels") from None
    base = data.pop("base", None)
    if base is None:
        return dict(data)
    base_path = (p.parent / str(base)).resolve()
    if base_path in seen or base_path == p.resolve():
        raise ConfigError(f"{p}: 'base' config {base!r} includes itself")
    if not base_path.is_file():
        raise ConfigError(f"{p}: 'base' config {base_path} does not exist")
    merged = _read_with_base(base_path, (*seen, p.resolve()))
    for key, value in data.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "name" not in data:
        merged["name"] = p.stem
    if "output" not in data:
        merged.pop("output", None)
    return merged
