"""The prediction and outcome logs on Kafka and ``fresco monitor ingest``, on the real broker."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from fresco.monitoring import read_predictions
from fresco.platform.log_topics import PREDICTIONS, TopicSink
from fresco.platform.logs import PredictionSink
from fresco.serving.prediction_log import AsyncLog, prediction_log_from_env
from tests.conftest import free_port, invoke_fresco
from tests.serving.test_prediction_log import T0, _records


@pytest.fixture
def topic(kafka: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A topic of this test's own on the real broker, which the environment points at."""
    monkeypatch.setenv("FRESCO_KAFKA_BOOTSTRAP_SERVERS", kafka)
    monkeypatch.delenv("FRESCO_KAFKA_TOPIC_PREFIX", raising=False)
    return f"test-log-{uuid.uuid4().hex[:12]}"


def _ingest(tmp_path: Path, *args: str, exit_code: int = 0):
    """``fresco monitor ingest ARGS`` in this process, on the test's broker; its exit code checked."""
    done = invoke_fresco("monitor", "ingest", *args, cwd=tmp_path,
                         env={"FRESCO_HOME": str(tmp_path / "home"),
                              "FRESCO_KAFKA_BOOTSTRAP_SERVERS": os.environ["FRESCO_KAFKA_BOOTSTRAP_SERVERS"]})
    assert done.returncode == exit_code, done.stdout + done.stderr
    return done


def _landed_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.parquet") if not p.name.startswith(".")]


def test_the_kafka_log_lands_as_the_parquet_log_would_have_written_it(topic: str, tmp_path: Path) -> None:
    log = prediction_log_from_env({"FRESCO_PREDICTION_LOG": "kafka", "FRESCO_PREDICTION_LOG_TOPIC": topic})
    assert log is not None and isinstance(log.sink, TopicSink) and log.sink.topic == topic
    records = _records(1500)  # across midnight UTC
    log.log(records)
    log.flush()
    log.close()
    assert log.stats().written == 1500 and log.stats().dropped == 0

    landed = tmp_path / "landed"
    done = _ingest(tmp_path, "--topic", topic, "--to", str(landed), "--batch", "400")
    assert done.stdout.splitlines()[-1].startswith(f"monitor ingest: 1,500 records landed from {topic}"), done.stdout
    assert "lag 0" in done.stdout.splitlines()[-1]
    # the same rows, days and schema as the Parquet sink writes for the same records
    PredictionSink(tmp_path / "parquet").write(records)
    expected = read_predictions(tmp_path / "parquet")
    got = read_predictions(landed)
    pd.testing.assert_frame_equal(got, expected)
    assert got["prediction_id"].tolist() == [r.prediction_id for r in records]
    assert json.loads(got.iloc[0]["inputs_json"]) == {"prep_7d": 12.5, "hour": None}
    assert sorted(p.name for p in landed.glob("date=*")) == ["date=2026-12-03", "date=2026-12-04"]
    # again: nothing new to land, nothing landed twice
    again = _ingest(tmp_path, "--topic", topic, "--to", str(landed))
    assert again.stdout.splitlines()[-1].startswith("monitor ingest: 0 records landed"), again.stdout
    assert len(read_predictions(landed)) == 1500


def test_a_dead_broker_never_blocks_the_log_and_the_drops_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRESCO_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")  # nothing listens there
    log = prediction_log_from_env({"FRESCO_PREDICTION_LOG": "kafka",
                                   "FRESCO_PREDICTION_LOG_TOPIC": f"test-dead-{uuid.uuid4().hex[:8]}"})
    assert log is not None
    started = time.monotonic()
    log.log(_records(30))
    assert time.monotonic() - started < 1  # queued, not sent
    log.flush()  # each batch fails after the sink's delivery timeout (5 s)
    stats = log.stats()
    assert stats.dropped_sink_error == 30 and stats.written == 0
    log.close()

    small = AsyncLog(log.sink, capacity=10, batch_size=10, flush_seconds=0.05)  # the sink hangs 5 s a batch
    started = time.monotonic()
    for _ in range(10):
        small.log(_records(10))
    assert time.monotonic() - started < 1
    small.flush()
    stats = small.stats()
    assert stats.dropped_queue_full >= 70 and stats.written == 0
    assert stats.dropped_queue_full + stats.dropped_sink_error == 100
    small.close()


