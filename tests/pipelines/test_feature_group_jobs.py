"""The feature-group Spark jobs on real Spark: values recomputed with pandas, window edges,
Parquet and Hive outputs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fresco.example.pipelines.feature_groups import (
    restaurant_profile,
    restaurant_realtime,
    restaurant_stats_7d,
    run_feature_groups,
    write_hive_table,
    write_parquet,
)
from fresco.example.pipelines.generate import generate_raw

UTC = timezone.utc
TS = pa.timestamp("us", tz="UTC")
STATS_COLUMNS = ["restaurant_id", "event_timestamp", "avg_prep_time_7d", "avg_delivery_time_7d",
                 "orders_per_hour_7d", "avg_items_7d", "order_count_7d"]
REALTIME_COLUMNS = ["restaurant_id", "event_timestamp", "avg_prep_time_1h", "orders_1h"]
PROFILE_COLUMNS = ["restaurant_id", "event_timestamp", "lat", "lon", "cuisine", "kitchen_capacity", "region", "city"]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory):
    return generate_raw(tmp_path_factory.mktemp("fg-raw"), restaurants=10, orders=2_000, days=6, seed=11)


@pytest.fixture(scope="module")
def orders_pd(raw) -> pd.DataFrame:
    return pd.read_parquet(raw.orders_path)


HIVE_DB = "fresco_pipelines_test"


@pytest.fixture(scope="module")
def outputs(spark, raw, tmp_path_factory: pytest.TempPathFactory):
    """One run of every job, written to Parquet and to Hive tables."""
    out = tmp_path_factory.mktemp("fg-out")
    counts = run_feature_groups(spark, raw.out_dir, out, hive_database=HIVE_DB, progress=False)
    return out, counts


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["restaurant_id", "event_timestamp"]).reset_index(drop=True)


def _to_pandas(df) -> pd.DataFrame:
    """Spark's toPandas gives naive session-time (UTC) timestamps: make them aware."""
    frame = df.toPandas()
    for name, dtype in frame.dtypes.items():
        if str(dtype).startswith("datetime64") and getattr(dtype, "tz", None) is None:
            frame[name] = frame[name].dt.tz_localize("UTC")
    return frame


def _orders_frame(spark, rows: list[tuple[int, datetime, float, float, int]]):
    pdf = pd.DataFrame(rows, columns=["restaurant_id", "placed_at", "prep_time_min",
                                      "delivery_duration_min", "num_items"])
    pdf["placed_at"] = pd.to_datetime(pdf.placed_at, utc=True).astype("datetime64[us, UTC]")
    pdf["order_id"] = np.arange(1, len(pdf) + 1)
    pdf["ready_at"] = pdf.placed_at + pd.to_timedelta(pdf.prep_time_min, unit="min")
    return spark.createDataFrame(pdf)


# ---------------------------------------------------------------------- values against pandas


def test_stats_7d_match_an_independent_pandas_recomputation(outputs, orders_pd: pd.DataFrame) -> None:
    out, counts = outputs
    got = _sorted(pd.read_parquet(out / "restaurant_stats_7d"))
    assert list(got.columns) == STATS_COLUMNS and len(got) == counts["restaurant_stats_7d"]

    first = orders_pd.placed_at.min().floor("D") + pd.Timedelta(days=1)
    last = orders_pd.placed_at.max().floor("D") + pd.Timedelta(days=1)
    rows = []
    for snapshot in pd.date_range(first, last, freq="D"):
        window = orders_pd[(orders_pd.placed_at >= snapshot - pd.Timedelta(days=7))
                           & (orders_pd.placed_at < snapshot)]
        for rid, g in window.groupby("restaurant_id"):
            rows.append((rid, snapshot, g.prep_time_min.mean(), g.delivery_duration_min.mean(),
                         len(g) / 168.0, g.num_items.mean(), len(g)))
    want = _sorted(pd.DataFrame(rows, columns=STATS_COLUMNS))
    want["event_timestamp"] = want.event_timestamp.astype("datetime64[us, UTC]")
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
    assert got.event_timestamp.dt.hour.eq(0).all()


