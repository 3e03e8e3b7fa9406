"""The verbalizer-as-prior head: math against independent references, CV choices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrekv.prompt.prior_head import PriorHead, cv_folds, fit_offset_logistic


def _data(n=60, h=5, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, h))
    y = (z[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)
    return z, y


def test_infinite_penalty_keeps_the_prior_ranking():
    z, y = _data()
    offset = np.random.default_rng(1).normal(size=(len(y), 2))
    w, b, a = fit_offset_logistic(z, y, offset, math.inf, 2)
    assert not w.any() and not b.any() and a > 0
    head = PriorHead(penalties=(math.inf,)).fit(z, y, {"p": offset}, 2)
    assert head.choice_.kept_prior
    assert (head.decision_function(z, offset).argmax(1) == offset.argmax(1)).all()


def test_no_prior_matches_scikit_learn_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    z, y = _data(h=3)
    lam = 0.1
    w, b, _ = fit_offset_logistic(z, y, None, lam, 2)
    # two-class softmax with a symmetric penalty has w0 = -w1: the binary weight v = w1 - w0
    # pays lam / 4 * v^2, i.e. scikit-learn's C * sum(CE) + v^2 / 2 with C = 2 / (lam * n)
    # (b is penalised like W: a constant column with a penalised weight)
    augmented = np.hstack([z, np.ones((len(y), 1))])
    ref = LogisticRegression(C=2 / (lam * len(y)), fit_intercept=False, tol=1e-12,
                             max_iter=10000).fit(augmented, y)
    ours = np.append(w[1] - w[0], b[1] - b[0])
    assert np.allclose(ours, ref.coef_[0], rtol=1e-3, atol=1e-4)


def test_strong_penalty_moves_toward_the_prior_weak_toward_the_data():
    z, y = _data(n=200)
    bad_prior = np.stack([z[:, 0], -z[:, 0]], 1) * 3  # says the opposite of the labels
    strong = PriorHead(penalties=(100.0,)).fit(z, y, {"p": bad_prior}, 2)
    weak = PriorHead(penalties=(1e-3,)).fit(z, y, {"p": bad_prior}, 2)
    acc = lambda hd: (hd.decision_function(z, bad_prior).argmax(1) == y).mean()  # noqa: E731
    assert acc(weak) > 0.85
    assert acc(weak) > acc(strong)


def test_cv_prefers_a_good_prior_and_drops_a_useless_one():
    z, y = _data(n=40)
    good = np.stack([-z[:, 0], z[:, 0]], 1) * 4
    noise = np.random.default_rng(3).normal(size=(len(y), 2))
    head = PriorHead().fit(z, y, {"good": good, "noise": noise}, 2)
    assert head.choice_.prior == "good" and head.choice_.folds == 5


def test_a_prior_built_from_labels_is_rebuilt_on_each_training_part():
    z, y = _data(n=40)
    calls = []

    def from_labels(rows):
        """A prior that memorises the labels of its rows: perfect there, nothing elsewhere."""
        calls.append(set(rows.tolist()))
        prior = np.zeros((len(y), 2))
        prior[rows, y[rows]] = 20.0
        return prior

    honest = np.stack([-z[:, 0], z[:, 0]], 1) * 4
    head = PriorHead().fit(z, y, {"memorised": from_labels, "honest": honest}, 2)
    folds = cv_folds(y, seed=0)
    assert calls == [set(tr.tolist()) for tr, _ in folds]  # never its held-out part
    # scored on held-out texts only, memorising the labels is worthless: CV sees it
    assert head.choice_.prior == "honest"
    chosen = PriorHead().fit(z, y, {"memorised": from_labels}, 2)
    assert calls[-1] == set(range(len(y)))  # the final fit builds it from every text
    assert chosen.choice_.prior == "memorised"


def test_zero_texts_give_the_prior_and_probe_needs_texts():
    z = np.zeros((0, 4))
    head = PriorHead().fit(z, np.zeros(0, int), {"m": np.zeros((0, 3))}, 3,
                           unlabeled_states=np.random.default_rng(0).normal(size=(10, 4)))
    assert head.choice_.kept_prior and head.choice_.folds == 0
    prior = np.array([[0.0, 2.0, 1.0]])
    assert head.decision_function(np.ones((1, 4)), prior).argmax() == 1
    with pytest.raises(ValueError, match="no \\(prior, penalty\\)"):
        PriorHead(penalties=(math.inf,)).fit(z, np.zeros(0, int), {"none": None}, 2)


def test_folds_stratify_and_fall_back_for_singleton_classes():
    y = np.array([0] * 6 + [1] * 3)
    folds = cv_folds(y, 0)
    assert len(folds) == 3 and all(set(y[te]) == {0, 1} for _, te in folds)
    assert len(cv_folds(np.array([0, 0, 0, 1, 2]), 0)) == 5
    assert cv_folds(np.array([0, 1, 0]), 0) == []


def test_the_one_standard_error_rule_keeps_a_stronger_penalty_than_the_minimum():
    rng = np.random.default_rng(3)
    n, h = 40, 6
    states = rng.normal(size=(n, h))
    y = (states[:, 0] + 0.8 * rng.normal(size=n) > 0).astype(int)
    prior = np.stack([-states[:, 1], states[:, 1]], 1) * 0.1  # a weak, mostly useless prior
    plain = PriorHead(seed=0).fit(states, y, {"p": prior}, 2)
    cautious = PriorHead(seed=0, penalty_rule="1se").fit(states, y, {"p": prior}, 2)
    # here the minimum is a weak penalty and the rule moves to a stronger one, worse on CV
    # but within one standard error
    assert cautious.choice_.penalty > plain.choice_.penalty
    assert plain.choice_.cv_loss < cautious.choice_.cv_loss < plain.choice_.cv_loss + 0.1
    with pytest.raises(ValueError, match="penalty_rule"):
        PriorHead(penalty_rule="max").fit(states, y, {"p": prior}, 2)
