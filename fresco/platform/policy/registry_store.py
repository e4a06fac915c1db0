"""A Feast registry store that checks the whole catalog before the registry is written.

Beside the registry it keeps the catalog's history (``<registry path>.history``, written by the
same kind of store, so also on s3 or gs): every feature ever registered with its type, its
view's sources and when it was registered (:func:`~fresco.platform.policy.rules.merged_history`), so that a feature removed
and re-added with another meaning is refused like a changed one. The history is written before
the registry: if the registry write then fails, the history only knows more.

Until a registry holds a catalog object, it is not written: Feast writes an empty registry when
a ``FeatureStore`` first opens a missing one, so a refused first ``feast apply`` would leave
one behind. This store keeps it in memory instead; the first accepted apply writes it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from feast.infra.registry.registry import get_registry_store_class_from_scheme
from feast.infra.registry.registry_store import RegistryStore
from feast.protos.feast.core.FeatureView_pb2 import FeatureView as FeatureViewProto
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.repo_config import RegistryConfig

from fresco.platform.policy.rules import catalog_views, evaluate_catalog, merged_history


def _catalog_spec(proto: RegistryProto | None) -> tuple:
    """Feature view and service specs only: what ``feast apply`` changes, not materialization."""
    if proto is None:
        return ()
    return (
        sorted(v.spec.SerializeToString(deterministic=True) for v in catalog_views(proto)),
        sorted(s.spec.SerializeToString(deterministic=True) for s in proto.feature_services),
    )


HISTORY_SUFFIX = ".history"


def _store_at(registry_config: RegistryConfig, repo_path: Path | None, suffix: str = "") -> RegistryStore:
    """Feast's store for the registry path (+ ``suffix``): file, s3, gs... by its scheme."""
    path = str(registry_config.path) + suffix
    config = registry_config.model_copy(update={"path": path}) if suffix else registry_config
    return get_registry_store_class_from_scheme(path)(config, Path(repo_path or "."))


def _read(store: RegistryStore) -> RegistryProto | None:
    try:
        return store.get_registry_proto()
    except FileNotFoundError:
        return None


def read_stored_registry(registry_config: RegistryConfig, repo_path: Path | None) -> RegistryProto | None:
    """The registry as last written (not an apply in progress), or None when there is none."""
    return _read(_store_at(registry_config, repo_path))


def read_history(registry_config: RegistryConfig, repo_path: Path | None) -> list[FeatureViewProto]:
    """The catalog's history kept beside the registry (empty before the first accepted apply)."""
    history = _read(_store_at(registry_config, repo_path, HISTORY_SUFFIX))
    return list(history.feature_views) if history is not None else []


def _holds_catalog(proto: RegistryProto) -> bool:
    return any(len(getattr(proto, name)) for name in (
        "entities", "feature_views", "feature_services", "data_sources", "on_demand_feature_views",
        "stream_feature_views", "saved_datasets", "validation_references", "permissions"))


class CatalogPolicyRegistryStore(RegistryStore):
    """Wraps the store Feast would pick for the registry path (file, s3, gs...).

    Named in ``feature_store.yaml`` as
    ``registry: {registry_store_type: fresco.platform.policy.CatalogPolicyRegistryStore}``.
    """

    def __init__(self, registry_config: RegistryConfig, repo_path: Path):
        self._inner = _store_at(registry_config, repo_path)
        self._history = _store_at(registry_config, repo_path, HISTORY_SUFFIX)
        self._unwritten: RegistryProto | None = None  # an empty registry not yet written

    def get_registry_proto(self) -> RegistryProto:
        try:
            return self._inner.get_registry_proto()
        except FileNotFoundError:
            if self._unwritten is None:
                raise
            return self._unwritten

    def update_registry_proto(self, registry_proto: RegistryProto) -> None:
        stored = _read(self._inner)
        if stored is None and not _holds_catalog(registry_proto):
            self._unwritten = RegistryProto.FromString(registry_proto.SerializeToString())
            return
        history = _read(self._history)
        history_views = list(history.feature_views) if history is not None else []
        if history is None and stored is not None:  # a registry from before the history
            history_views = merged_history([], catalog_views(stored))
        report = evaluate_catalog(
            stored, catalog_views(registry_proto), registry_proto.feature_services, history=history_views
        )
        if _catalog_spec(stored) == _catalog_spec(registry_proto):
            report.warnings.clear()  # a materialization commit: nothing new to warn about
        report.raise_or_warn()
        updated = RegistryProto()
        updated.feature_views.extend(merged_history(history_views, catalog_views(registry_proto),
                                                    datetime.now(timezone.utc)))
        if history is None or updated.SerializeToString(deterministic=True) != history.SerializeToString(
                deterministic=True):
            self._history.update_registry_proto(updated)
        self._inner.update_registry_proto(registry_proto)
        self._unwritten = None

    def teardown(self) -> None:
        self._inner.teardown()
        if _read(self._history) is not None:
            self._history.teardown()

    def set_project_metadata(self, project: str, key: str, value: str) -> None:
        self._inner.set_project_metadata(project, key, value)

    def get_project_metadata(self, project: str, key: str):
        return self._inner.get_project_metadata(project, key)
