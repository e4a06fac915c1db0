"""``fresco stream run GROUP``: a streaming feature group as two Spark Structured Streaming queries.

* **features**: the topic's records decoded (:mod:`.decode`), good events with a watermark of
  the source's ``watermark_delay_threshold`` on their event time, the group's
  :func:`~.aggregate.window_aggregate` in update mode, each micro-batch handed to the
  :class:`~.sink.FeatureSink` (offline log and online store);
* **records**: every record counted, and those that are not events written to
  ``<topic>.dead-letter`` with their reason.

Both keep their checkpoint under ``<state>/streams/<group>/checkpoint/``: a job stopped and
started again resumes where it was, with no event lost or counted twice (Spark's offsets and
window state; the sink's writes of a replayed micro-batch are idempotent). Spark applies the
watermark per window: an event is dropped from each of its windows that has already closed
(ended before the watermark) and still counted in those that have not. Each dropped
(event, window) pair is counted (``late_rows_dropped``, from the query's progress). :attr:`StreamJob.status` is written to ``status.json`` beside the checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from fresco.platform.state import state_dir
from fresco.platform.streaming import decode
from fresco.platform.streaming.aggregate import window_aggregate
from fresco.platform.streaming.groups import StreamGroup
from fresco.platform.streaming.sink import FeatureSink, utc_now


def _offsets(value: Any) -> dict[str, dict[str, int]] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def offsets_behind(progress: dict[str, Any]) -> dict[str, int] | None:
    """Records a Kafka query had not read when its micro-batch ended, per ``topic:partition``:
    the topic's latest offset minus the batch's end offset (None when Spark did not say)."""
    lag: dict[str, int] = {}
    for source in progress.get("sources", []):
        end, latest = _offsets(source.get("endOffset")), _offsets(source.get("latestOffset"))
        if end is None or latest is None:
            continue
        for topic, partitions in latest.items():
            for partition, offset in partitions.items():
                lag[f"{topic}:{partition}"] = max(0, int(offset) - int(end.get(topic, {}).get(partition, 0)))
    return lag or None


#: how often a running job checks that its brokers answer
BROKER_CHECK_SECONDS = 5.0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class StreamError(RuntimeError):
    """The stream job cannot run; the message says why and what to do."""


def stream_home(group: str) -> Path:
    """The folder of a group's stream job: checkpoints, sink state, status."""
    return state_dir() / "streams" / group


def kafka_session(app_name: str = "fresco-stream") -> Any:
    """Fresco's Spark session with the Kafka connector on its classpath (fetched the first time)."""
    from fresco.platform.spark import spark_session
    from fresco.platform.streaming.connector import ensure_connector

    ensure_connector()
    spark = spark_session(app_name)
    if "spark-sql-kafka" not in spark.conf.get("spark.jars", ""):
        raise StreamError("this process's Spark session started before Spark's Kafka connector was fetched, so "
                          "it cannot read Kafka; start a new process (the connector is cached now)")
    return spark


@dataclass
class StreamStatus:
    """A job's counters, cumulative over its restarts (``status.json``, beside the checkpoint)."""

    group: str
    topic: str
    events_read: int = 0
    late_rows_dropped: int = 0
    dead_letters: int = 0
    offline_rows: int = 0
    online_rows: int = 0
    pending_windows: int = 0
    batches: int = 0
    replayed_batches: int = 0
    records_batch: int = -1  #: the records query's last micro-batch counted
    last_batch_at: str | None = None
    lag: dict[str, int] = field(default_factory=dict)  #: "topic:partition" -> records behind its end
    pid: int | None = None  #: the process running the job (None once it stopped cleanly)
    metrics_url: str | None = None  #: its Prometheus endpoint while it runs
    updated_at: str | None = None

    @classmethod
    def read(cls, path: Path, group: str, topic: str) -> StreamStatus:
        """The status kept at ``path``, or a new one."""
        if not path.exists():
            return cls(group=group, topic=topic)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(path.read_text()).items() if k in known})

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)


