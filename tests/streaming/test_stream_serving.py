"""Serving sees a streamed feature within seconds: a model trained on the backfilled offline log,
served over real HTTP (BentoML) from the embedded online store the stream job writes; events
published for one restaurant change the prediction's model inputs with nothing restarted."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import environment_restored
from tests.serving.conftest import serve
from tests.streaming.test_stream_cli import _project
from tests.streaming.test_stream_job import quarter_hour_base, _events, _publish

pytestmark = pytest.mark.timeout(900)

PROGRAM = """\
prep   = fill(@fs.restaurant_realtime.avg_prep_time_1h, 0.0)
orders = fill(@fs.restaurant_realtime.orders_1h, 0)
"""


def _train(repo: Path, spark, events: pd.DataFrame, root: Path, base: datetime) -> str:
    """Backfill the events' period and train a small model on it; returns its UUID."""
    from fresco.platform import open_store
    from fresco.platform.streaming.backfill import backfill
    from fresco.platform.streaming.groups import stream_group
    from fresco.training import parse_config, train

    store = open_store(repo)
    group = stream_group(store, "restaurant_realtime")
    backfill(store, group, spark.createDataFrame(events), base - timedelta(minutes=15), base + timedelta(hours=2))
    rng = np.random.default_rng(4)
    times = pd.to_datetime(events["ready_at"], utc=True).sample(200, replace=True, random_state=1).to_numpy()
    labels = pd.DataFrame({"restaurant_id": rng.choice([11, 12, 13], 200),
                           "requested_at": times + pd.Timedelta(seconds=30),
                           "eta_min": rng.uniform(10, 60, 200)})
    path = root / "labels.parquet"
    labels.to_parquet(path, index=False)
    config = parse_config({
        "model": {"name": "streamed_eta", "type": "xgboost",
                  "hyperparameters": {"nthread": 1, "n_estimators": 5, "max_depth": 2}},
        "data": {"source": {"parquet": str(path)}, "label": "eta_min", "timestamp_column": "requested_at"},
        "features": {"repo": str(repo), "program": PROGRAM},
        "evaluation": {"partial_dependence_features": 0},
    })
    return train(config).uuid


def test_published_events_reach_the_served_model_inputs_within_seconds(tmp_path: Path, spark, kafka: str) -> None:
    BASE = quarter_hour_base()
    from fresco.platform import open_store
    from fresco.platform.streaming.groups import stream_group
    from fresco.platform.streaming.job import StreamJob
    from fresco.training import ModelRepository

    repo, env = _project(tmp_path, f"test-{uuid.uuid4().hex[:8]}.")
    env = {**env, "BENTOML_HOME": str(tmp_path / "state" / "bentoml"), "FRESCO_FEATURE_REPO": str(repo),
           "FEAST_FS_YAML_FILE_PATH": str(repo / "feature_store.yaml")}
    with environment_restored(*env):
        os.environ.update(env)
        model = _train(repo, spark, _events(300, 31, BASE, 100), tmp_path, BASE)
        ModelRepository().tag("streamed_eta:live", model)
        store = open_store(repo)
        job = StreamJob(store, stream_group(store, "restaurant_realtime"), spark, trigger_seconds=0.5).start()
        try:
            with serve(env, "streamed_eta:live", tmp_path) as server:
                def inputs() -> dict:
                    answer = server.post("/predict", {"model": "streamed_eta:live", "return_features": True,
                                                      "rows": [{"restaurant_id": 77}]})
                    assert answer.status_code == 200, answer.text
                    return answer.json()["predictions"][0]["inputs"]

                assert inputs() == {"prep": 0.0, "orders": 0}  # restaurant 77 has no event yet
                delays = []
                for n, prep in enumerate((12.0, 20.0, 31.0), 1):
                    sent = datetime.now(timezone.utc)
                    _publish(store, pd.DataFrame({"order_id": [900_000 + n], "restaurant_id": [77],
                                                  "ready_at": [sent], "prep_time_min": [prep]}))
                    deadline = time.monotonic() + 60
                    while (seen := inputs())["orders"] != n:
                        assert time.monotonic() < deadline, f"event {n} not served after 60 s: {seen}"
                        time.sleep(0.1)
                    delays.append((datetime.now(timezone.utc) - sent).total_seconds())
                    want = np.mean([12.0, 20.0, 31.0][:n])
                    assert seen == {"prep": pytest.approx(want), "orders": n}
                print(f"event -> served model inputs: {', '.join(f'{d:.1f} s' for d in delays)}")
        finally:
            job.stop()
