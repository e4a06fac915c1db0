"""The SQLite online store's file under a running service: a file replaced on disk (a new
inode at the same path) is read from the next request on, and a corrupt file is a 503, not a
500, with the service staying up.

The service runs on a copy of the SQLite environment's project; replacement files are made
the real way, by Feast writing other values into another copy of the project's store.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.serving.conftest import Server, serve
from tests.serving.sqlite_setup import TAG, VALID_ROW

ORDERS = "customer_stats:orders_30d"
CUSTOMER = VALID_ROW["customer_id"]


@pytest.fixture(scope="module")
def project(sqlite_env, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the SQLite environment's Feast project (its online store file included)."""
    return Path(shutil.copytree(sqlite_env.project, tmp_path_factory.mktemp("served") / "shop"))


@pytest.fixture(scope="module")
def server(sqlite_env, project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {**sqlite_env.env(), "FRESCO_FEATURE_REPO": str(project),
           "FEAST_FS_YAML_FILE_PATH": str(project / "feature_store.yaml")}
    with serve(env, TAG, tmp_path_factory.mktemp("store-file-server")) as running:
        yield running


def online_file(project: Path) -> Path:
    return project / "data" / "online_store.db"


def store_file_with(sqlite_env, folder: Path, orders: int) -> Path:
    """A valid online store file (another copy of the project's) where customer 3 has made
    ``orders`` orders in 30 days, written by Feast."""
    from fresco.platform import open_store

    donor = Path(shutil.copytree(sqlite_env.project, folder / f"donor-{orders}"))
    store = open_store(donor)
    store.write_to_online_store("customer_stats", pd.DataFrame({
        "customer_id": [CUSTOMER], "orders_30d": [orders], "avg_order_value_30d": [12.5],
        "segment": ["new"], "event_timestamp": [datetime.now(timezone.utc)],
    }))
    return online_file(donor)


def orders_seen(server: Server) -> int:
    response = server.post("/predict", {"model": TAG, "rows": [VALID_ROW], "return_features": True})
    assert response.status_code == 200, response.text[:500]
    return response.json()["predictions"][0]["features"][ORDERS]


def test_a_store_file_replaced_on_disk_is_read_at_once(server, sqlite_env, project, tmp_path) -> None:
    before = orders_seen(server)
    replacement = store_file_with(sqlite_env, tmp_path, orders=before + 1000)
    os.replace(replacement, online_file(project))  # a new inode at the served path
    assert orders_seen(server) == before + 1000
    assert orders_seen(server) == before + 1000


def test_a_corrupt_store_file_is_a_503_and_a_good_one_is_read_again(
    server, sqlite_env, project, tmp_path
) -> None:
    path = online_file(project)
    size = path.stat().st_size
    path.write_bytes(b"this is not a database; " * (size // 24 + 1))  # same inode, garbage
    for _ in range(3):
        response = server.post("/predict", {"model": TAG, "rows": [VALID_ROW]})
        assert response.status_code == 503, response.text[:500]
        body = response.json()
        assert body["error"] == "online_store_unavailable", body
        assert set(body) <= {"error", "message", "field"}, body
    assert server.handle.process.poll() is None
    assert httpx.get(server.url + "/livez", timeout=5).status_code == 200

    replacement = store_file_with(sqlite_env, tmp_path, orders=4242)
    os.replace(replacement, path)
    assert orders_seen(server) == 4242
