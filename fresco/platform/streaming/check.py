"""``fresco stream check GROUP --start --end``: what the stream wrote, recomputed and compared.

The backfill's aggregation (:func:`~.backfill.backfill_rows`, the stream's own) is run over the
events again, and two things the stream wrote are compared with it:

* **the offline log** (what training reads): every window that ended in ``(start, end]`` and
  holds an event, read just before its end through Feast's point-in-time retrieval (the same
  retrieval as training), must hold the window's final value. After the watermark a window's
  value is final, so a difference is a lost, doubled or altered row, not a timing effect.
* **the online store** (what serving reads): each key's online value must equal its latest
  recomputed value, once the stream has read the events up to ``end`` (a stream behind its
  topic shows as differences). Keys whose online row was written outside ``(start, end]`` or
  that have none (expired: the view's TTL) are counted as not compared.

A feature equals its recomputation when both are null or they agree to 1e-9 (relative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from fresco.platform.streaming.aggregate import WINDOW_END
from fresco.platform.streaming.backfill import backfill_rows
from fresco.platform.streaming.groups import StreamGroup
from fresco.platform.times import utc_column

#: the entity frame's time column in the point-in-time reads
_AT = "event_timestamp"
_RTOL = 1e-9


@dataclass
class Mismatch:
    """One row the stream wrote that its recomputation does not give."""

    store: str  #: "offline" or "online"
    key: dict[str, Any]
    at: datetime
    stream: dict[str, Any]
    recomputed: dict[str, Any]

    def describe(self) -> str:
        keys = ", ".join(f"{k}={v}" for k, v in self.key.items())
        features = "; ".join(f"{name}: stream {self.stream[name]!r}, recomputed {self.recomputed[name]!r}"
                             for name in self.stream if not _equal(self.stream[name], self.recomputed[name]))
        return f"{self.store} {keys} at {self.at:%Y-%m-%d %H:%M:%S.%f}Z: {features}"


@dataclass
class CheckReport:
    """The comparison's figures and its mismatches."""

    group: str
    offline_compared: int = 0
    online_compared: int = 0
    online_not_compared: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def compared(self) -> int:
        return self.offline_compared + self.online_compared

    @property
    def differ(self) -> int:
        return len(self.mismatches)


def _equal(a: Any, b: Any) -> bool:
    a_null = a is None or (isinstance(a, float) and math.isnan(a))
    b_null = b is None or (isinstance(b, float) and math.isnan(b))
    if a_null or b_null:
        return a_null and b_null
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=_RTOL, abs_tol=1e-12)
    return a == b


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _utc_series(series: pd.Series) -> pd.Series:
    """:func:`~fresco.platform.times.utc_column` in nanoseconds (both sides of an as-of join)."""
    return utc_column(series).astype("datetime64[ns, UTC]")


def _as_of(rows: pd.DataFrame, at: pd.DataFrame, group: StreamGroup) -> pd.DataFrame:
    """The recomputed value at each (key, time) of ``at``: the latest row at or before it
    (Feast's point-in-time rule), in ``at``'s order."""
    ts = group.timestamp_column
    right = rows.drop(columns=[WINDOW_END], errors="ignore").rename(columns={ts: _AT})
    right[_AT] = _utc_series(right[_AT])
    left = at.assign(__order=range(len(at)), **{_AT: _utc_series(at[_AT])})
    got = pd.merge_asof(left.sort_values(_AT), right.sort_values(_AT), on=_AT, by=list(group.join_keys),
                        direction="backward")
    return got.sort_values("__order").drop(columns="__order").reset_index(drop=True)


def _compare(report: CheckReport, where: str, keys_and_times: pd.DataFrame, streamed: pd.DataFrame,
             recomputed: pd.DataFrame, group: StreamGroup) -> None:
    names = [a.name for a in group.aggregates]
    for i in range(len(keys_and_times)):
        stream = {n: _plain(streamed[n].iloc[i]) for n in names}
        again = {n: _plain(recomputed[n].iloc[i]) for n in names}
        if not all(_equal(stream[n], again[n]) for n in names):
            key = {k: _plain(keys_and_times[k].iloc[i]) for k in group.join_keys}
            report.mismatches.append(Mismatch(where, key, keys_and_times[_AT].iloc[i].to_pydatetime(), stream, again))


