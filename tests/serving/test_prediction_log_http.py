"""The prediction log behind the real HTTP service (bentoml serve on the embedded default)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from fresco.platform.logs import prediction_schema
from tests.serving.conftest import serve


def _logged(folder: Path, ids: set[str], seconds: float = 15) -> pd.DataFrame:
    """The log's rows of ``ids`` once all are written (the log writes every second)."""
    deadline = time.monotonic() + seconds
    while True:
        files = [p for p in folder.rglob("*.parquet") if not p.name.startswith(".")]
        frame = pd.concat([pd.read_parquet(p, schema=prediction_schema()) for p in files]) if files else None
        if frame is not None and ids <= set(frame["prediction_id"]):
            return frame[frame["prediction_id"].isin(ids)].set_index("prediction_id")
        assert time.monotonic() < deadline, f"not all of {len(ids)} predictions logged in {seconds} s"
        time.sleep(0.2)


def _counted(url: str, outcome: str, log: str = "prediction") -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    found = re.search(rf'^fresco_{log}_log_records_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def _wait_counted(url: str, outcome: str, at_least: int, log: str = "prediction") -> None:
    """Until ``/metrics`` counts ``at_least`` records of ``outcome`` (a counter moves just after
    the file it counts is written)."""
    deadline = time.monotonic() + 15
    while _counted(url, outcome, log) < at_least:
        assert time.monotonic() < deadline, [
            line for line in httpx.get(url + "/metrics", timeout=10).text.splitlines() if "_log_records" in line]
        time.sleep(0.2)


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
    # (the counters are checked on a service of its own below: services started by other tests on
    # this environment's BentoML home share its Prometheus folder)


def test_a_broken_sink_loses_no_prediction_and_the_drops_are_exported(sqlite_env, tmp_path: Path) -> None:
    blocked = tmp_path / "predictions"
    blocked.write_text("not a folder")  # every write of the log fails
    # a BentoML home of its own: BentoML keeps a service's Prometheus figures there, and two
    # services on one home would count into each other's
    bentoml_home = tmp_path / "bentoml"
    shutil.copytree(Path(sqlite_env.env()["BENTOML_HOME"]) / "models", bentoml_home / "models")
    with serve(sqlite_env.env(), sqlite_env.tag, tmp_path, FRESCO_PREDICTION_LOG_DIR=str(blocked),
               FRESCO_OUTCOME_LOG_DIR=str(tmp_path / "outcomes"), BENTOML_HOME=str(bentoml_home)) as server:
        for _ in range(5):
            response = server.post("/predict", {"model": sqlite_env.tag, "rows": [sqlite_env.row()] * 4})
            assert response.status_code == 200, response.text
        _wait_counted(server.url, "dropped_sink_error", 20)
        assert _counted(server.url, "written") == 0
        # the outcome log is a log of its own, counted apart
        answered = server.post("/predict", {"model": sqlite_env.tag, "rows": [sqlite_env.row()]}).json()
        sent = server.post("/outcome", {"outcomes": [
            {"prediction_id": answered["predictions"][0]["prediction_id"], "outcome": 1.5}]})
        assert sent.status_code == 200, sent.text
        _wait_counted(server.url, "written", 1, log="outcome")
        last = server.post("/outcome", {"outcomes": [
            {"prediction_id": answered["predictions"][0]["prediction_id"], "outcome": 2.5}]})
        assert last.status_code == 200, last.text
    # stopped at once: what the logs still held was written on the way out
    written = pd.concat(pd.read_parquet(p) for p in (tmp_path / "outcomes").rglob("part-*.parquet"))
    assert 2.5 in set(written["outcome"])


def test_outcomes_posted_to_the_service_reach_the_accuracy_report(sqlite_server, sqlite_env) -> None:
    from click.testing import CliRunner

    from fresco.cli import main

    rows = [sqlite_env.row(customer_id=i) for i in (1, 2, 3)]
    answers = sqlite_server.post("/predict", {"model": sqlite_env.tag, "rows": rows}).json()["predictions"]
    labels = [a["prediction"] + 2.0 for a in answers]  # every prediction 2 too low
    sent = sqlite_server.post("/outcome", {"outcomes": [
        {"prediction_id": a["prediction_id"], "outcome": y} for a, y in zip(answers, labels)]})
    assert sent.status_code == 200 and sent.json() == {"accepted": 3}, sent.text
    bad = sqlite_server.post("/outcome", {"outcomes": [{"prediction_id": "not-an-id", "outcome": 1.0}]})
    assert bad.status_code == 400 and bad.json()["field"] == "outcomes.0.prediction_id", bad.text

    home = Path(sqlite_env.env()["FRESCO_HOME"])
    _logged(home / "predictions", {a["prediction_id"] for a in answers})
    deadline = time.monotonic() + 15
    while True:  # the outcome log writes every second too
        files = [p for p in (home / "outcomes").rglob("*.parquet") if not p.name.startswith(".")]
        got = pd.concat([pd.read_parquet(p) for p in files]) if files else pd.DataFrame({"prediction_id": []})
        if {a["prediction_id"] for a in answers} <= set(got["prediction_id"]):
            break
        assert time.monotonic() < deadline, "outcomes not written"
        time.sleep(0.2)

    result = CliRunner().invoke(main, ["monitor", "metrics", "--model", sqlite_env.model, "--window", "1D",
                                       "--output", str(home / "accuracy-test.parquet")])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(home / "accuracy-test.parquet")
    today = table[table["outcomes"] > 0]
    assert today["mae"].tolist() == [pytest.approx(2.0)]  # only these predictions have outcomes


def _gauges(url: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """A gauge's samples on ``/metrics``: labels (sorted pairs) -> value."""
    text = httpx.get(url + "/metrics", timeout=10).text
    found = {}
    for labels, value in re.findall(rf"^{name}{{(.*)}} (\S+)$", text, re.M):
        found[tuple(sorted(re.findall(r'(\w+)="([^"]*)"', labels)))] = float(value)
    return found


def test_the_service_exports_the_latest_windows_accuracy_and_drift_as_monitor_metrics_computes_them(
        sqlite_env, tmp_path: Path) -> None:
    from fresco.monitoring import accuracy_from_logs, read_predictions
    from fresco.monitoring.report import build_report
    from fresco.training import ModelRepository
    from fresco.training.reference import read_reference

    bentoml_home = tmp_path / "bentoml"  # its own Prometheus folder (see the test above)
    shutil.copytree(Path(sqlite_env.env()["BENTOML_HOME"]) / "models", bentoml_home / "models")
    log, outcomes = tmp_path / "predictions", tmp_path / "outcomes"
    with serve(sqlite_env.env(), sqlite_env.tag, tmp_path, FRESCO_PREDICTION_LOG_DIR=str(log),
               FRESCO_OUTCOME_LOG_DIR=str(outcomes), BENTOML_HOME=str(bentoml_home),
               FRESCO_MONITOR_REFRESH_SECONDS="1") as server:
        rows = [sqlite_env.row(customer_id=i, items=i) for i in range(1, 9)]
        answers = server.post("/predict", {"model": sqlite_env.tag, "rows": rows}).json()["predictions"]
        sent = server.post("/outcome", {"outcomes": [
            {"prediction_id": a["prediction_id"], "outcome": a["prediction"] + 1.0 + i}
            for i, a in enumerate(answers[:5])]})
        assert sent.status_code == 200, sent.text
        deadline = time.monotonic() + 60
        while not any(v == 5 for v in _gauges(server.url, "fresco_monitor_outcomes").values()):
            assert time.monotonic() < deadline, httpx.get(server.url + "/metrics", timeout=10).text[-3000:]
            time.sleep(0.5)
        accuracy = _gauges(server.url, "fresco_monitor_accuracy")
        predictions = _gauges(server.url, "fresco_monitor_predictions")
        join_rate = _gauges(server.url, "fresco_monitor_join_rate")
        drift = _gauges(server.url, "fresco_monitor_drift_share")

    # what `fresco monitor metrics --window 1h` computes on the same logs: its last row
    repository = ModelRepository()
    _, table = accuracy_from_logs(lambda uuid: repository.get(uuid).task, log_folder=log, outcomes=outcomes,
                                  window="1h")
    last = table.sort_values("window_start").iloc[-1]
    labels = (("arm", ""), ("experiment", ""), ("model", repository.get(sqlite_env.model).name),
              ("model_uuid", sqlite_env.model), ("tag", sqlite_env.tag))
    assert predictions[labels] == last["predictions"] == 8
    assert join_rate[labels] == pytest.approx(last["join_rate"]) and last["join_rate"] == 5 / 8
    for metric in ("rmse", "mae", "r2", "rmsle"):
        assert accuracy[tuple(sorted((*labels, ("metric", metric))))] == pytest.approx(last[metric]), metric
    assert last["mae"] == pytest.approx(3.0)  # off by 1, 2, 3, 4, 5

    # the drift share: Evidently's on the same predictions against the model's reference sample
    reference = read_reference(repository.artifact_path(sqlite_env.model), sqlite_env.model)
    figures, _, _ = build_report(reference, read_predictions(log), task="regression")
    assert drift[(("model", labels[2][1]), ("model_uuid", sqlite_env.model))] == pytest.approx(figures["drift"]["share"])
