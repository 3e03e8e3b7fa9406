"""Equal-budget evaluation: every method sees the same N labelled sentences.

A cell is (dataset, model, template, budget N, seed). For each (dataset, seed) one
stratified order of the labelled pool is drawn; the budget-N sample is its first
N texts in stratified proportion, so the N = 16 sample is part of the N = 64 one
(fewer LM passes, same fairness). Every method of a (dataset, N, seed) reads
exactly that sample (``sample_hash``: a hash of its sorted corpus ids, recorded on
every line), the same unlabelled calibration texts (a fixed pool sample, never
labelled) and the same test texts (a fixed sample of the test split). Every
choice that needs labels (mining, C of TF-IDF + LR, the prior head's penalty and
prior) is made by cross-validation within the N texts; at N = 0 no such choice.

Methods (all from one cached LM pass per text, :mod:`mrekv.prompt.read_states`):

* ``manual+calib`` - calibrated manual words (no labels; the same at every N);
* ``mined+calib`` - WLI-KV (frequency top-k) mined from the word labels of the N
  texts only (a class with no mined word keeps its manual words, counted);
* ``mined-values+calib`` - the MRE control: the same mining, but each gold word label
  counts for the class its *value* names (aspect polarity, entity type), not for its
  sentence's class (datasets with ``word_labels = "gold"`` only); beside
  ``mined+calib`` (the sentence class copied onto the words, as SCPOS builds them)
  and ``manual+calib`` (no mined words);
* ``tfidf-lr`` - TF-IDF (en word 1-2-grams, ja/zh character 1-3-grams) + logistic
  regression, C by CV within N (scikit-learn);
* ``probe`` - L2 logistic regression on the read-position state (penalty by CV);
* ``prior:manual`` - the head centred on the calibrated manual verbalizer
  (:class:`~mrekv.prompt.prior_head.PriorHead`);
* ``prior:auto`` - the same, with "no prior" (a probe) a CV candidate beside it;
* ``head`` - mrekv's default frozen head (``PromptClassifier(train_mode="frozen")``):
  ``prior:manual`` pooled with an n-gram expert, its weight chosen on the same folds
  (:mod:`mrekv.prompt.ngram_expert`);
* knowledge sources (:mod:`mrekv.experiment.knowledge_sources`; no label of the
  dataset, skipped where the dataset has no such source): ``kpt+calib`` (the KPT
  file), ``external+calib`` (words mined from another labelled corpus of the task),
  ``knowledge+calib`` (manual, KPT and external words together) and
  ``head:knowledge`` (``head`` centred on the ``knowledge+calib`` verbalizer);
* ``head:auto`` - ``head`` whose prior CV chooses among the manual words and words
  mined from the N texts, the mined prior rebuilt on every fold's training part (the
  held-out fold never chose its words);
* ``head:1se`` - ``head`` whose penalty is the strongest one (closest to the prior)
  within one standard error of the lowest CV loss (a diagnostic, added after both the
  nine and the held-out corpora had been seen);
* ``suite:manual`` / ``suite:knowledge`` - the scoring and calibration variant of the
  manual (``knowledge+calib``) words chosen on the N texts
  (:mod:`mrekv.verbalizer.scoring`; N = 0: its default); each cell also records every
  variant's test macro-F1, for the report's table of fixed variants.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from mrekv.experiment.results import indices_hash
from mrekv.experiment.sections import BUDGET_METHODS

__all__ = ["BUDGET_METHODS", "BudgetData", "DatasetModel", "nested_samples", "run_cell"]

#: Methods that use no label at all (their N > 0 cells equal N = 0 by construction).
LABEL_FREE = ("manual+calib", "kpt+calib", "external+calib", "knowledge+calib")
#: Methods that cannot run without labels (no N = 0 cell).
NEEDS_LABELS = ("mined+calib", "mined-values+calib", "tfidf-lr", "probe")
#: The knowledge source each knowledge method needs ("any": kpt or external).
NEEDS_SOURCE = {"kpt+calib": "kpt", "external+calib": "external", "knowledge+calib": "any",
                "head:knowledge": "any", "suite:knowledge": "any"}
#: Seed of the fixed test and calibration samples (they define the data, not a run).
DATA_SEED = 12345


def nested_samples(labels: Sequence[str], classes: Sequence[str], budgets: Sequence[int],
                   seed: int) -> dict[int, list[int]]:
    """Stratified, nested samples of positions into ``labels``, one per budget.

    Each class's positions are shuffled once (``seed``); budget N takes the first
    ``n_c`` of each class, ``n_c`` by largest-remainder proportional allocation with
    at least one per class when ``N >= len(classes)``. Budgets larger than the pool
    take the whole pool.

    Returns:
        budget -> sorted positions.
    """
    rng = np.random.default_rng(seed)
    by_class = {c: [i for i, y in enumerate(labels) if y == c] for c in classes}
    order = {c: [by_class[c][j] for j in rng.permutation(len(by_class[c]))] for c in classes}
    total = sum(len(v) for v in by_class.values())
    out: dict[int, list[int]] = {}
    for n in budgets:
        n = min(n, total)
        share = {c: n * len(by_class[c]) / max(total, 1) for c in classes}
        take = {c: min(len(by_class[c]), int(math.floor(share[c]))) for c in classes}
        if n >= len(classes):
            for c in classes:
                if by_class[c] and take[c] == 0:
                    take[c] = 1
        rest = sorted(classes, key=lambda c: share[c] - math.floor(share[c]), reverse=True)
        while sum(take.values()) < n:
            grew = False
            for c in rest:
                if sum(take.values()) < n and take[c] < len(by_class[c]):
                    take[c] += 1
                    grew = True
            if not grew:
                break
        while sum(take.values()) > n:  # the one-per-class floor overshot: trim the largest
            big = max(classes, key=lambda c: take[c])
            take[big] -= 1
        out[n] = sorted(i for c in classes for i in order[c][: take[c]])
    return out


@dataclasses.dataclass
class BudgetData:
    """One dataset's fixed parts: pool, calibration texts and test texts.

    Attributes:
        pool_ids: corpus ids of the labelled pool (calibration texts excluded).
        calibration_ids: corpus ids of the unlabelled calibration texts.
        test_ids: corpus ids of the fixed test sample.
    """

    prepared: Any
    pool_ids: list[int]
    calibration_ids: list[int]
    test_ids: list[int]

    @classmethod
    def build(cls, prepared: Any, *, max_test: int, calibration_size: int) -> BudgetData:
        corpus = prepared.corpus
        pool = [i for s in prepared.pool for i in corpus.split_indices(s)]
        rng = np.random.default_rng(DATA_SEED)
        calib = set(np.asarray(pool)[rng.permutation(len(pool))[:calibration_size]].tolist())
        test = list(corpus.split_indices("test"))
        if len(test) > max_test:
            test = sorted(np.asarray(test)[rng.permutation(len(test))[:max_test]].tolist())
        texts = {corpus.texts[i] for i in test}
        pool_ids = [i for i in pool if i not in calib and corpus.texts[i] not in texts]
        return cls(prepared, pool_ids, sorted(calib), test)

    def texts(self, ids: Sequence[int]) -> list[str]:
        return [self.prepared.corpus.texts[i] for i in ids]

    def labels(self, ids: Sequence[int]) -> list[str]:
        return [self.prepared.corpus.labels[i] for i in ids]

    def samples(self, budgets: Sequence[int], seed: int) -> dict[int, list[int]]:
        """budget -> sorted corpus ids of that (budget, seed)'s labelled sample."""
        pos = nested_samples(self.labels(self.pool_ids), self.prepared.classes, budgets, seed)
        return {n: sorted(self.pool_ids[p] for p in ps) for n, ps in pos.items()}


