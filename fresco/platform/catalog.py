"""The feature catalog as people read it: one row per registered feature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from feast import FeatureStore

from fresco.platform.policy.rules import DEPRECATED_TAG, SLA_TAG
from fresco.platform.views import feature_views, view_features


@dataclass(frozen=True)
class CatalogEntry:
    """A registered feature with the facts its consumers need."""

    feature: str  # canonical reference "view:feature"
    dtype: str
    owner: str
    freshness_sla: str
    feature_services: tuple[str, ...]
    last_materialized: datetime | None
    deprecated: bool
    description: str


def list_catalog(store: FeatureStore) -> list[CatalogEntry]:
    """Every feature of every feature view in ``store``'s registry, sorted by reference."""
    services = store.list_feature_services()
    users: dict[str, list[str]] = {}
    for service in services:
        for projection in service.feature_view_projections:
            for feature in projection.features:
                users.setdefault(f"{projection.name}:{feature.name}", []).append(service.name)
    entries = []
    for view in feature_views(store):
        intervals = view.materialization_intervals
        last = max((end for _, end in intervals), default=None)
        for feature in view_features(view):
            ref = f"{view.name}:{feature.name}"
            entries.append(
                CatalogEntry(
                    feature=ref,
                    dtype=str(feature.dtype).split(".")[-1],
                    owner=view.owner,
                    freshness_sla=view.tags.get(SLA_TAG, ""),
                    feature_services=tuple(sorted(users.get(ref, []))),
                    last_materialized=last,
                    deprecated=view.tags.get(DEPRECATED_TAG, "").lower() in {"true", "yes", "1"},
                    description=feature.description or view.description,
                )
            )
    return sorted(entries, key=lambda e: e.feature)
