"""What one cell does: build label words, train and score one method.

Every call into the rest of mrekv (mining, KPT files, the probe, the prompt /
fine-tuning classifiers, the tiny model, metrics) lives here or in the modules
beside it (:mod:`~mrekv.experiment.datasets` loads the data, leakage-checked;
:mod:`~mrekv.experiment.lm_cells` runs frozen-LM cells), so the runner stays
independent of their signatures.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrekv.errors import ConfigError
from mrekv.experiment.config import ExperimentConfig, MethodSpec
from mrekv.experiment.datasets import (  # noqa: F401 - re-exported for the runner
    CAP_SEED,
    PreparedDataset,
    _cap,
    check_no_leakage,
    prepare_dataset,
)
from mrekv.experiment.templates import prompt_template
from mrekv.verbalizer.label_words import LabelWords

# --------------------------------------------------------------------------- label words


def manual_label_words(data: PreparedDataset) -> LabelWords:
    """Class names (or the config's ``manual`` words) as label words."""
    manual = data.config.manual or {}
    unknown = sorted(set(manual) - set(data.classes))
    if unknown:
        raise ConfigError(f"dataset {data.name!r}: manual words for unknown classes {unknown!r}; "
                          f"classes: {list(data.classes)!r}")
    words = [list(manual.get(c, (c,))) for c in data.classes]
    return LabelWords.from_lists(data.classes, words, {"method": "manual"})


def kpt_path(data: PreparedDataset, exp: ExperimentConfig) -> Path | None:
    """The OpenPrompt knowledge file of the dataset, or None when it has none.

    A configured knowledge set whose file is absent (e.g. ``../shared`` is not beside
    the checkout) is None too: its cells are written as skipped, with the reason.
    """
    if data.config.kpt is None:
        return None
    direct = exp.resolve(data.config.kpt)
    if direct is not None and direct.is_file():
        return direct
    root = exp.resolve(exp.paths.kpt)
    if root is None:
        raise ConfigError(f"dataset {data.name!r}: kpt={data.config.kpt!r} needs paths.kpt "
                          "(or $MREKV_KPT) pointing at the OpenPrompt knowledge folders")
    path = root / data.config.kpt / "knowledgeable_verbalizer.txt"
    return path if path.is_file() else None


def build_label_words(
    words: str, data: PreparedDataset, exp: ExperimentConfig
) -> LabelWords | None:
    """The label words of a word source for a dataset; None where it does not apply (kpt)."""
    if words == "manual":
        return manual_label_words(data)
    if words == "kpt":
        path = kpt_path(data, exp)
        if path is None:
            return None
        from mrekv.verbalizer.io import read_kpt

        order = tuple(data.config.kpt_classes or data.classes)
        read = read_kpt(path, classes=order)
        return LabelWords(data.classes, {c: read.words[c] for c in data.classes},
                          {**read.provenance, "method": "kpt", "file": path.name})
    from mrekv.verbalizer.mining import mine_label_words

    method = "frequency" if words == "mre-frequency" else exp.mining.best_method
    if method == "auto":  # chosen on held-out knowledge data by the model-free probe
        from mrekv.verbalizer.selection import choose_label_words

        chosen, _ = choose_label_words(
            data.knowledge_examples(exp), classes=data.classes, lang=data.lang,
            top_ks=exp.mining.select_top_k, held_out=exp.mining.held_out,
            max_held_out=exp.mining.max_held_out, seed=exp.knowledge.seed,
            min_count=exp.mining.min_count, split_name=data.knowledge_name,
        )
        return chosen
    return mine_label_words(
        data.knowledge_examples(exp), method, exp.mining.top_k, classes=data.classes,
        lang=data.lang, min_count=exp.mining.min_count, split_name=data.knowledge_name,
    )


# --------------------------------------------------------------------------- models


def tiny_model(data: PreparedDataset, exp: ExperimentConfig, cache_dir: Path, *,
               causal: bool = False) -> Path:
    """A tiny random MLM (or Llama-style causal LM) with a vocabulary trained on the dataset's
    non-test texts (cached)."""
    from mrekv.models import make_tiny_mlm
    from mrekv.tiny_causal import make_tiny_causal_lm

    folder = cache_dir / f"tiny{'-causal' if causal else ''}-{data.name}"
    if (folder / "config.json").is_file():
        return folder
    pool = [data.corpus.texts[i] for s in data.pool for i in data.corpus.splits.get(s, ())]
    # The class names and manual words must be spellable in the tiny vocabulary.
    pool += [" ".join(words) for words in manual_label_words(data).as_lists()]
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tiny-{data.name}.", dir=cache_dir))
    try:
        if causal:
            make_tiny_causal_lm(tmp, kind="llama", texts=pool, vocab_size=2000, seed=0)
        else:
            make_tiny_mlm(tmp, pool, vocab_size=2000, seed=0)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def resolve_model(model: str, data: PreparedDataset, exp: ExperimentConfig,
                  cache_dir: Path) -> str:
    """A loadable model path / id for a config model name (``tiny`` is built on demand)."""
    if model in ("tiny", "tiny-causal"):
        return str(tiny_model(data, exp, cache_dir, causal=model == "tiny-causal"))
    if model.startswith("eval:"):
        from mrekv.eval_models import locate

        return str(locate(model))
    local = exp.resolve(model)
    return str(local) if local is not None and local.exists() else model


# --------------------------------------------------------------------------- cells


@dataclass
class CellOutcome:
    """What a cell produced: metrics, label-word counts, timings and notes."""

    metrics: dict[str, Any]
    label_words_per_class: dict[str, int] | None
    timings: dict[str, float]
    fewshot: dict[str, Any] | None = None


def _metrics(y_true: list[str], y_pred: list[str], classes: tuple[str, ...]) -> dict[str, Any]:
    from mrekv.metrics import classification_metrics

    m = classification_metrics(y_true, y_pred, labels=list(classes))
    return {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "n_test": m["n"]}


def run_probe(label_words: LabelWords, data: PreparedDataset) -> CellOutcome:
    """The model-free label-word probe, scored on the test split.

    Texts without any label word go to the pool's majority class (a fair fallback).
    """
    from mrekv.verbalizer.probe import probe_label_words

    test = data.corpus.split("test")
    start = time.perf_counter()
    result = probe_label_words(label_words, list(test.texts), list(test.labels), data.lang,
                               tokens=data.test_tokens(), default=data.majority_class())
    metrics = {"accuracy": float(result.accuracy), "macro_f1": float(result.macro_f1),
               "coverage": float(result.coverage), "n_test": len(test.texts)}
    return CellOutcome(metrics, label_words.counts(),
                       {"predict_s": time.perf_counter() - start})


def run_embedding(label_words: LabelWords, data: PreparedDataset, split: Any, encoder: Any,
                  exp: ExperimentConfig) -> CellOutcome:
    """The embedding verbalizer: label-word prototypes, mixed with the k-shot examples."""
    from mrekv.embedding import EmbeddingClassifier

    corpus = data.corpus
    clf = EmbeddingClassifier(label_words, encoder=encoder, mix=exp.embedding.mix,
                              prior_shots=exp.embedding.prior_shots)
    start = time.perf_counter()
    clf.fit(split.texts(corpus, "train"), split.labels(corpus, "train"))
    fitted = time.perf_counter()
    predicted = clf.predict(split.texts(corpus, "test"))
    done = time.perf_counter()
    return CellOutcome(_metrics(split.labels(corpus, "test"), predicted, data.classes),
                       label_words.counts(), {"fit_s": fitted - start, "predict_s": done - fitted})


def _calibration_texts(data: PreparedDataset, split: Any, exp: ExperimentConfig) -> list[str]:
    """Unlabelled texts for calibration: pool records outside train/dev (never test)."""
    used = set(split.train) | set(split.dev)
    pool = [i for s in data.pool for i in data.corpus.splits.get(s, ()) if i not in used]
    chosen = _cap(tuple(sorted(pool)), exp.training.calibration_size)
    return [data.corpus.texts[i] for i in chosen]


def run_classifier(spec: MethodSpec, label_words: LabelWords | None, data: PreparedDataset,
                   split: Any, model_path: str, template: str,
                   exp: ExperimentConfig) -> CellOutcome:
    """A prompt classifier (any verbalizer, optionally calibrated) or the fine-tuning baseline."""
    corpus, t = data.corpus, exp.training
    common: dict[str, Any] = dict(epochs=t.epochs, batch_size=t.batch_size,
                                  learning_rate=t.learning_rate, max_length=t.max_length,
                                  seed=split.seed, device=t.device)
    if spec.family == "finetune":
        from mrekv.finetune import FineTuneClassifier

        clf: Any = FineTuneClassifier(model_path, classes=data.classes, progress=False,
                                      head_learning_rate=exp.finetune.head_learning_rate,
                                      **common)
    else:
        from mrekv.prompt.classifier import PromptClassifier

        verbalizer: Any = None  # soft: a SoftVerbalizer over the classes
        if spec.words == "manual" and label_words is not None:
            verbalizer = dict(zip(label_words.classes, label_words.as_lists(), strict=True))
        elif spec.words != "soft":
            verbalizer = label_words  # -> KnowledgeableVerbalizer
        clf = PromptClassifier(
            model_path, template=prompt_template(template, data, model_path),
            verbalizer=verbalizer, classes=data.classes, lang=data.lang, progress=False,
            **common,
        )
    start = time.perf_counter()
    train_texts, train_labels = split.texts(corpus, "train"), split.labels(corpus, "train")
    dev_texts, dev_labels = split.texts(corpus, "dev"), split.labels(corpus, "dev")
    if train_texts:  # zero-shot cells skip training
        clf.fit(train_texts, train_labels, dev_texts=dev_texts or None,
                dev_labels=dev_labels or None)
    fitted = time.perf_counter()
    if spec.calibrated:
        clf.calibrate(_calibration_texts(data, split, exp))
    calibrated = time.perf_counter()
    predicted = [str(p) for p in clf.predict(split.texts(corpus, "test"))]
    done = time.perf_counter()
    counts = None if label_words is None else label_words.counts()
    if spec.words == "soft":
        counts = None
    return CellOutcome(
        _metrics(split.labels(corpus, "test"), predicted, data.classes), counts,
        {"fit_s": fitted - start, "calibrate_s": calibrated - fitted,
         "predict_s": done - calibrated},
    )