def test_realtime_matches_an_independent_pandas_recomputation(outputs, orders_pd: pd.DataFrame) -> None:
    out, counts = outputs
    got = _sorted(pd.read_parquet(out / "restaurant_realtime"))
    assert list(got.columns) == REALTIME_COLUMNS and len(got) == counts["restaurant_realtime"]

    # rows at each order's ready time off the quarter hours, and at each quarter hour s with an
    # order ready in [s - 45 min, s]; the value at s: the orders ready in [floor(s, 15 min) -
    # 45 min, s] (the window ending next, up to s); ready_at is the placement plus the prep time
    ready = orders_pd.assign(ready_at=orders_pd.placed_at + pd.to_timedelta(
        (orders_pd.prep_time_min * 60e6).round().astype("int64"), unit="us"))
    assert (ready.ready_at == orders_pd.ready_at).all()
    ready = ready.sort_values(["restaurant_id", "ready_at"])
    quarter, three = 900_000_000, 2_700_000_000
    rows = []
    for rid, g in ready.groupby("restaurant_id"):
        t = g.ready_at.dt.as_unit("us").astype("int64").to_numpy()
        prep = np.concatenate([[0.0], np.cumsum(g.prep_time_min.to_numpy())])
        stamps = set(t[t % quarter != 0].tolist())
        for k in range(5):
            s_k = t - t % quarter + k * quarter
            stamps.update(s_k[(s_k >= t) & (s_k - three <= t)].tolist())
        s_us = np.array(sorted(stamps))
        lo = np.searchsorted(t, s_us - s_us % quarter - three, side="left")
        hi = np.searchsorted(t, s_us, side="right")
        for stamp_us, a_, b_ in zip(s_us, lo, hi):
            rows.append((rid, pd.Timestamp(int(stamp_us), unit="us", tz="UTC"), (prep[b_] - prep[a_]) / (b_ - a_),
                         b_ - a_))
    want = _sorted(pd.DataFrame(rows, columns=REALTIME_COLUMNS))
    want["event_timestamp"] = want.event_timestamp.astype("datetime64[us, UTC]")
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, check_dtype=True)


def test_profile_is_the_restaurants_as_of_creation(outputs, raw) -> None:
    out, counts = outputs
    got = _sorted(pd.read_parquet(out / "restaurant_profile"))
    restaurants = pd.read_parquet(raw.restaurants_path)
    assert list(got.columns) == PROFILE_COLUMNS and counts["restaurant_profile"] == len(restaurants) == 10
    want = _sorted(restaurants.rename(columns={"created_at": "event_timestamp"})[PROFILE_COLUMNS])
    pd.testing.assert_frame_equal(got, want)


# ----------------------------------------------------------------------------- window edges


def test_stats_7d_window_is_half_open(spark) -> None:
    day = datetime(2026, 10, 10, tzinfo=UTC)
    rows = [
        (1, day - timedelta(days=7), 10.0, 20.0, 1),  # exactly T - 7d: inside T's window
        (1, day - timedelta(microseconds=1), 20.0, 40.0, 3),  # just before T: inside
        (1, day, 90.0, 99.0, 9),  # exactly T: belongs to the next snapshots only
    ]
    got = _to_pandas(restaurant_stats_7d(spark, _orders_frame(spark, rows))).set_index("event_timestamp")
    at = got.loc[pd.Timestamp(day)]
    assert at.order_count_7d == 2
    assert at.avg_prep_time_7d == pytest.approx(15.0)
    assert at.avg_delivery_time_7d == pytest.approx(30.0)
    assert at.avg_items_7d == pytest.approx(2.0)
    assert at.orders_per_hour_7d == pytest.approx(2 / 168)
    # snapshot right after the first order's day holds only it; the day after T drops it
    assert got.loc[pd.Timestamp(day - timedelta(days=6))].order_count_7d == 1
    nxt = got.loc[pd.Timestamp(day + timedelta(days=1))]
    assert nxt.order_count_7d == 2 and nxt.avg_prep_time_7d == pytest.approx(55.0)
    # snapshots run from the day after the first order to the day after the last one
    assert got.index.min() == pd.Timestamp(day - timedelta(days=6))
    assert got.index.max() == pd.Timestamp(day + timedelta(days=1))
    assert len(got) == 8