def sample_hash(ids: Sequence[int]) -> str:
    """The recorded identity of a labelled sample (hash of its sorted corpus ids)."""
    return indices_hash(sorted(ids))


def encode_predictions(pred: Sequence[int] | np.ndarray) -> str:
    """Class indices as one base-36 character each (compact, exact; <= 36 classes)."""
    return "".join(np.base_repr(int(p), 36) for p in pred)


def decode_predictions(text: str) -> np.ndarray:
    """Inverse of :func:`encode_predictions`."""
    return np.array([int(ch, 36) for ch in text], dtype=np.int64)


# --------------------------------------------------------------------------- methods


def _tfidf_lr(train_texts: list[str], y: np.ndarray, test_texts: list[str], lang: str,
              seed: int, n_classes: int) -> tuple[np.ndarray, dict[str, Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from mrekv.prompt.ngram_expert import vectorizer_params
    from mrekv.prompt.prior_head import cv_folds

    pipe = make_pipeline(TfidfVectorizer(**vectorizer_params(lang)),
                         LogisticRegression(max_iter=2000))
    folds = cv_folds(y, seed)
    grid = [0.1, 1.0, 10.0, 100.0]
    if folds:
        search = GridSearchCV(pipe, {"logisticregression__C": grid}, cv=folds,
                              scoring="neg_log_loss" if len(set(y)) > 1 else None)
        search.fit(train_texts, y)
        model, chosen = search.best_estimator_, search.best_params_["logisticregression__C"]
    else:
        model, chosen = pipe.set_params(logisticregression__C=1.0).fit(train_texts, y), 1.0
    proba = np.zeros((len(test_texts), n_classes))  # a class absent from the sample: 0
    proba[:, model.classes_] = model.predict_proba(test_texts)
    return proba, {"C": chosen, "folds": len(folds)}


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)  # type: ignore[no-any-return]


class DatasetModel:
    """A (dataset, model, template): cached read states and the verbalizers' pieces."""

    def __init__(self, data: BudgetData, classifier: Any, cache: Any, manual: Any,
                 mining_top_k: int, family_config: Any,
                 knowledge: dict[str, tuple[Any, str]] | None = None) -> None:
        from mrekv.prompt.read_states import output_layer

        self.data, self.classifier, self.cache = data, classifier, cache
        self.classes = list(data.prepared.classes)
        self.lang = data.prepared.lang
        self.weight, self.bias = output_layer(classifier.module_.mlm)
        self.manual = manual
        self.top_k = mining_top_k
        self.cfg = family_config
        #: "kpt" / "external" -> (LabelWords, source name), where the dataset has them
        self.knowledge = dict(knowledge or {})
        self._examples: list[Any] | None = None

    def has_source(self, method: str) -> bool:
        """Whether the dataset has the knowledge source ``method`` needs."""
        if method == "mined-values+calib":  # config metadata only, no label is read
            return bool(self.cfg.word_labels == "gold")
        need = NEEDS_SOURCE.get(method)
        return need is None or (bool(self.knowledge) if need == "any" else need in self.knowledge)

    def source_name(self, method: str) -> str:
        """The ``knowledge_source`` of a knowledge method's words."""
        if method in ("knowledge+calib", "head:knowledge", "suite:knowledge"):
            return "+".join(["none", *(self.knowledge[k][1] for k in ("kpt", "external")
                                       if k in self.knowledge)])
        return str(self.knowledge[NEEDS_SOURCE[method]][1])

    def knowledge_verbalizer(self, method: str) -> Any:
        """The (uncalibrated) verbalizer of a knowledge method."""
        from mrekv.experiment.knowledge_sources import union_label_words
        from mrekv.experiment.lm_cells import build_verbalizer

        if method in ("knowledge+calib", "head:knowledge", "suite:knowledge"):
            words = union_label_words(self.classes, [self.manual, *(
                self.knowledge[k][0] for k in ("kpt", "external") if k in self.knowledge)])
        else:
            words = self.knowledge[NEEDS_SOURCE[method]][0]
        return build_verbalizer("knowledge", words, "first", self.classifier.tokenizer_)

    def states(self, ids: Sequence[int]) -> np.ndarray:
        return self.cache.scores(self.data.texts(ids))  # type: ignore[no-any-return]

    def class_scores(self, verbalizer: Any, states: np.ndarray) -> np.ndarray:
        import torch

        from mrekv.prompt.read_states import word_scores

        with torch.no_grad():
            out = verbalizer.class_scores(torch.from_numpy(
                word_scores(states, self.weight, self.bias, verbalizer)))
        return out.double().numpy()  # type: ignore[no-any-return]

    def calibrated(self, verbalizer: Any) -> Any:
        import torch

        from mrekv.prompt.read_states import word_scores

        calib = self.states(self.data.calibration_ids)
        verbalizer.calibrate_words(torch.from_numpy(
            word_scores(calib, self.weight, self.bias, verbalizer)))
        return verbalizer

    def mined(self, ids: Sequence[int], *, by_value: bool = False) -> tuple[Any, int]:
        """WLI-KV from the word labels of the sample only, and how many classes fell back.

        ``by_value``: each word label counts for the class its value names (a value that
        is no class, e.g. ``neutral``, is dropped), not for its sentence's class.
        """
        from mrekv.experiment.datasets import needs_built_word_labels, with_built_word_labels
        from mrekv.experiment.lm_cells import build_verbalizer
        from mrekv.verbalizer.label_words import LabelWords
        from mrekv.verbalizer.mining import mine_label_words

        if self._examples is None:
            self._examples = self.data.prepared.corpus.to_examples()
        examples = [self._examples[i] for i in ids]
        if by_value:
            examples = [dataclasses.replace(e, text_label=value, word_labels=((value, span),))
                        for e in examples for value, span in e.word_labels
                        if value in self.classes]
        elif needs_built_word_labels(self.cfg, examples):
            examples = with_built_word_labels(examples, self.cfg, self.lang)
        found: dict[str, list[str]] = {}
        if any(e.word_labels for e in examples):  # none at all: every class keeps manual words
            mined = mine_label_words(examples, "frequency", self.top_k, classes=self.classes,
                                     lang=self.lang)
            found = dict(zip(mined.classes, mined.as_lists(), strict=True))
        lists, filled = [], 0
        for c, manual_words in zip(self.classes, self.manual.as_lists(), strict=True):
            words = list(found.get(c, []))
            if not words:
                words, filled = list(manual_words), filled + 1
            lists.append(words)
        lw = LabelWords.from_lists(self.classes, lists)
        return build_verbalizer("mined", lw, "first", self.classifier.tokenizer_), filled

    def manual_verbalizer(self) -> Any:
        from mrekv.experiment.lm_cells import build_verbalizer

        return build_verbalizer("manual", self.manual, "first", self.classifier.tokenizer_)


def run_cell(dm: DatasetModel, method: str, ids: list[int], seed: int) -> dict[str, Any]:
    """One (method, budget, seed) cell: test probabilities and what was chosen."""
    from mrekv.prompt.prior_head import PriorHead

    start = time.perf_counter()
    test_ids = dm.data.test_ids
    y = np.array([dm.classes.index(c) for c in dm.data.labels(ids)], dtype=np.int64)
    info: dict[str, Any] = {}
    n_classes = len(dm.classes)
    if method == "manual+calib":
        proba = _softmax(dm.class_scores(dm.calibrated(dm.manual_verbalizer()),
                                         dm.states(test_ids)))
    elif method in ("mined+calib", "mined-values+calib"):
        verbalizer, filled = dm.mined(ids, by_value=method == "mined-values+calib")
        info["classes_filled_from_manual"] = filled
        proba = _softmax(dm.class_scores(dm.calibrated(verbalizer), dm.states(test_ids)))
    elif method in ("kpt+calib", "external+calib", "knowledge+calib"):
        proba = _softmax(dm.class_scores(dm.calibrated(dm.knowledge_verbalizer(method)),
                                         dm.states(test_ids)))
    elif method in ("head", "head:knowledge", "head:auto", "head:1se"):
        proba, info = _pooled_head(dm, method, ids, y, seed)
    elif method in ("suite:manual", "suite:knowledge"):
        proba, info = _scoring_suite(dm, method, ids, y)
    elif method == "tfidf-lr":
        proba, info = _tfidf_lr(dm.data.texts(ids), y, dm.data.texts(test_ids), dm.lang, seed,
                                n_classes)
    else:
        verbalizers: dict[str, Any] = {}
        if method in ("prior:manual", "prior:auto"):
            verbalizers["manual"] = dm.calibrated(dm.manual_verbalizer())
        # words mined from the same N texts are not a candidate prior here: CV would score
        # them on folds whose labels chose them (optimistic); per-fold mining is future work
        states = dm.states(ids) if ids else np.zeros((0, dm.weight.shape[1] + 1))
        priors: dict[str, np.ndarray | None] = {
            k: dm.class_scores(v, states) for k, v in verbalizers.items()}
        if method in ("probe", "prior:auto"):
            priors["none"] = None
        if not ids:
            if "manual" not in priors:
                raise ValueError("a probe needs labelled texts (budget > 0)")
            priors = {"manual": priors["manual"]}
        head = PriorHead(seed=seed).fit(
            states[:, :-1], y, priors, n_classes,
            unlabeled_states=dm.states(dm.data.calibration_ids)[:, :-1],
            default_prior="manual" if "manual" in priors else None)
        assert head.choice_ is not None
        info = head.choice_.to_dict()
        test_states = dm.states(test_ids)
        chosen = head.choice_.prior
        prior = None if chosen == "none" else dm.class_scores(verbalizers[chosen], test_states)
        proba = head.predict_proba(test_states[:, :-1], prior)
    info["method_s"] = round(time.perf_counter() - start, 3)
    return {"proba": proba, "info": info}


def _scoring_suite(dm: DatasetModel, method: str, ids: list[int],
                   y: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Every scoring variant of one word set; the one chosen on the N texts predicts. At
    N = 0 the cell also records every variant's test predictions (no label read here:
    the report scores them against the unit's ``test-set`` line)."""
    from mrekv.prompt.read_states import word_scores
    from mrekv.verbalizer.scoring import SCORINGS, choose_scoring, scored_classes

    verbalizer = (dm.manual_verbalizer() if method == "suite:manual"
                  else dm.knowledge_verbalizer(method))
    membership = (verbalizer.membership & verbalizer.active()).numpy()

    def scores(which: Sequence[int]) -> np.ndarray:
        return word_scores(dm.states(which), dm.weight, dm.bias, verbalizer)

    unlabeled, test = scores(dm.data.calibration_ids), scores(dm.data.test_ids)
    train = {s: scored_classes(scores(ids), membership, unlabeled, s)
             for s in SCORINGS} if ids else {}
    chosen, accuracy = choose_scoring(train, y)
    on_test = {s: scored_classes(test, membership, unlabeled, s) for s in SCORINGS}
    info: dict[str, Any] = {"scoring": chosen, "train_accuracy": accuracy}
    if not ids:
        info["variants_pred"] = {s: encode_predictions(lp.argmax(1)) for s, lp in on_test.items()}
    return np.exp(on_test[chosen]), info


def _pooled_head(dm: DatasetModel, method: str, ids: list[int], y: np.ndarray,
                 seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The default frozen head: a prior head pooled with an n-gram expert (same folds)."""
    from mrekv.prompt.ngram_expert import fit_pooled, log_softmax
    from mrekv.prompt.prior_head import PriorHead

    verbalizer = dm.calibrated(dm.manual_verbalizer() if method != "head:knowledge"
                               else dm.knowledge_verbalizer(method))
    states = dm.states(ids) if ids else np.zeros((0, dm.weight.shape[1] + 1))
    priors: dict[str, Any] = {"prior": dm.class_scores(verbalizer, states)}
    if method == "head:auto" and ids:
        def mined_prior(rows: np.ndarray) -> np.ndarray:  # words from these rows' labels only
            words, _ = dm.mined([ids[i] for i in rows])
            return dm.class_scores(dm.calibrated(words), states)

        priors["mined"] = mined_prior
    rule = "1se" if method == "head:1se" else "min"
    head = PriorHead(seed=seed, penalty_rule=rule).fit(
        states[:, :-1], y, priors, len(dm.classes),
        unlabeled_states=dm.states(dm.data.calibration_ids)[:, :-1], default_prior="prior")
    assert head.choice_ is not None
    if head.choice_.prior == "mined":
        verbalizer = dm.calibrated(dm.mined(ids)[0])
    pooling = fit_pooled(head, dm.data.texts(ids), y, len(dm.classes), dm.lang)
    test_states = dm.states(dm.data.test_ids)
    logits = head.decision_function(test_states[:, :-1],
                                    dm.class_scores(verbalizer, test_states))
    if pooling.expert is not None:
        logits = logits + pooling.beta * pooling.expert.log_proba(dm.data.texts(dm.data.test_ids))
    return (np.exp(log_softmax(logits / pooling.temperature)),
            {**head.choice_.to_dict(), "ngram": pooling.info})
