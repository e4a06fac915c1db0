"""``fresco stream backfill GROUP --start --end``: the stream's aggregation over past events.

The events come from a Parquet archive in the source's schema (:func:`archive_events`) or, by
default, from the topic itself read in batch (:func:`topic_events`); they are decoded and checked exactly as the stream job does,
aggregated by :func:`~.aggregate.as_of_rows` (the stream's aggregation, as of every moment),
and the rows stamped in ``(start, end]`` are appended to the offline log (then ``fresco
materialize`` loads the online store, as for batch groups). A row at ``t`` needs the events of
its window, from ``t - window`` on, so events from ``start - window`` on are read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fresco.platform.streaming import decode
from fresco.platform.streaming.aggregate import as_of_rows
from fresco.platform.streaming.groups import StreamGroup
from fresco.platform.streaming.sink import FeatureSink


def topic_events(spark: Any, group: StreamGroup) -> DataFrame:
    """The group's good events on its topic now, read in batch (dead letters left out)."""
    records = (spark.read.format("kafka").option("kafka.bootstrap.servers", group.bootstrap_servers)
               .option("subscribe", group.topic).option("startingOffsets", "earliest")
               .option("endingOffsets", "latest").option("failOnDataLoss", "false").load())
    return decode.events(decode.decoded(records, group), group)


def _nanosecond_columns(path: str) -> list[str]:
    """The columns an archive stores as Parquet nanosecond timestamps (pandas' default), which
    Spark refuses to read as timestamps: read from the files' footers only."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        schema = ds.dataset(path, format="parquet").schema
    except (OSError, pa.ArrowInvalid) as exc:
        raise FileNotFoundError(f"no Parquet event archive at {path}: {exc}") from None
    return [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]


def _read_archive(spark: Any, path: str) -> DataFrame:
    """The archive as Spark reads it, nanosecond timestamps truncated to Spark's microseconds."""
    nanos = _nanosecond_columns(path)
    if not nanos:
        return spark.read.parquet(path)
    setting = "spark.sql.legacy.parquet.nanosAsLong"  # Spark reads them as longs, then we convert
    before = spark.conf.get(setting, "false")
    spark.conf.set(setting, "true")
    try:
        frame = spark.read.parquet(path)
        return frame.select(*(F.timestamp_micros(F.floor(F.col(c) / 1000)).alias(c) if c in nanos else F.col(c)
                              for c in frame.columns))
    finally:
        spark.conf.set(setting, before)


def archive_events(spark: Any, group: StreamGroup, path: str) -> DataFrame:
    """The good events of a Parquet archive (file or folder, in the events' schema), each row
    checked as a Kafka record of the same JSON would be; rows that are not events are left out."""
    from pyspark.sql.utils import AnalysisException

    try:
        frame = _read_archive(spark, path)
    except AnalysisException as exc:
        raise FileNotFoundError(f"no Parquet event archive at {path}: {exc.getMessage().splitlines()[0]}") from None
    present = [n for n in group.schema.names if n in frame.columns]
    missing = sorted(set(group.schema.names) - set(present))
    if missing:
        raise ValueError(f"event archive {path} has no column(s) {missing} of {group.name}'s events "
                         f"({group.schema.ddl()})")
    records = frame.select(
        F.lit(None).cast("binary").alias("key"),
        F.to_json(F.struct(*present)).cast("binary").alias("value"),
        F.lit(path).alias("topic"), F.lit(-1).alias("partition"),
        F.monotonically_increasing_id().alias("offset"), F.current_timestamp().alias("timestamp"))
    return decode.events(decode.decoded(records, group), group)


def backfill_rows(events: DataFrame, group: StreamGroup, start: datetime, end: datetime) -> DataFrame:
    """The group's rows stamped in ``(start, end]`` (naive times are UTC)."""
    since = F.lit(start).cast("timestamp")
    until = F.lit(end).cast("timestamp")
    needed = events.where((F.col(group.event_time) >= since - F.expr(f"INTERVAL {int(group.window.total_seconds())} SECONDS"))
                          & (F.col(group.event_time) < until))
    rows = as_of_rows(needed, group)
    ts = F.col(group.timestamp_column)
    return rows.where((ts > since) & (ts <= until))


def backfill(store: Any, group: StreamGroup, events: DataFrame, start: datetime, end: datetime) -> int:
    """Append the backfilled rows to the offline log; returns how many."""
    rows = backfill_rows(events, group, start, end).toPandas()
    FeatureSink(store, group, None, online=False).write(rows)
    return len(rows)
