"""Times without a zone: one rule per kind of input, written once (README, "Times").

* **HTTP request fields** carry their zone (``Z`` or an offset): a naive time is refused, naming
  the field (the service's schema uses pydantic's ``AwareDatetime``; a program's timestamp
  request field is checked by the DSL). A request is a message from another system: guessing its
  zone would silently shift its time.
* **Configs, the command line and Python API arguments**: a naive time is UTC
  (``--end 2026-01-31``, ``data.start: 2026-01-01``): :func:`utc`.
* **Data files and stores** (Parquet, Hive tables, rows Feast returns): a naive timestamp is UTC,
  as Spark writes it: :func:`utc_timestamp` for one value, :func:`utc_column` for a column.

Everything is compared and stored as UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken as UTC (configs, the command line, API arguments)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def utc_timestamp(moment: Any) -> "pd.Timestamp":
    """``moment`` (a datetime, ``numpy.datetime64`` or pandas timestamp) as a UTC pandas
    timestamp; a naive one is taken as UTC (a data file's value)."""
    import pandas as pd

    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def utc_column(column: "pd.Series") -> "pd.Series":
    """A data column's times as UTC-aware timestamps; naive ones are taken as UTC."""
    import pandas as pd

    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(column.dtype):
        return column.dt.tz_localize("UTC")
    return pd.to_datetime(column, utc=True)
