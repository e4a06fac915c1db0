"""The one aggregation of a streaming feature group, for the stream and its backfill.

Spark's sliding ``window(event_time, window, slide)`` puts an event at ``t0`` into every window
``[end - window, end)`` with ``end - window <= t0 < end``, ends on ``slide`` boundaries of the
UTC epoch. Serving reads, at time ``t``, the *current* window: the one ending next,
``end = floor(t, slide) + slide``, aggregated over its events at or before ``t`` (the last hour
"to the slide": from 45 to 60 minutes of events for a 1-hour window sliding every 15 minutes,
up to the second).

A row is therefore stamped with the moment its value became the current one (:func:`stamp`):
the latest event it holds, or ``end - slide`` (the moment its window becomes current) when all
its events are older. Every stamp of a window lies in ``[end - slide, end)``, so the windows of
one key never tie, and Feast's point-in-time rule (the latest row at or before ``t``) reads at
``t`` the current window with only events at or before ``t``: a training row never sees an
event after its own time.

* :func:`window_aggregate` (the stream): one row per window and update, over the events seen so
  far (Spark's update mode);
* :func:`as_of_rows` (the backfill): the exact history, one row per window at the moment it
  becomes current and one per later event time in it, each over the events at or before it.

Read at the end of a window, both give its final value; read at any ``t`` the backfill gives
the value over exactly the events at or before ``t``, and the stream the value of the events it
had processed by then (what serving read).
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fresco.platform.streaming.groups import StreamGroup

#: the rows' window end, beside the group's columns (the sink keeps one pending row per window)
WINDOW_END = "__window_end"


def _interval(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())} seconds"


def _window(group: StreamGroup) -> Column:
    return F.window(F.col(group.event_time), _interval(group.window), _interval(group.slide))


def _current_from(end: Column, group: StreamGroup) -> Column:
    """When the window ending at ``end`` becomes the current one."""
    return end - F.expr(f"INTERVAL {int(group.slide.total_seconds())} SECONDS")


def stamp(latest_event: Column, end: Column, group: StreamGroup) -> Column:
    """A window row's time: its latest event, or the moment its window becomes current."""
    return F.greatest(latest_event, _current_from(end, group))


def _typed(group: StreamGroup) -> list[Column]:
    return [F.col(a.name).cast(a.spark_type).alias(a.name) for a in group.aggregates]


def _aggregates(group: StreamGroup) -> list[Column]:
    return [F.expr(f"{a.function}(`{a.column}`)").alias(a.name) for a in group.aggregates]


def window_aggregate(events: DataFrame, group: StreamGroup) -> DataFrame:
    """``group``'s rows from ``events`` (its event fields; batch, or streaming after
    ``withWatermark``): join keys, :func:`stamp` as ``group.timestamp_column``, one column per
    aggregate typed as the view declares, and the window end as :data:`WINDOW_END`."""
    keys = [F.col(k) for k in group.join_keys]
    grouped = (events.groupBy(*keys, _window(group).alias("window"))
               .agg(*_aggregates(group), F.max(F.col(group.event_time)).alias("__latest")))
    return grouped.select(
        *keys, stamp(F.col("__latest"), F.col("window.end"), group).alias(group.timestamp_column),
        *_typed(group), F.col("window.end").alias(WINDOW_END))


def as_of_rows(events: DataFrame, group: StreamGroup) -> DataFrame:
    """``group``'s exact history from batch ``events``, in :func:`window_aggregate`'s columns:
    per window, a row when it becomes current (over its events until then, if any) and one at
    each later event time (over its events at or before it)."""
    keys = [F.col(k) for k in group.join_keys]
    fields = {group.event_time, *(a.column for a in group.aggregates)}
    exploded = events.select(*keys, *(F.col(f) for f in sorted(fields)), _window(group).alias("window"))
    end = F.col("window.end")
    since = _current_from(end, group)
    when = F.col(group.event_time)
    first = (exploded.where(when <= since).groupBy(*keys, "window").agg(*_aggregates(group))
             .select(*keys, since.alias(group.timestamp_column), *_typed(group), end.alias(WINDOW_END)))
    running = Window.partitionBy(*keys, "window").orderBy(when).rangeBetween(Window.unboundedPreceding,
                                                                              Window.currentRow)
    later = (exploded.select(*keys, when.alias(group.timestamp_column),
                             *(F.expr(f"{a.function}(`{a.column}`)").over(running).alias(a.name)
                               for a in group.aggregates), end.alias(WINDOW_END), since.alias("__since"))
             .where(F.col(group.timestamp_column) > F.col("__since"))
             .dropDuplicates([*group.join_keys, group.timestamp_column])
             .select(*keys, F.col(group.timestamp_column), *_typed(group), F.col(WINDOW_END)))
    return first.unionByName(later)
