"""A streaming feature group as Fresco runs it, read from its Feast ``StreamFeatureView``.

The view names its ``KafkaSource`` (topic, event schema, event-time field, watermark) and its
``aggregations``; Feast stores them but does not run them (its ``SparkKafkaProcessor`` ignores
``aggregations``). :func:`stream_group` checks the declaration once, so that a mistake is an
error naming the view and the field, before any Spark job starts.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from fresco.platform.streaming.events import EventSchema, EventSchemaError
from fresco.platform.streaming.topics import dead_letter_topic, kafka_bootstrap_servers, topic_of

#: Feast aggregation function -> Spark SQL function that computes it incrementally
FUNCTIONS = {"mean": "avg", "avg": "avg", "sum": "sum", "count": "count", "min": "min", "max": "max"}
#: Feast primitive type name -> Spark SQL type of the feature column
SPARK_TYPES = {"Float64": "double", "Float32": "float", "Int64": "bigint", "Int32": "int",
               "String": "string", "Bool": "boolean"}


class StreamGroupError(ValueError):
    """A stream feature view Fresco cannot run; the message names the view and what is wrong."""


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """One output feature: ``function`` (a Spark SQL aggregate) of event field ``column``."""

    name: str
    function: str
    column: str
    spark_type: str


@dataclasses.dataclass(frozen=True)
class StreamGroup:
    """Everything the stream job and the backfill need, checked."""

    name: str
    topic: str
    bootstrap_servers: str
    schema: EventSchema
    event_time: str
    join_keys: tuple[str, ...]
    window: timedelta
    slide: timedelta
    watermark: timedelta
    aggregates: tuple[Aggregate, ...]
    timestamp_column: str  #: the offline rows' time column (the batch source's timestamp field)
    ttl: timedelta

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic(self.topic)

    @property
    def columns(self) -> list[str]:
        """The rows' columns: join keys, window end, features (the batch source's columns)."""
        return [*self.join_keys, self.timestamp_column, *(a.name for a in self.aggregates)]

    @classmethod
    def from_view(cls, view: Any, join_keys: tuple[str, ...] | None = None) -> StreamGroup:
        """Check a Feast ``StreamFeatureView`` and return what Fresco runs. A view from the
        registry knows its join keys; a view object not yet applied needs ``join_keys``."""
        where = f"stream feature view '{view.name}'"
        source = view.stream_source
        if source is None or type(source).__name__ != "KafkaSource":
            raise StreamGroupError(f"{where}: its source must be a KafkaSource, not "
                                   f"{type(source).__name__}")
        fmt = source.kafka_options.message_format
        if type(fmt).__name__ != "JsonFormat":
            raise StreamGroupError(f"{where}: Fresco reads JSON events (JsonFormat), not {type(fmt).__name__}")
        try:
            schema = EventSchema.parse(fmt.schema_json, f"{where}, source '{source.name}'")
        except EventSchemaError as exc:
            raise StreamGroupError(str(exc)) from None
        event_time = view.timestamp_field or source.timestamp_field
        if schema.type_of(event_time) != "TIMESTAMP":
            raise StreamGroupError(f"{where}: its event time {event_time!r} must be a TIMESTAMP field of the "
                                   f"events ({schema.ddl()})")
        join_keys = tuple(c.name for c in view.entity_columns) or tuple(join_keys or ())
        if not join_keys:
            raise StreamGroupError(f"{where}: no join keys (read the view from the registry, or pass them)")
        for key in join_keys:
            if schema.type_of(key) is None:
                raise StreamGroupError(f"{where}: join key {key!r} is not a field of the events ({schema.ddl()})")
        if not view.aggregations:
            raise StreamGroupError(f"{where}: declares no aggregations")
        windows = {(a.time_window, a.slide_interval) for a in view.aggregations}
        if len(windows) != 1:
            raise StreamGroupError(f"{where}: every aggregation must share one time_window and slide_interval; "
                                   f"found {sorted((str(w), str(s)) for w, s in windows)}")
        window, slide = windows.pop()
        if not window or window <= timedelta(0):
            raise StreamGroupError(f"{where}: aggregations need a time_window")
        slide = slide or window
        if window % slide:
            raise StreamGroupError(f"{where}: time_window {window} is not a multiple of slide_interval {slide}")
        from fresco.platform.views import view_features

        types = {f.name: str(f.dtype) for f in view_features(view) if f.name not in join_keys}
        aggregates = []
        for agg in view.aggregations:
            name = agg.resolved_name()
            function = FUNCTIONS.get(agg.function)
            if function is None:
                raise StreamGroupError(f"{where}: aggregation {name!r} uses {agg.function!r}; Fresco runs "
                                       f"{', '.join(sorted(FUNCTIONS))}")
            if schema.type_of(agg.column) is None:
                raise StreamGroupError(f"{where}: aggregation {name!r} reads {agg.column!r}, which is not a "
                                       f"field of the events ({schema.ddl()})")
            if name not in types:
                raise StreamGroupError(f"{where}: aggregation {name!r} is not a feature of its schema "
                                       f"({', '.join(types) or 'none'})")
            spark_type = SPARK_TYPES.get(types[name])
            if spark_type is None:
                raise StreamGroupError(f"{where}: feature {name!r} has type {types[name]}; aggregates are "
                                       f"{', '.join(SPARK_TYPES)}")
            aggregates.append(Aggregate(name, function, agg.column, spark_type))
        missing = sorted(set(types) - {a.name for a in aggregates})
        if missing:
            raise StreamGroupError(f"{where}: features {missing} have no aggregation")
        if view.batch_source is None:
            raise StreamGroupError(f"{where}: its KafkaSource needs a batch_source (the offline log)")
        watermark = source.kafka_options.watermark_delay_threshold or timedelta(0)
        return cls(
            name=view.name, topic=topic_of(source), bootstrap_servers=kafka_bootstrap_servers(source),
            schema=schema, event_time=event_time, join_keys=join_keys, window=window, slide=slide,
            watermark=watermark, aggregates=tuple(aggregates),
            timestamp_column=view.batch_source.timestamp_field or "event_timestamp",
            ttl=view.ttl or timedelta(0),
        )


def stream_group(store: Any, name: str) -> StreamGroup:
    """The stream feature view ``name`` of ``store``'s registry, checked."""
    views = {v.name: v for v in store.list_stream_feature_views()}
    if name not in views:
        known = ", ".join(sorted(views)) or "none are registered (run `feast apply`)"
        raise StreamGroupError(f"no stream feature view {name!r} in the catalog; stream feature views: {known}")
    return StreamGroup.from_view(views[name])
