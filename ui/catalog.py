"""``/api/catalog``: the feature catalog as ``fresco features`` reads it
(:func:`fresco.platform.catalog.list_catalog`), each feature with its view's freshness
(:func:`~fresco.platform.catalog.views_freshness`: last written, within the SLA) and the
registered models trained on it (:func:`fresco.training.feature_usage.feature_uses`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Query

from fresco.platform.catalog import CatalogEntry, ViewFreshness, list_catalog, source_name, views_freshness
from fresco.platform.views import feature_views
from fresco.training.feature_usage import feature_uses
from fresco.ui.errors import UnknownFeature, shorten
from fresco.ui.schemas import Feature, FeatureList, View, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api/catalog", tags=["catalog"])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _seconds(span: Any) -> float | None:
    return span.total_seconds() if span else None


def model_users(records: Iterable[Any]) -> dict[str, list[dict[str, str]]]:
    """Feature reference -> the models whose dataset retrieved it (UUID and name)."""
    return {ref: [{"uuid": use.uuid, "name": use.name} for use in uses]
            for ref, uses in feature_uses(records).items()}


def freshness_facts(fresh: ViewFreshness, at: datetime) -> dict[str, Any]:
    """A view's SLA and last write, and whether that is within the SLA at ``at``."""
    return {"freshness_sla_seconds": _seconds(fresh.freshness_sla), "last_written": _iso(fresh.last_written),
            "written_by": fresh.written_by or None, "within_sla": fresh.within_sla(at)}


def feature_row(entry: CatalogEntry, fresh: ViewFreshness, models: list[dict[str, str]],
                at: datetime) -> dict[str, Any]:
    """One feature as the API answers it."""
    return {"ref": entry.feature, "view": entry.view, "name": entry.feature.split(":", 1)[1],
            "type": entry.dtype, "owner": entry.owner, "description": entry.description,
            "ttl_seconds": _seconds(entry.ttl), "freshness_sla": entry.freshness_sla or None,
            **freshness_facts(fresh, at), "source": entry.source, "deprecated": entry.deprecated,
            "tags": entry.tags, "feature_services": list(entry.feature_services), "models": models}


def feature_rows(src: Sources) -> list[dict[str, Any]]:
    """Every feature of the catalog, sorted by reference."""
    store = src.store()
    freshness = {v.view: v for v in views_freshness(store)}
    users = model_users(src.models.list())
    at = datetime.now(timezone.utc)
    return [feature_row(e, freshness[e.view], users.get(e.feature, []), at) for e in list_catalog(store)]


def _has_tag(tags: dict[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in tags and (not sep or tags[key] == value)


def matches(row: dict[str, Any], q: str | None, owner: str | None, tag: str | None) -> bool:
    """Whether ``row`` is found by ``q`` (in its reference or description, any case), ``owner``
    (the whole owner, any case) and ``tag`` (a view tag ``key`` or ``key=value``)."""
    text = f"{row['ref']} {row['description']}".lower()
    return ((not q or q.lower() in text) and (not owner or row["owner"].lower() == owner.lower())
            and (not tag or _has_tag(row["tags"], tag)))


@router.get("/features", summary="Search the features", response_model=FeatureList, responses=errors(400))
def search_features(q: str | None = Query(None, description="Part of a feature's name, view or description."),
                    owner: str | None = Query(None, description="The owner of the feature's view."),
                    tag: str | None = Query(None, description="A tag of the feature's view: key or key=value."),
                    src: Sources = Depends(sources)) -> dict[str, Any]:
    """The catalog's features (all of them, or those the filters find), with their freshness
    and the feature services and models that use them."""
    return {"features": [row for row in feature_rows(src) if matches(row, q, owner, tag)]}


def find_view(store: Any, view: str) -> Any:
    """The catalog's feature view ``view`` (batch or stream); 404 naming the views otherwise."""
    found = {v.name: v for v in feature_views(store)}
    if view not in found:
        raise UnknownFeature(f"no feature view {shorten(view)!r} in the catalog; it has {', '.join(sorted(found))}",
                             field="view")
    return found[view]


@router.get("/views/{view}", summary="One feature view", response_model=View, responses=errors(404))
def get_view(view: str, src: Sources = Depends(sources)) -> dict[str, Any]:
    """A feature view: owner, description, entities, TTL, source, freshness and its features."""
    store = src.store()
    spec = find_view(store, view)
    (fresh,) = (v for v in views_freshness(store) if v.view == view)
    rows = [row for row in feature_rows(src) if row["view"] == view]
    return {"view": view, "owner": spec.owner, "description": spec.description,
            "entities": list(spec.entities), "ttl_seconds": _seconds(spec.ttl), "source": source_name(spec),
            **freshness_facts(fresh, datetime.now(timezone.utc)), "tags": dict(spec.tags),
            "deprecated": any(row["deprecated"] for row in rows), "features": rows}


@router.get("/features/{view}/{feature}", summary="One feature", response_model=Feature,
            responses=errors(404))
def get_feature(view: str, feature: str, src: Sources = Depends(sources)) -> dict[str, Any]:
    """A feature (``view:feature``) with its facts, freshness and users."""
    ref = f"{view}:{feature}"
    for row in feature_rows(src):
        if row["ref"] == ref:
            return row
    raise UnknownFeature(f"no feature {shorten(ref)!r} in the catalog", field="feature")
