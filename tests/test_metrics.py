"""Probability metrics (ECE, Brier, NLL) and temperature scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrekv.metrics import (
    TEMPERATURE_BOUNDS,
    expected_calibration_error,
    fit_temperature,
    probability_metrics,
    reliability_bins,
)


def test_ece_is_zero_when_confidence_equals_accuracy_and_the_gap_otherwise():
    proba = np.tile([0.8, 0.2], (10, 1))
    y = np.array([0] * 8 + [1] * 2)  # 80% right at confidence 0.8
    assert expected_calibration_error(proba, y) == pytest.approx(0.0)
    sure = np.tile([1.0, 0.0], (10, 1))
    assert expected_calibration_error(sure, np.array([0, 1] * 5)) == pytest.approx(0.5)


def test_reliability_bins_count_texts_correct_and_confidence():
    proba = np.array([[0.95, 0.05], [0.55, 0.45], [0.4, 0.6]])
    bins = reliability_bins(proba, np.array([0, 1, 1]))
    assert bins[9] == [1, 1, 0.95] and bins[5] == [1, 0, 0.55] and bins[6] == [1, 1, 0.6]
    assert sum(b[0] for b in bins) == 3


def test_brier_and_nll_of_certain_and_uniform_predictions():
    y = np.array([0, 1, 2])
    right = probability_metrics(np.eye(3), y)
    assert right["brier"] == 0.0 and right["nll"] == pytest.approx(0.0, abs=1e-9)
    uniform = probability_metrics(np.full((3, 3), 1 / 3), y)
    assert uniform["brier"] == pytest.approx(2 / 3) and uniform["nll"] == pytest.approx(math.log(3))
    assert uniform["mean_confidence"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("true_t", [0.5, 1.0, 3.0])
def test_fit_temperature_recovers_the_temperature_labels_were_drawn_at(true_t):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, size=(4000, 4))
    p = np.exp(z / true_t)
    p /= p.sum(1, keepdims=True)
    y = np.array([rng.choice(4, p=row) for row in p])
    assert fit_temperature(z, y) == pytest.approx(true_t, rel=0.1)
    # log-probabilities give the same temperature as logits (softmax is shift-invariant)
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    assert fit_temperature(log_p, y) == pytest.approx(fit_temperature(z, y), rel=1e-3)


def test_fit_temperature_stays_in_bounds_on_separable_data():
    z = np.array([[2.0, 0.0], [0.0, 2.0]] * 5)
    t = fit_temperature(z, np.array([0, 1] * 5))  # always right: sharpen as far as allowed
    assert TEMPERATURE_BOUNDS[0] <= t < 0.1


@pytest.mark.parametrize(("proba", "y", "match"), [
    (np.full((2, 2), 0.5), np.array([0, 2]), "class indices"),
    (np.full((2, 2), 0.5), np.array([0]), "shape"),
    (np.array([[np.nan, 1.0]]), np.array([0]), "NaN"),
    (np.zeros((0, 2)), np.zeros(0, dtype=int), "zero examples"),
    (np.full((2, 2), 0.5), np.array(["a", "b"]), "class indices"),
])
def test_bad_inputs_are_refused(proba, y, match):
    with pytest.raises(ValueError, match=match):
        probability_metrics(proba, y)
    if proba.size and np.isfinite(proba).all():
        with pytest.raises(ValueError, match=match):
            fit_temperature(np.log(proba), y)


def test_a_prior_on_log_temperature_shrinks_few_texts_more_than_many():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, size=(2000, 3))
    p = np.exp(z / 3.0)
    p /= p.sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    few = abs(math.log(fit_temperature(z[:16], y[:16], prior_sd=0.25)))
    plain_few = abs(math.log(fit_temperature(z[:16], y[:16])))
    many = fit_temperature(z, y, prior_sd=0.25)
    assert few < plain_few and many == pytest.approx(3.0, rel=0.15)
