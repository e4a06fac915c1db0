"""Reads through Fresco's Cassandra store recover within seconds of the node answering again,
after a short and after a long outage, without a restart.

The outage is on the network path (tests/stores/tcp_proxy.py): every connection is reset. The node
comes back right after the client's first reconnection attempt once the outage has lasted its
length, the worst moment for a backing-off client: the driver's default policy doubles its delay
(1, 2, 4, 8, 16 s ...), so after 16 s its next attempt comes 16 s or more after the node is back;
Fresco's store retries every 0.5 s. Figures are printed (run with -s); the bound asserted is loose
(5 s) so a loaded machine does not fail it, and still tells the two policies apart.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from feast import FeatureStore

from tests.stores.conftest import online, write_repo
from tests.stores.tcp_proxy import TcpProxy

FEATURES = ["restaurant_profile:cuisine", "restaurant_profile:kitchen_capacity"]
IDS = [1, 2, 3]
RECOVERED_WITHIN_S = 5.0


def _read(store: FeatureStore) -> dict | None:
    """The online values, or None when the read fails (as the service would answer 503)."""
    try:
        return online(store, FEATURES, IDS).to_dict()
    except Exception:  # the driver's NoHostAvailable, OperationTimedOut, ...
        return None


def _poll(store: FeatureStore, *, until_ok: bool, limit: float) -> tuple[float, dict | None]:
    """Read every 0.1 s until a read succeeds (``until_ok``) or fails; (seconds, last result)."""
    t0 = time.monotonic()
    while True:
        got = _read(store)
        if (got is not None) == until_ok or time.monotonic() - t0 > limit:
            return time.monotonic() - t0, got
        time.sleep(0.1)


@pytest.mark.parametrize("outage_s", [3.0, 16.0], ids=["short", "long"])
def test_reads_recover_within_seconds_of_the_node_answering_again(
    materialized: FeatureStore, production_repo: tuple[Path, Path], spark_home: Path,
    cassandra: list[str], tmp_path: Path, outage_s: float,
) -> None:
    repo, _ = production_repo
    with TcpProxy(cassandra[0]) as proxy:
        yaml_path = write_repo(tmp_path / "via-proxy", spark_home,
                               keyspace=materialized.config.online_store.keyspace,
                               hosts=[proxy.address], registry=repo / "data" / "registry.production.db")
        store = FeatureStore(repo_path=str(yaml_path.parent), fs_yaml_file=yaml_path)
        before = _read(store)
        assert before is not None and set(before["restaurant_profile__cuisine"]) == set(IDS)

        proxy.cut()
        cut_at = time.monotonic()
        to_fail, failed = _poll(store, until_ok=False, limit=60)
        assert failed is None, "reads still succeed with the node unreachable"
        while time.monotonic() - cut_at < outage_s:  # the outage: reads keep failing, none hangs
            assert _read(store) is None
            time.sleep(0.2)
        attempt = proxy.wait_for_attempt(after=time.monotonic(), timeout=120)
        assert attempt is not None, "the client stopped trying to reconnect"

        proxy.restore()
        recovery, after = _poll(store, until_ok=True, limit=60)
        print(f"\n{outage_s:.0f} s outage: first failed read {to_fail:.2f} s after the cut; "
              f"reads answer again {recovery:.2f} s after the node does")
        assert after == before, f"no answer {recovery:.1f} s after the node was back"
        assert recovery < RECOVERED_WITHIN_S, f"recovered only {recovery:.1f} s after the node answered"
