"""IANA time zones for the local-time functions: which names exist, and UTC offsets.

The rules come from Python's ``zoneinfo`` (the system tz database, else the ``tzdata``
package); the Spark back end uses the JVM's copy of the same database. Local time is computed
as "wall-clock microseconds": the instant plus the zone's UTC offset at that instant, on which
the UTC formulas of the time functions then run unchanged.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np

from .library import MICROS_PER_SECOND

# Names zoneinfo lists that are not zones a program may name: the machine's own zone
# (different on every machine), the placeholder "Factory", and a tzcode helper file.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Offsets are looked up at instants clamped to two days inside years 1..9999, where datetime
# can add any offset; no zone has a transition within those two days of either end.
_FIRST_SECOND = -62135596800 + 2 * 86400  # 0001-01-03T00:00:00Z
_LAST_SECOND = 253402300799 - 2 * 86400  # 9999-12-29T23:59:59Z


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """Every zone name a program may use (``"UTC"``, ``"Europe/Paris"``, ...)."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


@lru_cache(maxsize=None)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def offset_seconds(second: int, zone: str) -> int:
    """The UTC offset of ``zone`` at the instant ``second`` (seconds since the epoch, UTC).

    Offsets are whole seconds and change only at whole seconds, so the second determines it.
    """
    second = min(max(second, _FIRST_SECOND), _LAST_SECOND)
    offset = (_EPOCH + timedelta(seconds=second)).astimezone(_zone(zone)).utcoffset()
    assert offset is not None
    return offset // timedelta(seconds=1)


def local_micros(us: int, zone: str) -> int:
    """Wall-clock microseconds of the instant ``us`` in ``zone`` (as if that wall time were UTC)."""
    return us + offset_seconds(us // MICROS_PER_SECOND, zone) * MICROS_PER_SECOND


def local_micros_array(us: np.ndarray, zone: str) -> np.ndarray:
    """:func:`local_micros` over an int64 array (offsets looked up once per distinct second)."""
    seconds, index = np.unique(us // MICROS_PER_SECOND, return_inverse=True)
    offsets = np.fromiter((offset_seconds(int(s), zone) for s in seconds), dtype=np.int64,
                          count=len(seconds))
    return us + offsets[index.reshape(-1)] * MICROS_PER_SECOND
