"""Scoring and calibration variants: they agree with the verbalizers they generalise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _verbalizer_fakes import FakeTokenizer

from mrekv.verbalizer.knowledgeable import KnowledgeableVerbalizer
from mrekv.verbalizer.label_words import LabelWords
from mrekv.verbalizer.manual import ManualVerbalizer
from mrekv.verbalizer.scoring import (
    DEFAULT_SCORING,
    SCORINGS,
    choose_scoring,
    scored_classes,
)

WORDS = [["good", "great"], ["bad", "awful"]]


def _word_scores(n: int, seed: int) -> np.ndarray:
    """``(n, 4)`` first-token log-probabilities of the four words over a 6-token vocab."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, size=(n, 6))
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return log_p[:, [1, 2, 3, 4]]


def _log_softmax(x) -> np.ndarray:
    return torch.log_softmax(torch.as_tensor(x, dtype=torch.float64), -1).detach().numpy()


def _membership(v) -> np.ndarray:
    return (v.membership & v.active()).numpy()


def test_mean_prob_class_is_the_calibrated_manual_verbalizer():
    v = ManualVerbalizer(["positive", "negative"], WORDS).prepare(FakeTokenizer())
    texts, unlabeled = _word_scores(30, 0), _word_scores(50, 1)
    v.calibrate_words(torch.from_numpy(unlabeled))
    expected = _log_softmax(v.class_scores(torch.from_numpy(texts)))
    got = scored_classes(texts, _membership(v), unlabeled, "mean-prob/class")
    assert np.allclose(got, expected, atol=1e-9)
    raw = ManualVerbalizer(["positive", "negative"], WORDS).prepare(FakeTokenizer())
    assert np.allclose(scored_classes(texts, _membership(raw), None, "mean-prob/none"),
                       _log_softmax(raw.class_scores(torch.from_numpy(texts))), atol=1e-9)


def test_mean_log_word_is_the_calibrated_knowledgeable_verbalizer():
    lw = LabelWords.from_lists(["positive", "negative"], WORDS)
    v = KnowledgeableVerbalizer(lw).prepare(FakeTokenizer())
    texts, unlabeled = _word_scores(30, 2), _word_scores(50, 3)
    v.calibrate_words(torch.from_numpy(unlabeled).float())
    expected = _log_softmax(v.class_scores(torch.from_numpy(texts).float()).double())
    got = scored_classes(texts, _membership(v), unlabeled, "mean-log/word")
    assert np.allclose(got, expected, atol=1e-4)


def test_every_variant_gives_normalised_log_probabilities_and_they_differ():
    m = np.array([[True, True, False, False], [False, False, True, True]])
    texts, unlabeled = _word_scores(40, 4), _word_scores(40, 5) + np.array([0, 0, 2.0, 0])
    out = {s: scored_classes(texts, m, unlabeled, s) for s in SCORINGS}
    for lp in out.values():
        assert np.allclose(np.exp(lp).sum(1), 1.0)
    # calibrating against a prior that favours "bad" moves predictions toward "positive"
    assert (out["mean-prob/word"].argmax(1) == 0).sum() > (out["mean-prob/none"].argmax(1)
                                                            == 0).sum()


def test_a_dropped_word_scores_nothing_and_an_empty_class_scores_minus_infinity():
    m = np.array([[True, True, False, False], [False, False, False, False]])
    s = _word_scores(3, 6)
    s[:, 1] = -np.inf  # the tokenizer dropped "great"
    out = scored_classes(s, m, s, "mean-log/none")
    assert np.isfinite(out[:, 0]).all() and np.isneginf(out[:, 1]).all()


def test_choose_scoring_takes_the_best_accuracy_and_breaks_ties_toward_the_default():
    y = np.array([0, 1, 1])
    right = np.log(np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]))
    wrong = right[:, ::-1]
    lp = {s: wrong for s in SCORINGS}
    lp["mean-log/class"] = right
    assert choose_scoring(lp, y)[0] == "mean-log/class"
    tie = {s: right for s in SCORINGS}
    assert choose_scoring(tie, y)[0] == DEFAULT_SCORING
    assert choose_scoring({}, np.zeros(0)) == (DEFAULT_SCORING, {})


def test_bad_variants_and_missing_unlabelled_texts_are_refused():
    m = np.array([[True, False], [False, True]])
    s = np.log(np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="unknown scoring"):
        scored_classes(s, m, s, "median/none")
    with pytest.raises(ValueError, match="unlabelled"):
        scored_classes(s, m, None, "mean-prob/word")
