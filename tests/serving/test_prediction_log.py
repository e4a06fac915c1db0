"""The prediction log on its own: real Parquet files, a real writer thread, real failures."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from fresco.platform.logs import SCHEMA_VERSION, PredictionRecord, PredictionSink, new_prediction_id, prediction_schema
from fresco.serving.prediction_log import AsyncLog, prediction_log_from_env

T0 = datetime(2026, 12, 3, 23, 59, 59, tzinfo=timezone.utc)


def _records(n: int, start: datetime = T0) -> list[PredictionRecord]:
    return [PredictionRecord(
        prediction_id=new_prediction_id(), predicted_at=start + timedelta(milliseconds=i),
        model_uuid="3f2a0000-0000-4000-8000-000000000001", tag="eta:production", experiment=None,
        arm=None, entity_keys={"restaurant_id": i}, request={"placed_at": start, "num_items": 3},
        features={"restaurant_stats_7d:avg_prep_time_7d": 12.5 + i, "restaurant_realtime:orders_1h": None},
        inputs={"prep_7d": 12.5 + i, "hour": float("nan")}, prediction=30.0 + i, latency_ms=1.5,
    ) for i in range(n)]


def _read(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder, schema=prediction_schema()).sort_values("predicted_at").reset_index(drop=True)


def test_logged_records_are_written_as_they_were_served(tmp_path: Path) -> None:
    records = _records(1500)
    log = AsyncLog(PredictionSink(tmp_path), batch_size=400, flush_seconds=0.1)
    log.log(records)
    log.flush()
    written = _read(tmp_path)
    assert log.stats().written == 1500 and log.stats().dropped == 0
    assert written["prediction_id"].tolist() == [r.prediction_id for r in records]
    assert set(written["schema_version"]) == {SCHEMA_VERSION}
    assert written["prediction"].tolist() == [r.prediction for r in records]
    first = written.iloc[0]
    assert json.loads(first["entity_keys_json"]) == {"restaurant_id": 0}
    assert json.loads(first["request_json"]) == {"placed_at": T0.isoformat(), "num_items": 3}
    assert json.loads(first["features_json"]) == {"restaurant_stats_7d:avg_prep_time_7d": 12.5,
                                                  "restaurant_realtime:orders_1h": None}
    assert json.loads(first["inputs_json"]) == {"prep_7d": 12.5, "hour": None}  # NaN: missing
    # partitioned by the prediction's UTC day: the batch crossed midnight
    assert sorted(p.name for p in tmp_path.iterdir()) == ["date=2026-12-03", "date=2026-12-04"]
    assert not list(tmp_path.rglob(".*.tmp"))
    log.close()


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    log = AsyncLog(PredictionSink(tmp_path), capacity=10, batch_size=10, flush_seconds=0.05)
    log.log(_records(2000))  # far faster than one Parquet file per 10 records
    log.flush()
    stats = log.stats()
    assert stats.dropped_queue_full > 0
    assert stats.written + stats.dropped_queue_full == 2000 == stats.offered
    assert len(_read(tmp_path)) == stats.written
    log.close()


def test_a_failing_sink_drops_and_counts_and_the_log_recovers(tmp_path: Path) -> None:
    blocked = tmp_path / "predictions"
    blocked.write_text("a file where the log's folder should be")  # every write fails
    log = AsyncLog(PredictionSink(blocked), flush_seconds=0.05)
    log.log(_records(30))
    log.flush()
    assert log.stats().dropped_sink_error == 30 and log.stats().written == 0
    blocked.unlink()  # the sink is back
    log.log(_records(20))
    log.flush()
    assert log.stats().written == 20 and len(_read(blocked)) == 20
    log.close()


def test_the_sample_keeps_its_share_by_prediction_id(tmp_path: Path) -> None:
    log = AsyncLog(PredictionSink(tmp_path), sample_rate=0.25, flush_seconds=0.05)
    records = _records(4000)
    log.log(records)
    log.flush()
    kept = set(_read(tmp_path)["prediction_id"])
    assert kept == {r.prediction_id for r in records if log.keeps(r.prediction_id)}
    assert 0.2 < len(kept) / 4000 < 0.3
    assert log.stats().sampled_out == 4000 - len(kept)
    log.close()


def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    log = AsyncLog(PredictionSink(tmp_path), flush_seconds=30)
    log.log(_records(5))
    log.close()
    assert len(_read(tmp_path)) == 5


def test_the_environment_configures_it_and_bad_values_are_named(tmp_path: Path) -> None:
    assert prediction_log_from_env({"FRESCO_PREDICTION_LOG": "off"}) is None
    configured = prediction_log_from_env({"FRESCO_PREDICTION_LOG_DIR": str(tmp_path),
                                          "FRESCO_PREDICTION_LOG_SAMPLE": "0.5"})
    assert configured is not None and configured.sample_rate == 0.5
    assert configured.sink.folder == tmp_path
    configured.close()
    with pytest.raises(ValueError, match="FRESCO_PREDICTION_LOG must be 'parquet', 'kafka' or 'off', got 'hive'"):
        prediction_log_from_env({"FRESCO_PREDICTION_LOG": "hive"})
    with pytest.raises(ValueError, match="FRESCO_PREDICTION_LOG_SAMPLE must be a number"):
        prediction_log_from_env({"FRESCO_PREDICTION_LOG_SAMPLE": "half"})
    with pytest.raises(ValueError, match=r"sample rate must be in \[0, 1\], got 2.0"):
        prediction_log_from_env({"FRESCO_PREDICTION_LOG_SAMPLE": "2", "FRESCO_PREDICTION_LOG_DIR": str(tmp_path)})


class _HalfSink:
    """A sink that stores the first half of each batch and loses the rest, saying so."""

    def __init__(self) -> None:
        self.stored: list = []

    def write(self, records) -> None:
        from fresco.platform.logs import SinkPartlyFailed

        half = len(records) // 2
        self.stored.extend(records[:half])
        raise SinkPartlyFailed(f"lost {len(records) - half}", written=half)


def test_a_sink_that_stored_part_of_a_batch_has_each_part_counted() -> None:
    sink = _HalfSink()
    log = AsyncLog(sink, batch_size=10, flush_seconds=0.05)
    log.log(_records(10))
    log.close()
    stats = log.stats()
    assert (stats.written, stats.dropped_sink_error) == (5, 5) == (len(sink.stored), 10 - len(sink.stored))
