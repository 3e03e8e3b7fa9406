"""pickle / joblib round trips of fitted and unfitted classifiers.

An LM the model cache loaded and nothing trained is kept by reference (the pickle
holds the parameters and the learned head; unpickling fetches the LM from the
cache again); a trained LM, or one given as a loaded object, is embedded.
"""

from __future__ import annotations

import copy
import pickle

import joblib
import numpy as np
import pytest
import torch
from _prompt_standins import one_thread

import mrekv.models
from mrekv.finetune import FineTuneClassifier
from mrekv.prompt import model_cache
from mrekv.prompt.classifier import PromptClassifier

TEXTS = ["a good film", "a bad film", "great acting", "awful plot", "good fun", "bad idea"]
LABELS = [1, 0, 1, 0, 1, 0]
WORDS = {0: ["bad", "awful"], 1: ["good", "great"]}


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


@pytest.fixture(scope="module")
def en_dir(tiny_mlm_dir):
    return str(tiny_mlm_dir("en"))


@pytest.fixture(scope="module")
def lm_bytes(en_dir):
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(en_dir)
    return sum(p.numel() * p.element_size() for p in model.parameters())


def prompt(en_dir, **kwargs):
    options = {"template": "{text} It was {mask}.", "verbalizer": WORDS,
               "train_mode": "prior", "ngram_expert": True, "progress": False,
               "device": "cpu", "seed": 0}
    return PromptClassifier(en_dir, **{**options, **kwargs})


def round_trip(clf):
    return pickle.loads(pickle.dumps(clf))


def test_a_frozen_fitted_classifier_keeps_its_lm_by_reference(en_dir, lm_bytes, monkeypatch):
    clf = prompt(en_dir).fit(TEXTS, LABELS).calibrate(TEXTS)
    data = pickle.dumps(clf)
    assert len(data) < lm_bytes / 4  # the head, the verbalizer and the texts, not the LM
    calls = []
    monkeypatch.setattr(mrekv.models, "load_lm", lambda *a, **k: calls.append(a))
    back = pickle.loads(data)
    np.testing.assert_array_equal(back.predict_proba(TEXTS), clf.predict_proba(TEXTS))
    assert calls == []  # the LM came from the cache, not from the folder again
    assert back.model_ is clf.model_
    assert list(back.classes_) == [0, 1] and back.predict(TEXTS) == clf.predict(TEXTS)
    torch.testing.assert_close(back.verbalizer_.prior, clf.verbalizer_.prior)
    assert back.get_params().keys() == clf.get_params().keys()


def test_after_the_cache_is_cleared_the_lm_is_loaded_again(en_dir):
    clf = prompt(en_dir, train_mode="frozen", frozen_head="word-weights", epochs=2)
    clf.fit(TEXTS, LABELS)
    data = joblib_bytes(clf)
    model_cache.clear_model_cache()
    back = joblib_loads(data)
    np.testing.assert_allclose(back.predict_proba(TEXTS), clf.predict_proba(TEXTS),
                               rtol=1e-6, atol=1e-9)
    assert back.model_ is not clf.model_


def test_a_fully_trained_lm_is_embedded(en_dir, lm_bytes):
    clf = prompt(en_dir, train_mode="full", max_steps=3, learning_rate=1e-2).fit(TEXTS, LABELS)
    data = pickle.dumps(clf)
    assert len(data) > lm_bytes
    back = pickle.loads(data)
    np.testing.assert_array_equal(back.predict_proba(TEXTS), clf.predict_proba(TEXTS))
    trained = clf.model_.state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in back.model_.state_dict().items())


def test_unfitted_classifiers_round_trip(en_dir):
    fresh = prompt(en_dir, verbalizer=None)
    back = round_trip(fresh)
    assert back.get_params() == fresh.get_params() and set(vars(back)) == set(vars(fresh))
    assert back.fit(TEXTS, LABELS).classes_.dtype.kind == "i"
    zero_shot = prompt(en_dir, train_mode="full")
    before = zero_shot.predict_proba(TEXTS)  # loaded, not trained: still by reference
    assert len(pickle.dumps(zero_shot)) < 100_000
    np.testing.assert_array_equal(round_trip(zero_shot).predict_proba(TEXTS), before)


def test_a_loaded_model_object_and_a_saved_folder_are_embedded(en_dir, tmp_path, hf_tokenizer):
    from mrekv_testing import build_tiny_mlm

    tok = hf_tokenizer("en")
    given = PromptClassifier(build_tiny_mlm(tok, seed=3), tokenizer=tok, verbalizer=WORDS,
                             template="{text} It was {mask}.", progress=False, device="cpu")
    np.testing.assert_array_equal(round_trip(given).predict_proba(TEXTS),
                                  given.predict_proba(TEXTS))
    clf = prompt(en_dir).fit(TEXTS, LABELS)
    clf.save_pretrained(tmp_path / "clf")
    loaded = PromptClassifier.from_pretrained(tmp_path / "clf", progress=False, device="cpu")
    back = round_trip(loaded)
    np.testing.assert_allclose(back.predict_proba(TEXTS), clf.predict_proba(TEXTS),
                               rtol=1e-6, atol=1e-9)
    assert list(back.classes_) == [0, 1]


def test_deepcopy_does_not_copy_a_shared_lm(en_dir):
    clf = prompt(en_dir).fit(TEXTS, LABELS)
    twin = copy.deepcopy(clf)
    np.testing.assert_array_equal(twin.predict_proba(TEXTS), clf.predict_proba(TEXTS))
    assert twin.model_ is clf.model_ and twin.module_ is not clf.module_


def test_finetune_round_trips_fitted_and_unfitted(en_dir, lm_bytes, tmp_path):
    unfitted = FineTuneClassifier(en_dir, classes=[0, 1], max_steps=2, progress=False,
                                  device="cpu", seed=0)
    before = unfitted.predict_proba(TEXTS)  # the untrained head, from the cache's copy
    data = pickle.dumps(unfitted)
    assert len(data) < lm_bytes / 4
    np.testing.assert_array_equal(pickle.loads(data).predict_proba(TEXTS), before)
    fitted = pickle.loads(data).fit(TEXTS, LABELS)
    path = tmp_path / "ft.joblib"
    joblib.dump(fitted, path)
    back = joblib.load(path)
    np.testing.assert_array_equal(back.predict_proba(TEXTS), fitted.predict_proba(TEXTS))
    assert back.predict(TEXTS) == fitted.predict(TEXTS)
    assert all(type(p) is int for p in back.predict(TEXTS))


def joblib_bytes(obj):
    import io

    buffer = io.BytesIO()
    joblib.dump(obj, buffer)
    return buffer.getvalue()


def joblib_loads(data):
    import io

    return joblib.load(io.BytesIO(data))
