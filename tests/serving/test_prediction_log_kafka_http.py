"""The prediction log on Kafka behind the real HTTP service (``FRESCO_PREDICTION_LOG=kafka``)."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

from fresco.monitoring import read_predictions
from tests.conftest import free_port, invoke_fresco
from tests.serving.conftest import serve
from tests.serving.test_prediction_log_http import _counted


def _own_bentoml_home(sqlite_env, tmp_path: Path) -> str:
    """A BentoML home of the test's own: its Prometheus folder counts this service alone."""
    home = tmp_path / "bentoml"
    shutil.copytree(Path(sqlite_env.env()["BENTOML_HOME"]) / "models", home / "models")
    return str(home)


def test_a_stopped_kafka_broker_loses_no_prediction_and_the_drops_are_exported(sqlite_env, tmp_path: Path) -> None:
    with serve(sqlite_env.env(), sqlite_env.tag, tmp_path, FRESCO_PREDICTION_LOG="kafka",
               FRESCO_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",  # no broker listens there
               FRESCO_PREDICTION_LOG_TOPIC=f"test-dead-{uuid.uuid4().hex[:8]}",
               FRESCO_OUTCOME_LOG_DIR=str(tmp_path / "outcomes"),
               BENTOML_HOME=_own_bentoml_home(sqlite_env, tmp_path)) as server:
        for _ in range(5):
            started = time.monotonic()
            response = server.post("/predict", {"model": sqlite_env.tag, "rows": [sqlite_env.row()] * 4})
            assert response.status_code == 200, response.text
            assert time.monotonic() - started < 5  # not held by the log's 5 s delivery timeout
        deadline = time.monotonic() + 60  # each batch fails after the delivery timeout
        while _counted(server.url, "dropped_sink_error") < 20:
            assert time.monotonic() < deadline, "the drops were not counted on /metrics in 60 s"
            time.sleep(0.5)
        assert _counted(server.url, "written") == 0


def test_predictions_logged_to_kafka_are_landed_by_the_ingest_as_answered(sqlite_env, kafka: str,
                                                                          tmp_path: Path) -> None:
    topic = f"test-served-{uuid.uuid4().hex[:8]}"
    with serve(sqlite_env.env(), sqlite_env.tag, tmp_path, FRESCO_PREDICTION_LOG="kafka",
               FRESCO_KAFKA_BOOTSTRAP_SERVERS=kafka, FRESCO_PREDICTION_LOG_TOPIC=topic,
               FRESCO_OUTCOME_LOG_DIR=str(tmp_path / "outcomes"),
               BENTOML_HOME=_own_bentoml_home(sqlite_env, tmp_path)) as server:
        rows = [sqlite_env.row(customer_id=i, items=i) for i in (1, 2, 3, 4)]
        response = server.post("/predict", {"model": sqlite_env.tag, "rows": rows})
        assert response.status_code == 200, response.text
        answers = {a["prediction_id"]: a for a in response.json()["predictions"]}
        deadline = time.monotonic() + 30
        while _counted(server.url, "written") < len(rows):
            assert time.monotonic() < deadline, "the predictions were not published in 30 s"
            time.sleep(0.2)

    landed = tmp_path / "landed"
    done = invoke_fresco("monitor", "ingest", "--topic", topic, "--to", str(landed), cwd=tmp_path,
                         env={"FRESCO_KAFKA_BOOTSTRAP_SERVERS": kafka})
    assert done.returncode == 0 and "4 records landed" in done.stdout, done.stdout + done.stderr
    logged = read_predictions(landed).set_index("prediction_id")
    assert set(logged.index) == set(answers)
    for prediction_id, answer in answers.items():
        assert logged.loc[prediction_id, "prediction"] == answer["prediction"]
        assert logged.loc[prediction_id, "model_uuid"] == sqlite_env.model
