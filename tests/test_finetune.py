"""FineTuneClassifier: learning, best-dev restore, determinism, save/load."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "prompt"))
from _prompt_standins import one_thread, synthetic_task  # noqa: E402

from mrekv.errors import ConfigError, SaveFormatError  # noqa: E402
from mrekv.finetune import FineTuneClassifier  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    yield from one_thread()


def make(folder, **kwargs):
    options = {"learning_rate": 1e-2, "epochs": 15, "progress": False, "seed": 0, "device": "cpu"}
    options.update(kwargs)
    return FineTuneClassifier(str(folder), **options)


@pytest.fixture(scope="module")
def en_dir(tiny_mlm_dir):
    return tiny_mlm_dir("en")


@pytest.fixture(scope="module")
def task():
    return synthetic_task(20, seed=0), synthetic_task(10, seed=1)


def test_fit_learns_a_keyword_task(en_dir, task):
    (train_x, train_y), (test_x, test_y) = task
    clf = make(en_dir).fit(train_x, train_y)
    assert clf.classes_ == ("food", "music", "sports")  # sorted labels seen by fit
    assert clf.model_.config.id2label == {0: "food", 1: "music", 2: "sports"}
    assert clf.score(test_x, test_y) >= 0.95
    proba = clf.predict_proba(test_x)
    assert proba.shape == (30, 3)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_best_dev_checkpoint_is_restored(en_dir, task):
    (train_x, train_y), _ = task
    shift = {"food": "music", "music": "sports", "sports": "food"}
    dev_y = [shift[y] for y in train_y]
    clf = make(en_dir).fit(train_x, train_y, train_x, dev_y)
    scores = [h["dev_score"] for h in clf.history_]
    assert scores[-1] < max(scores)
    assert clf.score(train_x, dev_y) == pytest.approx(max(scores))


def test_same_seed_same_predictions(en_dir, task):
    (train_x, train_y), (test_x, _) = task
    a = make(en_dir, seed=5, max_steps=4).fit(train_x, train_y).predict_proba(test_x)
    b = make(en_dir, seed=5, max_steps=4).fit(train_x, train_y).predict_proba(test_x)
    assert np.array_equal(a, b)


def test_save_load_round_trip_and_kind_check(en_dir, task, tmp_path):
    (train_x, train_y), (test_x, _) = task
    clf = make(en_dir, max_steps=3, classes=["sports", "food", "music"]).fit(train_x, train_y)
    clf.save_pretrained(tmp_path / "ft")
    config = json.loads((tmp_path / "ft" / "mrekv_config.json").read_text())
    assert config["kind"] == "finetune"
    assert config["classes"] == ["sports", "food", "music"]
    loaded = FineTuneClassifier.from_pretrained(tmp_path / "ft", progress=False, device="cpu")
    assert loaded.classes_ == ("sports", "food", "music")
    assert np.array_equal(loaded.predict_proba(test_x), clf.predict_proba(test_x))
    from mrekv.classifiers import load_classifier
    from mrekv.prompt.classifier import PromptClassifier

    assert isinstance(load_classifier(tmp_path / "ft", progress=False), FineTuneClassifier)

    with pytest.raises(SaveFormatError, match="holds a 'finetune' classifier, not a 'prompt'"):
        PromptClassifier.from_pretrained(tmp_path / "ft")


def test_unknown_labels_and_unready_use_are_errors(en_dir):
    clf = make(en_dir, classes=["a", "b"])
    with pytest.raises(ValueError, match=r"labels \['c'\] are not among the classes \['a', 'b'\]"):
        clf.fit(["x", "y"], ["a", "c"])
    with pytest.raises(ConfigError, match="no classes yet"):
        make(en_dir).predict(["x"])
