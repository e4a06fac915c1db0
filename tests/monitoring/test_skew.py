"""``fresco monitor skew`` on a repository made by ``fresco init`` (SQLite online store, Parquet
offline store), a model trained on it, predictions served in process through the real online
store and logged by serving's writer; then skew injected as it happens in production."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import environment_restored, invoke_fresco
from tests.serving.sqlite_setup import SqliteServingEnvironment, build_sqlite_environment

_STATE = ("FRESCO_HOME", "BENTOML_HOME", "FRESCO_FEATURE_REPO", "FEAST_FS_YAML_FILE_PATH")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> SqliteServingEnvironment:
    with environment_restored(*_STATE):
        return build_sqlite_environment(tmp_path_factory.mktemp("skew"), created_column="created")


@pytest.fixture
def env(shop: SqliteServingEnvironment) -> Iterator[SqliteServingEnvironment]:
    with environment_restored(*_STATE):
        import os

        os.environ.update(shop.env())
        yield shop


def serve(env: SqliteServingEnvironment, log: Path, customers: list[int], repository: Any = None) -> list[str]:
    """One request per customer through the in-process predictor, logged to ``log``; the ids."""
    from fresco.platform import open_store
    from fresco.platform.logs import PredictionSink
    from fresco.serving import Predictor
    from fresco.serving.prediction_log import AsyncLog

    writer = AsyncLog(PredictionSink(log), flush_seconds=0.05)
    predictor = Predictor(open_store(env.project), repository, prediction_log=writer)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ids = []
    for i, customer in enumerate(customers):
        row = env.row(customer_id=customer, ordered_at=(now - timedelta(minutes=i)).isoformat(),
                      channel="app" if i % 2 else "web", items=1 + i % 5, basket_size=0.5 + i / 10)
        ids.append(predictor.predict(env.tag, [row]).rows[0].prediction_id)
    writer.close()
    assert writer.stats().written == len(customers)
    return ids


def land_stats(store: Any, customer: int, stamp: pd.Timestamp, *, orders: int, value: float,
               segment: str, created: pd.Timestamp) -> None:
    """One ``customer_stats`` row appended offline (nothing online): late or corrected data."""
    from fresco.platform.offline_log import append_rows

    append_rows(store, "customer_stats", pd.DataFrame({
        "customer_id": pd.Series([customer], dtype="int64"), "event_timestamp": [stamp],
        "orders_30d": pd.Series([orders], dtype="int64"), "avg_order_value_30d": [value],
        "segment": [segment], "created": [created]}))


def rebuilt_repository(copy: Path) -> Any:
    """The model repository, except that every model's artifact is read from a copy at ``copy``
    whose program doubles ``size`` (a program changed between training and serving)."""
    from fresco.training import ModelRepository

    class Rebuilt(ModelRepository):
        def artifact_path(self, ref: str) -> Path:
            if not copy.exists():
                shutil.copytree(super().artifact_path(ref), copy)
                program = json.loads((copy / "program.json").read_text())
                assert "size      = @req.basket_size * 1.0" in program["source"]
                program["source"] = program["source"].replace("@req.basket_size * 1.0", "@req.basket_size * 2.0")
                (copy / "program.json").write_text(json.dumps(program))
            return copy

    return Rebuilt()


def skew(env: SqliteServingEnvironment, log: Path, out: Path, *extra: str):
    return invoke_fresco("monitor", "skew", env.tag, "--log", str(log), "--out", str(out), *extra,
                         cwd=env.project)


def mismatch_figures(env: SqliteServingEnvironment, tmp_path: Path) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """``fresco monitor skew`` on the test's log, which must exit 1 (a mismatch found): its run,
    the JSON figures and those of ``customer_stats:orders_30d``."""
    done = skew(env, tmp_path / "log", tmp_path / "out")
    assert done.returncode == 1, done.stdout + done.stderr
    figures = json.loads((tmp_path / "out" / "skew.json").read_text())
    return done, figures, {f["feature"]: f for f in figures["features"]}["customer_stats:orders_30d"]


def test_a_clean_run_has_no_skew(env: SqliteServingEnvironment, tmp_path: Path) -> None:
    ids = serve(env, tmp_path / "log", list(range(1, 41)))
    done = skew(env, tmp_path / "log", tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "skew: 40 predictions checked, 0 with a mismatch"
    figures = json.loads((tmp_path / "out" / "skew.json").read_text())
    assert figures["checked"] == 40 and figures["with_mismatch"] == 0 and figures["passed"]
    assert {f["feature"] for f in figures["features"]} == {
        "customer_stats:orders_30d", "customer_stats:avg_order_value_30d", "customer_stats:segment"}
    assert all(f["checked"] == 40 and f["mismatches"] == 0 for f in figures["features"] + figures["inputs"])
    assert figures["prediction"]["mismatches"] == 0
    assert (tmp_path / "out" / "skew.html").read_text().count("<tr>") > 10
    # a sample smaller than the log: that many, drawn from it
    sampled = skew(env, tmp_path / "log", tmp_path / "sampled", "--sample", "7")
    assert sampled.returncode == 0 and "skew: 7 predictions checked, 0 with a mismatch" in sampled.stdout
    chosen = json.loads((tmp_path / "sampled" / "skew.json").read_text())
    assert chosen["checked"] == 7 and chosen["predictions_in_period"] == 40 and len(ids) == 40


def test_an_online_value_written_after_materialization_is_found(env: SqliteServingEnvironment,
                                                                 tmp_path: Path) -> None:
    """Customer 150's order count rewritten online (outside materialization) before serving."""
    from fresco.platform import open_store

    store = open_store(env.project)
    online = store.get_online_features(["customer_stats:orders_30d", "customer_stats:avg_order_value_30d",
                                        "customer_stats:segment"], [{"customer_id": 150}]).to_dict()
    assert online["orders_30d"][0] is not None
    now = pd.Timestamp.now(tz="UTC")
    store.write_to_online_store("customer_stats", pd.DataFrame({
        "customer_id": [150], "event_timestamp": [now], "created": [now],
        "orders_30d": [online["orders_30d"][0] + 40], "avg_order_value_30d": online["avg_order_value_30d"],
        "segment": online["segment"]}))
    ids = serve(env, tmp_path / "log", [150, 151, 152])
    done = skew(env, tmp_path / "log", tmp_path / "out")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "skew: 3 predictions checked, 1 with a mismatch"
    assert f"customer_stats:orders_30d: 1 of 3 differ (value_differs 1); e.g. prediction {ids[0]}" in done.stdout
    figures = json.loads((tmp_path / "out" / "skew.json").read_text())
    by_feature = {f["feature"]: f for f in figures["features"]}
    counts = by_feature["customer_stats:orders_30d"]
    assert counts["mismatches"] == 1 and counts["causes"]["value_differs"] == 1
    largest = counts["largest"][0]
    assert largest["entity_keys"] == {"customer_id": 150} and largest["difference"] == 40
    assert largest["online"] == largest["offline"] + 40
    assert by_feature["customer_stats:avg_order_value_30d"]["mismatches"] == 0
    assert figures["rows_by_cause"]["value_differs"] == 1 and figures["rows_by_cause"]["transformation"] == 0
    # a threshold above the share found passes
    assert skew(env, tmp_path / "log", tmp_path / "out2", "--max-mismatch-rate", "0.5").returncode == 0


