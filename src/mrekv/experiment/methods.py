"""What one cell does: load a dataset, build label words, train and score one method.

Every call into the rest of mrekv (corpora, MMM files, few-shot splits, MRE-mix
word labels, mining, KPT files, the probe, the prompt / fine-tuning classifiers,
the tiny model, metrics) lives in this module, so the runner stays independent
of their signatures.

No leakage by construction: label words come only from the knowledge split
(:meth:`PreparedDataset.knowledge_examples`), which :func:`prepare_dataset`
checks to be disjoint from the test set and from the few-shot pool, and the
few-shot train/dev sets are drawn from the pool minus the knowledge split.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrekv.data.example import Family, MREExample
from mrekv.errors import ConfigError
from mrekv.experiment.config import DatasetConfig, ExperimentConfig, MethodSpec
from mrekv.experiment.results import indices_hash, stable_hash
from mrekv.verbalizer.label_words import LabelWords

#: Seed of the caps ``max_test`` / ``max_train_pool`` (fixed: they define the data, not a run).
CAP_SEED = 12345


def _normalise_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def _cap(indices: tuple[int, ...], limit: int | None) -> tuple[int, ...]:
    if limit is None or len(indices) <= limit:
        return indices
    chosen = np.random.default_rng(CAP_SEED).permutation(len(indices))[:limit]
    return tuple(sorted(indices[i] for i in chosen))


@dataclass
class PreparedDataset:
    """A dataset ready for the grid: one corpus (pool + test) and its knowledge source.

    Attributes:
        config: the dataset's config section.
        corpus: a :class:`mrekv.data.corpus.Corpus` whose ``train`` (+ ``dev``) splits are
            the few-shot pool and whose ``test`` split is the evaluation set.
        external_knowledge: label-word source outside the pool (a named split or a
            file), or None when the knowledge split is carved from the pool.
        knowledge_name: the name written in results (``"train-carved"``, a split name,
            or the file name).
    """

    config: DatasetConfig
    corpus: Any
    external_knowledge: list[MREExample] | None
    knowledge_name: str
    pool: tuple[str, ...] = ("train",)
    _splits: dict[tuple[int, int], Any] = field(default_factory=dict)
    _knowledge: list[MREExample] | None = None
    _test_tokens: list[Any] | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def lang(self) -> str:
        return str(self.corpus.lang)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.corpus.classes)

    def few_shot(self, k: int, seed: int, exp: ExperimentConfig) -> Any:
        """The :class:`~mrekv.data.split.FewShotSplit` of a cell (cached)."""
        from mrekv.data.split import few_shot_split

        if (k, seed) not in self._splits:
            carved = self.external_knowledge is None
            self._splits[(k, seed)] = few_shot_split(
                self.corpus, k, seed,
                knowledge="stratified" if carved else None,
                knowledge_fraction=exp.knowledge.fraction if carved else 0.0,
                knowledge_seed=exp.knowledge.seed,
                pool=self.pool,
            )
        return self._splits[(k, seed)]

    def test_tokens(self) -> list[Any]:
        """The test texts split into words by the language's word tokenizer (cached)."""
        if self._test_tokens is None:
            from mrekv.tokenizers import get_tokenizer

            texts = [self.corpus.texts[i] for i in self.corpus.split_indices("test")]
            self._test_tokens = get_tokenizer(self.lang).tokenize_batch(texts)
        return self._test_tokens

    def majority_class(self) -> str:
        """The most frequent class of the few-shot pool (ties: class order); never test."""
        counts = {c: 0 for c in self.classes}
        for split in self.pool:
            for i in self.corpus.splits.get(split, ()):
                counts[self.corpus.labels[i]] += 1
        return max(self.classes, key=lambda c: counts[c])

    def knowledge_indices(self, exp: ExperimentConfig) -> tuple[int, ...]:
        """Indices of the carved knowledge split (capped by ``knowledge.max_size``)."""
        return _cap(self.few_shot(0, 0, exp).knowledge, exp.knowledge.max_size)

    def knowledge_examples(self, exp: ExperimentConfig) -> list[MREExample]:
        """The knowledge split as MRE examples, with word labels (gold or built)."""
        if self._knowledge is None:
            if self.external_knowledge is not None:
                examples = _cap_list(self.external_knowledge, exp.knowledge.max_size)
            else:
                everything = self.corpus.to_examples()
                examples = [everything[i] for i in self.knowledge_indices(exp)]
            if needs_built_word_labels(self.config, examples):
                examples = with_built_word_labels(examples, self.config, self.lang)
            self._knowledge = examples
        return self._knowledge

    def knowledge_info(self, exp: ExperimentConfig) -> dict[str, Any]:
        """What results record about the split that fed the verbalizer."""
        if self.external_knowledge is not None:
            texts = [e.text for e in _cap_list(self.external_knowledge, exp.knowledge.max_size)]
            return {"name": self.knowledge_name, "size": len(texts),
                    "hash": stable_hash(sorted(texts), 12)}
        idx = self.knowledge_indices(exp)
        return {"name": self.knowledge_name, "size": len(idx), "hash": indices_hash(idx)}


