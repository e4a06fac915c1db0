"""The feature catalog as people read it: one row per registered feature."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from feast import FeatureStore

from fresco.platform.policy.rules import DEPRECATED_TAG, SLA_TAG, parse_duration
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
    view: str = ""
    ttl: timedelta | None = None  #: None: the view's values never expire
    source: str = ""  #: the view's data source (a stream view's stream source)
    tags: dict[str, str] = field(default_factory=dict)  #: the view's tags


def source_name(view: Any) -> str:
    """The name of ``view``'s data source: a stream view's stream source, else its batch source."""
    source = getattr(view, "stream_source", None) or view.batch_source
    return source.name if source is not None else ""


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
        last = max((end for _, end in view.materialization_intervals), default=None)
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
                    view=view.name,
                    ttl=view.ttl or None,
                    source=source_name(view),
                    tags=dict(view.tags),
                )
            )
    return sorted(entries, key=lambda e: e.feature)


@dataclass(frozen=True)
class ViewFreshness:
    """When a feature view was last written, against its freshness SLA."""

    view: str
    freshness_sla: timedelta | None  #: None: the view declares none (or not a duration)
    last_written: datetime | None  #: None: never materialized nor streamed
    written_by: str  #: "materialization", "stream job" or "" (never)

    def within_sla(self, at: datetime) -> bool | None:
        """Whether the last write is at most the SLA old at ``at`` (False: never written; None: no SLA)."""
        if self.freshness_sla is None:
            return None
        return self.last_written is not None and at - self.last_written <= self.freshness_sla


def last_written(view: Any) -> tuple[datetime | None, str]:
    """**The** rule for when a view's online values were last written: the end of its latest
    materialization, or its stream job's last micro-batch (``status.json``), whichever is later."""
    from fresco.platform.times import utc

    candidates: list[tuple[datetime, str]] = [
        (utc(end), "materialization") for _, end in view.materialization_intervals]
    if getattr(view, "aggregations", None):  # a stream feature view: its job writes it too
        from fresco.platform.streaming.job import StreamStatus, stream_home

        status = StreamStatus.read(stream_home(view.name) / "status.json", view.name, "")
        if status.last_batch_at:
            candidates.append((utc(datetime.fromisoformat(status.last_batch_at)), "stream job"))
    return max(candidates, default=(None, ""))


def views_freshness(store: FeatureStore) -> list[ViewFreshness]:
    """Every feature view of ``store``'s catalog with its SLA and last write, sorted by name."""
    out = []
    for view in feature_views(store):
        try:
            sla = parse_duration(view.tags.get(SLA_TAG, ""))
        except ValueError:
            sla = None
        when, by = last_written(view)
        out.append(ViewFreshness(view.name, sla, when, by))
    return sorted(out, key=lambda v: v.view)


@dataclass(frozen=True)
class HistoryFeature:
    """A feature as the catalog's history first registered it."""

    name: str
    dtype: str
    registered_at: datetime | None  #: None: registered before the history kept times


@dataclass(frozen=True)
class HistoryEntry:
    """The features first registered in a view while it read one source (a new source is a new entry)."""

    source: str  #: the batch source as a person reads it (kind, location, timestamp field)
    stream_source: str | None
    features: tuple[HistoryFeature, ...]


def view_history(store: FeatureStore, view: str) -> list[HistoryEntry]:
    """``view``'s entries in the catalog's history (``<registry>.history``, kept by the registry
    store: :func:`fresco.platform.policy.registry_store.read_history`), in the order registered;
    every feature ever registered in it, those removed since included."""
    from feast.field import Field

    from fresco.platform.policy.registry_store import read_history
    from fresco.platform.policy.rules import REGISTERED_AT_TAG, describe_source

    entries = []
    for proto in read_history(store.config.registry, store.config.repo_path):
        if (proto.spec.project, proto.spec.name) != (store.project, view):
            continue
        features = tuple(
            HistoryFeature(f.name, str(Field.from_proto(f).dtype).split(".")[-1],
                           datetime.fromisoformat(f.tags[REGISTERED_AT_TAG]) if REGISTERED_AT_TAG in f.tags else None)
            for f in proto.spec.features)
        stream = proto.spec.stream_source
        entries.append(HistoryEntry(describe_source(proto.spec.batch_source),
                                    describe_source(stream) if stream.ByteSize() else None, features))
    return entries
