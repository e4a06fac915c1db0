"""``/api/monitoring``: accuracy over time of the served models, per model, tag, experiment and
arm: the prediction log (``$FRESCO_PREDICTION_LOG_DIR``, else ``<state folder>/predictions``)
joined with the outcome log by prediction id, each window's prediction and outcome counts and
metrics, computed by :func:`fresco.monitoring.accuracy.accuracy_from_logs` as ``fresco monitor
metrics`` computes them."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from fresco.monitoring.accuracy import GROUPS
from fresco.ui.errors import BadRequest
from fresco.ui.models import find_record
from fresco.ui.schemas import Accuracy, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api", tags=["monitoring"])

WINDOWS = ("15min", "1h", "6h", "1D")


def _plain(value: Any) -> Any:
    """A table cell as JSON: times as ISO text, NaN as null."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The predictions and outcomes of ``rows`` (one per window and group) summed per model / tag /
    experiment / arm, with the join rate of the sums."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in GROUPS)
        total = sums.setdefault(key, {**{k: row[k] for k in (*GROUPS, "model")}, "predictions": 0, "outcomes": 0})
        total["predictions"] += row["predictions"]
        total["outcomes"] += row["outcomes"]
    return [{**t, "join_rate": t["outcomes"] / t["predictions"]} for t in sums.values()]


@router.get("/monitoring", summary="Accuracy over time from the prediction and outcome logs",
            response_model=Accuracy, responses=errors(400, 404))
def accuracy(model: str | None = Query(None, description="Only this model (UUID, prefix or tag)."),
             window: str = Query("1h", description=f"The time window: one of {', '.join(WINDOWS)}."),
             since: datetime | None = Query(None, description="Predictions from this time (with its zone)."),
             src: Sources = Depends(sources)) -> dict[str, Any]:
    """One row per window and model / tag / experiment / arm: predictions, outcomes, join rate and
    the metrics of the model's task; the join's counts (outcomes matched, late, unmatched).
    No logged prediction is an empty table with a message saying so."""
    from fresco.monitoring.accuracy import accuracy_from_logs

    if window not in WINDOWS:
        raise BadRequest(f"window must be one of {', '.join(WINDOWS)}, got {window!r}", field="window")
    if since is not None and since.tzinfo is None:
        raise BadRequest("since needs its zone, e.g. 2026-01-31T00:00:00+00:00", field="since")
    uuid = find_record(src, model, "model").uuid if model else None
    try:
        joined, table = accuracy_from_logs(lambda u: src.models.get(u).task, since=since, model=uuid, window=window)
    except ValueError as err:
        if "no logged predictions" not in str(err):
            raise BadRequest(str(err), field="outcomes") from None
        return {"window": window, "rows": [], "totals": [], "counts": None, "message": str(err)}
    names = {r.uuid: r.name for r in src.models.list()}
    rows = [{**{k: _plain(v) for k, v in row.items()}, "model": names.get(row["model_uuid"])}
            for row in table.to_dict(orient="records")]
    return {"window": window, "rows": rows, "totals": totals(rows), "counts": joined.counts(), "message": None}
