"""The raw-data generator: reproducible, typed for Spark, and with the structure it documents."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fresco.example.pipelines.generate import (
    CITY_CENTERS,
    CUISINES,
    DEFAULT_END,
    REGIONS,
    RUSH_HOURS,
    generate_raw,
    haversine_km,
    main,
    previous_hour_orders,
)

TS = pa.timestamp("us", tz="UTC")
SMALL = dict(restaurants=20, orders=3_000, days=7)


def _frames(raw) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(raw.restaurants_path), pd.read_parquet(raw.orders_path)


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = generate_raw(tmp_path / "a", seed=3, **SMALL)
    b = generate_raw(tmp_path / "b", seed=3, **SMALL)
    c = generate_raw(tmp_path / "c", seed=4, **SMALL)
    for name in ("restaurants.parquet", "orders.parquet"):
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes()
    pd.testing.assert_frame_equal(_frames(a)[1], _frames(b)[1])
    assert not _frames(a)[1].equals(_frames(c)[1])
    assert not _frames(a)[0].equals(_frames(c)[0])


def test_schema_microsecond_utc_and_counts(tmp_path: Path) -> None:
    raw = generate_raw(tmp_path, **SMALL)
    assert raw.restaurants == 20 and raw.orders == 3_000
    assert raw.end == DEFAULT_END and raw.start == DEFAULT_END - timedelta(days=7)
    assert pq.read_schema(raw.restaurants_path).remove_metadata() == pa.schema(
        [("restaurant_id", pa.int64()), ("name", pa.string()), ("lat", pa.float64()),
         ("lon", pa.float64()), ("cuisine", pa.string()), ("kitchen_capacity", pa.int64()),
         ("created_at", TS), ("region", pa.string()), ("city", pa.string())]
    )
    assert pq.read_schema(raw.orders_path).remove_metadata() == pa.schema(
        [("order_id", pa.int64()), ("restaurant_id", pa.int64()), ("placed_at", TS),
         ("customer_lat", pa.float64()), ("customer_lon", pa.float64()), ("num_items", pa.int64()),
         ("prep_time_min", pa.float64()), ("delivery_duration_min", pa.float64()),
         ("ready_at", TS), ("delivered_at", TS)]
    )
    restaurants, orders = _frames(raw)
    assert len(restaurants) == 20 and len(orders) == 3_000
    assert restaurants.restaurant_id.is_unique and orders.order_id.is_unique
    assert orders.restaurant_id.isin(restaurants.restaurant_id).all()
    assert orders.placed_at.is_monotonic_increasing
    start, end = pd.Timestamp(raw.start), pd.Timestamp(raw.end)
    assert (orders.placed_at >= start).all() and (orders.placed_at < end).all()
    assert (restaurants.created_at < start).all()
    assert set(restaurants.cuisine) <= set(CUISINES)
    assert restaurants.kitchen_capacity.between(2, 8).all()
    centers = np.array([CITY_CENTERS[c] for c in restaurants.city])  # each around its city's center
    assert ((restaurants.lat - centers[:, 0]).abs() < 0.3).all() and ((restaurants.lon - centers[:, 1]).abs() < 0.3).all()
    assert (orders.num_items >= 1).all() and (orders.prep_time_min >= 2).all()
    assert (orders.delivery_duration_min > orders.prep_time_min).all()
    assert not orders.isna().any().any()
    minutes = pd.Timedelta(minutes=1)
    assert ((orders.ready_at - orders.placed_at) / minutes - orders.prep_time_min).abs().max() < 1e-6
    assert ((orders.delivered_at - orders.placed_at) / minutes - orders.delivery_duration_min).abs().max() < 1e-6
    ready = pd.read_parquet(raw.out_dir / "events" / "orders.ready.parquet")
    assert list(ready.columns) == ["order_id", "restaurant_id", "ready_at", "prep_time_min"]
    assert ready.ready_at.is_monotonic_increasing and len(ready) == len(orders)
    pd.testing.assert_frame_equal(ready.sort_values("order_id").reset_index(drop=True),
                                  orders[list(ready.columns)].sort_values("order_id").reset_index(drop=True))


def test_custom_end_and_a_naive_end_is_utc(tmp_path: Path) -> None:
    end = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
    raw = generate_raw(tmp_path, restaurants=5, orders=100, days=2, end=end)
    assert raw.end == datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    orders = pd.read_parquet(raw.orders_path)
    assert orders.placed_at.max() < pd.Timestamp(raw.end)
    # an API argument's naive time is UTC (fresco.platform.times)
    naive = generate_raw(tmp_path / "naive", restaurants=5, orders=10, days=1, end=datetime(2026, 3, 1, 12, 30))
    assert naive.end == raw.end


def test_previous_hour_orders_is_causal_and_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    rid = rng.integers(1, 4, 400)
    t = np.sort(rng.integers(0, 6 * 3600, 400))
    t[10] = t[11] = t[9]  # same-second orders do not count each other
    got = previous_hour_orders(rid, t)
    want = [int(((rid == rid[i]) & (t >= t[i] - 3600) & (t < t[i])).sum()) for i in range(t.size)]
    assert got.tolist() == want
    # an order exactly one hour earlier counts; the window is [t - 1h, t)
    assert previous_hour_orders(np.array([1, 1, 1]), np.array([0, 3600, 3601])).tolist() == [0, 1, 1]


@pytest.fixture(scope="module")
def default_data(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    raw = generate_raw(tmp_path_factory.mktemp("raw-default"))
    restaurants, orders = _frames(raw)
    data = orders.merge(restaurants, on="restaurant_id")
    data["km"] = haversine_km(data.lat, data.lon, data.customer_lat, data.customer_lon)
    data["hour"] = data.placed_at.dt.hour
    data["load"] = previous_hour_orders(
        data.restaurant_id.to_numpy(), data.placed_at.astype("int64").to_numpy() // 1_000_000
    ) / data.kitchen_capacity
    return data


def test_orders_follow_rushes_and_weekends(default_data: pd.DataFrame) -> None:
    by_hour = default_data.groupby("hour").size()
    assert by_hour[[12, 19]].min() > 4 * by_hour[[3, 4]].max()
    rush = by_hour[list(RUSH_HOURS)].mean()
    assert rush > 1.8 * by_hour.drop(list(RUSH_HOURS)).mean()
    per_day = default_data.groupby(default_data.placed_at.dt.date).size()
    weekday = pd.to_datetime(per_day.index).dayofweek
    assert per_day[weekday >= 5].mean() > 1.15 * per_day[weekday < 5].mean()


def test_rush_hour_prep_is_slower(default_data: pd.DataFrame) -> None:
    rush = default_data.hour.isin(RUSH_HOURS)
    diff = default_data.prep_time_min[rush].mean() - default_data.prep_time_min[~rush].mean()
    assert diff > 0.7  # ~1.5 min across seeds; the standard error is ~0.05


def test_busy_kitchens_are_slower(default_data: pd.DataFrame) -> None:
    prep = default_data.prep_time_min
    assert prep[default_data.load >= 0.5].mean() - prep[default_data.load == 0].mean() > 3.0


def test_slow_cuisines_are_slower(default_data: pd.DataFrame) -> None:
    by_cuisine = default_data.groupby("cuisine").prep_time_min.mean()
    assert by_cuisine["sushi"] - by_cuisine["salads"] > 5.0
    assert by_cuisine["indian"] - by_cuisine["burgers"] > 5.0


def test_more_items_take_longer(default_data: pd.DataFrame) -> None:
    by_items = default_data.groupby(default_data.num_items.clip(upper=5)).prep_time_min.mean()
    assert by_items.is_monotonic_increasing
    assert by_items[5] - by_items[1] > 3.0


def test_delivery_grows_with_distance(default_data: pd.DataFrame) -> None:
    bins = pd.cut(default_data.km, [0, 1, 2, 3, 5, 8], include_lowest=True)
    by_km = default_data.groupby(bins, observed=True).delivery_duration_min.mean()
    assert by_km.is_monotonic_increasing
    assert by_km.iloc[-1] - by_km.iloc[0] > 10.0
    assert np.corrcoef(default_data.km, default_data.delivery_duration_min)[0, 1] > 0.6


def test_cities_have_their_own_traffic_and_belong_to_their_region(default_data: pd.DataFrame) -> None:
    """Travel minutes per km differ by city as REGIONS says (the slowest city is the slowest), so
    a model per city has something to win; every city is in its region, around its center."""
    data = default_data.assign(travel=default_data.delivery_duration_min - default_data.prep_time_min)
    per_km = (data.travel / data.km.clip(lower=0.5)).groupby(data.city).median()
    speed = {city: factors[1] for cities in REGIONS.values() for city, factors in cities.items()}
    assert per_km.idxmax() == min((c for c in per_km.index), key=speed.get)
    assert per_km.max() > 1.6 * per_km.min()
    assert {(r, c) for r, c in zip(data.region, data.city)} <= {(r, c) for r, cs in REGIONS.items() for c in cs}
    centers = np.array([CITY_CENTERS[c] for c in data.city])
    assert (haversine_km(data.lat, data.lon, centers[:, 0], centers[:, 1]) < 15).all()
    orders = data.groupby("city").size()
    assert orders.get("gilroy", 0) < 0.05 * len(data) < orders["san_francisco"]


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--orders", "500", "--restaurants", "10", "--days", "3",
                 "--end", "2026-05-01T00:00:00Z", "--progress"]) == 0
    captured = capsys.readouterr()
    assert "wrote 10 restaurants and 500 orders" in captured.out
    assert "[generate" in captured.err
    assert pd.read_parquet(tmp_path / "orders.parquet").placed_at.max() < pd.Timestamp("2026-05-01", tz="UTC")