def test_a_feature_never_materialized_is_found(env: SqliteServingEnvironment, tmp_path: Path) -> None:
    """Customer 9001's statistics land offline after materialization (stamped an hour ago)."""
    from fresco.platform import open_store

    store = open_store(env.project)
    stamp = pd.Timestamp.now(tz="UTC").floor("s") - pd.Timedelta(hours=1)
    land_stats(store, 9001, stamp, orders=7, value=31.5, segment="premium", created=stamp)
    ids = serve(env, tmp_path / "log", [9001, 3])
    done = skew(env, tmp_path / "log", tmp_path / "out")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "skew: 2 predictions checked, 1 with a mismatch"
    figures = json.loads((tmp_path / "out" / "skew.json").read_text())
    for feature in figures["features"]:
        assert feature["mismatches"] == 1 and feature["causes"]["not_materialized"] == 1, feature
        assert feature["largest"][0]["prediction_id"] == ids[0] and feature["largest"][0]["online"] is None
    assert {f["feature"]: f["largest"][0]["offline"] for f in figures["features"]} == {
        "customer_stats:orders_30d": 7, "customer_stats:avg_order_value_30d": 31.5,
        "customer_stats:segment": "premium"}
    assert figures["rows_by_cause"]["not_materialized"] == 1
    # the inputs that read them differ too, explained by the features (not a transformation)
    inputs = {i["input"]: i for i in figures["inputs"]}
    assert inputs["orders"]["mismatches"] == 1 and inputs["orders"]["transformation"] == 0
    assert inputs["hour"]["mismatches"] == 0
    assert "input orders: 1 of 2 differ (explained by the features 1)" in done.stdout


