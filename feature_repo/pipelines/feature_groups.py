"""One Spark batch job per feature group of the delivery-time example, and their writers.

Each job is a function ``(spark, raw_df) -> DataFrame`` whose output has the exact columns the
Feast feature views read, keyed by ``restaurant_id`` and ``event_timestamp`` (UTC):

``restaurant_profile`` (from restaurants)
    restaurant_id, event_timestamp (= created_at), lat, lon, cuisine, kitchen_capacity.

``restaurant_stats_7d`` (from orders)
    Daily snapshots at 00:00 UTC. The snapshot at ``T`` aggregates the restaurant's orders placed
    in ``[T - 7 days, T)``, strictly before ``T``, so a feature looked up "as of" an order at
    ``T`` never contains that order or anything later. Columns avg_prep_time_7d,
    avg_delivery_time_7d, orders_per_hour_7d (orders in the window / 168), avg_items_7d,
    order_count_7d. One row per restaurant and day ``T`` from the day after the first order to
    the day after the last one, when the window holds at least one order.

``restaurant_realtime`` (from the orders' ready events)
    Near-real-time stats over the orders *ready* in the current 1-hour window sliding every 15
    minutes (a preparation time is known once the order is ready): avg_prep_time_1h,
    orders_1h, as of each moment (one row when a window becomes current, one at each later
    order in it; ``event_timestamp`` = that moment). The aggregation is the stream feature
    view's own (``fresco.example.definitions.restaurant_realtime``), run by
    :func:`fresco.platform.streaming.aggregate.as_of_rows` exactly as ``fresco stream
    backfill`` runs it: this batch job is the stream's backfill.

The same job output goes to Parquet (:func:`write_parquet`, the embedded default, read by
Feast's file offline store and by pandas) or to a Hive table partitioned by date
(:func:`write_hive_table`, production). :func:`run_feature_groups` runs all three;
``python -m fresco.example.pipelines.feature_groups --raw DIR --out DIR [--hive-database fresco]``
is its command line.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

__all__ = [
    "FEATURE_GROUPS",
    "order_ready_events",
    "restaurant_profile",
    "restaurant_realtime",
    "restaurant_stats_7d",
    "run_feature_groups",
    "write_hive_table",
    "write_parquet",
    "main",
]

STATS_DAYS = 7
_DAY_S = 86_400


# --------------------------------------------------------------------------------------- jobs


def restaurant_profile(spark: SparkSession, restaurants: DataFrame) -> DataFrame:
    """Static restaurant attributes, valid from the restaurant's creation."""
    return restaurants.select(
        F.col("restaurant_id").cast(T.LongType()).alias("restaurant_id"),
        F.col("created_at").cast(T.TimestampType()).alias("event_timestamp"),
        F.col("lat").cast(T.DoubleType()).alias("lat"),
        F.col("lon").cast(T.DoubleType()).alias("lon"),
        F.col("cuisine").cast(T.StringType()).alias("cuisine"),
        F.col("kitchen_capacity").cast(T.LongType()).alias("kitchen_capacity"),
        F.col("region").cast(T.StringType()).alias("region"),
        F.col("city").cast(T.StringType()).alias("city"),
    )


