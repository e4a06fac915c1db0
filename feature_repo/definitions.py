"""The delivery-time domain's feature catalog: entities, feature groups and feature services.

``feast apply`` registers what this file declares. Fresco's catalog policy (see
``policy/``) requires every feature view to carry an owner, a description and a
``freshness_sla`` tag, and refuses to change the type or source of a registered feature.
"""

import warnings
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, KafkaSource
from feast.aggregation import Aggregation
from feast.data_format import JsonFormat
from feast.stream_feature_view import StreamFeatureView
from feast.types import Float64, Int64, String
from feast.value_type import ValueType

from fresco.example.sources import batch_source, event_archive
from fresco.platform.streaming.topics import kafka_bootstrap_servers

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
        Field(name="region", dtype=String, description="Region the restaurant is in."),
        Field(name="city", dtype=String, description="City the restaurant is in (within its region)."),
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

# The order lifecycle as events on Kafka, each a JSON object whose fields and types are the
# Spark DDL below (Fresco's stream job decodes and checks them; a malformed one goes to the
# topic's dead-letter topic, ``<topic>.dead-letter``, with its reason). Registered in the
# catalog so every team reads the same schema.
order_placed_events = KafkaSource(
    name="order_placed_events",
    kafka_bootstrap_servers=kafka_bootstrap_servers(),
    topic="orders.placed",
    timestamp_field="placed_at",
    message_format=JsonFormat(schema_json=(
        "order_id BIGINT, restaurant_id BIGINT, placed_at TIMESTAMP, customer_lat DOUBLE, "
        "customer_lon DOUBLE, num_items BIGINT")),
    batch_source=event_archive("orders.placed", "placed_at"),
    description="An order was placed with a restaurant.",
    owner=OWNER,
)

order_ready_events = KafkaSource(
    name="order_ready_events",
    kafka_bootstrap_servers=kafka_bootstrap_servers(),
    topic="orders.ready",
    timestamp_field="ready_at",
    message_format=JsonFormat(schema_json=(
        "order_id BIGINT, restaurant_id BIGINT, ready_at TIMESTAMP, prep_time_min DOUBLE")),
    # The preparation time is known when the kitchen hands the order over, so this event
    # carries it: a feature "as of t" can only use orders that were ready before t.
    batch_source=batch_source("restaurant_realtime", "Last-hour windows every 15 minutes."),
    watermark_delay_threshold=timedelta(minutes=10),
    description="An order is ready for pick-up: carries its preparation time.",
    owner=OWNER,
)

order_delivered_events = KafkaSource(
    name="order_delivered_events",
    kafka_bootstrap_servers=kafka_bootstrap_servers(),
    topic="orders.delivered",
    timestamp_field="delivered_at",
    message_format=JsonFormat(schema_json=(
        "order_id BIGINT, restaurant_id BIGINT, delivered_at TIMESTAMP, delivery_duration_min DOUBLE")),
    batch_source=event_archive("orders.delivered", "delivered_at"),
    description="An order was delivered: carries the delivery duration, the ETA model's label.",
    owner=OWNER,
)

LAST_HOUR = timedelta(hours=1)
EVERY_15_MINUTES = timedelta(minutes=15)

with warnings.catch_warnings():  # Feast calls stream feature views "experimental" on each import
    warnings.simplefilter("ignore", RuntimeWarning)
    restaurant_realtime = StreamFeatureView(
        name="restaurant_realtime",
        source=order_ready_events,
        entities=[restaurant],
        ttl=LAST_HOUR,
        schema=[
            Field(name="avg_prep_time_1h", dtype=Float64,
                  description="Mean preparation minutes of the orders ready in the last hour."),
            Field(name="orders_1h", dtype=Int64, description="Orders ready in the last hour."),
        ],
        aggregations=[
            Aggregation(column="prep_time_min", function="mean", time_window=LAST_HOUR,
                        slide_interval=EVERY_15_MINUTES, name="avg_prep_time_1h"),
            Aggregation(column="order_id", function="count", time_window=LAST_HOUR,
                        slide_interval=EVERY_15_MINUTES, name="orders_1h"),
        ],
        timestamp_field="ready_at",
        mode="spark",
        online=True,
        offline=True,
        owner=OWNER,
        description=(
            "A restaurant's kitchen over the last hour (near-real-time), from the order-ready "
            "events: streamed by `fresco stream run`, backfilled by the same aggregation in batch."
        ),
        tags={"freshness_sla": "15m", "group": "restaurant"},
    )


delivery_eta_v1 = FeatureService(
    name="delivery_eta_v1",
    features=[restaurant_profile, restaurant_stats_7d, restaurant_realtime],
    owner=OWNER,
    description="Features of the delivery-time (ETA) model.",
)
