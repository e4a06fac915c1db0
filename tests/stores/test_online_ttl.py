"""Online reads honour each view's TTL, as offline point-in-time retrieval does.

Values are written straight through the online store's write API (bypassing the
materialization window) so a stale value really sits in the store when it is read.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from feast import FeatureStore

from fresco.platform.online_stores import online_store_of
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value

from fresco.platform.views import feature_view
from tests.conftest import run_feast


def _write(store: FeatureStore, restaurant_id: int, age: timedelta, prep: float) -> None:
    view = feature_view(store, "restaurant_realtime")
    at = datetime.now(timezone.utc) - age
    key = EntityKey(join_keys=["restaurant_id"], entity_values=[Value(int64_val=restaurant_id)])
    values = {"avg_prep_time_1h": Value(double_val=prep), "orders_1h": Value(int64_val=3)}
    store._get_provider().online_write_batch(store.config, view, [(key, values, at, at)], None)


def _read(store: FeatureStore, ids: list[int]) -> list:
    return store.get_online_features(
        features=["restaurant_realtime:avg_prep_time_1h", "restaurant_profile:cuisine"],
        entity_rows=[{"restaurant_id": i} for i in ids],
    ).to_dict()["avg_prep_time_1h"]


FRESH, STALE, NEVER = 960_001, 960_002, 960_003  # no other test's restaurants (a shared keyspace)


def _check(store: FeatureStore) -> None:
    _write(store, FRESH, timedelta(minutes=10), 12.5)  # fresh: within the 1-hour TTL
    _write(store, STALE, timedelta(hours=6), 40.0)  # stale: six hours old
    assert _read(store, [FRESH, STALE, NEVER]) == [12.5, None, None]


def test_sqlite_default_serves_nothing_older_than_the_ttl(feast_repo: Path) -> None:
    result = run_feast(feast_repo, "apply")
    assert result.returncode == 0, result.stdout + result.stderr
    store = FeatureStore(repo_path=str(feast_repo))
    assert type(online_store_of(store)).__name__ == "FrescoSqliteOnlineStore"
    _check(store)


def test_cassandra_serves_nothing_older_than_the_ttl(production_store: FeatureStore) -> None:
    # guards the one use of Feast's private FeatureStore._get_provider (online_store_of)
    assert type(online_store_of(production_store)).__name__ == "FrescoCassandraOnlineStore"
    _check(production_store)