def restaurant_stats_7d(spark: SparkSession, orders: DataFrame) -> DataFrame:
    """Daily 00:00 UTC snapshots over the previous 7 days of orders, ``[T - 7d, T)``.

    Orders are first summed per restaurant and UTC day; each daily sum then feeds the seven
    snapshots ``day + 1 .. day + 7`` whose window contains that whole day. Windows are aligned
    to days, so this is exact and touches each order once.
    """
    day_s = F.floor(F.unix_seconds(F.col("placed_at")) / _DAY_S) * _DAY_S
    daily = orders.groupBy(F.col("restaurant_id").cast(T.LongType()).alias("restaurant_id"), day_s.alias("day_s")).agg(
        F.count(F.lit(1)).alias("n"),
        F.sum("prep_time_min").alias("prep_sum"),
        F.count("prep_time_min").alias("prep_n"),
        F.sum("delivery_duration_min").alias("delivery_sum"),
        F.count("delivery_duration_min").alias("delivery_n"),
        F.sum("num_items").alias("items_sum"),
        F.count("num_items").alias("items_n"),
    )
    last = orders.agg(F.max(F.unix_seconds(F.col("placed_at"))).alias("last_s")).first()
    if last is None or last["last_s"] is None:
        last_snapshot_s = -1  # no orders: no snapshots
    else:
        last_snapshot_s = (last["last_s"] // _DAY_S + 1) * _DAY_S
    snapshots = (
        daily.withColumn("k", F.explode(F.sequence(F.lit(1), F.lit(STATS_DAYS))))
        .withColumn("snapshot_s", F.col("day_s") + F.col("k") * _DAY_S)
        .where(F.col("snapshot_s") <= F.lit(last_snapshot_s))
        .groupBy("restaurant_id", "snapshot_s")
        .agg(*(F.sum(c).alias(c) for c in ("n", "prep_sum", "prep_n", "delivery_sum", "delivery_n", "items_sum", "items_n")))
    )
    return snapshots.select(
        "restaurant_id",
        F.timestamp_seconds(F.col("snapshot_s")).alias("event_timestamp"),
        (F.col("prep_sum") / F.col("prep_n")).cast(T.DoubleType()).alias("avg_prep_time_7d"),
        (F.col("delivery_sum") / F.col("delivery_n")).cast(T.DoubleType()).alias("avg_delivery_time_7d"),
        (F.col("n") / F.lit(float(STATS_DAYS * 24))).cast(T.DoubleType()).alias("orders_per_hour_7d"),
        (F.col("items_sum") / F.col("items_n")).cast(T.DoubleType()).alias("avg_items_7d"),
        F.col("n").cast(T.LongType()).alias("order_count_7d"),
    )


def order_ready_events(orders: DataFrame) -> DataFrame:
    """The ``orders.ready`` events in the orders (the schema of ``order_ready_events``)."""
    return orders.select("order_id", "restaurant_id", "ready_at", "prep_time_min")


def restaurant_realtime(spark: SparkSession, orders: DataFrame) -> DataFrame:
    """Batch backfill of the near-real-time feature group: its stream feature view's aggregation."""
    from fresco.example.definitions import restaurant, restaurant_realtime as view
    from fresco.platform.streaming.aggregate import as_of_rows
    from fresco.platform.streaming.groups import StreamGroup

    group = StreamGroup.from_view(view, join_keys=(restaurant.join_key,))
    return as_of_rows(order_ready_events(orders), group).select(*group.columns)


#: Feature group name -> (raw input, job, Hive partition column). The profile is a small
#: dimension table whose timestamps spread over years: one partition per creation date would
#: be hundreds of one-row files, so its Hive table is unpartitioned and rewritten whole.
FEATURE_GROUPS: dict[str, tuple[str, Callable[[SparkSession, DataFrame], DataFrame], str | None]] = {
    "restaurant_profile": ("restaurants", restaurant_profile, None),
    "restaurant_stats_7d": ("orders", restaurant_stats_7d, "event_date"),
    "restaurant_realtime": ("orders", restaurant_realtime, "event_date"),
}


# ------------------------------------------------------------------------------------ writers


def _micros_timestamps(spark: SparkSession) -> None:
    # Spark 4 readers (and Feast) need microsecond, UTC-adjusted timestamps; INT96 is the
    # Spark default. The Fresco session already sets this; sessions from elsewhere may not.
    if spark.conf.get("spark.sql.parquet.outputTimestampType", None) != "TIMESTAMP_MICROS":
        spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")


def write_parquet(df: DataFrame, path: str | Path, *, num_files: int | None = None,
                  rows: int | None = None) -> None:
    """Overwrite ``path`` with ``df`` as a Parquet directory, no partition columns.

    Readable by ``pandas.read_parquet(path)`` and Feast's file offline store; timestamps are
    ``timestamp[us, tz=UTC]`` for pyarrow. ``num_files`` defaults to one file per million rows
    (``rows`` if the caller already knows the count, else the frame is counted). Rows are
    grouped by restaurant and sorted by ``event_timestamp`` within each file.
    """
    _micros_timestamps(df.sparkSession)
    if num_files is None:
        rows = df.count() if rows is None else rows
        num_files = max(1, math.ceil(rows / 1_000_000))
    keys = [c for c in ("restaurant_id", "event_timestamp") if c in df.columns]
    out = df.repartition(num_files, *keys[:1]) if keys else df.repartition(num_files)
    if keys:
        out = out.sortWithinPartitions(*keys)
    out.write.mode("overwrite").parquet(str(path))


def write_hive_table(df: DataFrame, table: str, partition_by: str | None = "event_date") -> None:
    """Write ``df`` to the Hive table ``table`` ("db.name"), partitioned by ``partition_by``.

    Creates the database and the table (Parquet) when missing. ``partition_by="event_date"``
    is derived from ``event_timestamp`` (UTC date) when the frame lacks it. Re-running
    overwrites only the partitions present in ``df`` (dynamic partition overwrite), so a rerun
    of the same job is idempotent and other dates are kept. ``partition_by=None`` writes an
    unpartitioned table and a rerun replaces all of it.
    """
    spark = df.sparkSession
    _micros_timestamps(spark)
    if partition_by is not None and partition_by not in df.columns:
        if partition_by != "event_date" or "event_timestamp" not in df.columns:
            raise ValueError(f"{partition_by!r} is not a column of the frame: {df.columns}")
        df = df.withColumn("event_date", F.to_date(F.col("event_timestamp")))
    if "." in table:
        database = table.split(".", 1)[0]
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    # one file per partition value (a single file for an unpartitioned table)
    df = df.repartition(partition_by) if partition_by is not None else df.coalesce(1)
    if spark.catalog.tableExists(table):
        existing = spark.table(table).columns
        if sorted(existing) != sorted(df.columns):
            raise ValueError(f"table {table} has columns {existing}, the frame has {df.columns}")
        # insertInto ignores the writer option: dynamic overwrite must be the session's mode
        key = "spark.sql.sources.partitionOverwriteMode"
        mode = spark.conf.get(key, "static")
        spark.conf.set(key, "dynamic")
        try:
            df.select(*existing).write.insertInto(table, overwrite=True)
        finally:
            spark.conf.set(key, mode)
    elif partition_by is None:
        df.write.format("parquet").saveAsTable(table)
    else:
        df.write.format("parquet").partitionBy(partition_by).saveAsTable(table)


# --------------------------------------------------------------------------------------- runs


def run_feature_groups(
    spark: SparkSession,
    raw_dir: str | Path,
    out_dir: str | Path | None = None,
    hive_database: str | None = None,
    *,
    groups: list[str] | None = None,
    progress: bool = True,
) -> dict[str, int]:
    """Run every feature-group job on ``raw_dir``'s Parquet files; return row counts by group.

    Writes ``out_dir/<group>/`` Parquet directories when ``out_dir`` is given and
    ``<hive_database>.<group>`` tables when ``hive_database`` is (partitioned by ``event_date``
    except the small ``restaurant_profile``, see :data:`FEATURE_GROUPS`).
    """
    raw_dir = Path(raw_dir)
    inputs = {
        "restaurants": spark.read.parquet(str(raw_dir / "restaurants.parquet")),
        "orders": spark.read.parquet(str(raw_dir / "orders.parquet")),
    }
    t0 = time.perf_counter()

    def say(message: str) -> None:
        if progress:
            print(f"[feature groups {time.perf_counter() - t0:6.1f}s] {message}", file=sys.stderr, flush=True)

    counts: dict[str, int] = {}
    names = list(FEATURE_GROUPS) if groups is None else groups
    for i, name in enumerate(names, 1):
        source, job, partition_by = FEATURE_GROUPS[name]
        say(f"({i}/{len(names)}) {name}: computing from {source}")
        df = job(spark, inputs[source]).persist()
        try:
            counts[name] = df.count()
            say(f"({i}/{len(names)}) {name}: {counts[name]:,} rows")
            if out_dir is not None:
                path = Path(out_dir) / name
                write_parquet(df, path, rows=counts[name])
                say(f"({i}/{len(names)}) {name}: wrote {path}")
            if hive_database is not None:
                write_hive_table(df, f"{hive_database}.{name}", partition_by=partition_by)
                say(f"({i}/{len(names)}) {name}: wrote Hive table {hive_database}.{name}")
        finally:
            df.unpersist()
    say("done: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fresco.example.pipelines.feature_groups",
        description="Run the restaurant feature-group Spark jobs on raw Parquet data.",
    )
    parser.add_argument("--raw", type=Path, required=True, help="folder with restaurants.parquet and orders.parquet")
    parser.add_argument("--out", type=Path, default=None, help="folder for the Parquet outputs (one directory per group)")
    parser.add_argument("--hive-database", default=None, help="also write Hive tables <db>.<group>, e.g. fresco")
    parser.add_argument("--group", action="append", choices=list(FEATURE_GROUPS), default=None,
                        help="run only this group (repeatable)")
    args = parser.parse_args(argv)
    if args.out is None and args.hive_database is None:
        parser.error("give --out, --hive-database or both")

    import os

    from fresco.platform.spark import spark_session

    # our progress lines instead of Spark's console progress bar (unless the caller chose)
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.showConsoleProgress=false pyspark-shell")
    spark = spark_session("fresco-feature-groups")
    spark.sparkContext.setLogLevel("ERROR")
    t0 = time.perf_counter()
    counts = run_feature_groups(spark, args.raw, args.out, args.hive_database, groups=args.group)
    for name, n in counts.items():
        print(f"{name}: {n:,} rows")
    print(f"feature groups done in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
