"""Run the equal-budget sweep (:mod:`mrekv.experiment.budget`) and write its results file.

The datasets, models, manual words, templates, training caps and mining ``top_k``
come from an ordinary experiment config (e.g. ``experiments/real-lm.toml``); the
budget axis, seeds and test size are arguments. One results line per (dataset,
model, method, budget, seed), appended under the results lock, so an interrupted
run resumes where it stopped; the read states are cached beside the results
(``<stem>.features/``). One ``kind = "test-set"`` line per (dataset, model) holds
the gold labels of the fixed test texts, so that the report can bootstrap over
test texts from the results file alone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mrekv.experiment.budget import (
    BUDGET_METHODS,
    LABEL_FREE,
    NEEDS_LABELS,
    BudgetData,
    DatasetModel,
    encode_predictions,
    run_cell,
    sample_hash,
)
from mrekv.experiment.results import append_line, finished_keys, results_lock, stable_hash
from mrekv.metrics import reliability_bins


def select_datasets(exp: Any, datasets: Sequence[str] | None) -> list[Any]:
    """The config's dataset configs, or those named (in that order; an unknown one refused)."""
    from mrekv.errors import ConfigError, unknown_choice

    configs = list(exp.datasets)
    if datasets is None:
        return configs
    by_name = {d.name: d for d in configs}
    unknown = [d for d in datasets if d not in by_name]
    if unknown:
        raise ConfigError(unknown_choice("dataset", unknown[0], sorted(by_name)))
    return [by_name[d] for d in datasets]


def iter_units(exp: Any, configs: Sequence[Any], max_test: int,
               models: Sequence[str] | None) -> Iterator[tuple[Any, Any, BudgetData, str]]:
    """``(cfg, prepared, data, model_name)`` per dataset x model of a sweep (``models``: only
    these); the dataset's own test cap is lifted, ``max_test`` caps the fixed test sample."""
    from mrekv.experiment.datasets import prepare_dataset

    for cfg in configs:
        cfg = dataclasses.replace(cfg, max_test=None)
        prepared = prepare_dataset(cfg, exp)
        data = BudgetData.build(prepared, max_test=max_test,
                                calibration_size=exp.training.calibration_size)
        for model_name in exp.model.for_lang(prepared.lang):
            if models is None or model_name in models:
                yield cfg, prepared, data, model_name


def open_unit(out: Path, done: set[str], exp: Any, cfg: Any, prepared: Any, data: BudgetData,
              model_name: str, template_text: str) -> tuple[dict[str, Any], np.ndarray]:
    """The fields every line of one (dataset, model) carries, and its gold test labels;
    writes the unit's ``test-set`` line (once per results file)."""
    classes = list(prepared.classes)
    gold = np.array([classes.index(c) for c in data.labels(data.test_ids)])
    test_key = "test-" + stable_hash({"dataset": cfg.name, "model": model_name,
                                      "test": data.test_ids}, 16)
    common = {"experiment": exp.name, "dataset": cfg.name, "lang": prepared.lang,
              "model": model_name, "template": template_text,
              "test_hash": sample_hash(data.test_ids), "n_test": len(gold), "classes": classes}
    if test_key not in done:
        append_line(out, {"kind": "test-set", "key": test_key, **common,
                          "gold": encode_predictions(gold),
                          "n_calibration": len(data.calibration_ids),
                          "n_pool": len(data.pool_ids)})
        done.add(test_key)
    return common, gold


def cell_key(common: dict[str, Any], cell: dict[str, Any]) -> str:
    """The resumability key of a cell (its unit's fields and method, budget, seed, sample)."""
    return stable_hash({**common, **cell, "classes": None}, 20)


