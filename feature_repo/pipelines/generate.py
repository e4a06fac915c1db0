"""Seeded, deterministic raw data for Fresco's example: predicting UberEATS delivery time.

``generate_raw(out_dir)`` writes two Parquet files, every timestamp ``timestamp[us, tz=UTC]``
(Spark 4 refuses nanosecond timestamps):

``restaurants.parquet``
    restaurant_id int64, name string, lat/lon float64 (around its city's center), cuisine string
    (one of eight), kitchen_capacity int64 (orders the kitchen prepares in parallel, 2..8),
    created_at timestamp (30 days to 3 years before the order period), region and city string
    (:data:`REGIONS`).

``orders.parquet``
    order_id int64 (1..N in placement order), restaurant_id int64, placed_at timestamp,
    customer_lat/customer_lon float64, num_items int64, prep_time_min float64,
    delivery_duration_min float64 (the label: placement to delivery, prep and travel included),
    ready_at timestamp (placed_at + prep_time_min: the kitchen hands the order over),
    delivered_at timestamp (placed_at + delivery_duration_min).

``events/orders.placed.parquet``, ``events/orders.ready.parquet``, ``events/orders.delivered.parquet``
    The order lifecycle as events, in the schemas of the catalog's Kafka sources
    (``order_placed_events``, ``order_ready_events``, ``order_delivered_events``), for
    ``fresco stream replay``; each is a projection of the orders (:data:`EVENT_COLUMNS`).

Reproducibility: the orders cover ``[end - days, end)``; ``end`` defaults to
:data:`DEFAULT_END` (2026-11-01T00:00Z, a Sunday, so the default 28 days are four whole weeks)
rather than "now", so one seed gives byte-identical files with the same library versions.

The structure, which a model can learn and a person can explain
------------------------------------------------------------------
The city runs on UTC (hours below are UTC hours, the ones ``hour_of_day`` sees).

* **When people order.** Each hour of the period gets a weight from a day profile
  (:data:`WEEKDAY_PROFILE`, :data:`WEEKEND_PROFILE`): quiet nights, a lunch rush at 11-13 and a
  dinner rush at 18-20. Weekends order 25% more, later in the morning (brunch peaks at 12-13),
  with a longer dinner (to 21) and a busier late night. Within an hour, the second is uniform.
* **Where.** Restaurants have a popularity (log-normal) that decides their share of orders.
  Customers live a gamma-distributed distance (mean ~2.6 km, 0.2-12 km) from the restaurant
  in a uniform direction.
* **Preparation time** (``prep_time_min``) = the restaurant's base time (its cuisine's base,
  :data:`CUISINES`, from salads 7 min to sushi 18 min, times a per-restaurant factor around 1)
  + 1.2 min per item after the first
  + the **kitchen load**: ``LOAD_MAX_MIN * (1 - exp(-load))`` where ``load`` is the number of
  orders the restaurant received in the previous hour ``[t - 1h, t)`` -- strictly before this
  order, so the feature is causal -- divided by its ``kitchen_capacity``; the effect saturates
  at 12 min (a swamped restaurant throttles its intake). Rushes bring load, so prep is slower
  at rush hours without a separate rush term.
  The sum is multiplied by log-normal noise (sigma 0.12), floored at 2 min.
* **Where, by region and city.** Each restaurant is in one city of one region (:data:`REGIONS`:
  three regions, nine cities, drawn by each city's share of restaurants), placed around the
  city's center. Cities have their own traffic: a speed factor, and a factor for their rush
  hours (a city whose rush is worse than the average has one below 1), so a model per city can
  beat one for all; the smallest cities get too few orders for a model of their own.
* **Travel.** Haversine distance between restaurant and customer, times a road factor of 1.3,
  at 24 km/h off-peak and 15 km/h in the weekday rushes (19 km/h in weekend rushes), times the
  restaurant's city's speed factor (and its rush factor in the rushes), times log-normal noise
  (sigma 0.15).
* **Delivery duration** (the label) = prep + courier hand-off (3 min + exponential, mean 1.5)
  + travel.

Everything is vectorised numpy: two million orders take seconds
(``python -m fresco.example.pipelines.generate --out DIR --orders 2000000``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fresco.platform.times import utc

__all__ = [
    "CITY_CENTERS",
    "CUISINES",
    "DEFAULT_END",
    "EVENT_COLUMNS",
    "REGIONS",
    "RUSH_HOURS",
    "RawData",
    "generate_raw",
    "haversine_km",
    "previous_hour_orders",
    "main",
]

#: Event topic -> its columns, taken from the orders.
EVENT_COLUMNS: dict[str, list[str]] = {
    "orders.placed": ["order_id", "restaurant_id", "placed_at", "customer_lat", "customer_lon", "num_items"],
    "orders.ready": ["order_id", "restaurant_id", "ready_at", "prep_time_min"],
    "orders.delivered": ["order_id", "restaurant_id", "delivered_at", "delivery_duration_min"],
}

#: Default end of the order period: fixed, so a seed always gives the same bytes.
DEFAULT_END = datetime(2026, 11, 1, tzinfo=timezone.utc)

#: Cuisine -> base preparation time in minutes (one item, idle kitchen).
CUISINES: dict[str, float] = {
    "salads": 7.0,
    "burgers": 8.0,
    "mexican": 9.0,
    "pizza": 11.0,
    "chinese": 12.0,
    "thai": 14.0,
    "indian": 17.0,
    "sushi": 18.0,
}

#: Lunch and dinner rush hours (UTC), the hours traffic is slow.
RUSH_HOURS = (11, 12, 13, 18, 19, 20)

#: Relative order intensity by hour of day, Monday to Friday.
WEEKDAY_PROFILE = np.array(
    [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.6, 0.7, 0.7, 1.0, 2.6,
     3.2, 2.4, 1.2, 0.9, 1.0, 1.6, 3.0, 3.6, 2.8, 1.6, 1.0, 0.6]
)
#: Relative order intensity by hour of day, Saturday and Sunday (before the weekend boost).
WEEKEND_PROFILE = np.array(
    [0.6, 0.4, 0.3, 0.2, 0.1, 0.1, 0.2, 0.3, 0.5, 0.8, 1.4, 2.2,
     3.0, 3.0, 2.0, 1.2, 1.1, 1.6, 2.8, 3.6, 3.2, 2.2, 1.4, 1.0]
)
WEEKEND_BOOST = 1.25

#: Region -> city -> (share of restaurants, speed factor, rush factor): see the module doc.
REGIONS: dict[str, dict[str, tuple[float, float, float]]] = {
    "bay": {"san_francisco": (0.33, 0.75, 0.8), "oakland": (0.16, 1.05, 1.05), "berkeley": (0.05, 1.25, 1.2)},
    "peninsula": {"san_mateo": (0.12, 1.2, 0.85), "palo_alto": (0.09, 1.4, 1.15), "redwood_city": (0.03, 1.1, 1.0)},
    "south": {"san_jose": (0.18, 1.3, 0.65), "santa_clara": (0.03, 1.45, 1.25), "gilroy": (0.01, 1.7, 1.3)},
}
#: City -> its center (latitude, longitude).
CITY_CENTERS: dict[str, tuple[float, float]] = {
    "san_francisco": (37.7749, -122.4194), "oakland": (37.8044, -122.2712), "berkeley": (37.8715, -122.2730),
    "san_mateo": (37.5630, -122.3255), "palo_alto": (37.4419, -122.1430), "redwood_city": (37.4852, -122.2364),
    "san_jose": (37.3382, -121.8863), "santa_clara": (37.3541, -121.9552), "gilroy": (37.0058, -121.5683),
}
EARTH_RADIUS_KM = 6371.0088
ITEM_MIN = 1.2  # extra prep minutes per item after the first
LOAD_MAX_MIN = 12.0  # prep minutes a saturated kitchen adds
ROAD_FACTOR = 1.3
SPEED_OFF_PEAK_KMH = 24.0
SPEED_RUSH_WEEKDAY_KMH = 15.0
SPEED_RUSH_WEEKEND_KMH = 19.0
HANDOFF_MIN = 3.0

_NAME_WORDS = [
    "Golden", "Mission", "Little", "Bay", "Sunset", "Castro", "Marina", "Nob Hill",
    "Fog City", "Presidio", "Dogpatch", "Haight", "Union", "Embarcadero", "Hayes",
    "Twin Peaks", "Noe", "Richmond", "SoMa", "Potrero",
]
_PROGRESS_ORDERS = 500_000  # show progress automatically from this size up
_US = 1_000_000
_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class RawData:
    """Where :func:`generate_raw` wrote the raw data, and how much."""

    out_dir: Path
    restaurants_path: Path
    orders_path: Path
    restaurants: int
    orders: int
    start: datetime
    end: datetime


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees (numpy-vectorised)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def previous_hour_orders(restaurant_id: np.ndarray, placed_at_s: np.ndarray) -> np.ndarray:
    """For each order, how many orders of the same restaurant were placed in ``[t - 1h, t)``.

    ``placed_at_s`` is in integer seconds. Causal: an order never counts itself, nor orders
    placed at the same second or later. O(n log n), no Python loop.
    """
    restaurant_id = np.asarray(restaurant_id, dtype=np.int64)
    t = np.asarray(placed_at_s, dtype=np.int64)
    if t.size == 0:
        return np.zeros(0, dtype=np.int64)
    t0 = t.min()
    span = int(t.max() - t0) + 2 * 3600
    key = (restaurant_id - restaurant_id.min()) * span + (t - t0)
    keys = np.sort(key)
    return np.searchsorted(keys, key, side="left") - np.searchsorted(keys, key - 3600, side="left")


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"[generate {time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)


def _cities(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each restaurant's (region, city), drawn by share from a generator of their own, so the
    other columns are drawn as before cities existed."""
    pairs = [(region, city, share) for region, cities in REGIONS.items() for city, (share, _, _) in cities.items()]
    shares = np.array([share for _, _, share in pairs])
    pick = np.random.default_rng([seed, 1]).choice(len(pairs), size=n, p=shares / shares.sum())
    return (np.array([pairs[i][0] for i in pick], dtype=object), np.array([pairs[i][1] for i in pick], dtype=object))


