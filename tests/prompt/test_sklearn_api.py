"""PromptClassifier and FineTuneClassifier as scikit-learn estimators.

scikit-learn's ``check_estimator`` skips an estimator whose tags say it does not
take 2-D arrays (these take a sequence of texts), so the first test runs it on a
subclass that claims 2-D input: every check then runs, and the ones that feed
numeric arrays are listed as expected failures with the reason. Their text
counterparts (fit returns self, leaves the parameters alone, sets only ``_``
attributes, sample order and subsets do not change predictions) follow.
"""

from __future__ import annotations

import joblib
import numpy as np
import pytest
import sklearn
import torch
from _prompt_standins import one_thread
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

import mrekv.models
from mrekv.errors import ConfigError
from mrekv.finetune import FineTuneClassifier
from mrekv.prompt import model_cache
from mrekv.prompt.classifier import PromptClassifier

TEXTS = ["a good film", "a bad film", "great acting", "awful plot", "good fun", "bad idea",
         "a great cast", "an awful ending"]
LABELS = [1, 0, 1, 0, 1, 0, 1, 0]
WORDS_A = {0: ["bad"], 1: ["good"]}
WORDS_B = {0: ["awful", "bad"], 1: ["great", "good"]}
TEMPLATES = ["{text} It was {mask}.", "{text} All in all, it was {mask}."]

#: Why each check that fails here does not apply. All but the last feed numeric arrays
#: (2-D, 1-D, sparse, complex...) as X; these classifiers take a sequence of str, so each
#: fails at its first fit / predict with "texts[0] is ndarray ..., not a string". The
#: tests below are their text counterparts.
_NUMERIC_X = "X is a numeric array; these classifiers take a sequence of texts"
EXPECTED_FAILURES = {
    **{name: _NUMERIC_X for name in (
        "check_classifier_data_not_an_array", "check_classifiers_classes",
        "check_classifiers_one_label", "check_classifiers_regression_target",
        "check_classifiers_train", "check_complex_data", "check_dict_unchanged",
        "check_dont_overwrite_parameters", "check_dtype_object", "check_estimator_sparse_array",
        "check_estimator_sparse_matrix", "check_estimators_dtypes",
        "check_estimators_empty_data_messages", "check_estimators_fit_returns_self",
        "check_estimators_nan_inf", "check_estimators_overwrite_params",
        "check_f_contiguous_array_estimator", "check_fit1d", "check_fit2d_1feature",
        "check_fit2d_1sample", "check_fit2d_predict1d", "check_fit_check_is_fitted",
        "check_fit_score_takes_y", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_n_features_in",
        "check_n_features_in_after_fitting", "check_pipeline_consistency",
        "check_positive_only_tag_during_fit", "check_readonly_memmap_input",
        "check_requires_y_none", "check_supervised_y_2d")},
    "check_estimators_pickle": _NUMERIC_X + " (pickling: tests/prompt/test_pickling.py)",
    "check_estimators_unfitted": _NUMERIC_X + " (run for FineTuneClassifier only: label "
                                 "words predict zero-shot, so PromptClassifier with a "
                                 "verbalizer does not require fit)",
    "check_fit_idempotent": _NUMERIC_X + "; besides, fit continues from the current state "
                            "(a calibrate before fit is kept), so only the frozen modes refit "
                            "from scratch",
    "check_do_not_raise_errors_in_init_or_set_params":
        "the constructor checks its arguments, naming a bad value where it is written "
        "(set_params does not)",
}


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


@pytest.fixture(scope="module")
def en_dir(tiny_mlm_dir):
    return str(tiny_mlm_dir("en"))


@pytest.fixture
def loads(monkeypatch):
    """Count LM loads (``mrekv.models.load_lm``, what the cache calls) from an empty cache."""
    model_cache.clear_model_cache()
    calls: list[str] = []
    real = mrekv.models.load_lm

    def counting(name, **kwargs):
        calls.append(str(name))
        return real(name, **kwargs)

    monkeypatch.setattr(mrekv.models, "load_lm", counting)
    yield calls
    model_cache.clear_model_cache()


