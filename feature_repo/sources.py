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
EVENTS_DIR = f"{RAW_DIR}/events"  #: where the raw-data generator writes the event archives


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


def event_archive(topic: str, timestamp_field: str) -> DataSource:
    """The Parquet archive of a topic's events (``data/raw/events/<topic>.parquet``, written by
    the raw-data generator), in the event schema."""
    return FileSource(
        name=f"{topic.replace('.', '_')}_archive",
        path=f"{EVENTS_DIR}/{topic}.parquet",
        timestamp_field=timestamp_field,
        description=f"Archive of the {topic} events.",
    )
