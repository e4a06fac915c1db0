"""Hand-made feature-group rows around a reference time ``END``, with known answers.

Every frame has the exact columns the feature-group jobs write. Besides ordinary restaurants
(1..N: a profile created years ago, daily 7-day stats, 15-minute realtime rows) there are
restaurants that exercise one rule each:

* ``STALE``: its newest stats are 3 days old at ``END`` (TTL 2 days) and its newest realtime row
  2 hours old (TTL 1 hour): served as null.
* ``TIED``: its newest stats row is written twice with the same event time (a job that ran
  twice): one value, one output row per entity row.
* ``CHANGED``: its profile changed; the newer row wins.
* ``LATE``: all its rows are stamped after ``END``: nothing until a later materialization.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

STALE, TIED, CHANGED, LATE = 901, 902, 903, 904
UNKNOWN = 999_999
CUISINES = ["thai", "sushi", "pizza", "salad", "burger"]


@dataclass(frozen=True)
class Groups:
    """The three feature groups' rows and the reference time they were made around."""

    end: datetime
    profile: pd.DataFrame
    stats: pd.DataFrame
    realtime: pd.DataFrame

    @property
    def day0(self) -> datetime:
        """The newest daily snapshot time, strictly before ``end``."""
        return newest_snapshot_before(self.end)

    def frames(self) -> dict[str, pd.DataFrame]:
        return {
            "restaurant_profile": self.profile,
            "restaurant_stats_7d": self.stats,
            "restaurant_realtime": self.realtime,
        }


def newest_snapshot_before(end: datetime) -> datetime:
    """The 00:00 UTC daily snapshot time strictly before ``end`` (the day before, at midnight)."""
    return (end - timedelta(minutes=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _micros(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    return frame


def make_groups(restaurants: int = 40, seed: int = 3, end: datetime | None = None) -> Groups:
    """Rows for ``restaurants`` ordinary restaurants plus the special ones, around ``end``.

    ``end`` defaults to the current hour minus one hour: Feast starts a view's first
    incremental materialization relative to the wall clock, so the data must be recent.
    """
    rng = np.random.default_rng(seed)
    if end is None:
        now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        end = now - timedelta(hours=1)
    ids = list(range(1, restaurants + 1))
    # daily snapshots at 00:00 UTC, as the job writes them; the newest strictly before END
    day0 = newest_snapshot_before(end)

    profile = pd.DataFrame(
        {
            "restaurant_id": ids + [STALE, TIED, CHANGED, CHANGED, LATE],
            "event_timestamp": [end - timedelta(days=int(d)) for d in rng.integers(40, 1100, len(ids))]
            + [end - timedelta(days=800)] * 3
            + [end - timedelta(days=10), end + timedelta(hours=5)],
            "lat": rng.uniform(37.7, 37.8, len(ids) + 5),
            "lon": rng.uniform(-122.5, -122.4, len(ids) + 5),
            "cuisine": rng.choice(CUISINES, len(ids) + 5),
            "kitchen_capacity": rng.integers(2, 9, len(ids) + 5),
            "region": "bay",
            "city": [("san_francisco", "oakland")[i % 2] for i in range(len(ids) + 5)],
        }
    )
    # CHANGED's second row (10 days ago) is newer than its first; LATE's is after END.
    profile.loc[profile["restaurant_id"] == CHANGED, "cuisine"] = ["pizza", "sushi"]

    stats_rows = []
    for rid in ids:
        for k in range(0, 6):
            stats_rows.append((rid, day0 - timedelta(days=k)))
    stats_rows += [(STALE, day0 - timedelta(days=3)), (STALE, day0 - timedelta(days=5))]
    stats_rows += [(TIED, day0 - timedelta(days=1)), (TIED, day0), (TIED, day0)]
    stats_rows += [(CHANGED, day0), (LATE, end + timedelta(days=1))]
    n = len(stats_rows)
    stats = pd.DataFrame(stats_rows, columns=["restaurant_id", "event_timestamp"]).assign(
        avg_prep_time_7d=rng.uniform(5, 25, n).round(3),
        avg_delivery_time_7d=rng.uniform(20, 60, n).round(3),
        orders_per_hour_7d=rng.uniform(0.1, 3, n).round(3),
        avg_items_7d=rng.uniform(1, 4, n).round(3),
        order_count_7d=rng.integers(1, 500, n),
    )
    tied = stats.index[stats["restaurant_id"] == TIED][-2:]
    stats.loc[tied[1], stats.columns[2:]] = stats.loc[tied[0], stats.columns[2:]].values

    rt_rows = []
    for rid in ids:
        for k in range(1, 5):  # every 15 minutes up to END - 15 min
            rt_rows.append((rid, end - timedelta(minutes=15 * k)))
    rt_rows += [(STALE, end - timedelta(hours=2)), (TIED, end - timedelta(minutes=30))]
    rt_rows += [(CHANGED, end - timedelta(minutes=45)), (LATE, end + timedelta(minutes=30))]
    n = len(rt_rows)
    realtime = pd.DataFrame(rt_rows, columns=["restaurant_id", "event_timestamp"]).assign(
        avg_prep_time_1h=rng.uniform(5, 30, n).round(3), orders_1h=rng.integers(1, 20, n)
    )
    return Groups(end=end, profile=_micros(profile), stats=_micros(stats), realtime=_micros(realtime))


def latest_as_of(frame: pd.DataFrame, moment: datetime, ttl: timedelta | None) -> pd.DataFrame:
    """The newest row per restaurant stamped at or before ``moment`` and within ``ttl`` of it."""
    rows = frame[frame["event_timestamp"] <= pd.Timestamp(moment)]
    if ttl:
        rows = rows[rows["event_timestamp"] >= pd.Timestamp(moment - ttl)]
    rows = rows.sort_values(["restaurant_id", "event_timestamp"], kind="stable")
    return rows.drop_duplicates("restaurant_id", keep="last").set_index("restaurant_id")
