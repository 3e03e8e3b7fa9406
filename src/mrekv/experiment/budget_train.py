"""Trained baselines on the equal-budget samples: fine-tuning, full prompt-tuning, SetFit.

The same cells as :mod:`mrekv.experiment.budget_runner` (same ``BudgetData.build``
arguments, same ``data.samples(budgets, seed)``, same test texts; ``sample_hash`` and
``test_hash`` recorded on every line), for methods that train a network on the N texts:

* ``finetune`` - :class:`~mrekv.finetune.FineTuneClassifier` (the whole LM and a new
  classification head on its last token);
* ``prompt-full`` - :class:`~mrekv.prompt.classifier.PromptClassifier` with
  ``train_mode="full"``: the config's template and manual verbalizer (first sub-token,
  as the sweep's ``manual+calib``), the whole LM prompt-tuned;
* ``setfit`` - the SetFit peer (:func:`mrekv.experiment.peer.fit_setfit`, English only)
  on all N texts (SetFit selects no model on a dev set).

``finetune`` and ``prompt-full`` share one protocol (:func:`train_with_dev`): a
stratified 20 % of the N texts is held out as dev data, the rest trains with AdamW, a
linear schedule with 10 % warm-up and enough epochs for at least
``Protocol.min_steps`` optimizer steps; after every epoch the dev loss and accuracy
are recorded, and the epoch with the best dev accuracy (ties: lower dev loss) is
restored, never the untrained state. The model is not refitted on all N afterwards
(CPU cost). ``chosen`` records the rates, the chosen epoch and step, its dev scores and
the whole curve.

Lines have the fields of the sweep's ``cell`` lines (``knowledge_source = "budget"``),
go to their own file (``experiments/results/budget-train.jsonl``) with their own
``test-set`` line, and are appended under the results lock, so a run resumes where it
stopped. Trained cells cost minutes of CPU each, so these rows use fewer seeds (0, 1, 2)
than the sweep's five (0-4): compare them with the sweep's cells of the same seeds.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mrekv.experiment.budget import BudgetData, sample_hash
from mrekv.experiment.budget_runner import (
    cell_key,
    cell_line,
    iter_units,
    open_unit,
    select_datasets,
)
from mrekv.experiment.results import append_line, finished_keys, results_lock
from mrekv.finetune import FineTuneClassifier
from mrekv.prompt.classifier import PromptClassifier
from mrekv.prompt.estimator import BaseClassifier

TRAIN_METHODS = ("finetune", "prompt-full", "setfit")
#: Dev-score tie-break weight of the dev loss (below one dev text's share of accuracy).
LOSS_TIE_BREAK = 1e-4


@dataclasses.dataclass(frozen=True)
class Protocol:
    """The training protocol of ``finetune`` and ``prompt-full``.

    Args:
        learning_rate: AdamW rate of the LM's weights.
        head_learning_rate: rate of the new classification head (``finetune``).
        batch_size: training batch size.
        warmup_ratio: share of the steps with a linear warm-up (then linear decay).
        min_steps: at least this many optimizer steps (more epochs for small N).
        min_epochs, max_epochs: bounds of the number of epochs.
        dev_fraction: share of each class of the N texts held out as dev data.
    """

    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    batch_size: int = 16
    warmup_ratio: float = 0.1
    min_steps: int = 40
    min_epochs: int = 4
    max_epochs: int = 30
    dev_fraction: float = 0.2

    def epochs(self, n_train: int) -> int:
        """Epochs for ``n_train`` training texts."""
        per_epoch = max(1, math.ceil(n_train / self.batch_size))
        return min(self.max_epochs, max(self.min_epochs, math.ceil(self.min_steps / per_epoch)))


def dev_split(labels: Sequence[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified (train, dev) positions into ``labels``.

    Each class gives ``round(fraction * n_c)`` texts to dev, at least one when it has
    two or more (a class with one text keeps it for training).

    Returns:
        sorted train positions, sorted dev positions.
    """
    rng = np.random.default_rng(seed)
    dev: list[int] = []
    for c in sorted(set(labels)):
        members = [i for i, y in enumerate(labels) if y == c]
        take = max(1, round(fraction * len(members))) if len(members) >= 2 else 0
        dev.extend(members[j] for j in rng.permutation(len(members))[:take])
    chosen = set(dev)
    return [i for i in range(len(labels)) if i not in chosen], sorted(dev)


def selection_score(accuracy: float, loss: float) -> float:
    """The dev score an epoch is chosen by: accuracy, ties broken by the lower (capped) loss."""
    return accuracy - LOSS_TIE_BREAK * min(loss, 100.0)


