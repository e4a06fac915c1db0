"""A Feast provider that applies the catalog policy before any infrastructure changes, and
materializes stream feature views from their aggregated rows
(:func:`fresco.platform.views.materialized_view`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from feast.entity import Entity
from feast.feature_view import FeatureView
from feast.infra.passthrough_provider import PassthroughProvider
from feast.repo_config import RepoConfig

from fresco.platform.policy.registry_store import read_history, read_stored_registry
from fresco.platform.policy.rules import evaluate_catalog
from fresco.platform.views import materialized_view


class CatalogPolicyProvider(PassthroughProvider):
    """Feast's local/passthrough provider, refusing views that break the catalog policy and
    loading a stream feature view's aggregated rows as they are.

    Named in ``feature_store.yaml`` as ``provider: fresco.platform.policy.CatalogPolicyProvider``.
    """

    def __init__(self, config: RepoConfig):
        super().__init__(config)
        self._config = config

    def update_infra(
        self,
        project: str,
        tables_to_delete: Sequence[FeatureView],
        tables_to_keep: Sequence[FeatureView],
        entities_to_delete: Sequence[Entity],
        entities_to_keep: Sequence[Entity],
        partial: bool,
    ):
        views = [t.to_proto() for t in tables_to_keep if isinstance(t, FeatureView)]
        registry, repo_path = self._config.registry, self._config.repo_path
        report = evaluate_catalog(read_stored_registry(registry, repo_path), views, project=project,
                                  history=read_history(registry, repo_path))
        report.warnings.clear()  # warnings come once, from the registry store
        report.raise_or_warn()
        super().update_infra(
            project, tables_to_delete, tables_to_keep, entities_to_delete, entities_to_keep, partial
        )

    def materialize_single_feature_view(
        self,
        config: RepoConfig,
        feature_view: Any,
        start_date: datetime,
        end_date: datetime,
        registry: Any,
        project: str,
        tqdm_builder: Callable[[int], Any],
        disable_event_timestamp: bool = False,
    ) -> None:
        super().materialize_single_feature_view(
            config, materialized_view(feature_view), start_date, end_date, registry, project,
            tqdm_builder, disable_event_timestamp
        )
