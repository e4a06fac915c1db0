"""The delivery-time domain's feature catalog: entities, feature groups and feature services.

``feast apply`` registers what this file declares. Fresco's catalog policy (see
``policy/``) requires every feature view to carry an owner, a description and a
``freshness_sla`` tag, and refuses to change the type or source of a registered feature.
"""

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, PushSource
from feast.types import Float64, Int64, String
from feast.value_type import ValueType

from fresco.example.sources import batch_source

OWNER = "eats-delivery-ml@fresco.dev"

restaurant = Entity(
    name="restaurant",
    join_keys=["restaurant_id"],
    value_type=ValueType.INT64,
    description="A restaurant on the marketplace.",
    owner=OWNER,
)

restaurant_profile = FeatureView(
    name="restaurant_profile",
    entities=[restaurant],
    ttl=timedelta(0),  # static profile: never expires
    schema=[
        Field(name="lat", dtype=Float64, description="Latitude of the kitchen."),
        Field(name="lon", dtype=Float64, description="Longitude of the kitchen."),
        Field(name="cuisine", dtype=String, description="Main cuisine."),
        Field(name="kitchen_capacity", dtype=Int64, description="Orders cooked in parallel."),
    ],
    source=batch_source("restaurant_profile", "Restaurant profiles, one row per change."),
    online=True,
    owner=OWNER,
    description="A restaurant's static profile: location, cuisine and kitchen capacity.",
    tags={"freshness_sla": "1d", "group": "restaurant"},
)

restaurant_stats_7d = FeatureView(
    name="restaurant_stats_7d",
    entities=[restaurant],
    ttl=timedelta(days=2),
    schema=[
        Field(name="avg_prep_time_7d", dtype=Float64, description="Mean preparation minutes."),
        Field(name="avg_delivery_time_7d", dtype=Float64, description="Mean delivery minutes."),
        Field(name="orders_per_hour_7d", dtype=Float64, description="Orders per hour."),
        Field(name="avg_items_7d", dtype=Float64, description="Mean items per order."),
        Field(name="order_count_7d", dtype=Int64, description="Orders in the window."),
    ],
    source=batch_source("restaurant_stats_7d", "Daily snapshots over the previous 7 days."),
    online=True,
    owner=OWNER,
    description=(
        "A restaurant's order statistics over the 7 days before each daily snapshot "
        "(00:00 UTC), computed in batch by Spark."
    ),
    tags={"freshness_sla": "1d", "group": "restaurant"},
)

restaurant_realtime_push = PushSource(
    name="restaurant_realtime_push",
    batch_source=batch_source("restaurant_realtime", "Last-hour snapshots every 15 minutes."),
)

restaurant_realtime = FeatureView(
    name="restaurant_realtime",
    entities=[restaurant],
    ttl=timedelta(hours=1),
    schema=[
        Field(name="avg_prep_time_1h", dtype=Float64, description="Mean prep minutes, last hour."),
        Field(name="orders_1h", dtype=Int64, description="Orders placed in the last hour."),
    ],
    source=restaurant_realtime_push,
    online=True,
    owner=OWNER,
    description=(
        "A restaurant's load over the last hour (near-real-time). Pushed by the streaming "
        "job; backfilled in batch by the same aggregation."
    ),
    tags={"freshness_sla": "15m", "group": "restaurant"},
)

delivery_eta_v1 = FeatureService(
    name="delivery_eta_v1",
    features=[restaurant_profile, restaurant_stats_7d, restaurant_realtime],
    owner=OWNER,
    description="Features of the delivery-time (ETA) model.",
)
