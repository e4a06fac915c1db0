"""Events on the real Kafka broker: a source's schema checks what is published, the JSON that
arrives is what the schema says, and a replay keeps event-time order and spacing."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from fresco.platform.streaming.events import EventSchema, EventSchemaError, InvalidEvent
from fresco.platform.streaming.producer import EventPublisher, replay

READY = "order_id BIGINT, restaurant_id BIGINT, ready_at TIMESTAMP, prep_time_min DOUBLE"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def _consume(servers: str, topic: str, count: int, timeout: float = 30) -> list[dict]:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"test-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got: list[dict] = []
    try:
        deadline = datetime.now().timestamp() + timeout
        while len(got) < count and datetime.now().timestamp() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                got.append(json.loads(message.value()))
    finally:
        consumer.close()
    return got


@pytest.mark.parametrize("ddl, problem", [
    ("order_id BIGINT, ready_at", "field 2 ('ready_at') is not 'name TYPE'"),
    ("order_id BIGINT, tags ARRAY", "field 'tags' has type 'ARRAY'"),
    ("order_id BIGINT, order_id DOUBLE", "field 'order_id' appears twice"),
])
def test_a_schema_fresco_cannot_read_names_the_field(ddl: str, problem: str) -> None:
    with pytest.raises(EventSchemaError, match="source 'x': " + problem.replace("(", r"\(").replace(")", r"\)")):
        EventSchema.parse(ddl, "source 'x'")


def test_published_events_arrive_as_their_schema_says(kafka: str) -> None:
    topic = f"test-ready-{uuid.uuid4().hex[:8]}"
    publisher = EventPublisher(topic, EventSchema.parse(READY), kafka, required=("ready_at",))
    publisher.publish({"order_id": 1, "restaurant_id": 7, "ready_at": T0, "prep_time_min": 12.5})
    publisher.publish({"order_id": 2, "restaurant_id": 7, "ready_at": pd.Timestamp(T0 + timedelta(minutes=1)),
                       "prep_time_min": float("nan")})  # NaN travels as a missing value
    publisher.flush()
    assert _consume(kafka, topic, 2) == [
        {"order_id": 1, "restaurant_id": 7, "ready_at": "2026-11-01T12:00:00.000000Z", "prep_time_min": 12.5},
        {"order_id": 2, "restaurant_id": 7, "ready_at": "2026-11-01T12:01:00.000000Z", "prep_time_min": None},
    ]


def test_an_invalid_event_is_refused_naming_every_problem_and_nothing_is_sent(kafka: str) -> None:
    topic = f"test-invalid-{uuid.uuid4().hex[:8]}"
    publisher = EventPublisher(topic, EventSchema.parse(READY), kafka, required=("ready_at",))
    with pytest.raises(InvalidEvent) as err:
        publisher.publish({"order_id": "one", "restaurant_id": True, "prep_time_min": 3.0, "colour": "red"})
    assert err.value.problems == [
        "unknown field 'colour'", "required field 'ready_at' is missing",
        "field 'order_id' is not a BIGINT: 'one'", "field 'restaurant_id' is not a BIGINT: True"]
    publisher.publish({"order_id": 3, "restaurant_id": 1, "ready_at": T0, "prep_time_min": 1.0})
    publisher.flush()
    assert [e["order_id"] for e in _consume(kafka, topic, 1)] == [3]  # only the valid one went out


def test_a_replay_publishes_in_event_time_order_keeping_the_spacing_sped_up(kafka: str) -> None:
    topic = f"test-replay-{uuid.uuid4().hex[:8]}"
    events = pd.DataFrame({
        "order_id": [3, 1, 2], "restaurant_id": [5, 5, 6], "prep_time_min": [9.0, 7.0, 8.0],
        "ready_at": [T0 + timedelta(minutes=20), T0, T0 + timedelta(minutes=10)]})
    waits: list[float] = []
    publisher = EventPublisher(topic, EventSchema.parse(READY), kafka, required=("ready_at",))
    assert replay(publisher, events, "ready_at", speedup=600, sleep=waits.append) == 3
    assert [e["order_id"] for e in _consume(kafka, topic, 3)] == [1, 2, 3]
    # each event waits for its event-time offset, 600 times faster, from the replay's start (the
    # sleeps are recorded, not slept: the offsets are 1 s and 2 s, less the little time elapsed)
    assert waits == [pytest.approx(1.0, abs=0.3), pytest.approx(2.0, abs=0.3)], waits
