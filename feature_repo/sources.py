"""Batch sources of the feature groups, matched to the active offline store.

The embedded default reads the Parquet datasets the feature-group jobs write under
``data/features/``; production reads the Hive tables the same jobs write (database
``$FRESCO_HIVE_DATABASE``, default ``fresco``).
"""

from __future__ import annotations

import os

from feast import FileSource
from feast.data_source import DataSource

from fresco.platform.environment import offline_store_type

FEATURES_DIR = "data/features"
RAW_DIR = "data/raw"


def hive_database() -> str:
    """The Hive database holding the feature-group tables."""
    return os.environ.get("FRESCO_HIVE_DATABASE", "fresco")


def batch_source(group: str, description: str = "") -> DataSource:
    """The offline source of feature group ``group`` for the active offline store."""
    if offline_store_type() == "spark":
        from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import (
            SparkSource,
        )

        return SparkSource(
            name=f"{group}_source",
            table=f"{hive_database()}.{group}",
            timestamp_field="event_timestamp",
            description=description,
        )
    return FileSource(
        name=f"{group}_source",
        path=f"{FEATURES_DIR}/{group}",
        timestamp_field="event_timestamp",
        description=description,
    )