def prompt(en_dir, **kwargs):
    options = {"template": TEMPLATES[0], "verbalizer": WORDS_A, "train_mode": "frozen",
               "ngram_expert": False, "progress": False, "device": "cpu", "seed": 0}
    return PromptClassifier(en_dir, **{**options, **kwargs})


class _ClaimsArrays:
    """Mixin of the check_estimator test: tags that make scikit-learn run every check."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags


class PromptAsIfArrays(_ClaimsArrays, PromptClassifier):
    pass


class FineTuneAsIfArrays(_ClaimsArrays, FineTuneClassifier):
    pass


@pytest.mark.skipif(tuple(int(v) for v in sklearn.__version__.split(".")[:2]) < (1, 6),
                    reason="check_estimator(expected_failed_checks=...) needs scikit-learn 1.6")
@pytest.mark.parametrize("kind", ["prompt", "finetune"])
def test_check_estimator_passes_every_check_that_does_not_feed_arrays(en_dir, kind, loads):
    if kind == "prompt":
        estimator = PromptAsIfArrays(en_dir, verbalizer=WORDS_A, train_mode="frozen",
                                     progress=False, device="cpu")
    else:
        estimator = FineTuneAsIfArrays(en_dir, max_steps=1, progress=False, device="cpu")
    expected = EXPECTED_FAILURES
    results = check_estimator(estimator, expected_failed_checks=expected, on_fail=None,
                              on_skip=None)
    failed = {r["check_name"]: repr(r["exception"]) for r in results
              if r["status"] == "failed"}
    assert not failed
    assert {r["status"] for r in results} <= {"passed", "xfail", "skipped"}
    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert not passed & set(expected), "an expected failure passes: drop it from the list"
    assert {"check_no_attributes_set_in_init", "check_estimator_cloneable",
            "check_parameters_default_constructible", "check_set_params",
            "check_get_params_invariance", "check_estimator_repr", "check_mixin_order",
            "check_estimator_tags_renamed", "check_valid_tag_types"} <= passed
    assert loads == []  # no check loaded the LM: the array ones fail at the input check


def test_the_constructor_stores_its_arguments_and_loads_nothing(en_dir, loads):
    clf = prompt(en_dir)
    assert set(vars(clf)) == set(clf.get_params())
    assert clf.get_params()["template"] == TEMPLATES[0]
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and twin is not clf
    assert clf.set_params(train_mode="prior") is clf and clf.train_mode == "prior"
    assert list(clf.classes_) == [0, 1]  # known from the label words, still nothing loaded
    assert loads == []
    assert clf.model_ is not None and loads == [en_dir]  # first use loads it
    with pytest.raises(ConfigError, match=r"'partial'.*'full', 'frozen'"):
        prompt(en_dir, train_mode="partial")


def test_grid_search_over_templates_and_label_words_loads_the_lm_once(en_dir, loads):
    search = GridSearchCV(
        prompt(en_dir),
        {"template": TEMPLATES, "verbalizer": [WORDS_A, WORDS_B]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    search.fit(TEXTS, LABELS)
    assert len(search.cv_results_["params"]) == 4
    assert loads == [en_dir]
    best = search.best_estimator_
    assert best.classes_.dtype.kind == "i" and list(best.classes_) == [0, 1]
    predicted = search.predict(TEXTS[:3])
    assert all(type(p) is int for p in predicted)
    assert 0.0 <= search.score(TEXTS, LABELS) <= 1.0
    # scores and pipelines see the same model
    scores = cross_val_score(prompt(en_dir, train_mode="prior"), TEXTS, LABELS, cv=2)
    pipe = make_pipeline(FunctionTransformer(lambda xs: [x.lower() for x in xs]),
                         prompt(en_dir, verbalizer=WORDS_B))
    pipe.fit(TEXTS, LABELS)
    assert scores.shape == (2,) and list(pipe.classes_) == [0, 1]
    assert len(pipe.predict(["GOOD FUN"])) == 1
    assert loads == [en_dir]


def test_full_training_works_on_a_copy_and_the_cache_stays_pristine(en_dir, loads):
    from transformers import AutoModelForMaskedLM

    frozen_a, frozen_b = prompt(en_dir), prompt(en_dir, template=TEMPLATES[1])
    assert frozen_a.model_ is frozen_b.model_  # the frozen LM is shared, read-only
    full = prompt(en_dir, train_mode="full", max_steps=3, learning_rate=1e-2).fit(TEXTS, LABELS)
    assert full.model_ is not frozen_a.model_
    fresh = AutoModelForMaskedLM.from_pretrained(en_dir).state_dict()
    trained = full.model_.state_dict()
    assert any(not torch.equal(trained[k], v) for k, v in fresh.items())
    for model in (frozen_a.model_, prompt(en_dir, train_mode="full").model_):
        assert all(torch.equal(model.state_dict()[k], v) for k, v in fresh.items())
    assert loads == [en_dir]


def test_fit_returns_self_keeps_the_parameters_and_sets_only_learned_state(en_dir):
    for clf in (prompt(en_dir, train_mode="prior"),
                prompt(en_dir, train_mode="full", max_steps=2, verbalizer=None)):
        before = joblib.hash(clf.get_params())
        params = set(vars(clf))
        assert clf.fit(TEXTS, LABELS) is clf
        assert joblib.hash(clf.get_params()) == before
        public = {n for n in set(vars(clf)) - params if not n.startswith("_")}
        assert public and all(n.endswith("_") for n in public), public


def test_predictions_do_not_depend_on_order_or_subsets_and_frozen_refits_agree(en_dir):
    clf = prompt(en_dir, train_mode="prior").fit(TEXTS, LABELS)
    proba = clf.predict_proba(TEXTS)
    np.testing.assert_allclose(clf.fit(TEXTS, LABELS).predict_proba(TEXTS), proba)
    np.testing.assert_allclose(clf.predict_proba(TEXTS[::-1])[::-1], proba, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(clf.predict_proba(TEXTS[2:5]), proba[2:5], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(clf.predict_proba(np.asarray(TEXTS)), proba)


def test_labels_keep_their_type(en_dir, tmp_path):
    ints = prompt(en_dir, verbalizer=None, train_mode="frozen", epochs=1).fit(TEXTS, LABELS)
    assert ints.classes_.dtype.kind == "i" and ints.classes_ == (0, 1)
    assert all(type(p) is int for p in ints.predict(TEXTS[:2]))
    numbers = [10 if y else 2 for y in LABELS]  # sorted as numbers, not as strings
    assert list(prompt(en_dir, verbalizer=None, epochs=1).fit(TEXTS, numbers).classes_) == [2, 10]
    names = ["pos" if y else "neg" for y in LABELS]
    strs = prompt(en_dir, verbalizer={"neg": ["bad"], "pos": ["good"]}).fit(TEXTS, names)
    assert strs.classes_ == ("neg", "pos") and strs.classes_.dtype.kind == "U"
    assert set(strs.predict(TEXTS)) <= {"neg", "pos"}
    # saved and loaded: the values come back (old folders, without the file: strings)
    ints.save_pretrained(tmp_path / "ints")
    loaded = PromptClassifier.from_pretrained(tmp_path / "ints", progress=False, device="cpu")
    assert list(loaded.classes_) == [0, 1] and loaded.classes_.dtype.kind == "i"
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), ints.predict_proba(TEXTS))
    strs.save_pretrained(tmp_path / "strs")
    assert not (tmp_path / "strs" / "label_values.json").exists()


def test_finetune_labels_keep_their_type_and_refit_loads_once(en_dir, monkeypatch):
    model_cache.clear_model_cache()
    loaded: list[str] = []
    real = mrekv.models.hub_load

    def counting(name, what, *args, **kwargs):
        loaded.append(what)
        return real(name, what, *args, **kwargs)

    monkeypatch.setattr(mrekv.models, "hub_load", counting)
    base = FineTuneClassifier(en_dir, max_steps=2, progress=False, device="cpu", seed=0)
    scores = cross_val_score(base, TEXTS, LABELS, cv=2)
    assert scores.shape == (2,)
    assert loaded.count("model") == 1 and loaded.count("tokenizer") == 1
    clf = clone(base).fit(TEXTS, LABELS)
    assert clf.classes_.dtype.kind == "i" and all(type(p) is int for p in clf.predict(TEXTS))
    assert clf.model_.config.id2label == {0: "0", 1: "1"}
    model_cache.clear_model_cache()


@pytest.mark.parametrize("bad", [[None], ["fine", 3], [b"bytes"], [["nested"]]])
def test_a_text_that_is_not_a_string_is_named_by_index(en_dir, bad):
    clf = prompt(en_dir)
    index = len(bad) - 1
    with pytest.raises(TypeError, match=rf"texts\[{index}\] is .*not a string"):
        clf.predict(bad)
    with pytest.raises(TypeError, match=rf"texts\[{index}\] is"):
        clf.fit(bad, [0] * len(bad))
    with pytest.raises(TypeError, match=rf"texts\[{index}\] is"):
        FineTuneClassifier(en_dir, classes=[0, 1], device="cpu").predict_proba(bad)
    with pytest.raises(TypeError, match="single string"):
        clf.predict("a text")


def test_set_params_drops_the_learned_state_unless_only_progress_changes(en_dir):
    clf = prompt(en_dir, train_mode="prior").fit(TEXTS, LABELS)
    clf.set_params(progress=False)
    assert clf.prior_head_ is not None
    clf.set_params(template=TEMPLATES[1])
    assert "prior_head_" not in vars(clf) and clf.template_.text == TEMPLATES[1]
    assert clf.prior_head_ is None  # set up again from the parameters, not fitted


def test_scikit_learn_temperature_calibration_wraps_a_fitted_classifier(causal_lm):
    """docs/concepts/calibration.md: CalibratedClassifierCV(FrozenEstimator(clf),
    method="temperature") on held-out texts changes confidence, not predictions."""
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator

    import mrekv

    rng = np.random.default_rng(0)
    filler = ["the", "a", "it", "was", "very", "so", "this", "one", "and", "then"]
    texts, labels = [], []
    for i in range(40):  # a cue word per class, noisy in 1 of 5 texts: not separable
        label = ["negative", "positive"][i % 2]
        cue = ("zzq" if label == "positive" else "xxv") if i % 5 else "qqk"
        texts.append(" ".join([*rng.choice(filler, size=3), cue]))
        labels.append(label)
    model, tokenizer = causal_lm("llama")
    clf = mrekv.PromptClassifier(model, tokenizer=tokenizer, template="{text} It was {mask}",
                                 verbalizer={"negative": ["bad"], "positive": ["good"]},
                                 train_mode="frozen", progress=False).fit(texts[:20], labels[:20])
    scaled = CalibratedClassifierCV(FrozenEstimator(clf), method="temperature")
    scaled.fit(texts[20:30], labels[20:30])
    proba, raw = scaled.predict_proba(texts[30:]), clf.predict_proba(texts[30:])
    order = [list(clf.classes_).index(c) for c in scaled.classes_]  # scikit-learn sorts them
    assert sorted(scaled.classes_) == sorted(clf.classes_)
    assert (proba.argmax(1) == raw[:, order].argmax(1)).all()
    assert not np.allclose(proba, raw[:, order])
