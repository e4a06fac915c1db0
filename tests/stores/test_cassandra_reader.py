"""Fresco's own Cassandra read path (``fresco.platform.cassandra_reader``) answers exactly what
Feast's ``get_online_features(...).to_dict()`` answers, on the real node.

A private project (not the example) with a view of every scalar type and two list types under a
one-hour TTL, and a view keyed by two entities without a TTL, gets randomized rows through
Feast's public ``write_to_online_store`` (random values, missing values, ages on both sides of
the TTL); random requests (known, unknown and repeated keys, one row or many) are then answered
by the reader, sync and awaited, and by Feast's own view-after-view read (``concurrent_reads =
False``: Feast's generic loop), and compared value for value.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from feast import Entity, FeatureStore, FeatureView, Field, FileSource
from feast.types import Array, Bool, Bytes, Float32, Float64, Int32, Int64, String, UnixTimestamp
from feast.value_type import ValueType

from fresco.platform.cassandra_reader import CassandraFeatureReader, reader_for
from fresco.platform.online_stores import online_store_of
from tests.serving.setup import create_keyspace

KEYSPACE = f"fresco_reader_tests_{os.getpid()}"  # one per test process: each drops it first
SHOPS = list(range(1, 41))
SKUS = ["a", "b", "c", "ü-9"]
STATS = ["f64", "f32", "i64", "i32", "s", "b", "ts", "by", "arr", "sarr"]
REFS = [f"shop_stats:{f}" for f in STATS] + ["shop_item:n", "shop_item:name"]


def _definitions(data: Path) -> list:
    shop = Entity(name="shop", join_keys=["shop_id"], value_type=ValueType.INT64)
    item = Entity(name="item", join_keys=["sku"], value_type=ValueType.STRING)
    stats_source = FileSource(name="shop_stats_source", path=str(data / "stats.parquet"),
                              timestamp_field="event_timestamp")
    item_source = FileSource(name="shop_item_source", path=str(data / "item.parquet"),
                             timestamp_field="event_timestamp")
    stats = FeatureView(
        name="shop_stats", entities=[shop], ttl=timedelta(hours=1), source=stats_source,
        schema=[Field(name="shop_id", dtype=Int64), Field(name="f64", dtype=Float64),
                Field(name="f32", dtype=Float32), Field(name="i64", dtype=Int64),
                Field(name="i32", dtype=Int32), Field(name="s", dtype=String),
                Field(name="b", dtype=Bool), Field(name="ts", dtype=UnixTimestamp),
                Field(name="by", dtype=Bytes), Field(name="arr", dtype=Array(Float64)),
                Field(name="sarr", dtype=Array(String))])
    shop_item = FeatureView(
        name="shop_item", entities=[shop, item], ttl=timedelta(0), source=item_source,
        schema=[Field(name="shop_id", dtype=Int64), Field(name="sku", dtype=String),
                Field(name="n", dtype=Int64), Field(name="name", dtype=String)])
    return [shop, item, stats, shop_item]


def _maybe(rng: np.random.Generator, value: object) -> object:
    return None if rng.random() < 0.15 else value


def _stats_rows(rng: np.random.Generator, now: datetime) -> pd.DataFrame:
    rows = []
    for shop in SHOPS:
        # ages away from the TTL's edge (1 h), so the two reads a moment apart agree
        minutes = float(rng.choice([rng.uniform(1, 45), rng.uniform(80, 300)]))
        rows.append({
            "shop_id": shop, "event_timestamp": now - timedelta(minutes=minutes),
            "f64": _maybe(rng, float(rng.normal() * 10.0 ** int(rng.integers(-5, 8)))),
            "f32": _maybe(rng, float(np.float32(rng.normal() * 100))),
            "i64": _maybe(rng, int(rng.integers(-2**62, 2**62))),
            "i32": _maybe(rng, int(rng.integers(-2**31, 2**31 - 1))),
            "s": _maybe(rng, "".join(rng.choice(list("abcé日 "), size=int(rng.integers(0, 6))))),
            "b": _maybe(rng, bool(rng.integers(0, 2))),
            "ts": _maybe(rng, now - timedelta(seconds=int(rng.integers(0, 10**7)))),
            "by": _maybe(rng, bytes(rng.integers(0, 256, size=int(rng.integers(0, 5))).tolist())),
            "arr": _maybe(rng, [float(x) for x in rng.normal(size=int(rng.integers(0, 4)))]),
            "sarr": _maybe(rng, [str(x) for x in rng.integers(0, 9, size=int(rng.integers(0, 3)))]),
        })
    return pd.DataFrame(rows)


def _item_rows(rng: np.random.Generator, now: datetime) -> pd.DataFrame:
    rows = [{"shop_id": shop, "sku": sku, "event_timestamp": now - timedelta(days=30),
             "n": _maybe(rng, int(rng.integers(0, 1000))), "name": _maybe(rng, f"{sku}-{shop}")}
            for shop in SHOPS[::2] for sku in SKUS if rng.random() < 0.7]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def store(cassandra: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FeatureStore]:
    """The private project applied on the node, its views written with random rows."""
    repo = tmp_path_factory.mktemp("reader_repo")
    host, port = cassandra[0].rsplit(":", 1)
    create_keyspace(cassandra[0], KEYSPACE)
    (repo / "feature_store.yaml").write_text(yaml.safe_dump({
        "project": "readertest", "provider": "local", "registry": str(repo / "registry.db"),
        "online_store": {"type": "fresco.platform.online_stores.FrescoCassandraOnlineStore",
                         "hosts": [host], "port": int(port), "keyspace": KEYSPACE,
                         "protocol_version": 5},
        "offline_store": {"type": "file"}, "entity_key_serialization_version": 3}))
    store = FeatureStore(repo_path=str(repo))
    store.apply(_definitions(repo))
    rng, now = np.random.default_rng(7), datetime.now(timezone.utc)
    store.write_to_online_store("shop_stats", _stats_rows(rng, now))
    store.write_to_online_store("shop_item", _item_rows(rng, now))
    yield store
    online = online_store_of(store)
    online._get_session(store.config).execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=120)


def _feasts_answer(store: FeatureStore, refs: list[str], rows: list[dict]) -> list[dict]:
    """Feast's own answer: its generic view-after-view loop over the store's ``online_read``."""
    online = online_store_of(store)
    online.concurrent_reads = False
    try:
        response = store.get_online_features(features=refs, entity_rows=rows,
                                             full_feature_names=True).to_dict()
    finally:
        online.concurrent_reads = True
    columns = [ref.replace(":", "__") for ref in refs]
    return [dict(zip(columns, values)) for values in zip(*(response[c] for c in columns))]


def _requests(seed: int, count: int) -> Iterator[list[dict]]:
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = int(rng.choice([1, 1, 2, 5, 30]))
        shops = rng.choice(SHOPS + [999_001, 999_002], size=n)  # two never written
        skus = rng.choice(SKUS + ["zz"], size=n)
        yield [{"shop_id": int(s), "sku": str(k)} for s, k in zip(shops, skus)]


def test_reader_answers_as_feast_on_random_rows(store: FeatureStore) -> None:
    reader = reader_for(store, online_store_of(store), REFS)
    assert isinstance(reader, CassandraFeatureReader)
    served = expired = 0
    for rows in _requests(seed=11, count=60):
        want = _feasts_answer(store, REFS, rows)
        assert reader.read(rows) == want, rows
        assert asyncio.run(reader.read_async(rows)) == want, rows
        served += sum(w["shop_stats__i64"] is not None for w in want)
        expired += sum(w["shop_stats__i64"] is None for w in want)
    assert served and expired  # both sides of the TTL, and values, were compared


def test_reader_reads_any_subset_of_features_in_any_order(store: FeatureStore) -> None:
    rng = np.random.default_rng(5)
    for i, rows in enumerate(_requests(seed=12, count=20)):
        refs = [str(r) for r in rng.permutation(REFS)[: int(rng.integers(1, len(REFS) + 1))]]
        reader = reader_for(store, online_store_of(store), refs)
        assert reader is not None
        assert reader.read(rows) == _feasts_answer(store, refs, rows), (refs, rows)


def test_values_keep_feasts_python_types(store: FeatureStore) -> None:
    """The conversion on every shop: Feast's Python types, each kind seen at least once."""
    reader = reader_for(store, online_store_of(store), REFS)
    kinds = {"shop_stats__ts": datetime, "shop_stats__arr": list, "shop_stats__by": bytes,
             "shop_stats__f32": float, "shop_stats__i32": int, "shop_stats__b": bool}
    seen = {column: 0 for column in kinds}
    for row in reader.read([{"shop_id": s, "sku": "a"} for s in SHOPS]):
        for column, kind in kinds.items():
            if row[column] is not None:
                assert type(row[column]) is kind, (column, row[column])
                seen[column] += 1
        if row["shop_stats__ts"] is not None:
            assert row["shop_stats__ts"].tzinfo is not None
    assert all(seen.values()), seen
