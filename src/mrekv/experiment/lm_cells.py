"""Frozen-LM cells: one cached LM pass per text serves every verbalizer of a dataset.

For a (dataset, model, template, aggregate), :class:`WordScoreCache` holds the
log-score of every label word any verbalizer of the dataset may use (manual,
KPT, mre-frequency, every mining candidate of ``mre-best``'s selection), per
text. The scores come from a :class:`~mrekv.prompt.classifier.PromptClassifier`
whose knowledgeable verbalizer holds that union of words, so a cell's
verbalizer, prepared with the same tokenizer, reads exactly the columns its own
forward pass would compute (a word's score depends only on its tokens). Each
cell then only indexes columns: calibration (``calibrate_words``), frozen-LM
few-shot training of the word weights (:func:`mrekv.prompt.frozen.fit_on_features`)
and prediction (``class_scores``) cost milliseconds.

On disk: ``<results stem>.features/<key>/`` holds ``meta.json`` and one
``.npz`` file per chunk of texts (written atomically, found by the texts'
hashes), so an interrupted run resumes where it stopped. Nothing of it is
needed to rebuild tables: results lines carry the metrics.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from mrekv.experiment.results import stable_hash
from mrekv.verbalizer.label_words import LabelWords

#: Texts per chunk file (and per progress step).
CHUNK = 32


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


class WordScoreCache:
    """Per-text log-scores of a fixed union of label words, cached on disk.

    Args:
        classifier: a PromptClassifier whose verbalizer holds ``words`` as one class.
        words: the union of label words (its column order).
        folder: where the chunk files go.
        progress: show a progress bar while computing.
        compute: what a chunk of texts maps to (default: ``classifier.word_scores``; e.g.
            ``classifier.read_states`` caches read states instead, ``words`` naming columns).
    """

    def __init__(self, classifier: Any, words: list[str], folder: Path,
                 progress: bool = True, compute: Any = None) -> None:
        self.classifier = classifier
        self.compute = compute or classifier.word_scores
        self.words = list(words)
        self.column = {w: i for i, w in enumerate(self.words)}
        self.folder = folder
        self.progress = progress
        self.rows: dict[str, np.ndarray] = {}
        self.seconds = 0.0
        folder.mkdir(parents=True, exist_ok=True)
        meta = folder / "meta.json"
        if not meta.is_file():
            tmp = meta.with_suffix(".tmp")
            tmp.write_text(json.dumps({"words": self.words}, ensure_ascii=False), "utf-8")
            os.replace(tmp, meta)
        for path in sorted(folder.glob("chunk-*.npz")):
            with np.load(path) as data:
                for key, row in zip(data["keys"].tolist(), data["scores"], strict=True):
                    self.rows[str(key)] = row

    def scores(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), len(words))`` float32 log-scores, computing what is missing."""
        from tqdm.auto import tqdm

        keys = [_text_hash(t) for t in texts]
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True)
                                     if k not in self.rows))
        bar = tqdm(total=len(missing), desc="LM pass", unit="text", leave=False,
                   disable=not self.progress or not missing)
        for start in range(0, len(missing), CHUNK):
            part = missing[start:start + CHUNK]
            began = time.perf_counter()
            block = self.compute(part).float().cpu().numpy()
            self.seconds += time.perf_counter() - began
            part_keys = [_text_hash(t) for t in part]
            name = hashlib.sha256("".join(part_keys).encode()).hexdigest()[:16]
            tmp = self.folder / f".chunk-{name}.tmp.npz"
            np.savez(tmp, keys=np.array(part_keys), scores=block.astype(np.float32))
            os.replace(tmp, self.folder / f"chunk-{name}.npz")
            for key, row in zip(part_keys, block, strict=True):
                self.rows[key] = row
            bar.update(len(part))
        bar.close()
        if not texts:
            return np.zeros((0, len(self.words)), dtype=np.float32)
        return np.stack([self.rows[k] for k in keys])

    def columns(self, words: list[str]) -> list[int]:
        """The column of each word (every word must be in the union)."""
        missing = [w for w in words if w not in self.column]
        if missing:
            raise KeyError(f"words not in the cached union: {missing[:5]!r}")
        return [self.column[w] for w in words]


