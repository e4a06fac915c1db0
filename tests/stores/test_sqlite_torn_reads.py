"""The embedded SQLite online store never serves half of a write.

Feast's SQLite store shares one connection between threads, and a reader on the connection
a write is in the middle of sees that write's uncommitted rows: a stream job and a
``Predictor`` in one process (the quickstart's live step) read one feature of the new row
and another of the old.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path

from feast import FeatureStore
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value

from fresco.platform.online_stores import online_store_of
from fresco.platform.views import feature_view
from tests.conftest import run_feast

RESTAURANT = 960_101


def test_a_reader_in_the_writers_process_sees_whole_rows(feast_repo: Path) -> None:
    result = run_feast(feast_repo, "apply")
    assert result.returncode == 0, result.stdout + result.stderr
    store = FeatureStore(repo_path=str(feast_repo))
    view = feature_view(store, "restaurant_realtime")
    key = EntityKey(join_keys=["restaurant_id"], entity_values=[Value(int64_val=RESTAURANT)])
    online = online_store_of(store)
    done = threading.Event()

    def write() -> None:
        for i in range(1, 501):
            at = datetime.now(timezone.utc)
            values = {"avg_prep_time_1h": Value(double_val=float(i)), "orders_1h": Value(int64_val=i)}
            online.online_write_batch(store.config, view, [(key, values, at, at)], None)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    torn = []
    while not done.is_set():
        row = store.get_online_features(
            features=["restaurant_realtime:avg_prep_time_1h", "restaurant_realtime:orders_1h"],
            entity_rows=[{"restaurant_id": RESTAURANT}],
        ).to_dict()
        avg, orders = row["avg_prep_time_1h"][0], row["orders_1h"][0]
        if avg is not None and orders is not None and avg != orders:
            torn.append((avg, orders))
    writer.join()
    assert not torn, f"{len(torn)} reads mixed two writes, e.g. {torn[:3]}"
