"""Metrics computed by Spark aggregates (``spark_metrics``) equal scikit-learn's on the same rows."""

from __future__ import annotations

import numpy as np
import pytest

from fresco.training.metrics import BINARY_METRICS, REGRESSION_METRICS, compute_metrics, spark_metrics


def _frame(spark, y: np.ndarray, p: np.ndarray, partitions: int = 3):
    return spark.createDataFrame([(float(a), float(b)) for a, b in zip(y, p)], "label double, prediction double"
                                 ).repartition(partitions)


def _same(got: dict[str, float], want: dict[str, float], names: tuple[str, ...]) -> None:
    assert list(got) == list(names)
    for name in names:
        if np.isnan(want[name]):
            assert np.isnan(got[name]), name
        else:
            assert got[name] == pytest.approx(want[name], rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("seed", range(3))
def test_regression_metrics_in_spark_equal_sklearns(spark, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(20, 8, 500)
    p = y + rng.normal(0, 3, 500)
    p[:5] = -1.0  # below 0: rmsle counts it as 0
    _same(spark_metrics("regression", _frame(spark, y, p)), compute_metrics("regression", y, p), REGRESSION_METRICS)


def test_regression_edge_cases(spark) -> None:
    for y, p in ((np.full(10, 3.0), np.full(10, 3.0)), (np.full(10, 3.0), np.arange(10.0)),
                 (np.array([2.0]), np.array([1.0]))):
        _same(spark_metrics("regression", _frame(spark, y, p, 1)), compute_metrics("regression", y, p),
              REGRESSION_METRICS)


@pytest.mark.parametrize("seed", range(3))
def test_binary_metrics_in_spark_equal_sklearns(spark, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(600) < 0.3).astype(float)
    p = np.clip(0.3 * y + rng.random(600) * 0.7, 0, 1).round(2)  # rounded: tied scores
    p[:3] = [0.0, 1.0, 0.5]  # the clip's edges and the threshold itself
    _same(spark_metrics("binary", _frame(spark, y, p)), compute_metrics("binary", y, p), BINARY_METRICS)
    one_class = np.zeros(20)
    _same(spark_metrics("binary", _frame(spark, one_class, p[:20], 1)), compute_metrics("binary", one_class, p[:20]),
          BINARY_METRICS)
