"""A stream job's figures in Prometheus' text format, on an HTTP endpoint the job serves.

The figures are the job's :class:`~fresco.platform.streaming.job.StreamStatus` (cumulative over
restarts), read when Prometheus scrapes: events read, dead letters, late (event, window) pairs
dropped, rows written offline and online, micro-batches (and those replayed after a crash),
windows pending, the records behind the topic's end per partition, and the last micro-batch's
time. Served by ``prometheus_client``'s own server on a registry of the job's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fresco.platform.streaming.job import StreamStatus

#: counter name (Prometheus adds ``_total``) -> (help, the status field)
COUNTERS = {
    "fresco_stream_events_read": ("Events read from the view's topic.", "events_read"),
    "fresco_stream_dead_letters": ("Records that were not valid events, sent to the dead-letter topic.",
                                   "dead_letters"),
    "fresco_stream_late_rows_dropped": ("(event, window) pairs dropped: the window had closed (watermark).",
                                       "late_rows_dropped"),
    "fresco_stream_offline_rows": ("Row versions appended to the view's offline log.", "offline_rows"),
    "fresco_stream_online_rows": ("Rows written to the online store.", "online_rows"),
    "fresco_stream_batches": ("Micro-batches written.", "batches"),
    "fresco_stream_replayed_batches": ("Micro-batches Spark ran again after a crash (written once).",
                                       "replayed_batches"),
}


class StatusCollector:
    """A ``prometheus_client`` collector of one job's status."""

    def __init__(self, status: Callable[[], StreamStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        status = self._status()
        for name, (text, attribute) in COUNTERS.items():
            family = CounterMetricFamily(name, text, labels=["view"])
            family.add_metric([status.group], getattr(status, attribute))
            yield family
        pending = GaugeMetricFamily("fresco_stream_windows_pending", "Windows waiting to become current online.",
                                    labels=["view"])
        pending.add_metric([status.group], status.pending_windows)
        yield pending
        lag = GaugeMetricFamily("fresco_stream_records_behind", "Records of a partition not read yet.",
                                labels=["view", "topic", "partition"])
        for where, behind in sorted(status.lag.items()):
            topic, _, partition = where.rpartition(":")
            lag.add_metric([status.group, topic, partition], behind)
        yield lag
        if status.last_batch_at:
            last = GaugeMetricFamily("fresco_stream_last_batch_timestamp_seconds",
                                     "When the last micro-batch was written (Unix time).", labels=["view"])
            last.add_metric([status.group], datetime.fromisoformat(status.last_batch_at).timestamp())
            yield last


def serve_metrics(status: Callable[[], StreamStatus], port: int = 0, host: str = "127.0.0.1") -> str:
    """Serve ``/metrics`` for ``status`` in a daemon thread; returns its URL (``port`` 0: a free one)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(status))
    server, _ = start_http_server(port, addr=host, registry=registry)
    return f"http://{host}:{server.server_port}/metrics"
