"""The linear baseline on ``resources.engine: spark``: the local model, from Spark aggregates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fresco.training import ModelRepository, load_model, train
from fresco.training.trainers.linear_spark import LOGISTIC_TOLERANCE
from tests.training.helpers import rows_reaching_the_driver, synthetic_orders, write_request_config


@pytest.mark.parametrize("task, tolerance", [("regression", 1e-9), ("binary", LOGISTIC_TOLERANCE)])
def test_the_linear_model_on_spark_is_the_local_one_and_no_split_reaches_the_driver(
        home: Path, tmp_path: Path, spark, monkeypatch: pytest.MonkeyPatch, task: str, tolerance: float) -> None:
    config = write_request_config(tmp_path, task=task, n=3000)
    local = train(config)
    from fresco.training import spark_training

    monkeypatch.setattr(spark_training, "TEST_SAMPLE_ROWS", 100)  # the report's sample: below any split
    received = rows_reaching_the_driver(spark, monkeypatch)
    said: list[str] = []
    on_spark = train(config, overrides={"resources.engine": "spark", "resources.workers": 2,
                                        "monitoring.reference_rows": 50}, spark=spark, progress=said.append)
    assert any(line.startswith("linear on Spark: ") for line in said), said
    dataset = on_spark.record.dataset
    assert received and max(received) <= min(dataset["train_rows"], dataset["test_rows"]) // 2, received
    mine, theirs = (ModelRepository().get(r.uuid).learnt_parameters for r in (on_spark, local))
    for part in ("mean", "scale"):
        assert mine["scaler"][part] == pytest.approx(theirs["scaler"][part], rel=1e-12)
    assert mine["coef"] == pytest.approx(theirs["coef"], rel=tolerance, abs=tolerance)
    assert mine["intercept"] == pytest.approx(theirs["intercept"], rel=tolerance)
    fresh = synthetic_orders(500, seed=7)
    spark_model, local_model = load_model(on_spark.uuid), load_model(local.uuid)
    assert spark_model.model_type == "linear"  # the artifact serving loads
    assert np.allclose(spark_model.predict(spark_model.features(fresh)), local_model.predict(local_model.features(fresh)),
                       rtol=tolerance)
