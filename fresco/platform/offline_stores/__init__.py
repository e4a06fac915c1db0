"""Fresco's Feast offline stores, named in a ``feature_store.yaml`` by class path.

``type: fresco.platform.offline_stores.FrescoDuckDBOfflineStore``: Feast's file store (the same
``FileSource`` Parquet data), with point-in-time retrieval and materialization reads done as
as-of joins in DuckDB (:mod:`fresco.platform.offline_stores.duckdb_store`). Its entity rows may
also be a DuckDB query (``parquet_entity_query``: Parquet files), whose answer ``persist``
writes as Parquet from DuckDB, rows never in Python (how Spark jobs use it). ``sample_source``:
a bounded sample of a local Parquet source's columns (a feature's distribution in ``fresco ui``).
"""

from fresco.platform.offline_stores.duckdb_store import (
    FrescoDuckDBOfflineStore,
    FrescoDuckDBOfflineStoreConfig,
    FrescoDuckDBRetrievalJob,
    OfflineStoreError,
    parquet_entity_query,
    sample_source,
)

__all__ = [
    "FrescoDuckDBOfflineStore",
    "FrescoDuckDBOfflineStoreConfig",
    "FrescoDuckDBRetrievalJob",
    "OfflineStoreError",
    "parquet_entity_query",
    "sample_source",
]
