"""Where a streaming feature group's rows go: the offline log and the online store, at once.

Rows are stamped by :func:`~.aggregate.stamp`: the moment their value became the current one
(the latest event they hold, or the moment their window became current). Every row version
the stream emits is appended to the view's offline source
(:func:`fresco.platform.offline_log.append_rows`: Feast's ``write_to_offline_store``, or Spark
for a Hive table); of equal stamps, the later version wins in point-in-time retrieval
(later files sort last). So a training row at ``t`` reads the current window over the events at
or before ``t``, as serving did.

Online, a key is served its row with the latest stamp at or before now (Feast's rule offline).
A row stamped in the future (a window that becomes current later, holding only older events)
is kept *pending* and written online the moment its stamp comes (:meth:`FeatureSink.promote_due`,
called every trigger by the job), even when no event arrives then. A late event inside the
watermark updates its window: written again online when that window is still the one served, and
appended offline in any case; a row older than the one served is not written online. Pending rows
(one per key and window) and the stamp served per key are kept in ``sink.json`` beside the job's
checkpoint, so a restarted job carries on.

Cassandra orders the writes of one key by their event time (Fresco's store writes at event
time): an update with the same stamp (a late event) would tie with the first write. Online rows
are therefore written at the stamp plus the milliseconds elapsed since it, read as
microseconds, capped below the window's end (:func:`online_stamp`): later updates of a window
win, and no version of a window reaches the next window's stamps.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from fresco.platform.offline_log import append_rows
from fresco.platform.times import utc_column
from fresco.platform.streaming.aggregate import WINDOW_END
from fresco.platform.streaming.groups import StreamGroup


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def online_stamp(stamp: datetime, written_at: datetime, window_end: datetime) -> datetime:
    """The event time an online row stamped ``stamp`` (of the window ending ``window_end``) is
    written with."""
    elapsed_ms = max(0, int((written_at - stamp) / timedelta(milliseconds=1)))
    room = int((window_end - stamp) / timedelta(microseconds=1)) - 1
    return stamp + timedelta(microseconds=max(0, min(elapsed_ms, room)))


@dataclass
class SinkCounts:
    """What the sink has written (kept in ``sink.json``: cumulative over restarts)."""

    offline_rows: int = 0
    online_rows: int = 0
    pending: int = 0
    not_online_older_row: int = 0
    batches: int = 0
    replayed_batches: int = 0  #: micro-batches Spark ran again after a crash, already written
    last_batch_at: str | None = None


class FeatureSink:
    """Writes one group's row versions offline and online (see the module doc)."""

    def __init__(self, store: Any, group: StreamGroup, state_path: Path | None = None, *,
                 clock: Callable[[], datetime] = utc_now, online: bool = True, offline: bool = True) -> None:
        self.store, self.group, self.state_path, self.clock = store, group, state_path, clock
        self.online, self.offline = online, offline
        self.counts = SinkCounts()
        self._lock = threading.Lock()
        self._pending: dict[tuple, dict[str, Any]] = {}
        self._served: dict[tuple, datetime] = {}
        self.run_id = f"{time.time_ns():020d}"  #: names this sink's offline files (sorted by start)
        self.last_batch = -1  #: the last micro-batch written whole
        self._load()

    # ---------------------------------------------------------------------------- writes

    def write(self, rows: pd.DataFrame, batch: int | None = None) -> None:
        """One micro-batch (or a backfill's rows, with or without :data:`WINDOW_END`): offline all
        of them, online what is due. A micro-batch ``batch`` already written whole (Spark runs
        it again after a crash) is skipped; one written in part is written again, its offline
        file replaced (a Parquet folder) rather than appended twice."""
        if batch is not None and self.replayed(batch):
            return
        if rows.empty:
            return
        g = self.group
        rows = rows.copy()
        rows[g.timestamp_column] = utc_column(rows[g.timestamp_column])
        with self._lock:
            if self.offline:
                offline = rows[g.columns]
                name = None if batch is None else f"stream-{self.run_id}-{batch:012d}"
                append_rows(self.store, g.name, offline, name=name)
                self.counts.offline_rows += len(rows)
            now = self.clock()
            if self.online:
                rows[WINDOW_END] = utc_column(rows[WINDOW_END])
                for record in rows[[*g.columns, WINDOW_END]].to_dict("records"):
                    key = tuple(record[k] for k in g.join_keys)
                    self._pending[(*key, record[WINDOW_END])] = record
                self._write_due(now)
            self.counts.batches += 1
            self.counts.last_batch_at = now.isoformat()
            if batch is not None:
                self.last_batch = batch
            self._save()

    def replayed(self, batch: int) -> bool:
        """Whether micro-batch ``batch`` was written whole already (then it is counted as replayed)."""
        if batch > self.last_batch:
            return False
        self.counts.replayed_batches += 1
        return True

    def promote_due(self) -> int:
        """Write online the pending windows that have ended by now; returns how many."""
        with self._lock:
            written = self._write_due(self.clock())
            if written:
                self._save()
            return written

    def _write_due(self, now: datetime) -> int:
        g, ts = self.group, self.group.timestamp_column
        latest: dict[tuple, dict[str, Any]] = {}
        for k in [k for k, r in self._pending.items() if r[ts] <= now]:
            record = self._pending.pop(k)
            key = k[:-1]
            if key not in latest or record[ts] >= latest[key][ts]:
                latest[key] = record
        out = []
        for key, record in latest.items():
            served = self._served.get(key)
            if served is not None and record[ts] < served:
                self.counts.not_online_older_row += 1
                continue
            self._served[key] = record[ts]
            out.append({**record, ts: online_stamp(record[ts], now, record[WINDOW_END])})
        self.counts.pending = len(self._pending)
        if out:
            self.store.write_to_online_store(g.name, pd.DataFrame(out, columns=g.columns))
            self.counts.online_rows += len(out)
        return len(out)

    # ----------------------------------------------------------------------------- state

    def _save(self) -> None:
        if self.state_path is None:
            return
        g = self.group

        def plain(record: dict[str, Any]) -> dict[str, Any]:
            return {k: (v.isoformat() if isinstance(v, datetime) else (None if v != v else v))
                    for k, v in record.items()}

        state = {
            "pending": [plain(r) for r in self._pending.values()],
            "served": [[*key, end.isoformat()] for key, end in self._served.items()],
            "columns": g.columns,
            "run_id": self.run_id,
            "last_batch": self.last_batch,
            "counts": asdict(self.counts),
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
        tmp.replace(self.state_path)

    def _load(self) -> None:
        if self.state_path is None or not self.state_path.exists():
            return
        g = self.group
        state = json.loads(self.state_path.read_text())
        for record in state.get("pending", []):
            for column in (g.timestamp_column, WINDOW_END):
                record[column] = datetime.fromisoformat(record[column])
            key = tuple(record[k] for k in g.join_keys)
            self._pending[(*key, record[WINDOW_END])] = record
        for *key, end in state.get("served", []):
            self._served[tuple(key)] = datetime.fromisoformat(end)
        self.run_id = state.get("run_id", self.run_id)
        self.last_batch = int(state.get("last_batch", -1))
        known = {f.name for f in fields(SinkCounts)}
        self.counts = SinkCounts(**{k: v for k, v in state.get("counts", {}).items() if k in known})
        self.counts.pending = len(self._pending)
