"""The streaming feature group end to end: a real Kafka broker, real Spark Structured Streaming,
the real embedded stores (SQLite online, Parquet offline through Fresco's DuckDB store)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import copy_feature_repo, environment_restored, run_feast

pytestmark = pytest.mark.timeout(600)



def quarter_hour_base() -> datetime:
    """Two hours before the current quarter hour: events generated from here over up to 100
    minutes still fill the window served now. Called when a test starts (a module constant would
    be stale when a long suite reaches the test)."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return now.replace(minute=now.minute - now.minute % 15) - timedelta(hours=2)
FEATURES = ["restaurant_realtime:avg_prep_time_1h", "restaurant_realtime:orders_1h"]


def _events(n: int, seed: int, start: datetime, minutes: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, minutes * 60, n))
    return pd.DataFrame({
        "order_id": np.arange(seed * 10_000, seed * 10_000 + n),
        "restaurant_id": rng.choice([11, 12, 13], n),
        "ready_at": [start + timedelta(seconds=float(s)) for s in offsets],
        "prep_time_min": np.round(rng.uniform(5, 30, n), 3),
    })


@pytest.fixture
def project(tmp_path: Path, kafka: str, spark):
    repo = copy_feature_repo(tmp_path / "repo")
    with environment_restored("FRESCO_HOME", "FRESCO_KAFKA_TOPIC_PREFIX", "FRESCO_FEATURE_REPO"):
        os.environ["FRESCO_HOME"] = str(tmp_path / "state")
        os.environ["FRESCO_KAFKA_TOPIC_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}."
        done = run_feast(repo, "apply")
        assert done.returncode == 0, done.stdout + done.stderr
        from feast import FeatureStore

        yield FeatureStore(repo_path=str(repo))


def _job(store, spark, clock=None):
    from fresco.platform.streaming.groups import stream_group
    from fresco.platform.streaming.job import StreamJob
    from fresco.platform.streaming.sink import utc_now

    return StreamJob(store, stream_group(store, "restaurant_realtime"), spark, trigger_seconds=0.5,
                     clock=clock or utc_now).start()


def _publish(store, frame: pd.DataFrame) -> None:
    from fresco.platform.streaming.producer import EventPublisher, replay

    replay(EventPublisher.for_source(store, "order_ready_events"), frame, "ready_at")


def _dead_letters(topic: str, servers: str, expect: int) -> list[dict]:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": servers, "group.id": uuid.uuid4().hex,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = []
    try:
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                got.append(json.loads(msg.value()))
            if len(got) >= expect:
                break
    finally:
        consumer.close()
    return got


def _historical(store, rows: pd.DataFrame) -> pd.DataFrame:
    entity = rows[["restaurant_id", "event_timestamp"]].reset_index(drop=True)
    got = store.get_historical_features(entity_df=entity, features=FEATURES).to_df()
    return got.sort_values(["restaurant_id", "event_timestamp"]).reset_index(drop=True)


def test_streaming_equals_backfill_across_a_restart_and_malformed_events_are_dead_letters(project, spark, kafka):
    BASE = quarter_hour_base()
    from fresco.platform.streaming.backfill import backfill_rows
    from fresco.platform.streaming.groups import stream_group

    store = project
    group = stream_group(store, "restaurant_realtime")
    first, second = _events(120, 1, BASE, 50), _events(90, 2, BASE + timedelta(minutes=50), 45)

    job = _job(store, spark)
    _publish(store, first)
    from fresco.platform.streaming.producer import EventPublisher

    raw = EventPublisher.for_source(store, "order_ready_events")
    raw.publish(b"not json at all", raw=True)
    raw.publish(b'{"order_id": 1, "restaurant_id": "eleven", "ready_at": "2026-01-01T00:00:00Z"}', raw=True)
    raw.publish(b'{"order_id": 2, "prep_time_min": 3.5, "ready_at": "2026-01-01T00:00:00Z"}', raw=True)
    raw.flush()
    status = job.process_available()
    assert status.events_read == 120 and status.dead_letters == 3
    job.stop()

    job = _job(store, spark)  # resumes from its checkpoint
    _publish(store, second)
    status = job.process_available()
    job.stop()
    assert status.events_read == 210  # counted over both runs: the new ones once, nothing read twice
    assert status.late_rows_dropped == 0

    letters = _dead_letters(group.dead_letter_topic, kafka, 3)
    reasons = sorted(d["reason"] for d in letters)
    assert reasons == ["field 'restaurant_id' is not a BIGINT: eleven", "not a JSON object",
                       "required field 'restaurant_id' is missing"], reasons
    assert all(d["topic"] == group.topic and d["value"] for d in letters)

    both = pd.concat([first, second], ignore_index=True)
    both["ready_at"] = pd.to_datetime(both["ready_at"], utc=True)
    # just before each quarter hour: every window's final value, in the stream's offline log
    # (what training reads) and in the backfill, as an independent recomputation says
    ends = _grid(pd.date_range(BASE, BASE + timedelta(hours=3), freq="15min", tz="UTC") - pd.Timedelta(microseconds=1))
    want = _as_of(both, ends)
    assert want["orders_1h"].gt(0).sum() > 20
    _assert_values(_historical(store, ends), want)
    backfilled = backfill_rows(spark.createDataFrame(both), group, BASE - timedelta(hours=1),
                               BASE + timedelta(hours=3)).toPandas()
    _assert_values(_read_as_of(backfilled, ends), want)
    # and the backfill is exact at every moment, not only at window ends
    moments = _grid(pd.DatetimeIndex(both["ready_at"]).union(ends["event_timestamp"]))
    _assert_values(_read_as_of(backfilled, moments), _as_of(both, moments))

    # online: each restaurant is served the current window, over every event so far
    job.sink.promote_due()
    now = pd.Timestamp.now(tz="UTC")
    keys = [11, 12, 13]
    online = store.get_online_features(features=FEATURES, entity_rows=[{"restaurant_id": r} for r in keys]
                                       ).to_df().set_index("restaurant_id")
    expected = _as_of(both, pd.DataFrame({"restaurant_id": keys, "event_timestamp": [now] * 3})).set_index("restaurant_id")
    assert expected["orders_1h"].gt(0).all()
    assert online.loc[keys, "orders_1h"].tolist() == expected.loc[keys, "orders_1h"].tolist()
    np.testing.assert_allclose(online.loc[keys, "avg_prep_time_1h"], expected.loc[keys, "avg_prep_time_1h"], rtol=1e-12)


def _grid(moments: pd.DatetimeIndex) -> pd.DataFrame:
    return pd.DataFrame([(r, t) for r in (11, 12, 13) for t in moments], columns=["restaurant_id", "event_timestamp"])


def _as_of(events: pd.DataFrame, at: pd.DataFrame) -> pd.DataFrame:
    """The feature at each (restaurant, t), recomputed from the events: the orders ready in the
    window ending next after t (from floor(t, 15 min) - 45 min) at or before t."""
    rows = []
    for r, t in at.itertuples(index=False):
        since = t.floor("15min") - pd.Timedelta(minutes=45)
        held = events[(events.restaurant_id == r) & (events.ready_at >= since) & (events.ready_at <= t)]
        rows.append((r, t, held.prep_time_min.mean() if len(held) else np.nan, len(held)))
    frame = pd.DataFrame(rows, columns=["restaurant_id", "event_timestamp", "avg_prep_time_1h", "orders_1h"])
    return frame.sort_values(["restaurant_id", "event_timestamp"]).reset_index(drop=True)


def _read_as_of(rows: pd.DataFrame, at: pd.DataFrame) -> pd.DataFrame:
    """Feast's point-in-time rule over ``rows`` (the latest at or before each time), in pandas."""
    rows = rows.assign(event_timestamp=pd.to_datetime(rows["event_timestamp"]).dt.tz_localize("UTC")
                       .astype("datetime64[ns, UTC]"))
    at = at.assign(event_timestamp=at["event_timestamp"].astype("datetime64[ns, UTC]"))
    got = pd.merge_asof(at.sort_values("event_timestamp"), rows.sort_values("event_timestamp"),
                        on="event_timestamp", by="restaurant_id", direction="backward")
    return got.sort_values(["restaurant_id", "event_timestamp"]).reset_index(drop=True)


def _assert_values(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal where the window holds an order (where it holds none, Feast reads an older row)."""
    held = want["orders_1h"].gt(0).to_numpy()
    got, want = got[held].reset_index(drop=True), want[held].reset_index(drop=True)
    assert got["orders_1h"].tolist() == want["orders_1h"].tolist()
    np.testing.assert_allclose(got["avg_prep_time_1h"], want["avg_prep_time_1h"], rtol=1e-12)


def test_late_events_inside_the_watermark_update_later_ones_are_dropped_and_counted(project, spark):
    BASE = quarter_hour_base()
    store = project
    job = _job(store, spark)
    try:
        base = _events(60, 3, BASE, 90)
        _publish(store, base)
        job.process_available()
        latest = pd.Timestamp(base["ready_at"].max()).to_pydatetime()
        inside = latest - timedelta(minutes=5)  # the watermark is 10 minutes
        beyond = latest - timedelta(minutes=80)  # all four of its windows ended before the watermark
        ends = pd.DataFrame({"restaurant_id": [11, 11],  # just before the windows end: their final values
                             "event_timestamp": [_window_end(inside), _window_end(beyond)]})
        before = _historical(store, ends)
        for order_id, ready_at in ((1, inside), (2, beyond)):
            _publish(store, pd.DataFrame({"order_id": [order_id], "restaurant_id": [11], "prep_time_min": [100.0],
                                          "ready_at": [ready_at]}))
        status = job.process_available()
    finally:
        job.stop()
    assert status.late_rows_dropped == 4  # the event beyond, once per window
    after = _historical(store, ends).set_index("event_timestamp")
    before = before.set_index("event_timestamp")
    inside_end, beyond_end = ends["event_timestamp"]
    assert after.loc[inside_end, "orders_1h"] == before.loc[inside_end, "orders_1h"] + 1  # counted, once
    assert after.loc[beyond_end, "orders_1h"] == before.loc[beyond_end, "orders_1h"]  # not counted


def _window_end(moment: datetime) -> pd.Timestamp:
    """The last moment of the window ``moment`` is current in."""
    stamp = pd.Timestamp(moment)
    return stamp.floor("15min") + pd.Timedelta(minutes=15) - pd.Timedelta(microseconds=1)