def final_moments(rows: pd.DataFrame, group: StreamGroup, start: datetime, end: datetime) -> pd.DataFrame:
    """(keys, the last microsecond) of every window of ``rows`` that ended in ``(start, end]``."""
    ends = rows[[*group.join_keys, WINDOW_END]].drop_duplicates()
    ends = ends.assign(**{_AT: _utc_series(ends[WINDOW_END]) - pd.Timedelta(microseconds=1)})
    closed = ends[(ends[_AT] >= pd.Timestamp(start)) & (ends[_AT] < pd.Timestamp(end))]
    return closed[[*group.join_keys, _AT]].sort_values([*group.join_keys, _AT]).reset_index(drop=True)


def check_offline(report: CheckReport, store: Any, group: StreamGroup, rows: pd.DataFrame,
                  start: datetime, end: datetime) -> None:
    """Every closed window's final value in the offline log, read as training reads it."""
    at = final_moments(rows, group, start, end)
    if at.empty:
        return
    refs = [f"{group.name}:{a.name}" for a in group.aggregates]
    logged = store.get_historical_features(entity_df=at, features=refs).to_df()
    logged = logged.assign(**{_AT: _utc_series(logged[_AT])})
    logged = at.merge(logged, on=[*group.join_keys, _AT], how="left")  # back in ``at``'s order
    _compare(report, "offline", at, logged, _as_of(rows, at, group), group)
    report.offline_compared += len(at)


def online_rows(store: Any, group: StreamGroup, keys: pd.DataFrame) -> pd.DataFrame:
    """Each key's online values and the event time they were written with (None: no row)."""
    refs = [f"{group.name}:{a.name}" for a in group.aggregates]
    entity_rows = [{k: _plain(v) for k, v in row.items()} for row in keys.to_dict("records")]
    response = store.get_online_features(features=refs, entity_rows=entity_rows)
    values = pd.DataFrame(response.to_dict())
    # Feast's to_dict(include_event_timestamps=True) truncates to seconds; the response's
    # proto (a public attribute) holds them whole
    names = list(response.proto.metadata.feature_names.val)
    first = names.index(group.aggregates[0].name)
    stamps = [ts.ToDatetime(tzinfo=timezone.utc) if (ts.seconds or ts.nanos) else None
              for ts in response.proto.results[first].event_timestamps]
    return values.assign(**{_AT: stamps})


def check_online(report: CheckReport, store: Any, group: StreamGroup, rows: pd.DataFrame,
                 start: datetime, end: datetime) -> None:
    """Each key's online value against its latest recomputed value (the stream has then read
    every event up to ``end``: the online store is what serving reads now)."""
    ts = group.timestamp_column
    latest = (rows.assign(**{ts: _utc_series(rows[ts])}).sort_values(ts, kind="stable")
              .groupby(list(group.join_keys), sort=True).tail(1).reset_index(drop=True))
    if latest.empty:
        return
    online = online_rows(store, group, latest[list(group.join_keys)])
    moments = pd.to_datetime(online[_AT], utc=True)
    inside = (online[_AT].notna() & (moments > pd.Timestamp(start)) & (moments <= pd.Timestamp(end))).to_numpy()
    report.online_not_compared += int((~inside).sum())
    online, latest = online[inside].reset_index(drop=True), latest[inside].reset_index(drop=True)
    if online.empty:
        return
    at = online[[*group.join_keys, _AT]].assign(**{_AT: _utc_series(online[_AT])})
    _compare(report, "online", at, online, latest, group)
    report.online_compared += len(at)


def check_stream(store: Any, group: StreamGroup, events: Any, start: datetime, end: datetime, *,
                 online: bool = True) -> CheckReport:
    """Recompute ``group`` over ``events`` (a Spark DataFrame of its events) for ``(start, end]``
    and compare the offline log and, with ``online``, the online store with it."""
    end = min(end, datetime.now(timezone.utc))  # the stream has written nothing later yet
    rows = backfill_rows(events, group, start - group.slide, end).toPandas()
    report = CheckReport(group.name)
    check_offline(report, store, group, rows, start, end)
    if online:
        check_online(report, store, group, rows, start, end)
    return report