def test_an_offline_value_stamped_after_the_last_materialization_is_not_materialized(
        env: SqliteServingEnvironment, tmp_path: Path) -> None:
    """Customer 175 has a value online; a newer one lands offline, stamped after the view's last
    materialization and before the request: online still served the older one."""
    from fresco.platform import open_store

    store = open_store(env.project)
    served = store.get_online_features(["customer_stats:orders_30d"], [{"customer_id": 175}]).to_dict()
    assert served["orders_30d"][0] is not None
    # just after the recorded end (in a warm process the module's set-up ends within a second of it)
    stamp = pd.Timestamp(store.get_feature_view("customer_stats").most_recent_end_time) + pd.Timedelta(milliseconds=1)
    time.sleep(max(0.0, (stamp - pd.Timestamp.now(tz="UTC")).total_seconds() + 0.01))
    land_stats(store, 175, stamp, orders=served["orders_30d"][0] + 9, value=20.0, segment="regular",
               created=stamp)
    ids = serve(env, tmp_path / "log", [175, 176])
    _, figures, orders = mismatch_figures(env, tmp_path)
    assert orders["causes"] == {"not_materialized": 1, "missing_offline": 0, "changed_after_serving": 0,
                                "value_differs": 0}
    assert orders["largest"][0]["prediction_id"] == ids[0] and orders["largest"][0]["difference"] == 9
    assert figures["rows_by_cause"]["not_materialized"] == 1 and figures["rows_by_cause"]["value_differs"] == 0


def test_offline_data_rewritten_after_serving_is_told_apart(env: SqliteServingEnvironment,
                                                              tmp_path: Path) -> None:
    """Customer 160's snapshot of today corrected offline after the request was served: same
    event time, created later (the source declares its created timestamp)."""
    from fresco.platform import open_store

    store = open_store(env.project)
    ids = serve(env, tmp_path / "log", [160, 161])
    today = pd.Timestamp.now(tz="UTC").floor("D")
    served = store.get_online_features(["customer_stats:orders_30d"], [{"customer_id": 160}]).to_dict()
    land_stats(store, 160, today, orders=served["orders_30d"][0] + 25, value=12.0, segment="bargain",
               created=pd.Timestamp.now(tz="UTC"))
    done, figures, orders = mismatch_figures(env, tmp_path)
    assert done.stdout.strip().splitlines()[-1] == "skew: 2 predictions checked, 1 with a mismatch"
    assert orders["causes"] == {"not_materialized": 0, "missing_offline": 0, "changed_after_serving": 1,
                                "value_differs": 0}
    assert orders["largest"][0]["prediction_id"] == ids[0] and orders["largest"][0]["difference"] == 25
    assert figures["rows_by_cause"]["changed_after_serving"] == 1 and figures["rows_by_cause"]["value_differs"] == 0


