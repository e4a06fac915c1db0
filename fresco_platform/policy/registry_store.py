"""A Feast registry store that checks the whole catalog before the registry is written."""

from __future__ import annotations

from pathlib import Path

from feast.infra.registry.registry import get_registry_store_class_from_scheme
from feast.infra.registry.registry_store import RegistryStore
from feast.protos.feast.core.Registry_pb2 import Registry as RegistryProto
from feast.repo_config import RegistryConfig

from fresco_platform.policy.rules import evaluate_catalog


def _catalog_spec(proto: RegistryProto | None) -> tuple:
    """Feature view and service specs only: what ``feast apply`` changes, not materialization."""
    if proto is None:
        return ()
    return (
        sorted(v.spec.SerializeToString(deterministic=True) for v in proto.feature_views),
        sorted(s.spec.SerializeToString(deterministic=True) for s in proto.feature_services),
    )


def read_stored_registry(registry_config: RegistryConfig, repo_path: Path | None) -> RegistryProto | None:
    """The registry as last written (not an apply in progress), or None when there is none."""
    store = get_registry_store_class_from_scheme(registry_config.path)(
        registry_config, Path(repo_path or ".")
    )
    try:
        return store.get_registry_proto()
    except FileNotFoundError:
        return None


class CatalogPolicyRegistryStore(RegistryStore):
    """Wraps the store Feast would pick for the registry path (file, s3, gs...).

    Named in ``feature_store.yaml`` as
    ``registry: {registry_store_type: fresco_platform.policy.CatalogPolicyRegistryStore}``.
    """

    def __init__(self, registry_config: RegistryConfig, repo_path: Path):
        inner_cls = get_registry_store_class_from_scheme(registry_config.path)
        self._inner = inner_cls(registry_config, repo_path)

    def get_registry_proto(self) -> RegistryProto:
        return self._inner.get_registry_proto()

    def update_registry_proto(self, registry_proto: RegistryProto) -> None:
        try:
            stored: RegistryProto | None = self._inner.get_registry_proto()
        except FileNotFoundError:
            stored = None
        report = evaluate_catalog(
            stored, registry_proto.feature_views, registry_proto.feature_services
        )
        if _catalog_spec(stored) == _catalog_spec(registry_proto):
            report.warnings.clear()  # a materialization commit: nothing new to warn about
        report.raise_or_warn()
        self._inner.update_registry_proto(registry_proto)

    def teardown(self) -> None:
        self._inner.teardown()

    def set_project_metadata(self, project: str, key: str, value: str) -> None:
        self._inner.set_project_metadata(project, key, value)

    def get_project_metadata(self, project: str, key: str):
        return self._inner.get_project_metadata(project, key)
