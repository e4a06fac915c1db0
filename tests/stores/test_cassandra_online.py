"""Materialization from Hive (Spark) into the real Cassandra node, read back through Feast."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from feast import FeatureStore

from fresco.platform.views import feature_view
from tests.stores.conftest import online, write_repo
from tests.stores.data import CHANGED, LATE, STALE, TIED, UNKNOWN, Groups, latest_as_of

STATS = [
    "restaurant_stats_7d:avg_prep_time_7d",
    "restaurant_stats_7d:avg_delivery_time_7d",
    "restaurant_stats_7d:orders_per_hour_7d",
    "restaurant_stats_7d:avg_items_7d",
    "restaurant_stats_7d:order_count_7d",
]
PROFILE = [
    "restaurant_profile:lat",
    "restaurant_profile:lon",
    "restaurant_profile:cuisine",
    "restaurant_profile:kitchen_capacity",
]
REALTIME = ["restaurant_realtime:avg_prep_time_1h", "restaurant_realtime:orders_1h"]
VIEWS = {  # view -> (features, TTL)
    "restaurant_stats_7d": (STATS, timedelta(days=2)),
    "restaurant_profile": (PROFILE, None),
    "restaurant_realtime": (REALTIME, timedelta(hours=1)),
}


def _all_ids(groups: Groups) -> list[int]:
    return sorted(set(groups.stats["restaurant_id"]) | set(groups.profile["restaurant_id"]))


def _cassandra_rows(cassandra: list[str], store: FeatureStore, view: str) -> set[tuple]:
    """Every (entity_key, feature_name, value, event_ts) row of a view's Cassandra table."""
    from fresco.platform.services.cassandra import connect

    keyspace = store.config.online_store.keyspace
    session = connect(keyspace, hosts=cassandra)
    try:
        rows = session.execute(
            f'SELECT entity_key, feature_name, value, event_ts FROM "fresco_{view}"', timeout=30
        )
        return {tuple(r) for r in rows}
    finally:
        session.cluster.shutdown()


@pytest.mark.parametrize("view", list(VIEWS))
def test_online_values_are_the_latest_offline_values(
    materialized: FeatureStore, groups: Groups, view: str
) -> None:
    features, ttl = VIEWS[view]
    ids = _all_ids(groups)
    read_at = datetime.now(timezone.utc)
    got = online(materialized, features, ids)
    expected = latest_as_of(groups.frames()[view], groups.end, ttl)
    if ttl:  # and, like offline retrieval at the moment of reading, nothing older than the TTL
        expected = expected[expected["event_timestamp"] >= pd.Timestamp(read_at - ttl)]
    assert len(got) == len(ids)
    served = got[got[f"{view}__{features[0].split(':')[1]}"].notna()].index
    assert sorted(served) == sorted(expected.index), f"{view}: served entities differ"
    for ref in features:
        name = ref.split(":")[1]
        column = got.loc[expected.index, f"{view}__{name}"]
        want = expected[name]
        if want.dtype.kind == "f":
            pd.testing.assert_series_equal(column.astype(float), want, check_names=False)
        else:
            assert column.tolist() == want.tolist(), f"{ref} differs"


def test_the_rules_of_the_special_restaurants(materialized: FeatureStore, groups: Groups) -> None:
    got = online(materialized, STATS + PROFILE + REALTIME, [STALE, TIED, CHANGED, LATE])
    # older than the TTL at END: not served, though the offline table has rows
    assert got.loc[STALE, ["restaurant_stats_7d__avg_prep_time_7d", "restaurant_realtime__orders_1h"]].isna().all()
    assert got.loc[STALE, "restaurant_profile__cuisine"] is not None  # no TTL: served
    # a profile created 800 days ago is served (Feast alone would start a year ago)
    assert got.loc[TIED, "restaurant_profile__cuisine"] is not None
    assert got.loc[CHANGED, "restaurant_profile__cuisine"] == "sushi"  # the newer row wins
    assert got.loc[LATE].isna().all()  # every row stamped after END


def test_an_unknown_entity_gives_nulls_not_an_error(materialized: FeatureStore) -> None:
    got = online(materialized, STATS + PROFILE + REALTIME, [UNKNOWN, 1])
    assert got.loc[UNKNOWN].isna().all()
    assert got.loc[1, [c for c in got.columns if not c.startswith("restaurant_realtime")]].notna().all()


def test_rematerializing_the_same_window_changes_nothing(
    materialized: FeatureStore, groups: Groups, cassandra: list[str]
) -> None:
    before = {v: _cassandra_rows(cassandra, materialized, v) for v in VIEWS}
    assert all(before.values())
    start = groups.end - timedelta(days=2)
    materialized.materialize(start_date=start, end_date=groups.end, feature_views=["restaurant_stats_7d"])
    materialized.materialize(start_date=start, end_date=groups.end, feature_views=["restaurant_stats_7d"])
    after = {v: _cassandra_rows(cassandra, materialized, v) for v in VIEWS}
    assert after == before