def union_classifier(model: Any, tokenizer: Any, backbone: str, template: Any, words: list[str],
                     aggregate: str, exp: Any, lang: str) -> Any:
    """A PromptClassifier whose knowledgeable verbalizer holds ``words`` as one class."""
    from mrekv.prompt.classifier import PromptClassifier
    from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer

    union = LabelWords.from_lists(["union"], [words])
    verbalizer = KnowledgeableVerbalizer(union, aggregate=aggregate)
    return PromptClassifier(
        model, tokenizer=tokenizer, backbone=backbone, template=template, lang=lang,
        verbalizer=verbalizer, max_length=exp.training.max_length,
        eval_batch_size=exp.training.eval_batch_size, device=exp.training.device,
        progress=False,
    )


def cache_key(model: str, template: str, aggregate: str, words: list[str], dataset: str,
              max_length: int) -> str:
    """The folder name of a cache: everything its scores depend on."""
    return f"{dataset}-{aggregate}-" + stable_hash(
        {"model": model, "template": template, "aggregate": aggregate, "words": words,
         "max_length": max_length}, 16)


def build_verbalizer(words_kind: str, label_words: LabelWords, aggregate: str,
                     tokenizer: Any) -> Any:
    """The cell's verbalizer (manual for ``manual``, else knowledgeable), prepared."""
    from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
    from mrekv.verbalizer.manual import ManualVerbalizer

    if words_kind == "manual":
        verbalizer: Any = ManualVerbalizer(label_words.classes, label_words.as_lists(),
                                           aggregate=aggregate)
    else:
        verbalizer = KnowledgeableVerbalizer(label_words, aggregate=aggregate)
    return verbalizer.prepare(tokenizer)


def cell_features(cache: WordScoreCache, verbalizer: Any, texts: list[str]) -> Any:
    """``(len(texts), W)`` word scores of ``verbalizer``'s words, read from ``cache``.

    An ``exact-mean`` verbalizer reads the exact cache (full log-probabilities) and
    divides each word's score by its number of sub-tokens.
    """
    import torch

    from mrekv.prompt.exact import per_token_mean

    cols = cache.columns(list(verbalizer.flat_words))
    scores = torch.from_numpy(cache.scores(texts)[:, cols])
    if verbalizer.aggregate == "exact-mean":
        return per_token_mean(scores, verbalizer.token_mask)
    return scores