class DevCurve(BaseClassifier):
    """Mixin: record dev loss and accuracy at every evaluation; never keep the untrained state.

    Attributes:
        curve_: one ``{"dev_loss", "dev_accuracy"}`` per evaluation (the first: untrained).
    """

    curve_: list[dict[str, float]]

    def _dev_evaluator(self, dev: tuple[Sequence[str], list[int]]) -> Callable[[], float]:
        import torch
        import torch.nn.functional as F

        encoded = self._encode(dev[0])
        y = torch.as_tensor(dev[1])
        self.curve_ = []

        def evaluate() -> float:
            scores = self._scores(encoded).double()
            loss = float(F.cross_entropy(scores, y))
            accuracy = float((scores.argmax(-1) == y).double().mean())
            self.curve_.append({"dev_loss": round(loss, 5), "dev_accuracy": round(accuracy, 5)})
            if len(self.curve_) == 1:
                return -math.inf  # the untrained state is a reference point, not a candidate
            return selection_score(accuracy, loss)

        return evaluate


class CurveFineTune(DevCurve, FineTuneClassifier):
    """FineTuneClassifier with the :class:`DevCurve` selection."""


class CurvePrompt(DevCurve, PromptClassifier):
    """PromptClassifier with the :class:`DevCurve` selection."""


def train_with_dev(clf: DevCurve, texts: Sequence[str], labels: Sequence[str], seed: int,
                   protocol: Protocol) -> dict[str, Any]:
    """Fit ``clf`` on the non-dev part of the texts, keeping its best dev epoch.

    ``clf`` must have been built with ``protocol``'s rates and batch size and
    ``epochs=protocol.epochs(n_train)`` (:func:`build_classifier` does).

    Returns:
        what was chosen: rates, planned and chosen epoch and step, dev scores, the curve.
    """
    train_pos, dev_pos = dev_split(labels, protocol.dev_fraction, seed)
    clf.fit([texts[i] for i in train_pos], [labels[i] for i in train_pos],
            dev_texts=[texts[i] for i in dev_pos], dev_labels=[labels[i] for i in dev_pos])
    curve = [{"epoch": h["epoch"], "step": h["step"],
              "train_loss": None if h["train_loss"] is None else round(h["train_loss"], 5), **c}
             for h, c in zip(clf.history_, clf.curve_, strict=True)]
    best = max(curve[1:], key=lambda c: selection_score(c["dev_accuracy"], c["dev_loss"]))
    return {
        "learning_rate": clf.args.learning_rate, "head_learning_rate": clf.args.head_learning_rate,
        "batch_size": clf.args.batch_size, "warmup_ratio": clf.args.warmup_ratio,
        "epochs": clf.args.epochs, "steps": curve[-1]["step"], "n_train": len(train_pos),
        "n_dev": len(dev_pos), "chosen_epoch": best["epoch"], "chosen_step": best["step"],
        "dev_accuracy": best["dev_accuracy"], "dev_loss": best["dev_loss"], "curve": curve,
    }


def build_classifier(method: str, model_path: str, classes: Sequence[str], template: Any,
                     manual: Any, lang: str, exp: Any, n_train: int, seed: int,
                     protocol: Protocol) -> DevCurve:
    """A fresh ``finetune`` or ``prompt-full`` classifier on the pretrained weights."""
    common: dict[str, Any] = dict(
        learning_rate=protocol.learning_rate, epochs=protocol.epochs(n_train),
        batch_size=protocol.batch_size, eval_batch_size=exp.training.eval_batch_size,
        max_length=exp.training.max_length, warmup_ratio=protocol.warmup_ratio, seed=seed,
        device=exp.training.device, progress=False)
    if method == "finetune":
        return CurveFineTune(model_path, classes=classes,
                             head_learning_rate=protocol.head_learning_rate, **common)
    from mrekv.experiment.lm_cells import build_verbalizer
    from mrekv.models import load_lm

    model, tokenizer, backbone = load_lm(model_path)
    return CurvePrompt(model, tokenizer=tokenizer, template=template, backbone=backbone,
                       verbalizer=build_verbalizer("manual", manual, "first", tokenizer),
                       classes=classes, lang=lang, train_mode="full", **common)


@dataclasses.dataclass
class TrainContext:
    """One (dataset, model): what every trained cell of it needs."""

    exp: Any
    data: BudgetData
    model_path: str
    template: Any
    manual: Any
    protocol: Protocol

    @property
    def classes(self) -> list[str]:
        return list(self.data.prepared.classes)