def cell_line(common: dict[str, Any], cell: dict[str, Any], proba: np.ndarray,
              gold: np.ndarray, **fields: Any) -> dict[str, Any]:
    """A ``cell`` results line: metrics, ECE, Brier, NLL, reliability bins and compact
    predictions."""
    from mrekv.metrics import classification_metrics, probability_metrics

    classes = common["classes"]
    pred = proba.argmax(1)
    metrics = classification_metrics([classes[i] for i in gold], [classes[i] for i in pred],
                                     labels=classes)
    confidence = probability_metrics(proba, gold)
    return {"kind": "cell", "key": cell_key(common, cell), **common, **cell,
            "macro_f1": metrics["macro_f1"], "accuracy": metrics["accuracy"],
            "ece": round(confidence["ece"], 5),
            "brier": round(confidence["brier"], 5), "nll": round(confidence["nll"], 5),
            "reliability": reliability_bins(proba, gold),
            "pred": encode_predictions(pred), **fields}


def run_budget_sweep(
    config: str | Path, output: str | Path | None = None, *,
    budgets: Sequence[int] | None = None, seeds: Sequence[int] | None = None,
    max_test: int | None = None, methods: Sequence[str] | None = None,
    datasets: Sequence[str] | None = None, models: Sequence[str] | None = None,
    progress: bool = True,
) -> Path:
    """Run every (dataset, model, method, budget, seed) cell not yet in ``output``.

    Arguments left None come from the config's ``[budget]`` section (its defaults
    when the config has none; ``output``: the config's ``output``).

    Returns:
        the results file.
    """
    from mrekv.errors import ConfigError, unknown_choice
    from mrekv.experiment.config import load_config
    from mrekv.experiment.sections import BudgetConfig

    exp = load_config(config)
    axes = exp.budget or BudgetConfig()
    budgets = axes.budgets if budgets is None else budgets
    seeds = axes.seeds if seeds is None else seeds
    max_test = axes.max_test if max_test is None else max_test
    methods = (axes.methods or BUDGET_METHODS) if methods is None else methods
    for m in methods:
        if m not in BUDGET_METHODS:
            raise ConfigError(unknown_choice("budget method", m, BUDGET_METHODS))
    resolved = Path(output) if output is not None else exp.resolve(exp.output)
    if resolved is None:
        raise ConfigError(f"output {exp.output!r} names an unset variable; pass an output file")
    out = resolved
    out.parent.mkdir(parents=True, exist_ok=True)
    configs = select_datasets(exp, datasets)
    mined: dict[str, dict[str, tuple[Any, str]]] = {}
    with results_lock(out):
        done = finished_keys(out) if out.exists() else set()
        for cfg, prepared, data, model_name in iter_units(exp, configs, max_test, models):
            if cfg.name not in mined:  # once per dataset, not per model
                mined = {cfg.name: knowledge_sources(exp, cfg, prepared)}
            dm = open_dataset_model(exp, cfg, prepared, data, model_name, out, progress,
                                    mined[cfg.name])
            common, gold = open_unit(out, done, exp, cfg, prepared, data, model_name,
                                     dm.classifier.template_.text)
            cache = dm.cache
            cache.scores(data.texts(data.test_ids + data.calibration_ids))
            for seed in seeds:
                samples = data.samples(budgets, seed)
                for n, ids in samples.items():
                    for method in methods:
                        if n == 0 and method in NEEDS_LABELS or not dm.has_source(method):
                            continue  # it needs labels, or a source the dataset lacks
                        cell = {"method": method, "budget": n, "seed": seed,
                                "sample_hash": sample_hash(ids)}
                        key = cell_key(common, cell)
                        if key in done:
                            continue
                        began = time.perf_counter()
                        lm_before = cache.seconds
                        result = run_cell(dm, method, ids, seed)
                        append_line(out, cell_line(
                            common, cell, result["proba"], gold,
                            knowledge_source=_knowledge_source(dm, method, result["info"]),
                            n_calibration=len(data.calibration_ids),
                            chosen=result["info"],
                            timings={"lm_pass_s": round(cache.seconds - lm_before, 3),
                                     "total_s": round(time.perf_counter() - began, 3)}))
                        done.add(key)
            del dm
    return out


