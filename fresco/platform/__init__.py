"""Fresco's platform layer over Feast, independent of any one feature repository.

- Feast plug-ins named in a ``feature_store.yaml``: the catalog policy
  (``fresco.platform.policy.CatalogPolicyProvider`` and ``...CatalogPolicyRegistryStore``) and
  the online stores (``fresco.platform.online_stores.FrescoSqliteOnlineStore`` and
  ``...FrescoCassandraOnlineStore``);
- finding the project: :func:`resolve_repo` (``--repo``, ``$FRESCO_FEATURE_REPO``, the current
  directory) and its state folder (:func:`state_dir`: ``$FRESCO_HOME`` or ``<repo>/.fresco``);
- using a repository: :func:`open_store`, :func:`apply_catalog`, :func:`list_catalog`,
  :func:`materialize_incremental`, :func:`init_project` (``fresco init``);
- the Spark session every job shares (:mod:`fresco.platform.spark`) and the local services
  (:mod:`fresco.platform.services`: a real Cassandra node).

Names are imported lazily: importing this package costs nothing (the CLI starts fast).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RepoNotFound": "repo",
    "find_repo": "repo",
    "resolve_repo": "repo",
    "resolve_yaml": "repo",
    "state_dir": "state",
    "cache_dir": "state",
    "ApplyError": "store",
    "apply_catalog": "store",
    "open_store": "store",
    "CatalogEntry": "catalog",
    "list_catalog": "catalog",
    "MaterializationError": "materialization",
    "materialize_incremental": "materialization",
    "open_materialization_store": "materialization",
    "init_project": "scaffold",
    "InitError": "scaffold",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