def run_train_cell(ctx: TrainContext, method: str, ids: list[int], seed: int) -> dict[str, Any]:
    """One (method, budget, seed) cell: test probabilities ``(n_test, C)`` and ``chosen``."""
    from mrekv.experiment.peer import fit_setfit

    data, classes = ctx.data, ctx.classes
    texts, labels = data.texts(ids), data.labels(ids)
    test_texts = data.texts(data.test_ids)
    start = time.perf_counter()
    if method == "setfit":
        y = [classes.index(c) for c in labels]
        model, steps, timings = fit_setfit(texts, y, seed, ctx.exp)
        fitted = time.perf_counter()
        found = model.predict_proba(test_texts, batch_size=64, as_numpy=True,
                                    show_progress_bar=False)
        proba = np.zeros((len(test_texts), len(classes)))  # a class absent from N: 0
        proba[:, sorted(set(y))] = found
        info: dict[str, Any] = {"trained_steps": steps, "n_train": len(ids),
                                **{k: round(v, 3) for k, v in timings.items()}}
    else:
        n_train = len(dev_split(labels, ctx.protocol.dev_fraction, seed)[0])
        clf = build_classifier(method, ctx.model_path, classes, ctx.template, ctx.manual,
                               data.prepared.lang, ctx.exp, n_train, seed, ctx.protocol)
        info = train_with_dev(clf, texts, labels, seed, ctx.protocol)
        fitted = time.perf_counter()
        proba = clf.predict_proba(test_texts)
        del clf
    info["fit_s"] = round(fitted - start, 3)
    info["predict_s"] = round(time.perf_counter() - fitted, 3)
    return {"proba": proba, "info": info}


def run_budget_train(
    config: str | Path, output: str | Path, *, budgets: Sequence[int] = (256, 64, 16),
    seeds: Sequence[int] = (0, 1, 2), max_test: int = 1000,
    methods: Sequence[str] = TRAIN_METHODS, datasets: Sequence[str] | None = None,
    models: Sequence[str] | None = None, protocol: Protocol | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Run every (dataset, model, budget, seed, method) trained cell not yet in ``output``.

    Cells run in the order of ``budgets``, then ``seeds``, then ``methods`` (so the
    first budget's cells finish first).

    Returns:
        the results file.

    Raises:
        ConfigError: an unknown method or dataset (the message lists the valid ones).
    """
    from mrekv.errors import ConfigError, unknown_choice
    from mrekv.experiment.config import load_config
    from mrekv.experiment.methods import build_label_words, resolve_model
    from mrekv.experiment.templates import prompt_template
    from mrekv.prompt.template import Template

    for m in methods:
        if m not in TRAIN_METHODS:
            raise ConfigError(unknown_choice("trained budget method", m, TRAIN_METHODS))
    protocol = protocol or Protocol()
    exp = load_config(config)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    configs = select_datasets(exp, datasets)
    with results_lock(out):
        done = finished_keys(out)
        for cfg, prepared, data, model_name in iter_units(exp, configs, max_test, models):
            path = resolve_model(model_name, prepared, exp,
                                 out.with_name(out.stem + ".models"))
            template = prompt_template("default", prepared, path)
            template = template if isinstance(template, Template) else Template(template)
            ctx = TrainContext(exp, data, path, template,
                               build_label_words("manual", prepared, exp), protocol)
            common, gold = open_unit(out, done, exp, cfg, prepared, data, model_name,
                                     template.text)
            for wanted in budgets:
                for seed in seeds:
                    ((n, ids),) = data.samples([wanted], seed).items()  # n: capped at the pool
                    for method in methods:
                        if not ids or (method == "setfit"
                                       and prepared.lang not in exp.setfit.langs):
                            continue
                        cell = {"method": method, "budget": n, "seed": seed,
                                "sample_hash": sample_hash(ids)}
                        key = cell_key(common, cell)
                        if key in done:
                            continue
                        began = time.perf_counter()
                        result = run_train_cell(ctx, method, ids, seed)
                        line = cell_line(
                            common, cell, result["proba"], gold, knowledge_source="budget",
                            n_calibration=len(data.calibration_ids),
                            chosen=result["info"],
                            timings={"total_s": round(time.perf_counter() - began, 3)})
                        append_line(out, line)
                        done.add(key)
                        if log is not None:
                            log(f"{cfg.name} {model_name} {method} N={n} seed={seed}: "
                                f"macro-F1 {line['macro_f1']:.4f} "
                                f"({time.perf_counter() - began:.0f} s)")
    return out