def test_a_program_changed_between_training_and_serving_is_a_transformation_skew(
        env: SqliteServingEnvironment, tmp_path: Path) -> None:
    """The artifact served carries another program than the one trained (``size`` doubled)."""
    serve(env, tmp_path / "log", [5, 6, 7, 8], repository=rebuilt_repository(tmp_path / "artifact"))
    done = skew(env, tmp_path / "log", tmp_path / "out")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "skew: 4 predictions checked, 4 with a mismatch"
    assert "input size: 4 of 4 differ (transformation 4)" in done.stdout
    figures = json.loads((tmp_path / "out" / "skew.json").read_text())
    assert all(f["mismatches"] == 0 for f in figures["features"])
    inputs = {i["input"]: i for i in figures["inputs"]}
    assert inputs["size"]["transformation"] == 4 and inputs["n_items"]["mismatches"] == 0
    assert all(x["served"] == pytest.approx(2 * x["replayed"]) for x in inputs["size"]["largest"])
    assert figures["rows_by_cause"]["transformation"] == 4


def test_skew_is_an_alert_rule(env: SqliteServingEnvironment, tmp_path: Path) -> None:
    rules = tmp_path / "monitoring.yaml"
    rules.write_text(f"rules:\n  - name: basket-skew\n    tag: {env.tag}\n    metric: skew_rate\n"
                     "    window: 1h\n    above: 0.2\n    min_count: 4\n    sample: 100\nfreshness: none\n")

    def check(*extra: str):
        return invoke_fresco("monitor", "check", "--rules", str(rules), "--log", str(tmp_path / "log"),
                             "--record-to", str(tmp_path / "checks"), *extra, cwd=tmp_path)

    serve(env, tmp_path / "log", [30, 31, 32, 33])
    done = check("--repo", str(env.project))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK           basket-skew: skew_rate 0 (above 0.2 breaches)" in done.stdout
    assert "on 4 predictions" in done.stdout and "0 of 4 replayed predictions of basket_value" in done.stdout
    serve(env, tmp_path / "log", [34, 35, 36, 37], repository=rebuilt_repository(tmp_path / "artifact"))
    done = check("--repo", str(env.project))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BREACH       basket-skew: skew_rate 0.5 (above 0.2 breaches)" in done.stdout
    assert "4 of 8 replayed predictions of basket_value" in done.stdout and "(transformation 4)" in done.stdout
    # without the feature repository the rule cannot run, and says why
    alone = check()
    assert alone.returncode == 2
    assert "rule(s) basket-skew replay predictions through it" in alone.stderr


def test_nothing_to_check_is_said_and_exits_2(env: SqliteServingEnvironment, tmp_path: Path) -> None:
    done = skew(env, tmp_path / "empty", tmp_path / "out")
    assert done.returncode == 2
    assert "no logged predictions of model basket_value" in done.stderr and str(tmp_path / "empty") in done.stderr
    unknown = invoke_fresco("monitor", "skew", "nope:production", "--log", str(tmp_path), cwd=env.project)
    assert unknown.returncode == 2 and "nope:production" in unknown.stderr


def test_replay_reads_logged_requests_in_the_programs_types() -> None:
    from fresco.dsl import compile_program
    from fresco.monitoring.skew import SERVED_AT, replay_rows

    program = compile_program("a = @req.n + 1\nb = hour_of_day(@req.at)\nc = @fs.v.x * 1.0",
                              input_types={"n": "int", "at": "timestamp", "v:x": "float"})
    logged = pd.DataFrame({"entity_keys_json": ['{"k":1}', '{"k":2}'],
                           "request_json": ['{"n":3,"at":"2026-12-01T10:00:00+00:00"}', '{"n":null,"at":null}'],
                           "predicted_at": pd.to_datetime(["2026-12-01T10:00:01Z", "2026-12-01T11:00:00Z"])})
    rows = replay_rows(logged, program)
    assert list(rows.columns) == ["k", "n", "at", SERVED_AT]
    assert str(rows["n"].dtype) == "Int64" and rows["n"].isna().tolist() == [False, True]
    assert rows["at"].iloc[0] == pd.Timestamp("2026-12-01T10:00:00Z") and pd.isna(rows["at"].iloc[1])
    assert rows[SERVED_AT].tolist() == list(logged["predicted_at"])
    with pytest.raises(ValueError, match="lack request field 'n'"):
        replay_rows(logged.assign(request_json=['{"at":null}'] * 2), program)
