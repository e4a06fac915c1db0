"""A real serving environment on the embedded default: a ``fresco init`` project (SQLite online
store, Parquet offline store, no servers), materialized, with one model trained on it.

The model's program reads every kind of request field (float, int, bool, string, timestamp)
and features keyed by an Int64 entity key (``customer_id``), so the bad-input suite can put
arbitrary JSON in every position of a real request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: The served model's program: features by ``customer_id`` and one request field of each type.
PROGRAM = """\
orders    = fill(@fs.customer_stats.orders_30d, 0)
avg_value = fill(@fs.customer_stats.avg_order_value_30d, 0.0)
segment   = categorical(@fs.customer_stats.segment)
hour      = hour_of_day(@req.ordered_at)
on_app    = if @req.channel == "app" then 1 else 0
size      = @req.basket_size * 1.0
n_items   = @req.items + 0
member    = if @req.is_member then 1 else 0
"""

TAG = "basket_value:production"
#: A valid request row: customer 3 has features online; one request field of each type.
VALID_ROW: dict[str, Any] = {"customer_id": 3, "ordered_at": "2026-11-20T18:30:00+00:00",
                             "channel": "app", "basket_size": 2.5, "items": 3, "is_member": True}


@dataclass
class SqliteServingEnvironment:
    root: Path
    project: Path
    model: str
    tag: str = TAG

    @property
    def online_path(self) -> Path:
        return self.project / "data" / "online_store.db"

    def env(self) -> dict[str, str]:
        """Environment variables that point a service at this environment."""
        return {
            "FRESCO_HOME": str(self.root / "home"),
            "BENTOML_HOME": str(self.root / "home" / "bentoml"),
            "FRESCO_FEATURE_REPO": str(self.project),
            "FEAST_FS_YAML_FILE_PATH": str(self.project / "feature_store.yaml"),
        }

    def row(self, **changes: Any) -> dict[str, Any]:
        """:data:`VALID_ROW` with ``changes``."""
        return {**VALID_ROW, **changes}


def build_sqlite_environment(root: Path, *, created_column: str | None = None) -> SqliteServingEnvironment:
    """Init, apply, materialize and train (about a minute); the model is tagged :data:`TAG`.
    With ``created_column``, the features' source declares it as its created timestamp (each
    sample row created at its event time)."""
    import numpy as np
    import pandas as pd

    from fresco.platform import init_project, materialize_incremental, open_store
    from tests.conftest import run_feast
    from fresco.training import ModelRepository, parse_config, train

    os.environ["FRESCO_HOME"] = str(root / "home")
    os.environ["BENTOML_HOME"] = str(root / "home" / "bentoml")
    project = init_project(root / "shop").path
    labels_path = project / "data" / "labels.parquet"
    labels = pd.read_parquet(labels_path)
    rng = np.random.default_rng(1)
    labels["basket_size"] = rng.uniform(0.5, 5.0, len(labels))
    labels["items"] = rng.integers(1, 8, len(labels)).astype("int64")
    labels["is_member"] = rng.random(len(labels)) < 0.3
    labels.to_parquet(labels_path, index=False)
    if created_column:
        stats_path = project / "data" / "customer_stats.parquet"
        stats = pd.read_parquet(stats_path)
        stats.assign(**{created_column: stats["event_timestamp"]}).to_parquet(stats_path, index=False)
        definitions = project / "definitions.py"
        text = definitions.read_text()
        declared = 'timestamp_field="event_timestamp", description=description)'
        assert text.count(declared) == 2, "the template's sources changed: update this set-up"
        definitions.write_text(text.replace(declared, declared[:-1] + f", created_timestamp_column={created_column!r})"))
    result = run_feast(project, "apply")
    assert result.returncode == 0, result.stdout + result.stderr
    store = open_store(project)
    materialize_incremental(store, datetime.now(timezone.utc), quiet=True)
    config = parse_config({
        "model": {"name": "basket_value", "type": "xgboost",
                  "hyperparameters": {"nthread": 1, "n_estimators": 20, "max_depth": 3}},
        "data": {"source": {"parquet": str(labels_path)}, "label": "basket_value",
                 "timestamp_column": "ordered_at"},
        "features": {"repo": str(project), "program": PROGRAM},
        "evaluation": {"partial_dependence_features": 0},
    })
    uuid = train(config).uuid
    ModelRepository().tag(TAG, uuid)
    return SqliteServingEnvironment(root, project, uuid)
