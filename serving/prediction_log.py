"""The prediction log: every prediction (or a sample of them), written off the request path.

Serving writes it, ``monitoring`` reads it. A :class:`PredictionRecord` per predicted row goes
into a bounded queue; one writer thread takes records in batches and hands each batch to the
sink. :meth:`AsyncLog.log` never blocks and never raises: when the queue is full, or the
sink fails, the records are dropped and counted (:meth:`AsyncLog.stats`), and the
request is answered as if nothing happened.

The records, their Parquet sinks and schemas, and where the logs live are
:mod:`fresco.platform.logs` (what monitoring reads, without importing serving); their Kafka sink
is :mod:`fresco.platform.log_topics`. This module is the queue that keeps writing them off the
request path, and the choice of sink (:func:`sink_from_env`).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fresco.platform.logs import PredictionSink, SinkPartlyFailed, prediction_log_folder

log = logging.getLogger(__name__)


class Sink(Protocol):
    def write(self, records: Sequence[Any]) -> None:
        """Store ``records`` durably or raise (:class:`fresco.platform.logs.SinkPartlyFailed`
        when some of them were stored)."""


@dataclass
class LogStats:
    """What happened to the records handed to :meth:`AsyncLog.log`."""

    offered: int = 0  # rows predicted
    sampled_out: int = 0  # not kept by the sample rate
    written: int = 0
    dropped_queue_full: int = 0
    dropped_sink_error: int = 0

    @property
    def dropped(self) -> int:
        return self.dropped_queue_full + self.dropped_sink_error


@dataclass
class AsyncLog:
    """A bounded queue in front of ``sink`` and the thread that drains it (see the module doc):
    the prediction log, and the outcome log (:mod:`fresco.serving.outcomes`), whose records also
    carry a ``prediction_id``."""

    sink: Sink
    capacity: int = 10_000
    batch_size: int = 1_000
    flush_seconds: float = 1.0
    sample_rate: float = 1.0
    #: called with (outcome, count) as records are written or dropped, e.g. a Prometheus
    #: counter's ``labels(outcome).inc(count)``; outcomes are :class:`LogStats`' fields
    observe: Callable[[str, int], None] | None = None
    _stats: LogStats = field(default_factory=LogStats, init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ValueError(f"the prediction log's sample rate must be in [0, 1], got {self.sample_rate}")
        if self.capacity < 1 or self.batch_size < 1 or not self.flush_seconds > 0:
            raise ValueError("capacity and batch_size must be at least 1 and flush_seconds positive")
        self._queue: queue.Queue[Any] = queue.Queue(self.capacity)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._last_error = 0.0
        self._thread = threading.Thread(target=self._drain, name="fresco-prediction-log", daemon=True)
        self._thread.start()
        # the queued tail is written when the interpreter exits (in-process callers need not
        # close); a weak reference, so a log dropped earlier is not kept alive for it
        atexit.register(_close_at_exit, weakref.ref(self))

    # -- the request side ------------------------------------------------------------------
    def keeps(self, prediction_id: str) -> bool:
        """Whether the sample keeps this prediction (:func:`sampled_in`)."""
        return sampled_in(prediction_id, self.sample_rate)

    def log(self, records: Sequence[Any]) -> None:
        """Queue ``records`` (those the sample keeps); never blocks, never raises."""
        full = sampled_out = 0
        for record in records:
            if not self.keeps(record.prediction_id):
                sampled_out += 1
                continue
            try:
                self._queue.put_nowait(record)
            except queue.Full:
                full += 1
        self._count(offered=len(records), sampled_out=sampled_out, dropped_queue_full=full)

    def _count(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self._stats, name, getattr(self._stats, name) + n)
        if self.observe is not None:
            for name, n in counts.items():
                if n:
                    try:
                        self.observe(name, n)
                    except Exception as exc:  # a metrics backend never fails a request
                        log.debug("prediction log: observe(%s, %d) failed: %s", name, n, exc)

    def stats(self) -> LogStats:
        with self._lock:
            return LogStats(**vars(self._stats))

    # -- the writer side -------------------------------------------------------------------
    def _drain(self) -> None:
        while not (self._closed.is_set() and self._queue.empty()):
            batch: list[Any] = []
            deadline = time.monotonic() + self.flush_seconds
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, min(0.1, deadline - time.monotonic()))))
                except queue.Empty:
                    if time.monotonic() >= deadline or self._closed.is_set():
                        break
            if batch:
                self._write(batch)

    def _write(self, batch: list[Any]) -> None:
        try:
            self.sink.write(batch)
        except Exception as exc:  # the sink is down: drop, count, say so at most every 10 s
            written = exc.written if isinstance(exc, SinkPartlyFailed) else 0
            self._count(written=written, dropped_sink_error=len(batch) - written)
            if time.monotonic() - self._last_error > 10:
                self._last_error = time.monotonic()
                log.error("prediction log: %d records dropped, the sink failed: %s", len(batch) - written, exc)
        else:
            self._count(written=len(batch))
        finally:
            for _ in batch:
                self._queue.task_done()

    def flush(self) -> None:
        """Wait until every queued record is written (or dropped)."""
        self._queue.join()

    def close(self) -> None:
        """Write what is queued, then stop the writer thread (also done at interpreter exit;
        closing twice is harmless)."""
        self._closed.set()
        self._thread.join()


def log_choice(variable: str, env: Mapping[str, str], *, may_be_off: bool) -> str | None:
    """Where ``$variable`` sends a log: ``parquet`` (the default) or ``kafka``; None for ``off``
    when ``may_be_off``; anything else refused, naming the choices."""
    chosen = env.get(variable, "parquet").strip().lower()
    if chosen in ("parquet", "kafka"):
        return chosen
    if chosen == "off" and may_be_off:
        return None
    choices = "'parquet', 'kafka' or 'off'" if may_be_off else "'parquet' or 'kafka'"
    raise ValueError(f"{variable} must be {choices}, got {chosen!r}")


def sink_from_env(variable: str, env: Mapping[str, str], parquet: Callable[[], Sink], kind: str,
                  *, may_be_off: bool) -> Sink | None:
    """The sink ``$variable`` names (:func:`log_choice`): ``parquet()``, the topic of log
    ``kind`` (:func:`fresco.platform.log_topics.topic_sink`), or None for ``off``."""
    chosen = log_choice(variable, env, may_be_off=may_be_off)
    if chosen == "parquet":
        return parquet()
    if chosen == "kafka":
        from fresco.platform.log_topics import KINDS, topic_sink

        return topic_sink(KINDS[kind], env)
    return None


def _close_at_exit(ref: "weakref.ref[AsyncLog]") -> None:
    found = ref()
    if found is not None:
        found.close()


def sampled_in(prediction_id: str, sample_rate: float) -> bool:
    """Whether a sample of ``sample_rate`` keeps this prediction: by its id, so the same answer
    everywhere (the service, the in-process predictor, predict-batch)."""
    if sample_rate >= 1.0:
        return True
    return int(prediction_id[:8], 16) / 0x1_0000_0000 < sample_rate


@dataclass(frozen=True)
class LogSettings:
    """Where the prediction log is written and the share of predictions kept."""

    folder: Path
    sample_rate: float = 1.0
    #: the service's and the in-process predictor's sink: ``parquet`` or ``kafka``
    #: (predict-batch writes Parquet to ``folder`` either way: its Spark tasks write files)
    sink: str = "parquet"


def prediction_log_settings(environ: Mapping[str, str] | None = None) -> LogSettings | None:
    """The prediction log as the environment configures it (None when off), for every path
    that predicts (the service, :class:`~fresco.serving.Predictor`, predict-batch).

    ``FRESCO_PREDICTION_LOG``         ``parquet`` (default), ``kafka`` or ``off``
    ``FRESCO_PREDICTION_LOG_DIR``     the Parquet folder (default ``<state dir>/predictions``)
    ``FRESCO_PREDICTION_LOG_TOPIC``   with ``kafka``: the topic (default ``fresco.predictions``),
                                      after ``$FRESCO_KAFKA_TOPIC_PREFIX``; the brokers are
                                      ``$FRESCO_KAFKA_BOOTSTRAP_SERVERS`` (default: the local
                                      broker); ``fresco monitor ingest`` lands it as Parquet
    ``FRESCO_PREDICTION_LOG_SAMPLE``  the share of predictions logged, 0 to 1 (default 1)
    """
    import os

    env = os.environ if environ is None else environ
    chosen = log_choice("FRESCO_PREDICTION_LOG", env, may_be_off=True)
    if chosen is None:
        return None
    text = env.get("FRESCO_PREDICTION_LOG_SAMPLE", "1")
    try:
        sample = float(text)
    except ValueError:
        raise ValueError(f"FRESCO_PREDICTION_LOG_SAMPLE must be a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= sample <= 1.0:
        raise ValueError(f"the prediction log's sample rate must be in [0, 1], got {sample}")
    return LogSettings(prediction_log_folder(env), sample, chosen)


def prediction_log_from_env(environ: Mapping[str, str] | None = None) -> AsyncLog | None:
    """The service's log as the environment configures it (:func:`prediction_log_settings`;
    None when off)."""
    import os

    env = os.environ if environ is None else environ
    settings = prediction_log_settings(env)
    if settings is None:
        return None
    sink = sink_from_env("FRESCO_PREDICTION_LOG", env, lambda: PredictionSink(settings.folder), "predictions",
                         may_be_off=False)
    return AsyncLog(sink, sample_rate=settings.sample_rate)  # type: ignore[arg-type]
