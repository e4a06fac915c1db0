"""The one rule for "a feature view of the catalog": batch and stream feature views alike.

Feast's ``get_feature_view`` and ``list_feature_views`` leave stream feature views out; every
part of Fresco that reads features (materialization, training, serving, the catalog listing)
means both, so it asks here.
"""

from __future__ import annotations

import copy
from typing import Any


def feature_views(store: Any) -> list[Any]:
    """Every feature view of ``store``'s catalog, stream feature views included."""
    return [*store.list_feature_views(), *store.list_stream_feature_views()]


def feature_view(store: Any, name: str) -> Any:
    """The feature view (batch or stream) called ``name``; Feast's not-found error otherwise."""
    from feast.errors import FeatureViewNotFoundException

    try:
        return store.get_feature_view(name)
    except FeatureViewNotFoundException:
        return store.get_stream_feature_view(name)


def view_features(view: Any) -> list[Any]:
    """A view's features, without its entity columns (a stream feature view read back from the
    registry lists its join keys among its features)."""
    keys = {c.name for c in view.entity_columns}
    return [f for f in view.features if f.name not in keys]


def materialized_view(view: Any) -> Any:
    """The view Feast's materialization engines load into the online store.

    A stream feature view's batch source holds its *aggregated* rows (written by the stream job
    and its backfill), so it is loaded as a plain ``FeatureView`` of the same name, features,
    entities, TTL and batch source: without ``aggregations`` (Feast's engines would aggregate
    those rows again, and its local engine refuses time windows), without ``offline`` (they
    would append the loaded rows to the offline store, where they already are), and not a
    ``StreamFeatureView`` (Feast's Spark engine ships a view to its tasks as a ``FeatureView``
    proto). Other views are returned as they are.
    """
    if not getattr(view, "aggregations", None):
        return view
    from feast import FeatureView

    loaded = FeatureView(name=view.name, source=view.batch_source, schema=view.schema, ttl=view.ttl,
                         online=view.online, offline=False, tags=view.tags, description=view.description,
                         owner=view.owner)
    loaded.entities = view.entities  # names: the registry's view has no Entity objects
    loaded.features = view_features(view)
    loaded.entity_columns = copy.copy(view.entity_columns)
    loaded.projection = copy.copy(view.projection)
    return loaded
