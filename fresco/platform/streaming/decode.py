"""Kafka records to events, and the records that are not events to their dead-letter rows.

A record's value must be a JSON object matching the group's schema (Spark DDL, decoded with
``from_json``) with its join keys and event time present. Anything else becomes a dead letter
carrying the raw value, where it came from (topic, partition, offset) and the first reason:
not JSON, a field of the wrong type (its raw text shown), a missing required field. The same
rules hold for the stream and for a backfill read from the topic.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fresco.platform.streaming.groups import StreamGroup

_EVENT = "__event"
_REASON = "__reason"


def _reason(group: StreamGroup) -> Column:
    """Why a record is not an event (null when it is one): the first failed check."""
    value = F.col("__value")
    not_object = (F.get_json_object(value, "$").isNull()
                  | (F.substring(F.ltrim(value), 1, 1) != F.lit("{")))
    checks: list[tuple[Column, Column]] = [
        (value.isNull(), F.lit("empty record")),
        (not_object, F.lit("not a JSON object")),
    ]
    for name, kind in group.schema.fields:
        raw = F.get_json_object(value, f"$.{name}")
        parsed = F.col(f"{_EVENT}.{name}")
        checks.append((raw.isNotNull() & parsed.isNull(),
                       F.concat(F.lit(f"field '{name}' is not a {kind}: "), F.substring(raw, 1, 100))))
    for name in (*group.join_keys, group.event_time):
        checks.append((F.col(f"{_EVENT}.{name}").isNull(), F.lit(f"required field '{name}' is missing")))
    reason = F.lit(None).cast("string")
    for condition, text in reversed(checks):
        reason = F.when(condition, text).otherwise(reason)
    return reason


def decoded(records: DataFrame, group: StreamGroup) -> DataFrame:
    """Kafka records (``value``, ``topic``, ``partition``, ``offset``) with the event's fields,
    ``__reason`` (null for a good event) and the raw value as ``__value``."""
    with_value = records.withColumn("__value", F.col("value").cast("string"))
    parsed = with_value.withColumn(_EVENT, F.from_json(F.col("__value"), group.schema.ddl(),
                                                       {"mode": "PERMISSIVE"}))
    return parsed.withColumn(_REASON, _reason(group))


def refused() -> Column:
    """True for a decoded record that is not an event."""
    return F.col(_REASON).isNotNull()


def events(decoded_records: DataFrame, group: StreamGroup) -> DataFrame:
    """The good events: the schema's fields as columns."""
    return decoded_records.where(F.col(_REASON).isNull()).select(
        *(F.col(f"{_EVENT}.{n}").alias(n) for n in group.schema.names))


def dead_letters(decoded_records: DataFrame) -> DataFrame:
    """The records that are not events, as Kafka rows for the dead-letter topic: the raw value,
    and a JSON header-like value describing where it came from and why it was refused."""
    bad = decoded_records.where(F.col(_REASON).isNotNull())
    return bad.select(
        F.col("key"),
        F.to_json(F.struct(
            F.col(_REASON).alias("reason"), F.col("topic"), F.col("partition"), F.col("offset"),
            F.col("timestamp").alias("published_at"), F.col("__value").alias("value"),
        )).alias("value"),
    )
