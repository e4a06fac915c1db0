"""Fresco's Feast feature repository: definitions, catalog policy and feature-group pipelines.

Public surface used by the CLI and the other packages.
"""

from feature_repo.catalog import CatalogEntry, list_catalog
from feature_repo.environment import DEFAULT_YAML, PRODUCTION_YAML, REPO_DIR
from feature_repo.store import apply_catalog, materialize, open_store

__all__ = [
    "DEFAULT_YAML",
    "PRODUCTION_YAML",
    "REPO_DIR",
    "CatalogEntry",
    "apply_catalog",
    "list_catalog",
    "materialize",
    "open_store",
]