def test_rematerializing_an_older_window_keeps_the_newer_values(
    materialized: FeatureStore, groups: Groups, cassandra: list[str]
) -> None:
    """Writes carry the event time as Cassandra's write time: an older window loses."""
    view = "restaurant_stats_7d"
    before = _cassandra_rows(cassandra, materialized, view)
    day0 = groups.day0  # as the data has it (the day before when END is a midnight)
    start, end = day0 - timedelta(days=4), day0 - timedelta(days=2) + timedelta(minutes=1)
    stamps = pd.to_datetime(groups.stats["event_timestamp"], utc=True)
    older = groups.stats[(stamps >= start) & (stamps < end)]
    assert older["restaurant_id"].nunique() >= 40  # the window has older values to write
    materialized.materialize(start_date=start, end_date=end, feature_views=[view])
    after = _cassandra_rows(cassandra, materialized, view)
    assert before <= after  # every newer value kept, as it was
    # the only new rows are for a restaurant that had none online (STALE: outside the TTL
    # window of the first run), stamped with its older event
    added = after - before
    keys_before = {row[0] for row in before}
    assert added and all(row[0] not in keys_before for row in added)
    assert {row[3] for row in added} == {(day0 - timedelta(days=3)).replace(tzinfo=None)}


def test_a_late_write_does_not_overwrite_a_newer_value(materialized: FeatureStore) -> None:
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    view = feature_view(materialized, "restaurant_realtime")
    key = EntityKey(join_keys=["restaurant_id"], entity_values=[Value(int64_val=970_001)])
    now = datetime.now(timezone.utc).replace(microsecond=0)

    def write(minutes_ago: int, value: float) -> None:
        at = now - timedelta(minutes=minutes_ago)
        materialized._get_provider().online_write_batch(materialized.config, view, [(
            key, {"avg_prep_time_1h": Value(double_val=value), "orders_1h": Value(int64_val=1)},
            at, at)], None)

    def read() -> float:
        return online(materialized, ["restaurant_realtime:avg_prep_time_1h"], [970_001]).loc[
            970_001, "restaurant_realtime__avg_prep_time_1h"]

    write(10, 11.0)
    assert read() == 11.0
    write(20, 22.0)  # an older event arriving late
    assert read() == 11.0
    write(5, 33.0)  # a newer one
    assert read() == 33.0


def test_a_later_incremental_run_loads_only_the_new_window(
    own_materialized: FeatureStore, groups: Groups, capfd: pytest.CaptureFixture[str]
) -> None:
    from fresco.platform.materialization import materialize_incremental

    materialized = own_materialized  # the later window changes what the other tests read
    capfd.readouterr()

    later = groups.end + timedelta(days=2)
    windows = materialize_incremental(materialized, later, ["restaurant_stats_7d", "restaurant_profile"])
    assert windows == {"restaurant_stats_7d": (None, later), "restaurant_profile": (None, later)}
    printed = capfd.readouterr()
    # progress: Fresco's lines and Feast's window, which starts where the first run ended
    assert "[materialize] (1/2) restaurant_stats_7d: incremental" in printed.err
    assert f"{groups.end:%Y-%m-%d %H:%M:%S}+00:00" in printed.out
    got = online(materialized, STATS + PROFILE, [LATE, 1])
    late_stats = groups.stats[groups.stats["restaurant_id"] == LATE].iloc[-1]
    assert got.loc[LATE, "restaurant_stats_7d__order_count_7d"] == late_stats["order_count_7d"]
    assert got.loc[LATE, "restaurant_profile__cuisine"] is not None
    # restaurant 1's newest stats (before END) are unchanged by the later window
    expected = latest_as_of(groups.stats, groups.end, timedelta(days=2)).loc[1]
    assert got.loc[1, "restaurant_stats_7d__order_count_7d"] == expected["order_count_7d"]


def _read_in_child(repo: Path, yaml_path: Path, limit: float) -> tuple[subprocess.CompletedProcess[str], float]:
    code = textwrap.dedent(
        f"""
        from feast import FeatureStore
        store = FeatureStore(repo_path={str(repo)!r}, fs_yaml_file={str(yaml_path)!r})
        store.get_online_features(features=["restaurant_profile:cuisine"],
                                  entity_rows=[{{"restaurant_id": 1}}]).to_df()
        print("READ SUCCEEDED")
        """
    )
    t0 = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=limit, cwd=repo
    )
    return result, time.monotonic() - t0


@pytest.mark.parametrize("listener", ["nothing", "silent"])
def test_reads_fail_clearly_and_in_bounded_time_when_cassandra_is_down(
    production_repo: tuple[Path, Path], spark_home: Path, tmp_path: Path, listener: str
) -> None:
    """The shared node stays up: the store points at a port where nothing (or a mute socket)
    listens. The read must fail, name host:port, and return well before the child's timeout."""
    repo, yaml_path = production_repo
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        if listener == "silent":
            sock.listen(16)  # accepts TCP connections (backlog), never answers the protocol
        else:
            sock.close()
        registry = repo / "data" / "registry.production.db"
        down = write_repo(tmp_path / "down", spark_home, keyspace="fresco_down",
                          hosts=[f"127.0.0.1:{port}"], registry=registry)
        result, elapsed = _read_in_child(down.parent, down, limit=120)
    assert result.returncode != 0 and "READ SUCCEEDED" not in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert f"127.0.0.1:{port}" in last, result.stderr[-2000:]
    assert "NoHostAvailable" in last, f"after {elapsed:.1f}s: {last}"
