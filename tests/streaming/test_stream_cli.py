"""``fresco stream replay|run|status|backfill|check`` with a user's command lines and exit codes,
run in this process (one Spark session, not a JVM per command: the child processes a user starts
are tested in test_stream_restarts.py and test_stream_broker_restart.py), a real broker, real
Spark, the embedded stores of two copies of the project."""

from __future__ import annotations

import os
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import copy_feature_repo, environment_restored, invoke_fresco, run_feast
from tests.streaming.test_stream_job import quarter_hour_base, FEATURES, _as_of, _assert_values, _events, _grid

pytestmark = pytest.mark.timeout(900)


def _project(root: Path, prefix: str) -> tuple[Path, dict[str, str]]:
    repo = copy_feature_repo(root / "repo")
    env = {"FRESCO_HOME": str(root / "state"), "FRESCO_KAFKA_TOPIC_PREFIX": prefix}
    with environment_restored(*env):
        os.environ.update(env)
        done = run_feast(repo, "apply")
    assert done.returncode == 0, done.stdout + done.stderr
    return repo, env


def _at_window_ends(repo: Path, env: dict[str, str], ends: pd.DataFrame) -> pd.DataFrame:
    from feast import FeatureStore

    with environment_restored(*env):
        os.environ.update(env)
        got = FeatureStore(repo_path=str(repo)).get_historical_features(entity_df=ends, features=FEATURES).to_df()
    return got.sort_values(["restaurant_id", "event_timestamp"]).reset_index(drop=True)


