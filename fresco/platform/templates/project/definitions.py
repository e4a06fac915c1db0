"""{project}'s feature catalog: entities, feature views (feature groups) and feature services.

`feast apply` registers what this file declares. Fresco's catalog policy requires every feature
view to have an owner, a description and a `freshness_sla` tag, and refuses to change the type
or source of a registered feature (a changed feature is a new feature: give it a new name).

Replace the sample below with your own data: point the source at your Parquet files (or Hive
tables, in production), list your features in the schema, and keep owner/description/SLA.
"""

from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureService, FeatureView, Field, FileSource
from feast.data_source import DataSource
from feast.types import Float64, Int64, String
from feast.value_type import ValueType

from fresco.platform.environment import offline_store_type

OWNER = "{owner}"
HERE = Path(__file__).resolve().parent


def parquet_source(name: str, path: str, description: str) -> DataSource:
    """A Parquet dataset of this repository, read by the active yaml's offline store."""
    if offline_store_type() == "spark":
        from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource

        return SparkSource(name=name, path=str(HERE / path), file_format="parquet",
                           timestamp_field="event_timestamp", description=description)
    return FileSource(name=name, path=path, timestamp_field="event_timestamp", description=description)


customer = Entity(
    name="customer",
    join_keys=["customer_id"],
    value_type=ValueType.INT64,
    description="A customer.",
    owner=OWNER,
)

customer_stats = FeatureView(
    name="customer_stats",
    entities=[customer],
    # A value older than the TTL is null: offline, older than the training row's own time (history
    # sees history); online, older than the moment of the request, so historical data loaded by
    # `fresco materialize --end <a past date>` is null online (materialize warns).
    ttl=timedelta(days=2),
    schema=[
        Field(name="orders_30d", dtype=Int64, description="Orders in the 30 days before the snapshot."),
        Field(name="avg_order_value_30d", dtype=Float64, description="Mean order value, same window."),
        Field(name="segment", dtype=String, description="Marketing segment."),
    ],
    source=parquet_source("customer_stats_source", "data/customer_stats.parquet",
                          "Daily snapshots of each customer's order statistics."),
    online=True,
    owner=OWNER,
    description="A customer's order statistics over the 30 days before each daily snapshot.",
    tags={"freshness_sla": "1d"},
)

basket_value_v1 = FeatureService(
    name="basket_value_v1",
    features=[customer_stats],
    owner=OWNER,
    description="Features of the basket-value model.",
)
