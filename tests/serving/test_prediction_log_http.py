"""The prediction log behind the real HTTP service (bentoml serve on the embedded default)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pandas as pd

from serving.prediction_log import parquet_schema
from tests.serving.conftest import serve


def _logged(folder: Path, ids: set[str], seconds: float = 15) -> pd.DataFrame:
    """The log's rows of ``ids`` once all are written (the log writes every second)."""
    deadline = time.monotonic() + seconds
    while True:
        files = [p for p in folder.rglob("*.parquet") if not p.name.startswith(".")]
        frame = pd.concat([pd.read_parquet(p, schema=parquet_schema()) for p in files]) if files else None
        if frame is not None and ids <= set(frame["prediction_id"]):
            return frame[frame["prediction_id"].isin(ids)].set_index("prediction_id")
        assert time.monotonic() < deadline, f"not all of {len(ids)} predictions logged in {seconds} s"
        time.sleep(0.2)


def _counted(url: str, outcome: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    found = re.search(rf'^fresco_prediction_log_records_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_logged_records_equal_the_http_answers(sqlite_server, sqlite_env) -> None:
    rows = [sqlite_env.row(customer_id=i, items=i) for i in (1, 2, 3, 4, 99_999)]  # 99,999: no features
    response = sqlite_server.post("/predict", {"model": sqlite_env.tag, "rows": rows, "return_features": True})
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    ids = [a["prediction_id"] for a in answers]
    assert len(set(ids)) == len(rows)
    logged = _logged(Path(sqlite_env.env()["FRESCO_HOME"]) / "predictions", set(ids))
    for row, answer in zip(rows, answers):
        record = logged.loc[answer["prediction_id"]]
        assert record["prediction"] == answer["prediction"]
        assert record["model_uuid"] == answer["model_uuid"] == sqlite_env.model
        assert record["tag"] == sqlite_env.tag and record["experiment"] is None
        assert json.loads(record["features_json"]) == answer["features"]
        assert json.loads(record["inputs_json"]) == answer["inputs"]
        assert json.loads(record["entity_keys_json"]) == {"customer_id": row["customer_id"]}
        request = json.loads(record["request_json"])
        assert request == {k: row[k] for k in ("ordered_at", "channel", "basket_size", "items", "is_member")}
        assert record["latency_ms"] > 0
    # without return_features the answer is short, the log still complete
    short = sqlite_server.post("/predict", {"model": sqlite_env.tag, "rows": rows[:1]}).json()["predictions"][0]
    assert short.get("features") is None
    again = _logged(Path(sqlite_env.env()["FRESCO_HOME"]) / "predictions", {short["prediction_id"]})
    assert json.loads(again.iloc[0]["features_json"]) == answers[0]["features"]
    assert _counted(sqlite_server.url, "written") >= len(rows) + 1


def test_a_broken_sink_loses_no_prediction_and_the_drops_are_exported(sqlite_env, tmp_path: Path) -> None:
    blocked = tmp_path / "predictions"
    blocked.write_text("not a folder")  # every write of the log fails
    with serve(sqlite_env.env(), sqlite_env.tag, tmp_path, FRESCO_PREDICTION_LOG_DIR=str(blocked)) as server:
        for _ in range(5):
            response = server.post("/predict", {"model": sqlite_env.tag, "rows": [sqlite_env.row()] * 4})
            assert response.status_code == 200, response.text
        deadline = time.monotonic() + 15
        while _counted(server.url, "dropped_sink_error") < 20:
            assert time.monotonic() < deadline, httpx.get(server.url + "/metrics").text[-2000:]
            time.sleep(0.3)
        assert _counted(server.url, "written") == 0
