"""``fresco monitor ingest``: a log's Kafka topic (``FRESCO_PREDICTION_LOG=kafka``,
``FRESCO_OUTCOME_LOG=kafka``) landed as the Parquet log the monitoring commands read.

Each partition is read from where the landing folder says it stopped (:mod:`.landing`: the
folder is the offset store, so nothing is committed to Kafka); records are decoded and checked
(:func:`fresco.platform.log_topics.decode`; a malformed one is counted, named in a log line and
skipped) and landed every ``batch`` records, whenever the topic goes quiet, and on the way out.
Until caught up (the default), it stops at the end offsets it saw at start; following, it runs
until ``stop`` is set (the command sets it on SIGTERM and Ctrl-C).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fresco.monitoring.landing import land, landed_ends, landing_lock, remove_unfinished
from fresco.platform.log_topics import LogKind, Malformed, decode

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    """What an ingest landed."""

    topic: str
    folder: Path
    landed: int = 0
    files: int = 0
    malformed: int = 0
    positions: dict[int, int] = field(default_factory=dict)  # per partition: the next offset to land
    lag: int = 0  # records on the topic not landed, when last asked

    def line(self) -> str:
        at = ", ".join(f"p{p} at {o:,}" for p, o in sorted(self.positions.items())) or "no partition"
        return (f"{self.landed:,} records landed from {self.topic} into {self.folder} ({self.files:,} files), "
                f"{self.malformed:,} malformed skipped; {at}; lag {self.lag:,}")


def ingest(kind: LogKind, topic: str, folder: Path, servers: str, *, follow: bool = False, batch: int = 1000,
           stop: threading.Event | None = None, echo: Callable[[str], None] = print,
           idle_seconds: float = 2.0) -> IngestSummary:
    """Land ``topic`` into ``folder`` (see the module doc); ``echo`` gets a progress line per
    landing. Raises ConnectionError when no broker answers at ``servers``."""
    from confluent_kafka import Consumer

    folder, stop = Path(folder), stop or threading.Event()
    summary = IngestSummary(topic, folder)
    with landing_lock(folder, topic):
        if removed := remove_unfinished(folder, topic):
            echo(f"removed {removed} unfinished file(s) an interrupted ingest left")
        consumer = Consumer({"bootstrap.servers": servers, "group.id": "fresco-monitor-ingest",
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "socket.connection.setup.timeout.ms": 10_000, "logger": log})
        try:
            _Landing(kind, consumer, summary, batch, echo).run(follow, stop, idle_seconds)
        finally:
            consumer.close()
    return summary


class _Landing:
    """One ingest's reading and landing (its state: what is read and not landed yet)."""

    def __init__(self, kind: LogKind, consumer: Any, summary: IngestSummary, batch: int,
                 echo: Callable[[str], None]) -> None:
        self.kind, self.consumer, self.summary, self.batch, self.echo = kind, consumer, summary, batch, echo
        self.pending: dict[int, list[tuple[int, date, dict[str, Any]]]] = {}
        self.read: dict[int, int] = {}  # per partition: the next offset to read

    def run(self, follow: bool, stop: threading.Event, idle_seconds: float) -> None:
        from confluent_kafka import TopicPartition

        topic = self.summary.topic
        partitions = self._partitions(follow, stop)
        landed = landed_ends(self.summary.folder, topic)
        ends: dict[int, int] = {}
        for p in partitions:
            low, ends[p] = self._watermarks(p)
            start = landed.get(p, low)
            if start < low:
                self.echo(f"warning: {topic} partition {p}: offsets {start:,} to {low - 1:,} were deleted "
                          "(retention) before they were landed")
                start = low
            self.read[p] = self.summary.positions[p] = start
        reading = [p for p in partitions if follow or self.read[p] < ends[p]]
        if not reading:
            return
        self.consumer.assign([TopicPartition(topic, p, self.read[p]) for p in reading])
        last_landed = time.monotonic()
        while not stop.is_set():
            if not follow and all(self.read[p] >= ends[p] for p in reading):
                break
            messages = self.consumer.consume(num_messages=max(1, min(self.batch - self._count(), 10_000)),
                                             timeout=0.5)
            for message in messages:
                self._take(message)
            if not messages:  # quiet: where the consumer stands (past any control records)
                for position in self.consumer.position([TopicPartition(topic, p) for p in reading]):
                    if position.offset >= 0:
                        self.read[position.partition] = max(self.read[position.partition], position.offset)
            quiet = not messages or time.monotonic() - last_landed >= idle_seconds
            if self._count() >= self.batch or (self._count() and quiet):
                self._land()
                last_landed = time.monotonic()
        self._land()
        self.summary.positions.update(self.read)  # what was read is landed or skipped
        self.summary.lag = self._lag()

    def _partitions(self, follow: bool, stop: threading.Event) -> list[int]:
        """The topic's partitions (following, waits for the topic to exist)."""
        from confluent_kafka import KafkaException

        while True:
            try:
                metadata = self.consumer.list_topics(self.summary.topic, timeout=10)
            except KafkaException as exc:
                raise ConnectionError(f"no Kafka broker answers: {exc}") from None
            found = metadata.topics.get(self.summary.topic)
            if found is not None and found.error is None and found.partitions:
                return sorted(found.partitions)
            if not follow or stop.wait(2):
                self.echo(f"topic {self.summary.topic} does not exist (yet): nothing to land")
                return []

    def _watermarks(self, partition: int) -> tuple[int, int]:
        from confluent_kafka import KafkaException, TopicPartition

        try:
            return self.consumer.get_watermark_offsets(TopicPartition(self.summary.topic, partition), timeout=10)
        except KafkaException as exc:
            raise ConnectionError(f"no Kafka broker answers: {exc}") from None

    def _take(self, message: Any) -> None:
        """One consumed message: pending to land, or counted as malformed."""
        if message.error() is not None:
            if message.error().fatal():
                raise ConnectionError(f"Kafka consumer failed: {message.error()}")
            log.warning("monitor ingest: %s", message.error())
            return
        partition, offset = message.partition(), message.offset()
        self.read[partition] = offset + 1
        try:
            day, row = decode(self.kind, message.value())
        except Malformed as reason:
            self.summary.malformed += 1
            log.warning("monitor ingest: skipped malformed record %s partition %d offset %d: %s",
                        self.summary.topic, partition, offset, reason)
            return
        self.pending.setdefault(partition, []).append((offset, day, row))

    def _lag(self) -> int:
        """Records on the topic past where the landing stands."""
        return sum(max(0, self._watermarks(p)[1] - self.summary.positions[p]) for p in self.read)

    def _count(self) -> int:
        return sum(len(records) for records in self.pending.values())

    def _land(self) -> None:
        """Land what is pending, then say where each partition stands and the lag."""
        if not self.pending:
            return
        landed = self._count()
        for partition, records in sorted(self.pending.items()):
            self.summary.files += land(self.summary.folder, self.kind, self.summary.topic, partition, records)
            self.summary.positions[partition] = records[-1][0] + 1
        self.pending.clear()
        self.summary.landed += landed
        self.summary.lag = self._lag()
        at = ", ".join(f"p{p} at {o:,}" for p, o in sorted(self.summary.positions.items()))
        self.echo(f"landed {landed:,} records ({self.summary.landed:,} in all); {at}; lag {self.summary.lag:,}")
