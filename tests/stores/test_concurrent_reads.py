"""Fresco's Cassandra store reads all feature views of a request at once; the answer must be
exactly what Feast's own view-after-view path (``concurrent_reads = False``) gives.

Runs on the real node, in the private keyspace materialized from the hand-made groups
(``tests/stores/data.py``), plus rows written here through the store's write API for entities no
other test reads: fresh and expired values in every view, keys known to one view only, unknown
keys and repeated keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from feast import FeatureStore
from feast.online_response import OnlineResponse
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value

from fresco.platform.online_stores import FrescoCassandraOnlineStore
from fresco.platform.views import feature_view
from tests.stores.data import CHANGED, LATE, STALE, TIED, UNKNOWN, Groups

STATS = [
    "restaurant_stats_7d:avg_prep_time_7d", "restaurant_stats_7d:avg_delivery_time_7d",
    "restaurant_stats_7d:orders_per_hour_7d", "restaurant_stats_7d:avg_items_7d",
    "restaurant_stats_7d:order_count_7d",
]
PROFILE = [
    "restaurant_profile:lat", "restaurant_profile:lon", "restaurant_profile:cuisine",
    "restaurant_profile:kitchen_capacity",
]
REALTIME = ["restaurant_realtime:avg_prep_time_1h", "restaurant_realtime:orders_1h"]
MODEL = [  # the example program's eleven features, in its order (views interleaved)
    "restaurant_stats_7d:avg_prep_time_7d", "restaurant_realtime:avg_prep_time_1h",
    "restaurant_profile:lat", "restaurant_profile:lon", "restaurant_profile:cuisine",
    "restaurant_stats_7d:orders_per_hour_7d", "restaurant_stats_7d:avg_items_7d",
    "restaurant_stats_7d:avg_delivery_time_7d", "restaurant_profile:kitchen_capacity",
    "restaurant_realtime:orders_1h", "restaurant_stats_7d:order_count_7d",
]

FRESH, EXPIRED, PROFILE_ONLY, REALTIME_ONLY = 950_001, 950_002, 950_003, 950_004


def _write(store: FeatureStore, view: str, restaurant_id: int, age: timedelta, values: dict) -> None:
    at = datetime.now(timezone.utc) - age
    key = EntityKey(join_keys=["restaurant_id"], entity_values=[Value(int64_val=restaurant_id)])
    store._get_provider().online_write_batch(
        store.config, feature_view(store, view), [(key, values, at, at)], None
    )


def _stats(x: float) -> dict[str, Value]:
    return {"avg_prep_time_7d": Value(double_val=x), "avg_delivery_time_7d": Value(double_val=x + 1),
            "orders_per_hour_7d": Value(double_val=x / 10), "avg_items_7d": Value(double_val=2.5),
            "order_count_7d": Value(int64_val=int(x))}


def _profile(x: float) -> dict[str, Value]:
    return {"lat": Value(double_val=37.0 + x / 100), "lon": Value(double_val=-122.0 - x / 100),
            "cuisine": Value(string_val="thai"), "kitchen_capacity": Value(int64_val=4)}


def _realtime(x: float) -> dict[str, Value]:
    return {"avg_prep_time_1h": Value(double_val=x), "orders_1h": Value(int64_val=3)}


@pytest.fixture(scope="module")
def store(materialized: FeatureStore) -> Iterator[FeatureStore]:
    """The materialized store plus hand-written rows; its online store reading concurrently."""
    online = materialized._get_provider().online_store
    assert isinstance(online, FrescoCassandraOnlineStore)
    minutes, hours, days = timedelta(minutes=10), timedelta(hours=6), timedelta(days=3)
    _write(materialized, "restaurant_stats_7d", FRESH, minutes, _stats(20.0))
    _write(materialized, "restaurant_profile", FRESH, days * 100, _profile(1.0))  # TTL 0: kept
    _write(materialized, "restaurant_realtime", FRESH, minutes, _realtime(12.5))
    _write(materialized, "restaurant_stats_7d", EXPIRED, days, _stats(30.0))  # TTL 2 days
    _write(materialized, "restaurant_profile", EXPIRED, days, _profile(2.0))
    _write(materialized, "restaurant_realtime", EXPIRED, hours, _realtime(40.0))  # TTL 1 hour
    _write(materialized, "restaurant_profile", PROFILE_ONLY, days, _profile(3.0))
    _write(materialized, "restaurant_realtime", REALTIME_ONLY, minutes, _realtime(7.0))
    online.concurrent_reads = True
    yield materialized
    online.concurrent_reads = True


def _read(store: FeatureStore, features: list[str], ids: list[int], *, concurrent: bool,
          full_feature_names: bool = True) -> OnlineResponse:
    online = store._get_provider().online_store
    online.concurrent_reads = concurrent
    try:
        return store.get_online_features(
            features=features, entity_rows=[{"restaurant_id": i} for i in ids],
            full_feature_names=full_feature_names,
        )
    finally:
        online.concurrent_reads = True


def _ids(groups: Groups) -> list[int]:
    known = sorted(set(groups.stats["restaurant_id"]) | set(groups.profile["restaurant_id"]))
    special = [FRESH, EXPIRED, PROFILE_ONLY, REALTIME_ONLY, STALE, TIED, CHANGED, LATE, UNKNOWN, 0]
    # repeated keys, special ones between ordinary ones, order not sorted
    return special[:5] + known[::-1] + special[5:] + [FRESH, known[0], UNKNOWN, FRESH]


@pytest.mark.parametrize("features", [MODEL, STATS + PROFILE + REALTIME, REALTIME, PROFILE[:1]],
                         ids=["model", "all", "realtime", "one"])
def test_concurrent_read_is_feasts_sequential_read(
    store: FeatureStore, groups: Groups, features: list[str]
) -> None:
    ids = _ids(groups)
    fast = _read(store, features, ids, concurrent=True)
    plain = _read(store, features, ids, concurrent=False)
    # the whole response: values, statuses (PRESENT / NOT_FOUND), event timestamps, names
    assert fast.proto == plain.proto
    assert fast.to_dict() == plain.to_dict()
    assert len(fast.to_dict()["restaurant_id"]) == len(ids)


def test_concurrent_read_serves_fresh_and_drops_expired_and_missing(store: FeatureStore) -> None:
    ids = [FRESH, EXPIRED, PROFILE_ONLY, REALTIME_ONLY, UNKNOWN, FRESH]
    for concurrent in (True, False):
        got = _read(store, MODEL, ids, concurrent=concurrent).to_dict()
        assert got["restaurant_realtime__avg_prep_time_1h"] == [12.5, None, None, 7.0, None, 12.5]
        assert got["restaurant_stats_7d__avg_prep_time_7d"] == [20.0, None, None, None, None, 20.0]
        assert got["restaurant_stats_7d__order_count_7d"] == [20, None, None, None, None, 20]
        assert got["restaurant_profile__lat"] == [37.01, 37.02, 37.03, None, None, 37.01]
        assert got["restaurant_profile__cuisine"] == ["thai", "thai", "thai", None, None, "thai"]


def test_concurrent_read_with_short_feature_names(store: FeatureStore, groups: Groups) -> None:
    ids = _ids(groups)
    fast = _read(store, MODEL, ids, concurrent=True, full_feature_names=False)
    plain = _read(store, MODEL, ids, concurrent=False, full_feature_names=False)
    assert fast.proto == plain.proto


def _read_async(store: FeatureStore, features: list[str], ids: list[int], *, concurrent: bool = True,
                read_concurrency: int | None = None) -> OnlineResponse:
    import asyncio

    online = store._get_provider().online_store
    config = store.config.online_store
    window = config.read_concurrency
    online.concurrent_reads = concurrent
    if read_concurrency is not None:
        config.read_concurrency = read_concurrency
    try:
        return asyncio.run(store.get_online_features_async(
            features=features, entity_rows=[{"restaurant_id": i} for i in ids],
            full_feature_names=True,
        ))
    finally:
        online.concurrent_reads = True
        config.read_concurrency = window


def test_reads_can_be_awaited(store: FeatureStore) -> None:
    assert store._get_provider().async_supported.online.read


@pytest.mark.parametrize("features", [MODEL, STATS + PROFILE + REALTIME, REALTIME, PROFILE[:1]],
                         ids=["model", "all", "realtime", "one"])
def test_awaited_read_is_the_blocking_read(
    store: FeatureStore, groups: Groups, features: list[str]
) -> None:
    ids = _ids(groups)
    plain = _read(store, features, ids, concurrent=False)
    for concurrent in (True, False):  # one batch for all views / Feast's gather over views
        awaited = _read_async(store, features, ids, concurrent=concurrent)
        assert awaited.proto == plain.proto, f"concurrent_reads={concurrent}"
        assert awaited.to_dict() == plain.to_dict()


def test_awaited_read_sent_a_few_queries_at_a_time_is_the_same(
    store: FeatureStore, groups: Groups
) -> None:
    ids = _ids(groups)  # 3 views x ~40 keys: each answer starts the next query
    plain = _read(store, MODEL, ids, concurrent=False)
    for window in (1, 7):
        assert _read_async(store, MODEL, ids, read_concurrency=window).proto == plain.proto


def test_awaited_read_serves_fresh_and_drops_expired_and_missing(store: FeatureStore) -> None:
    ids = [FRESH, EXPIRED, PROFILE_ONLY, REALTIME_ONLY, UNKNOWN, FRESH]
    got = _read_async(store, MODEL, ids).to_dict()
    assert got["restaurant_realtime__avg_prep_time_1h"] == [12.5, None, None, 7.0, None, 12.5]
    assert got["restaurant_stats_7d__avg_prep_time_7d"] == [20.0, None, None, None, None, 20.0]
    assert got["restaurant_profile__lat"] == [37.01, 37.02, 37.03, None, None, 37.01]


def test_awaited_queries_raise_the_first_error(store: FeatureStore) -> None:
    import asyncio

    from cassandra import InvalidRequest
    from cassandra.query import SimpleStatement

    from fresco.platform.cassandra_queries import execute_all_async

    online = store._get_provider().online_store
    session = online._get_session(store.config)
    profile = online._tuple_profile(session)
    good = (SimpleStatement("SELECT release_version FROM system.local"), ())
    bad = (SimpleStatement("SELECT x FROM system.no_such_table"), ())

    async def run(statements, window):
        return await execute_all_async(session, statements, concurrency=window,
                                       execution_profile=profile)

    rows = asyncio.run(run([good, good], 1))
    assert len(rows) == 2 and all(len(r) == 1 and r[0][0].startswith("5.") for r in rows)
    for window in (1, 4):
        with pytest.raises(InvalidRequest, match="no_such_table"):
            asyncio.run(run([good, bad, good, good], window))
