"""The prediction and outcome logs on Kafka: the contract between serving, which publishes, and
``fresco monitor ingest``, which lands the topic as the same Parquet log.

A record travels as one JSON message, the log's row (:func:`fresco.platform.logs.prediction_row`,
:func:`~fresco.platform.logs.outcome_row`: the same column values as the Parquet file, times in
ISO 8601, NaN as null), keyed by its ``prediction_id`` (a prediction and its outcomes go to one
partition, in order). :func:`decode` is the way back, refusing what is not a record of the log.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fresco.platform.logs import (
    ADDED_COLUMNS, OUTCOME_DAY_COLUMN, PREDICTION_DAY_COLUMN, SCHEMA_VERSION, SinkPartlyFailed, json_text, outcome_log_folder,
    outcome_row, outcome_schema, prediction_log_folder, prediction_row, prediction_schema, utc_day,
)
from fresco.platform.streaming.topics import kafka_bootstrap_servers, prefixed_topic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogKind:
    """One of the two logs as it travels on Kafka and lands on disk."""

    name: str  # "predictions" or "outcomes"
    topic_variable: str  # the environment variable naming its topic
    default_topic: str
    schema: Callable[[], Any]  # its Parquet columns
    row: Callable[[Any], dict[str, Any]]  # record -> column values
    day_column: str  # the time whose UTC day partitions it
    folder: Callable[[Mapping[str, str] | None], Path]  # where it lands by default

    def topic(self, environ: Mapping[str, str] | None = None) -> str:
        """Its topic: ``$<topic_variable>`` (else the default), prefixed like every Fresco topic."""
        env = os.environ if environ is None else environ
        return prefixed_topic(env.get(self.topic_variable, "").strip() or self.default_topic)


PREDICTIONS = LogKind("predictions", "FRESCO_PREDICTION_LOG_TOPIC", "fresco.predictions", prediction_schema,
                      prediction_row, PREDICTION_DAY_COLUMN, prediction_log_folder)
OUTCOMES = LogKind("outcomes", "FRESCO_OUTCOME_LOG_TOPIC", "fresco.outcomes", outcome_schema,
                   outcome_row, OUTCOME_DAY_COLUMN, outcome_log_folder)
KINDS = {kind.name: kind for kind in (PREDICTIONS, OUTCOMES)}


def encode(kind: LogKind, record: Any) -> bytes:
    """``record`` as its message's value: the log's row as compact JSON."""
    return json_text(kind.row(record)).encode()


class Malformed(ValueError):
    """A message that is not a record of the log (the reason is its text)."""


def decode(kind: LogKind, value: bytes | None) -> tuple[date, dict[str, Any]]:
    """A message's (UTC day, row), checked against the log's schema; :class:`Malformed` names
    what is wrong (not JSON, a missing field, a wrong type, a newer schema version)."""
    if value is None:
        raise Malformed("no value")
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Malformed(f"not a JSON object but {type(data).__name__}")
    schema = kind.schema()
    missing = [name for name in schema.names if name not in data and name not in ADDED_COLUMNS]
    if missing:
        raise Malformed(f"missing field(s) {missing}")
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise Malformed(f"schema version {version}; this Fresco reads up to {SCHEMA_VERSION}: upgrade it")
    required = {"schema_version", "prediction_id", kind.day_column}
    row = {f.name: _value(f, data.get(f.name), f.name in required) for f in schema}
    return utc_day(row[kind.day_column]), row


def _value(field: Any, value: Any, required: bool) -> Any:
    """A JSON value as the Parquet column ``field`` holds it (:class:`Malformed` when it cannot)."""
    import pyarrow as pa

    if value is None:
        if required:
            raise Malformed(f"{field.name} is null")
        return None
    kind = field.type
    if pa.types.is_timestamp(kind):
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise Malformed(f"{field.name} is not an ISO 8601 time with a zone: {value!r}")
        return moment
    if pa.types.is_string(kind):
        good: tuple[type, ...] = (str,)
    elif pa.types.is_floating(kind):
        good = (int, float)
    else:  # the logs' other columns are integers
        good = (int,)
    if not isinstance(value, good) or isinstance(value, bool):
        raise Malformed(f"{field.name} is not a {kind}: {value!r}")
    return value


class TopicSink:
    """A log's records to a Kafka topic, one message each (the sink of :class:`AsyncLog
    <fresco.serving.prediction_log.AsyncLog>`): :meth:`write` returns when the broker has every
    message, or raises within about ``delivery_timeout`` seconds saying how many it lost."""

    def __init__(self, kind: LogKind, topic: str, servers: str, *, delivery_timeout: float = 5.0) -> None:
        self.kind, self.topic, self.servers, self.delivery_timeout = kind, topic, servers, delivery_timeout
        self._last_error, self._fatal = "", False
        self._producer = self._new_producer()

    def _new_producer(self) -> Any:
        from confluent_kafka import Producer

        millis = int(self.delivery_timeout * 1000)
        return Producer({
            "bootstrap.servers": self.servers, "linger.ms": 10, "enable.idempotence": True,
            "message.timeout.ms": millis, "socket.timeout.ms": millis,
            "socket.connection.setup.timeout.ms": millis, "logger": log,
            "log_level": 2,  # not every failed connection: a failed write says why (its last error)
            "error_cb": self._broker_error,
        })

    def _broker_error(self, error: Any) -> None:
        self._last_error = str(error)
        self._fatal = self._fatal or error.fatal()  # the producer is done for: a new one next write
        log.debug("%s log to Kafka at %s: %s", self.kind.name, self.servers, error)

    def write(self, records: Sequence[Any]) -> None:
        """Publish ``records`` and wait until each is delivered or failed (see the class doc)."""
        from confluent_kafka import KafkaException

        if self._fatal:
            self._producer, self._fatal = self._new_producer(), False
        failed: list[str] = []

        def delivered(error: Any, _message: Any) -> None:
            if error is not None:
                failed.append(str(error))

        queued, refused = 0, ""
        try:
            for record in records:
                self._producer.produce(self.topic, encode(self.kind, record),
                                       key=record.prediction_id.encode(), on_delivery=delivered)
                queued += 1
        except (BufferError, KafkaException) as exc:  # its queue is full, or it failed: the rest is lost
            refused = str(exc)
        pending = self._producer.flush(self.delivery_timeout + 2)  # each message times out before
        lost = min(len(records), len(records) - queued + len(failed) + pending)
        if lost:
            reason = failed[0] if failed else refused or "not acknowledged in time"
            if self._last_error:
                reason += f" (last broker error: {self._last_error})"
            raise SinkPartlyFailed(f"{lost} of {len(records)} records not delivered to Kafka topic "
                                   f"{self.topic} at {self.servers}: {reason}", written=len(records) - lost)


def topic_sink(kind: LogKind, environ: Mapping[str, str] | None = None) -> TopicSink:
    """The sink of ``kind`` to its topic (:meth:`LogKind.topic`) on the brokers of
    :func:`~fresco.platform.streaming.topics.kafka_bootstrap_servers`."""
    return TopicSink(kind, kind.topic(environ), kafka_bootstrap_servers())
