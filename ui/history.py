"""``/api/catalog/views/{view}/history``: a feature view's history in the catalog, as the registry
store keeps it beside the registry (:func:`fresco.platform.catalog.view_history`): when the view was
created and last changed (its registry record), and when each feature was first registered and
from which source, those removed since included."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends

from fresco.platform.catalog import HistoryEntry, view_history
from fresco.platform.views import view_features
from fresco.ui.catalog import find_view
from fresco.ui.schemas import ViewHistory, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api/catalog", tags=["catalog"])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def changes(entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    """The registrations, oldest first: when (null: before the history kept times), from which
    source, the features first registered then."""
    found: dict[tuple[str | None, str], list[str]] = {}
    for entry in entries:
        for feature in entry.features:
            found.setdefault((_iso(feature.registered_at), entry.source), []).append(feature.name)
    ordered = sorted(found.items(), key=lambda item: (item[0][0] is not None, item[0][0] or ""))
    return [{"at": at, "source": source, "added": names} for (at, source), names in ordered]


@router.get("/views/{view}/history", summary="A feature view's history in the catalog",
            response_model=ViewHistory, responses=errors(404))
def history(view: str, src: Sources = Depends(sources)) -> dict[str, Any]:
    """When ``view`` was created and last changed, and each registration: its time, source and the
    features first registered; every feature ever registered with its type, and whether the view
    still has it."""
    store = src.store()
    spec = find_view(store, view)
    current = {f.name for f in view_features(spec)}
    entries = view_history(store, view)
    features = [{"name": f.name, "type": f.dtype, "registered_at": _iso(f.registered_at), "source": e.source,
                 "current": f.name in current} for e in entries for f in e.features]
    return {"view": view, "created_at": _iso(spec.created_timestamp), "last_updated_at": _iso(spec.last_updated_timestamp),
            "changes": changes(entries), "features": features,
            "removed": [f["name"] for f in features if not f["current"]]}