def test_replayed_events_streamed_by_the_cli_equal_the_cli_backfill(tmp_path: Path, kafka: str, spark) -> None:
    BASE = quarter_hour_base()
    prefix = f"test-{uuid.uuid4().hex[:8]}."
    streamed_repo, streamed_env = _project(tmp_path / "streamed", prefix)
    events = _events(150, 5, BASE, 100)
    archive = tmp_path / "orders.ready.parquet"
    events.to_parquet(archive, index=False)

    done = invoke_fresco("stream", "replay", "order_ready_events", "--events", str(archive),
                      cwd=streamed_repo, env=streamed_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"150 events published to {prefix}orders.ready" in done.stdout

    done = invoke_fresco("stream", "run", "restaurant_realtime", "--once", "--trigger", "0.5",
                      cwd=streamed_repo, env=streamed_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restaurant_realtime: 150 events read" in done.stdout
    assert "0 dead letters" in done.stdout
    # the progress line: what the micro-batches read and wrote, and the lag behind the topic
    assert "restaurant_realtime: 150 records in (150 events, 0 dead letters)" in done.stderr, done.stderr
    assert "; 0 records behind the topic's end" in done.stderr, done.stderr

    ran_until = pd.Timestamp.now(tz="UTC")

    done = invoke_fresco("stream", "status", "restaurant_realtime", cwd=streamed_repo, env=streamed_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "150 events read" in done.stdout
    offline_rows = int(re.search(r"([\d,]+) offline rows", done.stdout).group(1).replace(",", ""))
    assert offline_rows > 0

    backfilled_repo, backfilled_env = _project(tmp_path / "backfilled", prefix)
    start, end = BASE - timedelta(minutes=15), BASE + timedelta(hours=3)
    done = invoke_fresco("stream", "backfill", "restaurant_realtime", "--start", start.isoformat(),
                      "--end", end.isoformat(), "--events", str(archive), cwd=backfilled_repo, env=backfilled_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rows of restaurant_realtime appended to its offline log" in done.stdout

    # just before each quarter hour, both offline logs hold every window's final value
    ends = _grid(pd.date_range(BASE, end, freq="15min", tz="UTC") - pd.Timedelta(microseconds=1))
    want = _as_of(events.assign(ready_at=pd.to_datetime(events["ready_at"], utc=True)), ends)
    assert want["orders_1h"].gt(0).sum() > 20
    _assert_values(_at_window_ends(streamed_repo, streamed_env, ends), want)
    _assert_values(_at_window_ends(backfilled_repo, backfilled_env, ends), want)

    # the consistency check passes on the clean run, then finds one row altered offline and
    # one altered online
    check = ("stream", "check", "restaurant_realtime", "--start", (BASE - timedelta(minutes=15)).isoformat(),
             "--end", ran_until.isoformat(), "--events", str(archive))
    done = invoke_fresco(*check, cwd=streamed_repo, env=streamed_env)
    assert done.returncode == 0, done.stdout + done.stderr
    compared = int(re.search(r"stream check: ([\d,]+) rows compared, 0 differ\n$", done.stdout).group(1).replace(",", ""))
    assert compared > 20
    assert "online store: 3 keys compared" in done.stdout

    altered = _alter_a_final_row(streamed_repo / "data" / "features" / "restaurant_realtime", ran_until)
    _write_online(streamed_repo, streamed_env, restaurant_id=12, at=ran_until - pd.Timedelta(seconds=1))
    done = invoke_fresco(*check, cwd=streamed_repo, env=streamed_env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.endswith(f"stream check: {compared:,} rows compared, 2 differ\n"), done.stdout
    assert f"differs: offline restaurant_id={altered[0]} at {altered[1]:%Y-%m-%d %H:%M:%S.%f}Z: orders_1h:" in done.stdout
    assert "differs: online restaurant_id=12 at" in done.stdout and "orders_1h: stream 999" in done.stdout


def test_the_stream_commands_name_what_is_wrong(tmp_path: Path, kafka: str, spark) -> None:
    repo, env = _project(tmp_path, f"test-{uuid.uuid4().hex[:8]}.")
    done = invoke_fresco("stream", "run", "restaurant_profile", "--once", cwd=repo, env=env)
    assert done.returncode == 1
    assert "no stream feature view 'restaurant_profile' in the catalog" in done.stderr
    assert "restaurant_realtime" in done.stderr and "Traceback" not in done.stderr

    done = invoke_fresco("stream", "status", "restaurant_realtime", cwd=repo, env=env)
    assert done.returncode == 1 and "no stream job of 'restaurant_realtime' has run here" in done.stderr

    done = invoke_fresco("stream", "backfill", "restaurant_realtime", "--start", "2026-01-02", "--end", "2026-01-01",
                      cwd=repo, env=env)
    assert done.returncode == 2 and "is not before --end" in done.stderr

    wrong = tmp_path / "wrong.parquet"
    pd.DataFrame({"order_id": [1], "ready_at": [pd.Timestamp("2026-01-01", tz="UTC")]}).to_parquet(wrong)
    done = invoke_fresco("stream", "backfill", "restaurant_realtime", "--start", "2026-01-01", "--end", "2026-01-02",
                      "--events", str(wrong), cwd=repo, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "has no column(s) ['prep_time_min', 'restaurant_id']" in done.stderr


def _alter_a_final_row(folder: Path, before: pd.Timestamp) -> tuple[int, pd.Timestamp]:
    """Add one to ``orders_1h`` in the last row of one closed window (not a key's last window)
    in the stream's offline log; returns (restaurant_id, the window's last microsecond)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(folder.glob("*.parquet"))
    rows = pd.concat([pq.read_table(f).to_pandas().assign(__file=str(f), __row=range(pq.read_metadata(f).num_rows))
                      for f in files], ignore_index=True)
    rows["event_timestamp"] = pd.to_datetime(rows["event_timestamp"], utc=True)
    rows["end"] = rows["event_timestamp"].dt.floor("15min") + pd.Timedelta(minutes=15)
    last = rows.sort_values(["event_timestamp", "__file", "__row"]).groupby(["restaurant_id", "end"]).tail(1)  # Feast's tie-break
    closed = last[(last["end"] < before - pd.Timedelta(minutes=30)) & (last["orders_1h"] > 0)]
    row = closed.iloc[len(closed) // 2]
    table = pq.read_table(row["__file"])
    counts = table.column("orders_1h").to_pylist()
    counts[int(row["__row"])] += 1
    pq.write_table(table.set_column(table.schema.get_field_index("orders_1h"), "orders_1h",
                                    pa.array(counts, table.schema.field("orders_1h").type)), row["__file"])
    return int(row["restaurant_id"]), row["end"] - pd.Timedelta(microseconds=1)


def _write_online(repo: Path, env: dict[str, str], restaurant_id: int, at: pd.Timestamp) -> None:
    from feast import FeatureStore

    with environment_restored(*env):
        os.environ.update(env)
        FeatureStore(repo_path=str(repo)).write_to_online_store("restaurant_realtime", pd.DataFrame({
            "restaurant_id": [restaurant_id], "event_timestamp": [at], "avg_prep_time_1h": [1.0], "orders_1h": [999]}))