def test_an_ingest_killed_mid_topic_and_run_again_lands_each_record_once(topic: str, tmp_path: Path) -> None:
    from fresco.platform.streaming.topics import ensure_topics

    ensure_topics(os.environ["FRESCO_KAFKA_BOOTSTRAP_SERVERS"], [topic], partitions=3)  # each resumes on its own
    records = _records(20_000)
    TopicSink(PREDICTIONS, topic, os.environ["FRESCO_KAFKA_BOOTSTRAP_SERVERS"], delivery_timeout=30).write(records)
    landed = tmp_path / "landed"
    fresco = Path(sys.executable).with_name("fresco")
    child = subprocess.Popen([str(fresco), "monitor", "ingest", "--topic", topic, "--to", str(landed), "--follow",
                              "--batch", "20"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env={**os.environ, "FRESCO_HOME": str(tmp_path / "home")})
    try:
        deadline = time.monotonic() + 120
        while len(_landed_files(landed)) < 5 if landed.is_dir() else True:
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "the ingest landed nothing in 120 s"
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGKILL)  # no clean exit: killed between any two steps
        child.wait()
    before = len(read_predictions(landed))
    assert 0 < before < 20_000, before  # killed mid-topic

    done = _ingest(tmp_path, "--topic", topic, "--to", str(landed), "--batch", "5000")
    assert f"monitor ingest: {20_000 - before:,} records landed" in done.stdout, done.stdout
    assert all(f"p{p} at " in done.stdout.splitlines()[-1] for p in range(3)), done.stdout
    got = read_predictions(landed)
    assert len(got) == 20_000 and got["prediction_id"].is_unique
    assert set(got["prediction_id"]) == {r.prediction_id for r in records}
    assert not list(landed.rglob(".part-*.tmp"))


