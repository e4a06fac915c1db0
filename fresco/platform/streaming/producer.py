"""Publishing events: a small live API and ``fresco stream replay`` of historical events.

    publisher = EventPublisher.for_source(store, "order_ready_events")
    publisher.publish({"order_id": 1, "restaurant_id": 7, "ready_at": now, "prep_time_min": 12.5})
    publisher.flush()

An event is checked against its source's schema before it leaves (:class:`~.events.InvalidEvent`
names every problem), so this API never produces a dead letter; other producers can.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from fresco.platform.streaming.events import EventSchema, InvalidEvent
from fresco.platform.streaming.topics import kafka_bootstrap_servers, topic_of


class EventPublisher:
    """Checked, JSON-encoded events to one topic (keyed by ``key_field`` when given)."""

    def __init__(self, topic: str, schema: EventSchema, servers: str, *, required: tuple[str, ...] = (),
                 key_field: str | None = None) -> None:
        from confluent_kafka import Producer

        self.topic, self.schema, self.required, self.key_field = topic, schema, required, key_field
        self._producer = Producer({"bootstrap.servers": servers, "linger.ms": 5, "enable.idempotence": True})
        self._failed: list[str] = []

    @classmethod
    def for_source(cls, store: Any, source_name: str) -> EventPublisher:
        """The publisher of a ``KafkaSource`` registered in ``store``'s catalog."""
        source = store.get_data_source(source_name)
        options = getattr(source, "kafka_options", None)
        if options is None:
            raise ValueError(f"data source {source_name!r} is a {type(source).__name__}, not a KafkaSource")
        schema = EventSchema.parse(options.message_format.schema_json, f"source '{source_name}'")
        return cls(topic_of(source), schema, kafka_bootstrap_servers(source), required=(source.timestamp_field,))

    def publish(self, event: Mapping[str, Any], *, raw: bool = False) -> None:
        """Queue one event (``raw=True`` skips the check: for tests of what others may send)."""
        if not raw:
            problems = self.schema.problems(event, self.required)
            if problems:
                raise InvalidEvent(self.topic, problems)
        value = event if isinstance(event, (bytes, str)) else self.schema.encode(event)
        key = str(event[self.key_field]).encode() if self.key_field and not isinstance(event, (bytes, str)) else None
        self._producer.produce(self.topic, value, key=key, on_delivery=self._delivered)
        self._producer.poll(0)

    def _delivered(self, error: Any, message: Any) -> None:
        if error is not None:
            self._failed.append(str(error))

    def flush(self, timeout: float = 30) -> None:
        """Wait until every queued event is acknowledged; raise naming the failures."""
        left = self._producer.flush(timeout)
        if left or self._failed:
            raise RuntimeError(f"{left} events to {self.topic!r} not acknowledged within {timeout}s; "
                               f"errors: {self._failed[:3]}")


def replay(publisher: EventPublisher, events: pd.DataFrame, time_field: str, *, speedup: float | None = None,
           say: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Publish ``events`` in event-time order. ``speedup`` (e.g. 60: an hour per minute) keeps
    their spacing, divided; None publishes as fast as the broker takes them. Returns the count."""
    ordered = events.sort_values(time_field, kind="stable")
    first: datetime | None = None
    started = time.monotonic()
    count = 0
    for record in _records(ordered):
        if speedup:
            moment = pd.Timestamp(record[time_field])
            first = first or moment
            wait = (moment - first).total_seconds() / speedup - (time.monotonic() - started)
            if wait > 0:
                sleep(wait)
        publisher.publish(record)
        count += 1
        if say and count % 10_000 == 0:
            say(f"replayed {count:,} of {len(ordered):,} events to {publisher.topic}")
    publisher.flush()
    return count


def _records(frame: pd.DataFrame) -> Iterable[dict[str, Any]]:
    return frame.to_dict("records")
