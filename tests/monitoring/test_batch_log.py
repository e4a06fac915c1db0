"""predict-batch logs every row it scores as the service logs it, readable by monitoring."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import environment_restored
from tests.monitoring.models import PROGRAM, use_home
from tests.training.helpers import synthetic_orders, write_request_config


def test_predict_batch_logs_each_row_with_its_model_and_arm(spark, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from fresco.monitoring import read_predictions
    from fresco.serving import predict_batch
    from fresco.training import ModelRepository, train

    with environment_restored("FRESCO_HOME", "BENTOML_HOME"):
        use_home(tmp_path / "home")
        config = write_request_config(tmp_path / "config", program=PROGRAM, n=600)
        first, second = (train(config, reports_dir=tmp_path / "reports").uuid for _ in range(2))
        repository = ModelRepository()
        repository.set_experiment("eta-batch", "eta:batch", {first: 0.5, second: 0.5}, key=["order_id"])
        orders = synthetic_orders(80, seed=3)[["order_id", "placed_at", "distance_km", "num_items"]]
        source, output, logged = tmp_path / "orders.parquet", tmp_path / "scored.parquet", tmp_path / "log"
        orders.to_parquet(source, index=False)
        monkeypatch.setenv("FRESCO_PREDICTION_LOG_DIR", str(logged))
        # a model on request fields alone: no feature store is read
        result = predict_batch(source, "eta:batch", output, spark=spark, store=object(),
                               repository=repository)
        assert result.logged_to == logged and result.rows == 80
        unlogged = predict_batch(source, "eta:batch", tmp_path / "unlogged.parquet", spark=spark,
                                 store=object(), repository=repository, log=False)
        assert unlogged.logged_to is None

    scored = pd.read_parquet(output)
    log = read_predictions(logged)
    assert len(log) == 80 and log["prediction_id"].is_unique  # one record per row, the second run not logged
    both = scored.merge(log, on="prediction_id", suffixes=("", "_log"), validate="one_to_one")
    assert len(both) == 80
    assert set(both["model_uuid"]) == {first, second}  # both arms scored some rows
    assert (both["model_uuid"] == both["model_uuid_log"]).all() and (both["arm"] == both["arm_log"]).all()
    assert (both["arm"] == both["model_uuid"]).all()  # the arms were declared by UUID
    assert set(both["experiment_log"]) == {"eta-batch"} and set(both["tag"]) == {"eta:batch"}
    assert (both["prediction"] == both["prediction_log"]).all()
    request = both["request_json"].map(json.loads)
    assert (request.map(lambda r: r["num_items"]) == both["num_items"]).all()
    assert request.map(lambda r: pd.Timestamp(r["placed_at"])).tolist() == both["placed_at"].tolist()
    inputs = both["inputs_json"].map(json.loads)
    assert (inputs.map(lambda r: r["distance"]) == both["distance_km"]).all()
    assert both["entity_keys_json"].eq("{}").all()  # request fields only: no entity keys
    assert both["latency_ms"].ge(0).all()
    when = pd.to_datetime(both["predicted_at"], utc=True)
    assert (when >= pd.to_datetime(both["scored_at"], utc=True)).all()