def test_malformed_messages_are_skipped_counted_and_named(topic: str, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from confluent_kafka import Producer

    good = _records(3)
    sink = TopicSink(PREDICTIONS, topic, os.environ["FRESCO_KAFKA_BOOTSTRAP_SERVERS"])
    row = json.loads(_encoded(good[0]))
    bad = {
        b"not json {": "not JSON",
        b"[1, 2]": "not a JSON object but list",
        json.dumps({k: v for k, v in row.items() if k != "prediction"}).encode(): "missing field(s) ['prediction']",
        json.dumps({**row, "schema_version": 99}).encode(): "schema version 99; this Fresco reads up to 1",
        json.dumps({**row, "predicted_at": "2026-12-03T10:00:00"}).encode(): "predicted_at is not an ISO 8601 time",
        json.dumps({**row, "prediction": "high"}).encode(): "prediction is not a double",
        None: "no value",
    }
    sink.write(good[:1])
    producer = Producer({"bootstrap.servers": os.environ["FRESCO_KAFKA_BOOTSTRAP_SERVERS"]})
    for value in bad:
        producer.produce(topic, value, key=b"x")
    assert producer.flush(30) == 0
    sink.write(good[1:])

    landed = tmp_path / "landed"
    with caplog.at_level(logging.WARNING, logger="fresco.monitoring.ingest"):
        done = _ingest(tmp_path, "--topic", topic, "--to", str(landed))
    assert "3 records landed" in done.stdout and "7 malformed skipped" in done.stdout, done.stdout
    assert "p0 at 10; lag 0" in done.stdout.splitlines()[-1]
    skipped = [r.getMessage() for r in caplog.records if "skipped malformed record" in r.getMessage()]
    assert len(skipped) == 7
    for offset, reason in enumerate(bad.values(), start=1):
        assert any(f"partition 0 offset {offset}: {reason}" in line for line in skipped), (reason, skipped)
    assert read_predictions(landed)["prediction_id"].tolist() == [r.prediction_id for r in good]


def _encoded(record) -> bytes:
    from fresco.platform.log_topics import encode

    return encode(PREDICTIONS, record)


def test_outcomes_on_kafka_land_where_the_monitoring_commands_read_them(topic: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from fresco.monitoring.outcomes import outcomes_to_join
    from fresco.platform.logs import OutcomeRecord
    from fresco.serving.outcomes import outcome_log_from_env

    log = outcome_log_from_env({"FRESCO_OUTCOME_LOG": "kafka", "FRESCO_OUTCOME_LOG_TOPIC": topic})
    outcomes = [OutcomeRecord(r.prediction_id, 40.0 + i, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
                for i, r in enumerate(_records(5))]
    log.log(outcomes)
    log.close()
    assert log.stats().written == 5
    home = tmp_path / "home"
    done = invoke_fresco("monitor", "ingest", "--kind", "outcomes", cwd=tmp_path,
                         env={"FRESCO_HOME": str(home), "FRESCO_OUTCOME_LOG_TOPIC": topic,
                              "FRESCO_KAFKA_BOOTSTRAP_SERVERS": os.environ["FRESCO_KAFKA_BOOTSTRAP_SERVERS"]})
    assert done.returncode == 0 and "5 records landed" in done.stdout, done.stdout + done.stderr
    assert [p.parent.name for p in _landed_files(home / "outcomes")] == ["date=2026-12-04"]
    monkeypatch.setenv("FRESCO_HOME", str(home))
    joined = outcomes_to_join(None)  # what `fresco monitor metrics` joins by default
    assert joined is not None
    assert joined.sort_values("outcome")["prediction_id"].tolist() == [o.prediction_id for o in outcomes]
    assert joined["observed_at"].tolist() == [pd.Timestamp(T0 + timedelta(hours=1))] * 5


def test_the_ingest_names_a_broker_that_does_not_answer_and_a_second_ingest_of_the_same_landing(
        topic: str, tmp_path: Path) -> None:
    from fresco.monitoring.landing import landing_lock

    dead = f"127.0.0.1:{free_port()}"
    done = invoke_fresco("monitor", "ingest", "--topic", topic, "--to", str(tmp_path / "landed"), cwd=tmp_path,
                         env={"FRESCO_KAFKA_BOOTSTRAP_SERVERS": dead})
    assert done.returncode == 1 and "no Kafka broker answers" in done.stderr, done.stdout + done.stderr
    with landing_lock(tmp_path / "landed", topic):  # an ingest running
        done = _ingest(tmp_path, "--topic", topic, "--to", str(tmp_path / "landed"), exit_code=1)
    assert f"another `fresco monitor ingest` lands topic {topic} into" in done.stderr, done.stderr



def test_a_following_ingest_lands_what_comes_and_stops_cleanly_on_sigterm(topic: str, tmp_path: Path) -> None:
    sink = TopicSink(PREDICTIONS, topic, os.environ["FRESCO_KAFKA_BOOTSTRAP_SERVERS"])
    first, later = _records(100), _records(30, T0 + timedelta(days=1))
    sink.write(first)
    landed = tmp_path / "landed"
    fresco = Path(sys.executable).with_name("fresco")
    child = subprocess.Popen([str(fresco), "monitor", "ingest", "--topic", topic, "--to", str(landed), "--follow"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "FRESCO_HOME": str(tmp_path / "home")})
    try:
        expected: set[str] = set()
        for records in (first, later):
            if records is later:
                sink.write(later)  # while it follows
            expected |= {r.prediction_id for r in records}
            deadline = time.monotonic() + 60
            while set(read_predictions(landed)["prediction_id"]) != expected:
                assert child.poll() is None and time.monotonic() < deadline, "not landed while following"
                time.sleep(0.1)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, out + err
    assert out.splitlines()[-1].startswith(f"monitor ingest: 130 records landed from {topic}"), out


def test_the_landing_is_registered_as_a_hive_table_and_grows_with_each_ingest(topic: str, tmp_path: Path,
                                                                              spark) -> None:
    sink = TopicSink(PREDICTIONS, topic, os.environ["FRESCO_KAFKA_BOOTSTRAP_SERVERS"])
    first = _records(1200)  # across midnight UTC: two days
    sink.write(first)
    landed, table = tmp_path / "landed", f"log_{uuid.uuid4().hex[:8]}"
    done = _ingest(tmp_path, "--topic", topic, "--to", str(landed), "--hive-table", table)
    assert f"table {table}: 2 day(s), 2026-12-03 to 2026-12-04" in done.stdout, done.stdout
    later = _records(20, T0 + timedelta(days=2))
    sink.write(later)
    done = _ingest(tmp_path, "--topic", topic, "--to", str(landed), "--hive-table", table)
    assert f"table {table}: 3 day(s), 2026-12-03 to 2026-12-05" in done.stdout, done.stdout
    rows = spark.table(table).select("prediction_id", "prediction", "predicted_at", "date").toPandas()
    assert sorted(rows["prediction_id"]) == sorted(r.prediction_id for r in first + later)
    assert rows.groupby("date").size().to_dict() == {"2026-12-03": 1000, "2026-12-04": 200, "2026-12-05": 20}
    first_row = rows.set_index("prediction_id").loc[first[0].prediction_id]
    assert first_row["prediction"] == first[0].prediction
    assert first_row["predicted_at"] == pd.Timestamp(T0.replace(tzinfo=None))  # Spark's session is UTC
    # another folder under the same table name is refused, naming both
    other = _ingest(tmp_path, "--topic", topic, "--to", str(tmp_path / "other"), "--hive-table", table, exit_code=1)
    assert f"table {table} is over" in other.stderr, other.stderr


def test_the_logs_topics_follow_the_prefix_rule_and_bad_choices_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from fresco.platform.log_topics import OUTCOMES
    from fresco.serving.outcomes import outcome_log_from_env

    monkeypatch.setenv("FRESCO_KAFKA_TOPIC_PREFIX", "staging.")
    assert PREDICTIONS.topic({}) == "staging.fresco.predictions"
    assert PREDICTIONS.topic({"FRESCO_PREDICTION_LOG_TOPIC": "eta.log"}) == "staging.eta.log"
    assert OUTCOMES.topic({}) == "staging.fresco.outcomes"
    with pytest.raises(ValueError, match="FRESCO_OUTCOME_LOG must be 'parquet' or 'kafka', got 'off'"):
        outcome_log_from_env({"FRESCO_OUTCOME_LOG": "off"})  # reported outcomes are never thrown away


def test_a_record_from_before_a_column_was_added_decodes_with_it_null() -> None:
    """A producer of an older Fresco sends no ``partition``: its records still land (null there)."""
    from fresco.platform.log_topics import decode

    row = json.loads(_encoded(_records(1)[0]))
    _, decoded = decode(PREDICTIONS, json.dumps({k: v for k, v in row.items() if k != "partition"}).encode())
    assert decoded["partition"] is None and decoded["prediction_id"] == row["prediction_id"]