def test_realtime_window_is_half_open(spark) -> None:
    noon = datetime(2026, 10, 10, 12, tzinfo=UTC)
    rows = [  # (restaurant, placed, prep minutes, ...): ready at noon and at 12:20
        (7, noon - timedelta(minutes=10), 10.0, 20.0, 1),  # ready exactly on a boundary
        (7, noon - timedelta(minutes=10), 30.0, 40.0, 1),
    ]
    got = _to_pandas(restaurant_realtime(spark, _orders_frame(spark, rows))).set_index("event_timestamp")
    at = {t.to_pydatetime(): (r.orders_1h, r.avg_prep_time_1h) for t, r in got.iterrows()}
    minutes = {int((t - noon).total_seconds() // 60): v for t, v in at.items()}
    assert minutes == {
        0: (1, 10.0),  # [11:15, 12:15) is current from noon: holds the order ready at noon
        15: (1, 10.0),  # [11:30, 12:30) from 12:15: not yet the one ready at 12:20...
        20: (2, 20.0),  # ... which it holds from 12:20 on
        30: (2, 20.0),
        45: (2, 20.0),  # [12:00, 13:00) holds both
        60: (1, 30.0),  # [12:15, 13:15): 12:00 left the window; nothing after 13:00
    }


# --------------------------------------------------------------------------------- writers


def test_parquet_outputs_are_plain_utc_microsecond_datasets(outputs) -> None:
    out, _ = outputs
    for name in ("restaurant_profile", "restaurant_stats_7d", "restaurant_realtime"):
        path = out / name
        files = sorted(p for p in path.iterdir() if p.suffix == ".parquet")
        assert 1 <= len(files) <= 2
        assert not [p for p in path.iterdir() if p.is_dir()]  # no partition folders
        schema = pq.read_schema(files[0])
        assert schema.field("event_timestamp").type == TS
        assert schema.field("restaurant_id").type == pa.int64()
        frame = pd.read_parquet(path)
        assert str(frame.event_timestamp.dtype) == "datetime64[us, UTC]"


def test_write_parquet_overwrites_and_honours_num_files(spark, tmp_path: Path) -> None:
    df = spark.range(0, 1000).selectExpr("id AS restaurant_id",
                                         "timestamp_seconds(id * 60) AS event_timestamp")
    write_parquet(df, tmp_path / "x", num_files=3)
    write_parquet(df, tmp_path / "x", num_files=3)
    assert len(list((tmp_path / "x").glob("*.parquet"))) == 3
    frame = pd.read_parquet(tmp_path / "x")
    assert len(frame) == 1000
    assert frame.event_timestamp.min() == pd.Timestamp(0, tz="UTC")


def test_hive_table_is_partitioned_by_date_and_rerun_is_idempotent(spark, raw) -> None:
    orders = spark.read.parquet(str(raw.orders_path))
    stats = restaurant_stats_7d(spark, orders).persist()
    n = stats.count()
    table = f"{HIVE_DB}.restaurant_stats_7d_rerun"
    spark.sql(f"DROP TABLE IF EXISTS {table}")
    write_hive_table(stats, table, partition_by="event_date")
    assert spark.table(table).count() == n
    dates = {r[0] for r in stats.selectExpr("CAST(to_date(event_timestamp) AS STRING)").distinct().collect()}
    partitions = {r[0] for r in spark.sql(f"SHOW PARTITIONS {table}").collect()}
    assert partitions == {f"event_date={d}" for d in dates}
    assert spark.sql(f"DESCRIBE TABLE EXTENDED {table}").where("col_name = 'Provider'").first()[1] == "parquet"

    write_hive_table(stats, table, partition_by="event_date")  # same job again
    assert spark.table(table).count() == n

    # a rerun for one day replaces that day's partition and keeps the others
    one_day = sorted(dates)[2]
    day_rows = stats.where(f"to_date(event_timestamp) = DATE'{one_day}'")
    k = day_rows.count()
    key = "spark.sql.sources.partitionOverwriteMode"
    session_mode = spark.conf.get(key)
    spark.conf.set(key, "static")  # the writer must not rely on the session's setting
    try:
        write_hive_table(day_rows.limit(1), table, partition_by="event_date")
    finally:
        spark.conf.set(key, session_mode)
    assert spark.table(table).count() == n - k + 1
    assert spark.table(table).where(f"event_date = DATE'{one_day}'").count() == 1
    stats.unpersist()



def test_run_feature_groups_wrote_hive_tables_like_parquet(spark, outputs) -> None:
    out, counts = outputs
    for name, n in counts.items():
        table = spark.table(f"{HIVE_DB}.{name}")
        assert table.count() == n
        hive = _sorted(_to_pandas(table.drop("event_date")))
        parquet = _sorted(pd.read_parquet(out / name))
        pd.testing.assert_frame_equal(hive, parquet, check_dtype=False)
    assert spark.sql(f"SHOW PARTITIONS {HIVE_DB}.restaurant_realtime").count() >= 6
    assert "event_date" not in spark.table(f"{HIVE_DB}.restaurant_profile").columns


def test_unpartitioned_table_rerun_replaces_it(spark, raw) -> None:
    profile = restaurant_profile(spark, spark.read.parquet(str(raw.restaurants_path)))
    table = f"{HIVE_DB}.profile_rerun"
    write_hive_table(profile, table, partition_by=None)
    write_hive_table(profile, table, partition_by=None)
    assert spark.table(table).count() == 10


def test_profile_job_types(spark, raw) -> None:
    profile = restaurant_profile(spark, spark.read.parquet(str(raw.restaurants_path)))
    assert [(f.name, f.dataType.simpleString()) for f in profile.schema.fields] == [
        ("restaurant_id", "bigint"), ("event_timestamp", "timestamp"), ("lat", "double"),
        ("lon", "double"), ("cuisine", "string"), ("kitchen_capacity", "bigint"), ("region", "string"),
        ("city", "string")]
