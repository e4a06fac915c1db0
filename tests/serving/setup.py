"""A real serving environment for tests and benchmarks: Cassandra-backed Feast repo + trained models.

``build_environment(root, keyspace)`` generates the example data, computes the feature groups
with Spark, registers the catalog against the local Cassandra node (``keyspace``), loads the
online store, and trains two XGBoost models on the example DSL program into a model repository
under ``root``. The online store is Fresco's (``FrescoCassandraOnlineStore``, as in production:
TTLs at read time, a request's views read concurrently). The data ends six hours before now, so
the 1-hour realtime view's values are loaded online but expired: missing, as offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

EXAMPLE_PROGRAM = """\
hour        = hour_of_day(@req.placed_at)
weekend     = day_of_week(@req.placed_at) >= 5
prep_7d     = fill(@fs.restaurant_stats_7d.avg_prep_time_7d, 15.0)
prep_recent = coalesce(@fs.restaurant_realtime.avg_prep_time_1h, prep_7d)
distance_km = haversine(@req.customer_lat, @req.customer_lon, @fs.restaurant_profile.lat, @fs.restaurant_profile.lon)
cuisine     = categorical(@fs.restaurant_profile.cuisine)   # vocabulary fitted at training
prep_z      = standardize(prep_7d)                          # mean and std fitted at training
rush        = if hour in [11, 12, 13, 18, 19, 20] then 1 else 0
load_7d     = @fs.restaurant_stats_7d.orders_per_hour_7d * fill(@fs.restaurant_stats_7d.avg_items_7d, 2.0)
delivery_7d = fill(@fs.restaurant_stats_7d.avg_delivery_time_7d, 30.0)
capacity    = @fs.restaurant_profile.kitchen_capacity
orders_1h   = fill(@fs.restaurant_realtime.orders_1h, 0)
count_7d    = @fs.restaurant_stats_7d.order_count_7d
"""

CASSANDRA_YAML = """\
project: fresco
provider: fresco.platform.policy.CatalogPolicyProvider
registry:
  path: data/registry.db
  registry_store_type: fresco.platform.policy.CatalogPolicyRegistryStore
  cache_ttl_seconds: 60
online_store:
  type: fresco.platform.online_stores.FrescoCassandraOnlineStore
  hosts: [{host}]
  port: {port}
  keyspace: {keyspace}
  protocol_version: 5
offline_store:
  type: file
entity_key_serialization_version: 3
"""


@dataclass
class ServingEnvironment:
    root: Path
    repo: Path
    yaml_path: Path
    orders_path: Path
    end: datetime
    materialized_until: datetime  # the online store holds every row stamped before this
    model_a: str
    model_b: str
    by_city: str  # model_a's program partitioned by region and city
    tag: str = "delivery_eta:production"

    def env(self) -> dict[str, str]:
        """Environment variables that point a service at this environment."""
        return {
            "FRESCO_HOME": str(self.root / "home"),
            "BENTOML_HOME": str(self.root / "home" / "bentoml"),
            "FRESCO_FEATURE_REPO": str(self.repo),
            "FEAST_FS_YAML_FILE_PATH": str(self.yaml_path),
        }


def create_keyspace(contact_point: str, keyspace: str) -> None:
    from cassandra.cluster import Cluster

    host, port = contact_point.rsplit(":", 1)
    cluster = Cluster([host], port=int(port), protocol_version=5)
    try:
        session = cluster.connect()
        # a fresh keyspace: rows of an earlier run would be newer than this run's events
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
    finally:
        cluster.shutdown()


def build_environment(
    root: Path, contact_point: str, spark, *, keyspace: str = "fresco_serving_tests",
    restaurants: int = 40, orders: int = 4000, days: int = 10,
) -> ServingEnvironment:
    from fresco.platform import apply_catalog, open_store
    from fresco.example.pipelines import generate_raw, run_feature_groups
    from tests.conftest import copy_feature_repo

    os.environ["FRESCO_HOME"] = str(root / "home")
    os.environ["BENTOML_HOME"] = str(root / "home" / "bentoml")
    host, port = contact_point.rsplit(":", 1)
    repo = copy_feature_repo(root / "feature_repo")
    yaml_path = repo / "feature_store.cassandra.yaml"
    yaml_path.write_text(CASSANDRA_YAML.format(host=host, port=port, keyspace=keyspace))
    create_keyspace(contact_point, keyspace)
    end = (datetime.now(timezone.utc) - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)
    raw = generate_raw(repo / "data" / "raw", restaurants=restaurants, orders=orders, days=days, end=end)
    run_feature_groups(spark, repo / "data" / "raw", repo / "data" / "features", progress=False)
    apply_catalog(repo, yaml_path)
    store = open_store(repo, yaml_path)
    # Load every view from its whole history (materialize_incremental would start a TTL-0
    # view one year back only), up to now: the 7-day view's last snapshot is stamped at the
    # midnight after the last order, later than `end`, and an offline lookup as of any time
    # after that midnight sees it. The realtime view's latest values are six hours old: the
    # store holds them, and its read-time TTL must serve them as missing, as offline does.
    materialized_until = datetime.now(timezone.utc)
    store.materialize(start_date=datetime(2000, 1, 1, tzinfo=timezone.utc),
                      end_date=materialized_until,
                      feature_views=["restaurant_profile", "restaurant_stats_7d", "restaurant_realtime"])
    model_a = train_model(repo, yaml_path, raw.orders_path, n_estimators=40, max_depth=4)
    model_b = train_model(repo, yaml_path, raw.orders_path, n_estimators=25, max_depth=3)
    by_city = train_model(repo, yaml_path, raw.orders_path, partitioned=True, n_estimators=20, max_depth=4)
    from fresco.training import ModelRepository

    ModelRepository().tag("delivery_eta:production", model_a)
    return ServingEnvironment(root, repo, yaml_path, Path(raw.orders_path), end, materialized_until,
                              model_a, model_b, by_city)


PARTITIONS = """\
region      = categorical(@fs.restaurant_profile.region)
city        = categorical(@fs.restaurant_profile.city)
"""


def train_model(repo: Path, yaml_path: Path, orders: Path, *, partitioned: bool = False, **hyperparameters) -> str:
    """An XGBoost model on :data:`EXAMPLE_PROGRAM`; ``partitioned``: by region, then city."""
    from fresco.training import parse_config, train

    partitioning = ({"partitioning": {"columns": ["region", "city"], "min_rows": 150},
                     "resources": {"workers": 1}} if partitioned else {})
    config = parse_config({
        "model": {"name": "delivery_eta", "type": "xgboost",
                  "hyperparameters": {"nthread": 1, **hyperparameters}},
        "data": {"source": {"parquet": str(orders)}, "label": "delivery_duration_min",
                 "timestamp_column": "placed_at"},
        "features": {"repo": str(repo), "store_yaml": str(yaml_path),
                     "program": EXAMPLE_PROGRAM + (PARTITIONS if partitioned else "")},
        "evaluation": {"partial_dependence_features": 0},
        **partitioning,
    })
    return train(config).uuid