def open_dataset_model(exp: Any, cfg: Any, prepared: Any, data: BudgetData, model_name: str,
                       out: Path, progress: bool,
                       knowledge: dict[str, tuple[Any, str]] | None = None) -> DatasetModel:
    """Load a model and its read-state cache for one dataset (``<stem>.features/``).

    ``knowledge``: the dataset's :func:`knowledge_sources` when already mined (they do
    not depend on the model); None mines them here."""
    from mrekv.experiment.lm_cells import WordScoreCache, union_classifier
    from mrekv.experiment.methods import build_label_words, resolve_model
    from mrekv.experiment.templates import lm_template
    from mrekv.models import load_lm

    path = resolve_model(model_name, prepared, exp, out.with_name(out.stem + ".models"))
    model, tokenizer, backbone = load_lm(path)
    template = lm_template("default", prepared, backbone)
    clf = union_classifier(model, tokenizer, backbone, template, ["the"], "first", exp,
                           prepared.lang)
    hidden = int(model.get_output_embeddings().weight.shape[1])
    key = f"{cfg.name}-read-" + stable_hash(
        {"model": model_name, "template": template.text,
         "max_length": exp.training.max_length}, 16)
    cache = WordScoreCache(clf, [f"h{i}" for i in range(hidden)] + ["lse"],
                           out.with_name(out.stem + ".features") / key, progress,
                           compute=clf.read_states)
    manual = build_label_words("manual", prepared, exp)
    return DatasetModel(data, clf, cache, manual, exp.mining.top_k, cfg,
                        knowledge_sources(exp, cfg, prepared) if knowledge is None
                        else knowledge)


def knowledge_sources(exp: Any, cfg: Any, prepared: Any) -> dict[str, tuple[Any, str]]:
    """The dataset's label-free knowledge: its KPT file and external corpus, where named."""
    from mrekv.experiment.knowledge_sources import external_label_words
    from mrekv.experiment.methods import build_label_words

    found: dict[str, tuple[Any, str]] = {}
    kpt = build_label_words("kpt", prepared, exp) if cfg.kpt else None
    if kpt is not None:
        found["kpt"] = (kpt, "kpt")
    external = external_label_words(cfg, exp, prepared.classes, prepared.lang, exp.mining.top_k)
    if external is not None:
        found["external"] = external
    return found


def _prepare(config: str | Path, out: Path, *, budgets: Sequence[int], seed: int,
             max_test: int, data_class: type[BudgetData] = BudgetData,
             ) -> tuple[DatasetModel, list[int]]:
    """The first dataset and model of ``config`` and its first budget's sample (for tests)."""
    from mrekv.experiment.config import load_config
    from mrekv.experiment.datasets import prepare_dataset

    exp = load_config(config)
    cfg = exp.datasets[0]
    prepared = prepare_dataset(cfg, exp)
    data = data_class.build(prepared, max_test=max_test,
                            calibration_size=exp.training.calibration_size)
    dm = open_dataset_model(exp, cfg, prepared, data, exp.model.for_lang(prepared.lang)[0],
                            out, False)
    return dm, data.samples(budgets, seed)[budgets[0]]


def _knowledge_source(dm: DatasetModel, method: str, info: dict[str, Any]) -> str:
    """Which labelled data fed the method's words or head (recorded on every line)."""
    if method == "manual+calib" or (method == "suite:manual" and not info.get("train_accuracy")):
        return "none"
    if method == "suite:knowledge" and not info.get("train_accuracy"):
        return dm.source_name(method)
    if method == "suite:manual":
        return "none+budget"
    if method == "suite:knowledge":
        return dm.source_name(method) + "+budget"
    if method in LABEL_FREE:
        return dm.source_name(method)
    if method in ("head", "head:knowledge", "head:auto", "head:1se"):
        words = "none" if method != "head:knowledge" else dm.source_name(method)
        return words if info.get("kept_prior") and not info["ngram"]["beta"] else words + "+budget"
    if method == "prior:manual" or (method == "prior:auto" and info.get("prior") == "manual"):
        return "none+budget" if not info.get("kept_prior") else "none"
    return "budget"