class StreamJob:
    """One streaming feature group's queries; ``start``, ``process_available``, ``stop``."""

    def __init__(self, store: Any, group: StreamGroup, spark: Any, *, home: Path | None = None,
                 trigger_seconds: float = 1.0, starting_offsets: str = "earliest",
                 clock: Callable[[], Any] = utc_now, say: Callable[[str], None] | None = None) -> None:
        self.store, self.group, self.spark = store, group, spark
        self.home = home or stream_home(group.name)
        self.trigger_seconds, self.starting_offsets, self.say = trigger_seconds, starting_offsets, say
        self.sink = FeatureSink(store, group, self.home / "sink.json", clock=clock)
        self.status = StreamStatus.read(self.home / "status.json", group.name, group.topic)
        self._status_lock = threading.Lock()
        self._stopping = threading.Event()
        self._queries: list[Any] = []
        self._seen_progress: set[tuple[str, int]] = set()
        self._records_in = 0
        self._said = (0, self.status.events_read, self.status.dead_letters, self.sink.counts.offline_rows,
                      self.sink.counts.online_rows, self.status.late_rows_dropped)

    def _records(self) -> Any:
        g = self.group
        return (self.spark.readStream.format("kafka")
                .option("kafka.bootstrap.servers", g.bootstrap_servers)
                .option("subscribe", g.topic)
                .option("startingOffsets", self.starting_offsets)
                # a gap in the offsets (a broker still loading its logs after a restart, or
                # retention) fails the query instead of skipping events: run() resumes it once
                # the broker answers, and a real loss stops the job with Spark's message
                .option("failOnDataLoss", "true")
                .load())

    def start(self, metrics_port: int | None = None) -> StreamJob:
        """Start both queries (from their checkpoints when they have one) and, with
        ``metrics_port`` (0: a free one), the job's Prometheus endpoint."""
        g = self.group
        from fresco.platform.streaming.topics import ensure_topics

        for topic in ensure_topics(g.bootstrap_servers, [g.topic, g.dead_letter_topic]):
            if self.say:
                self.say(f"{g.name}: created topic {topic} (1 partition) on {g.bootstrap_servers}")
        self.status.pid = os.getpid()
        self.status.metrics_url = None
        if metrics_port is not None:
            from fresco.platform.streaming.metrics import serve_metrics

            self.status.metrics_url = serve_metrics(lambda: self.status, metrics_port)
        self._start_queries()
        return self

    def _start_queries(self) -> None:
        g = self.group
        checkpoints = self.home / "checkpoint"
        records = decode.decoded(self._records(), g)
        events = decode.events(records, g).withWatermark(g.event_time, f"{int(g.watermark.total_seconds())} seconds")
        trigger = f"{self.trigger_seconds} seconds"
        features = (window_aggregate(events, g).writeStream.outputMode("update")
                    .foreachBatch(self._features_batch)
                    .option("checkpointLocation", str(checkpoints / "features"))
                    .queryName(f"fresco-{g.name}-features").trigger(processingTime=trigger).start())
        dead = (records.writeStream.foreachBatch(self._records_batch)
                .option("checkpointLocation", str(checkpoints / "records"))
                .queryName(f"fresco-{g.name}-records").trigger(processingTime=trigger).start())
        self._queries = [features, dead]

    def _features_batch(self, batch: Any, batch_id: int) -> None:
        if not self.sink.replayed(batch_id):
            self.sink.write(batch.toPandas(), batch_id)
        else:
            # written before the crash; Spark must still run every partition of it, or its window
            # state is not committed and it fails the query (STATE_STORE_COMMIT_VALIDATION_FAILED)
            batch.write.format("noop").mode("overwrite").save()

    def _records_batch(self, batch: Any, batch_id: int) -> None:
        """Count the micro-batch's events and send its malformed records to the dead-letter topic
        (a micro-batch Spark runs again after a crash is counted once; its dead letters may be
        sent again if the crash came between sending and counting)."""
        if batch_id <= self.status.records_batch:
            return
        batch = batch.persist()
        try:
            counts = {bool(r["bad"]): int(r["n"]) for r in
                      batch.groupBy(decode.refused().alias("bad")).count().withColumnRenamed("count", "n").collect()}
            if counts.get(True):
                (decode.dead_letters(batch).write.format("kafka")
                 .option("kafka.bootstrap.servers", self.group.bootstrap_servers)
                 .option("topic", self.group.dead_letter_topic).save())
            with self._status_lock:
                self.status.events_read += counts.get(False, 0)
                self.status.dead_letters += counts.get(True, 0)
                self.status.records_batch = batch_id
                self.status.write(self.home / "status.json")
        finally:
            batch.unpersist()

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until both queries have run their first micro-batch (then a job started at the
        topic's end has fixed where that end was: later events are read)."""
        deadline = time.monotonic() + timeout
        while any(q.lastProgress is None for q in self._queries):
            self.refresh()  # raises when a query failed
            if time.monotonic() > deadline:
                raise StreamError(f"the stream job of {self.group.name} ran no micro-batch in {timeout:.0f} s")
            time.sleep(0.2)

    def process_available(self) -> StreamStatus:
        """Process every record published so far, then write what has ended (for tests and
        ``--once``)."""
        for q in self._queries:
            q.processAllAvailable()
        self._settle()
        self.sink.promote_due()
        return self.refresh()

    def _settle(self, timeout: float = 10.0) -> None:
        """Wait until the queries have reported the progress of their last batch (Spark posts
        it just after the batch commits)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            now = [(q.lastProgress or {}).get("batchId") for q in self._queries]
            if now == last and not any(q.status["isTriggerActive"] for q in self._queries):
                return
            last = now
            time.sleep(0.3)

    def refresh(self) -> StreamStatus:
        """Fold the queries' progress into :attr:`status`, write ``status.json``, say a progress
        line when micro-batches ran since the last one; raise when a query failed."""
        lag = None
        for q in self._queries:
            error = q.exception()
            if error is not None:
                raise StreamError(f"stream query {q.name} failed: {error}")
            for p in q.recentProgress:
                mark = (p["id"], p["batchId"])
                if mark in self._seen_progress:
                    continue
                self._seen_progress.add(mark)
                if q.name.endswith("-features"):
                    for op in p.get("stateOperators", []):
                        self.status.late_rows_dropped += int(op.get("numRowsDroppedByWatermark", 0))
                else:
                    self._records_in += int(p.get("numInputRows") or 0)
                    lag = offsets_behind(p)
        c = self.sink.counts
        with self._status_lock:
            self.status.offline_rows, self.status.online_rows = c.offline_rows, c.online_rows
            self.status.pending_windows, self.status.batches = c.pending, c.batches
            self.status.replayed_batches, self.status.last_batch_at = c.replayed_batches, c.last_batch_at
            if lag is not None:
                self.status.lag = lag
            self.status.updated_at = utc_now().isoformat()
            self.status.write(self.home / "status.json")
        self._say_progress(None if lag is None else sum(lag.values()))
        return self.status

    def _say_progress(self, behind: int | None) -> None:
        """One line per refresh that saw new records or writes: what changed since the last line."""
        now = (self._records_in, self.status.events_read, self.status.dead_letters, self.status.offline_rows,
               self.status.online_rows, self.status.late_rows_dropped)
        if self.say is None or now == self._said:
            return
        records, events, dead, offline, online, late = (a - b for a, b in zip(now, self._said))
        self._said = now
        lag = "" if behind is None else f"; {behind:,} records behind the topic's end"
        self.say(f"{self.group.name}: {records:,} records in ({events:,} events, {dead:,} dead letters), "
                 f"{offline:,} rows offline, {online:,} online, {late:,} late (event, window) pairs dropped, "
                 f"{self.status.pending_windows:,} windows pending{lag}")

    def run(self, max_seconds: float | None = None) -> StreamStatus:
        """Run until stopped (Ctrl-C, SIGTERM, :meth:`stop`) or ``max_seconds``; pending windows
        are written online as they become current, a progress line is said after micro-batches
        that did work, and a broker that stops answering is waited for (:meth:`_recover`)."""
        started = time.monotonic()
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            checked = time.monotonic()
            while not self._stopping.is_set():
                self._stopping.wait(self.trigger_seconds)
                try:
                    self.sink.promote_due()
                    self.refresh()
                except StreamError as error:
                    self._recover(error)
                if time.monotonic() - checked >= BROKER_CHECK_SECONDS:  # Spark's reader waits silently
                    checked = time.monotonic()
                    self._recover(None)
                if max_seconds is not None and time.monotonic() - started >= max_seconds:
                    break
        except KeyboardInterrupt:
            if self.say:
                self.say(f"{self.group.name}: stopping; a restart resumes from {self.home / 'checkpoint'}")
        finally:
            self.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        return self.refresh()

    def _recover(self, error: StreamError | None) -> None:
        """When the brokers do not answer (a query failed, ``error``, or a periodic check found
        them silent: Spark's reader retries without failing), say so, wait until they answer and
        make sure both queries run again from their checkpoints (nothing lost, nothing counted
        twice). A failure while the brokers answer is raised."""
        from fresco.platform.streaming.topics import brokers_answer

        servers = self.group.bootstrap_servers
        if brokers_answer(servers):
            if error is not None:
                raise error
            return
        say = self.say or (lambda message: None)
        cause = f" ({str(error).splitlines()[0][:200]})" if error is not None else ""
        say(f"{self.group.name}: Kafka at {servers} does not answer; waiting for it, then resuming from the "
            f"checkpoint{cause}")
        lost = time.monotonic()
        while not self._stopping.is_set() and not brokers_answer(servers):
            self.sink.promote_due()  # windows still become current online meanwhile
            self._stopping.wait(2)
        if self._stopping.is_set():
            return
        if any(q.exception() is not None or not q.isActive for q in self._queries):
            for q in self._queries:
                try:
                    q.stop()
                except Exception:  # noqa: BLE001 - a failed query may refuse to stop cleanly; it is replaced
                    pass
            self._start_queries()
        say(f"{self.group.name}: Kafka answers again after {time.monotonic() - lost:.0f} s; resumed from the checkpoint")

    def stop(self) -> None:
        """Stop both queries (a micro-batch cut short is run again at the next start: the
        sink's writes of a replayed micro-batch are idempotent)."""
        self._stopping.set()
        for q in self._queries:
            if q.isActive:
                q.stop()
        with self._status_lock:
            self.status.pid, self.status.metrics_url = None, None
            self.status.write(self.home / "status.json")
