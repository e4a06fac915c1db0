"""Every trainer really trains on small data, beats the mean, and round-trips through BentoML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fresco.training.metrics import compute_metrics
from fresco.training.trainers import get_trainer, trainer_names

FAST = {
    "xgboost": {"n_estimators": 60, "max_depth": 3},
    "lightgbm": {"n_estimators": 60, "num_leaves": 8, "min_child_samples": 5},
    "keras": {"hidden_units": [16], "epochs": 8, "batch_size": 64, "learning_rate": 0.02},
    "linear": {"alpha": 0.1},
}


def _data(task: str, n: int = 1200, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    X[rng.random(n) < 0.05, 2] = np.nan  # nulls reach every trainer
    signal = 3 * X[:, 0] - 2 * X[:, 1] + np.nan_to_num(X[:, 2])
    y = signal + rng.normal(0, 0.3, n) if task == "regression" else (signal + rng.normal(0, 0.5, n) > 0).astype(float)
    cut = int(n * 0.8)
    return X[:cut], y[:cut], X[cut:], y[cut:]


def test_every_registered_type_is_tested() -> None:
    assert set(trainer_names()) == set(FAST)


@pytest.mark.parametrize("task", ["regression", "binary"])
@pytest.mark.parametrize("model_type", sorted(FAST))
def test_trains_beats_the_baseline_and_round_trips(model_type: str, task: str, tmp_path: Path) -> None:
    trainer = get_trainer(model_type)
    X, y, Xv, yv = _data(task)
    names = ["a", "b", "c", "noise"]
    messages: list[str] = []
    model = trainer.fit(X, y, Xv, yv, FAST[model_type], task=task, feature_names=names, progress=messages.append)
    pred = trainer.predict(model, Xv)
    assert pred.shape == (len(yv),) and np.isfinite(pred).all()
    metrics = compute_metrics(task, yv, pred)
    baseline = compute_metrics(task, yv, np.full(len(yv), y.mean()))
    if task == "regression":
        assert metrics["r2"] > 0.8 and metrics["rmse"] < 0.5 * baseline["rmse"]
    else:
        assert metrics["auc"] > 0.9 and metrics["logloss"] < baseline["logloss"]
        assert ((pred >= 0) & (pred <= 1)).all()
    assert messages, "training reports progress"

    importance = trainer.feature_importance(model, names)
    assert set(importance) == set(names) and sum(importance.values()) == pytest.approx(1.0)
    assert max(importance, key=importance.get) in {"a", "b"}
    assert importance["noise"] < importance["a"]

    trainer.save(model, tmp_path)
    again = trainer.load(tmp_path)
    np.testing.assert_allclose(trainer.predict(again, Xv), pred, rtol=1e-5, atol=1e-5)
