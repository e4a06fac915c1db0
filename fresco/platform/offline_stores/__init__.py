"""Fresco's Feast offline stores, named in a ``feature_store.yaml`` by class path.

``type: fresco.platform.offline_stores.FrescoDuckDBOfflineStore``: Feast's file store (the same
``FileSource`` Parquet data), with point-in-time retrieval and materialization reads done as
as-of joins in DuckDB (:mod:`fresco.platform.offline_stores.duckdb_store`).
"""

from fresco.platform.offline_stores.duckdb_store import (
    FrescoDuckDBOfflineStore,
    FrescoDuckDBOfflineStoreConfig,
    FrescoDuckDBRetrievalJob,
    OfflineStoreError,
)

__all__ = [
    "FrescoDuckDBOfflineStore",
    "FrescoDuckDBOfflineStoreConfig",
    "FrescoDuckDBRetrievalJob",
    "OfflineStoreError",
]
