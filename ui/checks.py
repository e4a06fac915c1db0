"""``/api/monitoring/checks``: the verdicts ``fresco monitor check`` recorded (in the state folder's
``monitoring/checks``, read by :func:`fresco.monitoring.alerts.recorded`), the latest check first:
which rule, when, its value against the threshold, and the evidence as the command prints it."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, Query

from fresco.monitoring.alerts import BREACH, CheckResult, recorded
from fresco.ui.schemas import Checks, errors

router = APIRouter(prefix="/api/monitoring", tags=["monitoring"])

_FIELDS = [f.name for f in fields(CheckResult)]


def _cell(value: Any) -> Any:
    """A Parquet cell as Python: times as ``datetime`` (NaT as None), NaN as None, numpy scalars plain."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def verdict(row: dict[str, Any]) -> dict[str, Any]:
    """A recorded verdict as the API answers it, its ``evidence`` the line ``fresco monitor check`` printed."""
    result = CheckResult(**{name: _cell(row[name]) for name in _FIELDS})
    when = {"window_start": result.window_start, "window_end": result.window_end, "checked_at": _cell(row["checked_at"])}
    return {**{name: getattr(result, name) for name in _FIELDS},
            **{k: v.isoformat() if v is not None else None for k, v in when.items()}, "evidence": result.line()}


@router.get("/checks", summary="The verdicts fresco monitor check recorded", response_model=Checks,
            responses=errors(400))
def checks(status: Literal["breach", "ok", "insufficient", "all"] = Query(
               BREACH, description="Only verdicts of this status (default: the breaches)."),
           limit: int = Query(100, ge=1, le=1000, description="At most this many, the latest first.")) -> dict[str, Any]:
    """The recorded verdicts of alert rules and views' freshness, the latest check first."""
    table = recorded()
    if status != "all":
        table = table[table["status"] == status]
    rows = [verdict(row) for row in table.head(limit).to_dict(orient="records")]
    return {"checks": rows, "total": len(table)}
