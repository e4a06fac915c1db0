"""XGBoost trained through xgboost.spark on real Spark (local[2]): the same model as local
training on one worker, metrics within the documented tolerance on two, the same artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.training.test_trainers import _data
from fresco.training.metrics import compute_metrics
from fresco.training.trainers import get_trainer
from fresco.training.trainers.xgboost_spark import DISTRIBUTED_METRIC_TOLERANCE, SparkXGBoostTrainer

PARAMS = {"n_estimators": 80, "max_depth": 3, "early_stopping_rounds": 10}
NAMES = ["a", "b", "c", "noise"]


def _fit(trainer, task: str, progress=lambda _: None):
    X, y, Xv, yv = _data(task, n=3000)
    model = trainer.fit(X, y, Xv, yv, PARAMS, task=task, feature_names=NAMES, progress=progress)
    return model, Xv, yv


def test_one_spark_worker_trains_the_local_model(spark, task: str = "regression") -> None:
    local, Xv, _ = _fit(get_trainer("xgboost"), task)
    said: list[str] = []
    distributed, _, _ = _fit(get_trainer("xgboost").on_spark(spark, 1), task, said.append)
    assert any("xgboost.spark: 1 workers" in line for line in said), said
    np.testing.assert_array_equal(get_trainer("xgboost").predict(distributed, Xv),
                                  get_trainer("xgboost").predict(local, Xv))


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_two_spark_workers_agree_within_the_tolerance_and_store_the_same_artifact(
    spark, task: str, tmp_path: Path
) -> None:
    xgboost = get_trainer("xgboost")
    local, Xv, yv = _fit(xgboost, task)
    trainer = xgboost.on_spark(spark, 2)
    assert isinstance(trainer, SparkXGBoostTrainer)
    distributed, _, _ = _fit(trainer, task)
    pred = xgboost.predict(distributed, Xv)
    assert not np.array_equal(pred, xgboost.predict(local, Xv))  # really two sketches, not one
    ours, theirs = compute_metrics(task, yv, pred), compute_metrics(task, yv, xgboost.predict(local, Xv))
    for metric in ("rmse",) if task == "regression" else ("auc", "logloss"):
        assert ours[metric] == pytest.approx(theirs[metric], rel=DISTRIBUTED_METRIC_TOLERANCE), metric
    # what the repository stores and serving loads: the local trainer's artifact
    trainer.save(distributed, tmp_path)
    np.testing.assert_array_equal(xgboost.predict(xgboost.load(tmp_path), Xv), pred)


def test_more_workers_than_task_slots_is_refused_naming_the_setting(spark) -> None:
    slots = spark.sparkContext.defaultParallelism
    with pytest.raises(ValueError, match=rf"resources.workers: {slots + 1} XGBoost workers .* {slots}"):
        _fit(get_trainer("xgboost").on_spark(spark, slots + 1), "regression")