def _cap_list(items: list[MREExample], limit: int | None) -> list[MREExample]:
    return [items[i] for i in _cap(tuple(range(len(items))), limit)]


# --------------------------------------------------------------------------- loading


def _read_mmm(path: Path, lang: str | None) -> list[MREExample]:
    from mrekv.data.mmm import read_mmm

    if not path.is_file():
        raise ConfigError(f"MMM file {path} does not exist")
    return list(read_mmm(path, lang=lang))


def _load_corpus(cfg: DatasetConfig, exp: ExperimentConfig) -> tuple[Any, list[MREExample] | None,
                                                                     str]:
    from mrekv.data.corpus import Corpus

    if cfg.source == "corpus":
        from mrekv.data.corpora import load_corpus

        root = exp.resolve(cfg.root) if cfg.root else None
        corpus = load_corpus(str(cfg.corpus), root=root)
        knowledge = None
        name = "pool-carved"
        if cfg.knowledge is not None and cfg.knowledge not in ("train", "pool"):
            if cfg.knowledge not in corpus.splits:
                raise ConfigError(f"dataset {cfg.name!r}: knowledge split {cfg.knowledge!r} is "
                                  f"not a split of the corpus; splits: {sorted(corpus.splits)}")
            knowledge = corpus.to_examples(cfg.knowledge)
            name = cfg.knowledge
        return corpus, knowledge, name
    if cfg.source == "catalog":
        from mrekv.data.catalog import load_mmm

        path = exp.resolve(cfg.path)
        train = list(load_mmm(str(cfg.catalog), "train", path=path))
        test = list(load_mmm(str(cfg.catalog), "test", path=path))
    else:
        train = _read_mmm(exp.resolve(cfg.train), cfg.lang)  # type: ignore[arg-type]
        test = _read_mmm(exp.resolve(cfg.test), cfg.lang)  # type: ignore[arg-type]
    lang = cfg.lang or next((e.lang for e in train if e.lang), None)
    if lang is None:
        raise ConfigError(f"dataset {cfg.name!r}: set lang (the MMM records do not say)")
    classes = sorted({e.text_label for e in train} | {e.text_label for e in test})
    examples = [MREExample(e.text, e.text_label, e.task, e.word_labels, e.relations, lang)
                for e in [*train, *test]]
    splits = {"train": range(len(train)), "test": range(len(train), len(examples))}
    corpus = Corpus.from_examples(examples, cfg.name, lang, splits, classes=classes,
                                  family=cfg.family, source=str(cfg.train or cfg.catalog))
    knowledge = None
    name = "train-carved"
    if cfg.knowledge is not None and cfg.knowledge != "train":
        kpath = exp.resolve(cfg.knowledge)
        assert kpath is not None
        knowledge = [MREExample(e.text, e.text_label, e.task, e.word_labels, e.relations, lang)
                     for e in _read_mmm(kpath, lang)]
        name = kpath.name
    return corpus, knowledge, name