def evaluate_words(
    cache: WordScoreCache,
    verbalizer: Any,
    *,
    test_texts: list[str],
    calibration_texts: list[str] | None,
    train: tuple[list[str], list[int]] | None,
    dev: tuple[list[str], list[int]] | None,
    args: Any,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Calibrate, train the word weights (frozen LM) and predict, all from cached scores.

    Returns:
        ``(predicted class indices, training history)``.
    """
    import torch

    from mrekv.prompt.frozen import fit_on_features

    def feats(texts: list[str]) -> torch.Tensor:
        return cell_features(cache, verbalizer, texts)

    if calibration_texts:
        verbalizer.calibrate_words(feats(calibration_texts))
    history: list[dict[str, Any]] = []
    if train is not None and train[0]:
        history = fit_on_features(
            verbalizer, feats(train[0]), train[1], args,
            dev_features=None if dev is None or not dev[0] else feats(dev[0]),
            dev_labels=None if dev is None or not dev[0] else dev[1],
        )
    with torch.no_grad():
        scores = verbalizer.class_scores(feats(test_texts))
    return scores.argmax(-1).numpy(), history


class LMDataset:
    """Everything the frozen-LM cells of one (dataset, model, template) share.

    Label words: ``manual``, ``kpt`` (or None), ``mre-frequency`` (top-k frequency,
    the paper's WLI-KV) and ``mre-best`` (chosen on held-out knowledge data by this
    LM's calibrated zero-shot macro-F1 when ``mining.best_method = "auto"``). The
    calibration texts are a fixed, seeded sample of the knowledge split outside the
    held-out part: unlabeled use only, disjoint from the test and few-shot data.
    """

    def __init__(self, data: Any, exp: Any, model_ref: str, loaded: tuple[Any, Any, str],
                 template_name: str, template: Any, folder: Path, progress: bool) -> None:
        from mrekv.experiment.methods import build_label_words, kpt_path

        self.data, self.exp, self.model_ref = data, exp, model_ref
        self.model, self.tokenizer, self.backbone = loaded
        self.template_name, self.template = template_name, template
        self.folder, self.progress = folder, progress
        self.sets: dict[str, LabelWords | None] = {
            "manual": build_label_words("manual", data, exp),
            "kpt": build_label_words("kpt", data, exp) if kpt_path(data, exp) else None,
        }
        mining = exp.mining
        knowledge = data.knowledge_examples(exp)
        self.plan = None
        if mining.best_method == "auto":
            from mrekv.verbalizer.selection import plan_selection

            self.plan = plan_selection(
                knowledge, classes=data.classes, lang=data.lang, top_ks=mining.select_top_k,
                held_out=mining.held_out, max_held_out=mining.max_held_out,
                seed=exp.knowledge.seed, min_count=mining.min_count,
                split_name=data.knowledge_name,
            )
            self.sets["mre-frequency"] = self.plan.final["frequency"].top(mining.top_k)
            held = {e.text for e in self.plan.held_out}
        else:
            self.sets["mre-frequency"] = build_label_words("mre-frequency", data, exp)
            self.sets["mre-best"] = build_label_words("mre-best", data, exp)
            held = set()
        pool = sorted({e.text for e in knowledge} - held)
        rng = np.random.default_rng(exp.knowledge.seed)
        picked = rng.permutation(len(pool))[: exp.training.calibration_size]
        self.calibration = [pool[i] for i in sorted(picked)]
        self.selection: dict[str, Any] | None = None
        self.caches: dict[str, WordScoreCache] = {}

    def _cache(self, aggregate: str, words: list[str]) -> WordScoreCache:
        if aggregate not in self.caches:
            clf = union_classifier(self.model, self.tokenizer, self.backbone, self.template,
                                   words, aggregate, self.exp, self.data.lang)
            key = cache_key(self.model_ref, self.template.text, aggregate, words,
                            self.data.name, self.exp.training.max_length)
            self.caches[aggregate] = WordScoreCache(clf, words, self.folder / key,
                                                    self.progress)
        return self.caches[aggregate]

    def first_cache(self) -> WordScoreCache:
        """The first-sub-token cache over every set and every selection candidate."""
        words: set[str] = set()
        for lw in self.sets.values():
            if lw is not None:
                for ws in lw.as_lists():
                    words.update(ws)
        if self.plan is not None:
            words.update(self.plan.words())
        return self._cache("first", sorted(words))

    def label_words(self, kind: str) -> LabelWords | None:
        """The label words of ``manual`` / ``kpt`` / ``mre-frequency`` / ``mre-best``."""
        if kind == "mre-best" and "mre-best" not in self.sets:
            self.sets["mre-best"], self.selection = self._select()
        return self.sets[kind]

    def _select(self) -> tuple[LabelWords, dict[str, Any]]:
        from mrekv.metrics import classification_metrics

        assert self.plan is not None
        cache = self.first_cache()
        classes = list(self.data.classes)

        def scorer(lw: LabelWords, texts: Any, labels: Any) -> float:
            verbalizer = build_verbalizer("mre-best", lw, "first", self.tokenizer)
            predicted, _ = evaluate_words(cache, verbalizer, test_texts=list(texts),
                                          calibration_texts=self.calibration, train=None,
                                          dev=None, args=None)
            names = [classes[i] for i in predicted]
            return float(classification_metrics(list(labels), names, labels=classes)["macro_f1"])

        return self.plan.choose(scorer)

    def exact_cache(self) -> WordScoreCache:
        """The exact (teacher-forced) cache over the final sets only (not the candidates)."""
        words: set[str] = set()
        for kind in ("manual", "kpt", "mre-frequency", "mre-best"):
            lw = self.label_words(kind)
            if lw is not None:
                for ws in lw.as_lists():
                    words.update(ws)
        return self._cache("exact", sorted(words))


def run_lm(spec: Any, label_words: LabelWords | None, state: LMDataset, data: Any,
           split: Any, exp: Any) -> Any:
    """A frozen-LM cell from cached word scores (:mod:`mrekv.experiment.lm_cells`)."""
    from mrekv.experiment.methods import CellOutcome, _metrics
    from mrekv.prompt.training import TrainingArgs, label_indices

    assert label_words is not None
    corpus, t = data.corpus, exp.training
    aggregate = {"lm-exact": "exact", "lm-exact-mean": "exact-mean"}.get(spec.family, "first")
    start = time.perf_counter()
    # one exact cache (full log-probabilities) serves exact and exact-mean cells
    cache = state.first_cache() if aggregate == "first" else state.exact_cache()
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