def _restaurants(rng: np.random.Generator, n: int, start_s: int, seed: int) -> dict[str, np.ndarray]:
    region, city = _cities(seed, n)
    centers = np.array([CITY_CENTERS[c] for c in city]).reshape(n, 2)
    cuisine_names = np.array(list(CUISINES))
    cuisine = cuisine_names[rng.integers(0, len(cuisine_names), n)]
    words = np.array(_NAME_WORDS)[rng.integers(0, len(_NAME_WORDS), n)]
    ids = np.arange(1, n + 1, dtype=np.int64)
    names = [f"{w} {c.title()} #{i}" for w, c, i in zip(words, cuisine, ids)]
    lat = np.round(centers[:, 0] + rng.normal(0.0, 0.025, n), 6)
    lon = np.round(centers[:, 1] + rng.normal(0.0, 0.03, n), 6)
    capacity = rng.integers(2, 9, n).astype(np.int64)
    age_s = rng.integers(30 * 86_400, 3 * 365 * 86_400, n)
    created_at_us = (start_s - age_s) * _US
    return {
        "restaurant_id": ids,
        "name": np.array(names, dtype=object),
        "lat": lat,
        "lon": lon,
        "cuisine": cuisine,
        "kitchen_capacity": capacity,
        "created_at_us": created_at_us,
        "region": region,
        "city": city,
        # not written: hidden per-restaurant parameters
        "popularity": rng.lognormal(0.0, 0.7, n),
        "prep_factor": rng.lognormal(0.0, 0.1, n),
    }