def check_no_leakage(data: PreparedDataset, exp: ExperimentConfig) -> None:
    """Refuse a knowledge source that shares texts with the test set or the few-shot pool.

    Raises:
        ConfigError: naming the dataset, the knowledge source and an overlapping text.
    """
    if data.external_knowledge is None:
        return  # carved from the pool by few_shot_split, which checks disjointness itself
    corpus = data.corpus
    know = {_normalise_text(e.text) for e in data.external_knowledge}
    for part, splits in (("test", ("test",)), ("few-shot pool", data.pool)):
        for split in splits:
            for i in corpus.splits.get(split, ()):
                if _normalise_text(corpus.texts[i]) in know:
                    raise ConfigError(
                        f"dataset {data.name!r}: the knowledge source {data.knowledge_name!r} "
                        f"shares texts with the {part} ({split} record {i}: "
                        f"{corpus.texts[i][:60]!r}); label words would leak. Use a disjoint "
                        "knowledge file or leave 'knowledge' unset to carve it from the pool"
                    )


def prepare_dataset(cfg: DatasetConfig, exp: ExperimentConfig) -> PreparedDataset:
    """Load a dataset, apply its caps, and check its knowledge source for leakage.

    Raises:
        ConfigError: missing files, bad splits, or a knowledge source overlapping test/pool.
    """
    corpus, knowledge, name = _load_corpus(cfg, exp)
    if "test" not in corpus.splits:
        raise ConfigError(f"dataset {cfg.name!r} has no test split; splits: "
                          f"{sorted(corpus.splits)}")
    pool = tuple(s for s in ("train", "dev") if s in corpus.splits and s != cfg.knowledge)
    if cfg.max_test or cfg.max_train_pool:
        keep = set(_cap(corpus.split_indices("test"), cfg.max_test))
        keep |= set(_cap(tuple(i for s in pool for i in corpus.split_indices(s)),
                         cfg.max_train_pool))
        corpus = corpus.subset(sorted(keep))
    data = PreparedDataset(cfg, corpus, knowledge, name, pool)
    check_no_leakage(data, exp)
    return data


def needs_built_word_labels(cfg: DatasetConfig, examples: list[MREExample]) -> bool:
    """True when the knowledge examples need word labels built from POS for ``cfg.family``."""
    if cfg.word_labels == "family":
        return True
    if cfg.word_labels == "gold" and not any(e.word_labels for e in examples):
        raise ConfigError(f"dataset {cfg.name!r}: word_labels = 'gold' but its knowledge "
                          "examples carry no word labels; set family and word_labels = 'family'")
    return cfg.word_labels == "auto" and not any(e.word_labels for e in examples)


