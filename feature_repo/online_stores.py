"""Feast online stores that honour a feature view's TTL at read time.

Feast's SQLite and Cassandra online stores serve the last materialized value however old it
is, while offline point-in-time retrieval treats a value older than the view's TTL as null.
That is training/serving skew: a restaurant quiet for six hours would be served its
six-hour-old "last hour" statistics. These subclasses (named in ``feature_store*.yaml``) drop a
value whose event time is older than ``now - ttl``, so serving sees what training saw.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from feast.feature_view import FeatureView
from feast.infra.online_stores.cassandra_online_store.cassandra_online_store import (
    CassandraOnlineStore,
    CassandraOnlineStoreConfig,
)
from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig

Rows = list[tuple[datetime | None, dict | None]]


def drop_expired(rows: Rows, table: FeatureView, now: datetime | None = None) -> Rows:
    """``rows`` with every value older than ``table``'s TTL (at ``now``) replaced by nothing."""
    ttl = getattr(table, "ttl", None)
    if not ttl or ttl.total_seconds() <= 0:
        return rows
    oldest = (now or datetime.now(timezone.utc)) - ttl
    kept: Rows = []
    for event_ts, values in rows:
        if event_ts is not None:
            aware = event_ts if event_ts.tzinfo else event_ts.replace(tzinfo=timezone.utc)
            if aware < oldest:
                event_ts, values = None, None
        kept.append((event_ts, values))
    return kept


class FrescoSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    """Configuration of :class:`FrescoSqliteOnlineStore` (same keys as Feast's SQLite store)."""

    type: Literal["feature_repo.online_stores.FrescoSqliteOnlineStore"] = (  # type: ignore[assignment]
        "feature_repo.online_stores.FrescoSqliteOnlineStore"
    )


class FrescoSqliteOnlineStore(SqliteOnlineStore):
    """Feast's SQLite online store, serving nothing older than the view's TTL."""

    def online_read(self, config, table, entity_keys, requested_features=None):
        return drop_expired(super().online_read(config, table, entity_keys, requested_features), table)


class FrescoCassandraOnlineStoreConfig(CassandraOnlineStoreConfig):
    """Configuration of :class:`FrescoCassandraOnlineStore` (same keys as Feast's Cassandra store)."""

    type: Literal["feature_repo.online_stores.FrescoCassandraOnlineStore"] = (  # type: ignore[assignment]
        "feature_repo.online_stores.FrescoCassandraOnlineStore"
    )


class FrescoCassandraOnlineStore(CassandraOnlineStore):
    """Feast's Cassandra online store, serving nothing older than the view's TTL."""

    def online_read(self, config, table, entity_keys, requested_features=None):
        return drop_expired(super().online_read(config, table, entity_keys, requested_features), table)
