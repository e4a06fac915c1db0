"""fresco.training.metrics (sklearn) against figures worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fresco.training.metrics import classification_metrics, compute_metrics, confusion, curves, regression_metrics


def test_regression_by_hand() -> None:
    y, p = [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]
    got = regression_metrics(y, p)
    assert got["rmse"] == pytest.approx(0.5)  # sqrt(1/4)
    assert got["mae"] == pytest.approx(0.25)
    assert got["r2"] == pytest.approx(1 - 1 / 5)  # residual 1 over total 5
    assert got["rmsle"] == pytest.approx(math.log(6 / 5) / 2)  # one error of log(6) - log(5)
    # negatives count as 0 for RMSLE only
    assert regression_metrics([0.0, 1.0], [-3.0, 1.0])["rmsle"] == pytest.approx(0.0)
    assert regression_metrics([0.0, 1.0], [-3.0, 1.0])["rmse"] == pytest.approx(math.sqrt(9 / 2))


def test_binary_by_hand() -> None:
    y, p = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    got = classification_metrics(y, p)
    assert got["auc"] == pytest.approx(0.75)  # 3 of the 4 (positive, negative) pairs ordered
    expected_logloss = -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    assert got["logloss"] == pytest.approx(expected_logloss)
    # at 0.5 only 0.8 is called positive: tp 1, fp 0, fn 1, tn 2
    assert (got["precision"], got["recall"], got["accuracy"]) == pytest.approx((1.0, 0.5, 0.75))
    assert got["f1"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert confusion(y, p) == [[2, 0], [1, 1]]


def test_edges_are_nan_or_zero_not_errors() -> None:
    assert math.isnan(classification_metrics([1, 1], [0.2, 0.9])["auc"])  # one class only
    assert classification_metrics([0, 0], [0.2, 0.1])["precision"] == 0.0  # nothing called positive
    assert all(math.isnan(v) for v in compute_metrics("regression", [], []).values())
    assert all(math.isnan(v) for v in compute_metrics("binary", [], []).values())
    with pytest.raises(ValueError, match="differ in shape"):
        regression_metrics([1.0, 2.0], [1.0])


def test_curves_run_from_the_corner_and_are_thinned() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 5000)
    p = np.clip(y * 0.3 + rng.random(5000) * 0.7, 0, 1)
    c = curves(y, p, points=50)
    assert c["fpr"][0] == 0.0 and c["tpr"][0] == 0.0 and c["fpr"][-1] == 1.0 and c["tpr"][-1] == 1.0
    assert len(c["fpr"]) <= 50 and len(c["precision"]) <= 50
    assert all(a <= b for a, b in zip(c["fpr"], c["fpr"][1:]))