def with_built_word_labels(examples: list[MREExample], cfg: DatasetConfig,
                           lang: str) -> list[MREExample]:
    """The knowledge examples with word labels built from POS for ``cfg.family`` (MRE-mix).

    Only the knowledge split is processed: it is the only data label words come from.
    """
    from mrekv.data.mre_mix import build_mre_examples

    if cfg.family is None:
        raise ConfigError(f"dataset {cfg.name!r} has no gold word labels: set family "
                          f"(e.g. 'SCPOS:Adj & N') to build them")
    texts = [e.text for e in examples]
    labels = [e.text_label for e in examples]
    return list(build_mre_examples(texts, labels, lang, Family.parse(cfg.family),
                                   knowledge=(texts, labels)))


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
                                      **common)
    else:
        from mrekv.prompt.classifier import PromptClassifier

        verbalizer: Any = None  # soft: a SoftVerbalizer over the classes
        if spec.words == "manual" and label_words is not None:
            verbalizer = dict(zip(label_words.classes, label_words.as_lists(), strict=True))
        elif spec.words != "soft":
            verbalizer = label_words  # -> KnowledgeableVerbalizer
        clf = PromptClassifier(
            model_path, template=_prompt_template(template, data, model_path),
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


def _prompt_template(template: str, data: PreparedDataset, model_path: str) -> Any:
    """The template of a prompt cell; a causal LM gets its own language default."""
    if template == "default" and _backbone_of(model_path) == "causal":
        return lm_template(template, data, "causal")
    return _template(template, data)


def _backbone_of(model_path: str) -> str:
    if model_path.endswith(".gguf"):
        return "causal"
    from transformers import AutoConfig

    from mrekv.models import detect_backbone

    try:
        return detect_backbone(AutoConfig.from_pretrained(model_path))
    except (OSError, ValueError, ConfigError):
        return "masked"  # let the classifier report what is wrong with the model


def _template(template: str, data: PreparedDataset) -> Any:
    """The template text, or the language default (of the dataset's kind where supported)."""
    if template != "default":
        return template
    kind = data.config.template_kind
    if kind is None:
        return None  # the classifier's default_template(lang)
    import inspect

    from mrekv.prompt.template import default_template

    if "kind" not in inspect.signature(default_template).parameters:
        raise ConfigError(f"dataset {data.name!r}: template_kind={kind!r} is set but "
                          "default_template() takes no kind; unset it or give a template")
    return default_template(data.lang, kind=kind)


def lm_template(template: str, data: PreparedDataset, backbone: str) -> Any:
    """The Template of a frozen-LM cell: the given text, or the backbone's language default."""
    from mrekv.prompt.template import Template

    if template != "default":
        return Template(template)
    kind = data.config.template_kind or "generic"
    if backbone == "causal":
        from mrekv.prompt.causal_template import default_causal_template

        return default_causal_template(data.lang, kind)
    from mrekv.prompt.template import default_template

    return default_template(data.lang, kind)


def run_lm(spec: MethodSpec, label_words: LabelWords | None, state: Any, data: PreparedDataset,
           split: Any, exp: ExperimentConfig) -> CellOutcome:
    """A frozen-LM cell from cached word scores (:mod:`mrekv.experiment.lm_cells`)."""
    from mrekv.experiment.lm_cells import build_verbalizer, evaluate_words
    from mrekv.prompt.training import TrainingArgs, label_indices

    assert label_words is not None
    corpus, t = data.corpus, exp.training
    aggregate = "exact" if spec.family == "lm-exact" else "first"
    start = time.perf_counter()
    cache = state.exact_cache() if aggregate == "exact" else state.first_cache()
    lm_before = cache.seconds
    verbalizer = build_verbalizer(str(spec.words), label_words, aggregate, state.tokenizer)
    train = dev = None
    if split.train:
        train = (split.texts(corpus, "train"),
                 label_indices(split.labels(corpus, "train"), data.classes))
        dev = (split.texts(corpus, "dev"), label_indices(split.labels(corpus, "dev"), data.classes))
    args = TrainingArgs(learning_rate=t.learning_rate,
                        head_learning_rate=t.verbalizer_learning_rate,
                        epochs=t.epochs, batch_size=t.batch_size, seed=split.seed)
    predicted, history = evaluate_words(
        cache, verbalizer, test_texts=split.texts(corpus, "test"),
        calibration_texts=state.calibration if spec.calibrated else None,
        train=train, dev=dev, args=args,
    )
    names = [data.classes[i] for i in predicted]
    done = time.perf_counter()
    outcome = CellOutcome(
        _metrics(split.labels(corpus, "test"), names, data.classes),
        verbalizer.words_kept(),
        {"lm_pass_s": cache.seconds - lm_before,
         "verbalizer_s": done - start - (cache.seconds - lm_before)},
    )
    outcome.metrics["trained_steps"] = max((h.get("step", 0) for h in history), default=0)
    outcome.metrics.update(token_overlap(verbalizer))
    return outcome


def token_overlap(verbalizer: Any) -> dict[str, float]:
    """How much a verbalizer's words collide at the first sub-token (why words can fail).

    Returns:
        ``shared_first_token``: the share of kept words whose first sub-token also starts a
        kept word of another class (first-token scoring cannot tell them apart), and
        ``multi_token``: the share of kept words with more than one sub-token.
    """
    active = verbalizer.active().cpu().tolist()
    ids = verbalizer.word_token_ids
    firsts: dict[int, set[int]] = {}
    for w, keep in enumerate(active):
        if keep and ids[w]:
            firsts.setdefault(ids[w][0], set()).add(verbalizer.word_class[w])
    kept = [w for w, keep in enumerate(active) if keep and ids[w]]
    shared = sum(len(firsts[ids[w][0]]) > 1 for w in kept)
    multi = sum(len(ids[w]) > 1 for w in kept)
    n = max(len(kept), 1)
    return {"shared_first_token": round(shared / n, 4), "multi_token": round(multi / n, 4)}