def generate_raw(
    out_dir: Path,
    *,
    restaurants: int = 200,
    orders: int = 60_000,
    days: int = 28,
    seed: int = 7,
    end: datetime | None = None,
    progress: bool | None = None,
) -> RawData:
    """Write ``restaurants.parquet`` and ``orders.parquet`` under ``out_dir`` (see module doc).

    ``end`` (timezone-aware; default :data:`DEFAULT_END`) is the exclusive end of the order
    period ``[end - days, end)``; it is floored to the hour. ``progress`` prints stage lines to
    stderr; by default only from half a million orders up.
    """
    if restaurants < 1 or orders < 0 or days < 1:
        raise ValueError("need restaurants >= 1, orders >= 0 and days >= 1")
    end = utc(DEFAULT_END if end is None else end).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    start_s = int(start.timestamp())
    say = _Progress(orders >= _PROGRESS_ORDERS if progress is None else progress)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    say(f"{restaurants:,} restaurants")
    rest = _restaurants(rng, restaurants, start_s, seed)

    say(f"{orders:,} orders over {days} days from {start:%Y-%m-%d}: placement times")
    hours = np.arange(days * 24)
    hour_start_s = start_s + hours * 3600
    hour_of_day = (hour_start_s // 3600) % 24
    weekday = (hour_start_s // 86_400 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    weekend = weekday >= 5
    weights = np.where(weekend, WEEKEND_PROFILE[hour_of_day] * WEEKEND_BOOST, WEEKDAY_PROFILE[hour_of_day])
    slot = rng.choice(hours.size, size=orders, p=weights / weights.sum())
    placed_s = hour_start_s[slot] + rng.integers(0, 3600, orders)
    order = np.argsort(placed_s, kind="stable")
    placed_s = placed_s[order]

    say("restaurants, customers and items")
    pop = rest["popularity"]
    r_idx = rng.choice(restaurants, size=orders, p=pop / pop.sum())
    r_lat, r_lon = rest["lat"][r_idx], rest["lon"][r_idx]
    dist = np.clip(rng.gamma(2.0, 1.3, orders), 0.2, 12.0)
    bearing = rng.uniform(0.0, 2 * np.pi, orders)
    c_lat = np.round(r_lat + np.degrees(dist * np.cos(bearing) / EARTH_RADIUS_KM), 6)
    c_lon = np.round(
        r_lon + np.degrees(dist * np.sin(bearing) / (EARTH_RADIUS_KM * np.cos(np.radians(r_lat)))), 6
    )
    num_items = np.minimum(1 + rng.poisson(1.4, orders), 12).astype(np.int64)

    say("kitchen load (orders in the previous hour, causal)")
    restaurant_id = rest["restaurant_id"][r_idx]
    load = previous_hour_orders(restaurant_id, placed_s) / rest["kitchen_capacity"][r_idx]

    say("prep, travel and delivery times")
    base = np.array([CUISINES[c] for c in rest["cuisine"]]) * rest["prep_factor"]
    prep = (base[r_idx] + ITEM_MIN * (num_items - 1) + LOAD_MAX_MIN * (1.0 - np.exp(-load)))
    prep = np.maximum(prep * rng.lognormal(0.0, 0.12, orders), 2.0)
    o_hour = (placed_s // 3600) % 24
    o_weekend = ((placed_s // 86_400 + 3) % 7) >= 5
    rush = np.isin(o_hour, RUSH_HOURS)
    speed = np.where(rush, np.where(o_weekend, SPEED_RUSH_WEEKEND_KMH, SPEED_RUSH_WEEKDAY_KMH), SPEED_OFF_PEAK_KMH)
    traffic = {city: (factor, rush_factor) for cities in REGIONS.values() for city, (_, factor, rush_factor) in cities.items()}
    city_speed = np.array([traffic[c][0] for c in rest["city"]])[r_idx]
    city_rush = np.array([traffic[c][1] for c in rest["city"]])[r_idx]
    speed = speed * city_speed * np.where(rush, city_rush, 1.0)
    km = haversine_km(r_lat, r_lon, c_lat, c_lon)
    travel = km * ROAD_FACTOR / speed * 60.0 * rng.lognormal(0.0, 0.15, orders)
    handoff = HANDOFF_MIN + rng.exponential(1.5, orders)
    delivery = prep + handoff + travel

    say("writing Parquet")
    restaurants_table = pa.table(
        {
            "restaurant_id": pa.array(rest["restaurant_id"], pa.int64()),
            "name": pa.array(rest["name"], pa.string()),
            "lat": pa.array(rest["lat"], pa.float64()),
            "lon": pa.array(rest["lon"], pa.float64()),
            "cuisine": pa.array(rest["cuisine"], pa.string()),
            "kitchen_capacity": pa.array(rest["kitchen_capacity"], pa.int64()),
            "created_at": pa.array(rest["created_at_us"], pa.int64()).cast(_TS),
            "region": pa.array(rest["region"], pa.string()),
            "city": pa.array(rest["city"], pa.string()),
        }
    )
    orders_table = pa.table(
        {
            "order_id": pa.array(np.arange(1, orders + 1, dtype=np.int64)),
            "restaurant_id": pa.array(restaurant_id, pa.int64()),
            "placed_at": pa.array(placed_s * _US, pa.int64()).cast(_TS),
            "customer_lat": pa.array(c_lat, pa.float64()),
            "customer_lon": pa.array(c_lon, pa.float64()),
            "num_items": pa.array(num_items, pa.int64()),
            "prep_time_min": pa.array(np.round(prep, 3), pa.float64()),
            "delivery_duration_min": pa.array(np.round(delivery, 3), pa.float64()),
        }
    )
    placed_us = placed_s * _US
    for column, minutes in (("ready_at", "prep_time_min"), ("delivered_at", "delivery_duration_min")):
        after = np.round(orders_table[minutes].to_numpy() * 60 * _US).astype(np.int64)
        orders_table = orders_table.append_column(column, pa.array(placed_us + after, pa.int64()).cast(_TS))
    restaurants_path = out_dir / "restaurants.parquet"
    orders_path = out_dir / "orders.parquet"
    pq.write_table(restaurants_table, restaurants_path)
    pq.write_table(orders_table, orders_path, row_group_size=1 << 20)
    (out_dir / "events").mkdir(exist_ok=True)
    for topic, columns in EVENT_COLUMNS.items():
        events = orders_table.select(columns)
        time_column = columns[2]
        order = pc.sort_indices(events, [(time_column, "ascending"), ("order_id", "ascending")])
        pq.write_table(events.take(order), out_dir / "events" / f"{topic}.parquet", row_group_size=1 << 20)
    say(f"done: {orders_path} ({orders_path.stat().st_size / 1e6:.1f} MB)")
    return RawData(out_dir, restaurants_path, orders_path, restaurants, orders, start, end)


def _parse_end(text: str) -> datetime:
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fresco.example.pipelines.generate",
        description="Write the seeded raw restaurants and orders Parquet files of the delivery-time example.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--restaurants", type=int, default=200)
    parser.add_argument("--orders", type=int, default=60_000, help="number of orders, e.g. 2000000 for benchmarks")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end", type=_parse_end, default=None,
                        help=f"exclusive end of the order period, ISO 8601 (default {DEFAULT_END.isoformat()})")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="print stage lines (default: only for 500,000 orders or more)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    raw = generate_raw(args.out, restaurants=args.restaurants, orders=args.orders, days=args.days,
                       seed=args.seed, end=args.end, progress=args.progress)
    print(f"wrote {raw.restaurants:,} restaurants and {raw.orders:,} orders "
          f"[{raw.start.isoformat()}, {raw.end.isoformat()}) to {raw.out_dir} in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
