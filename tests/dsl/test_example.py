"""The platform's example program parses, checks, fits and runs identically everywhere."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from fresco.dsl import DSLFitError, DType, compile_program

from .helpers import close, pandas_frame

EXAMPLE = """
hour        = hour_of_day(@req.placed_at)
weekend     = day_of_week(@req.placed_at) >= 5
prep_7d     = fill(@fs.restaurant_stats_7d.avg_prep_time_7d, 15.0)
prep_recent = coalesce(@fs.restaurant_realtime.avg_prep_time_1h, prep_7d)
distance_km = haversine(@req.customer_lat, @req.customer_lon, @fs.restaurant_profile.lat, @fs.restaurant_profile.lon)
cuisine     = categorical(@fs.restaurant_profile.cuisine)   # vocabulary fitted at training
prep_z      = standardize(prep_7d)                          # mean and std fitted at training
rush        = if hour in [11, 12, 13, 18, 19, 20] then 1 else 0
"""

TYPES = {
    "placed_at": DType.TIMESTAMP,
    "customer_lat": DType.FLOAT,
    "customer_lon": DType.FLOAT,
    "restaurant_stats_7d:avg_prep_time_7d": DType.FLOAT,
    "restaurant_realtime:avg_prep_time_1h": DType.FLOAT,
    "restaurant_profile:lat": DType.FLOAT,
    "restaurant_profile:lon": DType.FLOAT,
    "restaurant_profile:cuisine": DType.STRING,
}


def example_rows(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rows.append({
            "placed_at": datetime.fromtimestamp(int(rng.integers(1.6e9, 1.7e9)), tz=timezone.utc),
            "customer_lat": float(rng.uniform(40, 41)),
            "customer_lon": float(rng.uniform(-74, -73)),
            "restaurant_stats_7d__avg_prep_time_7d": None if i % 7 == 0 else float(rng.uniform(5, 30)),
            "restaurant_realtime__avg_prep_time_1h": None if i % 3 == 0 else float(rng.uniform(5, 30)),
            "restaurant_profile__lat": float(rng.uniform(40, 41)),
            "restaurant_profile__lon": float(rng.uniform(-74, -73)),
            "restaurant_profile__cuisine": [None, "thai", "pizza", "sushi", "pizza"][i % 5],
        })
    return rows


def _by_hand(fitted: dict, row: dict) -> dict:
    """EXAMPLE's outputs worked out with plain Python (the oracle of every back end)."""
    t = row["placed_at"]
    prep_7d = row["restaurant_stats_7d__avg_prep_time_7d"]
    prep_7d = 15.0 if prep_7d is None else prep_7d
    recent = row["restaurant_realtime__avg_prep_time_1h"]
    lat1, lon1 = map(math.radians, (row["customer_lat"], row["customer_lon"]))
    lat2, lon2 = map(math.radians, (row["restaurant_profile__lat"], row["restaurant_profile__lon"]))
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    vocabulary = fitted["cuisine#0"]["vocabulary"]
    cuisine = row["restaurant_profile__cuisine"]
    return {
        "hour": t.hour, "weekend": t.weekday() >= 5, "prep_7d": prep_7d,
        "prep_recent": prep_7d if recent is None else recent,
        "distance_km": 6371.0 * 2 * math.asin(math.sqrt(min(a, 1.0))),
        "cuisine": None if cuisine is None else (vocabulary.index(cuisine) if cuisine in vocabulary
                                                 else len(vocabulary)),
        "prep_z": (prep_7d - fitted["prep_z#0"]["mean"]) / fitted["prep_z#0"]["scale"],
        "rush": 1 if t.hour in [11, 12, 13, 18, 19, 20] else 0,
    }


def fitted_example():
    program = compile_program(EXAMPLE, TYPES)
    rows = example_rows(200)
    frame = pandas_frame(rows, {program.column_for(k): v for k, v in TYPES.items()})
    return program.fit(frame), rows


def test_example_dependencies_and_types() -> None:
    program = compile_program(EXAMPLE, TYPES)
    assert program.request_fields == ["placed_at", "customer_lat", "customer_lon"]
    assert program.feature_refs == [
        "restaurant_stats_7d:avg_prep_time_7d",
        "restaurant_realtime:avg_prep_time_1h",
        "restaurant_profile:lat",
        "restaurant_profile:lon",
        "restaurant_profile:cuisine",
    ]
    assert [(o.name, o.dtype) for o in program.outputs] == [
        ("hour", DType.INT), ("weekend", DType.BOOL), ("prep_7d", DType.FLOAT),
        ("prep_recent", DType.FLOAT), ("distance_km", DType.FLOAT), ("cuisine", DType.INT),
        ("prep_z", DType.FLOAT), ("rush", DType.INT),
    ]
    assert program.column_for("restaurant_profile:lat") == "restaurant_profile__lat"
    assert program.column_for("@fs.restaurant_profile.lat") == "restaurant_profile__lat"
    assert program.column_for("placed_at") == "placed_at"


def test_unfitted_program_refuses_fitted_transforms() -> None:
    program = compile_program(EXAMPLE, TYPES)
    with pytest.raises(DSLFitError) as err:
        program.evaluate(example_rows(1)[0])
    assert err.value.line == 7 and "fit" in str(err.value)


def test_example_runs_identically_on_every_backend(backend) -> None:
    name, run = backend
    program, rows = fitted_example()
    assert program.fitted["cuisine#0"] == {"vocabulary": ["pizza", "sushi", "thai"]}
    expected = [_by_hand(program.fitted, row) for row in rows]
    got = run(program, rows)
    for want, have in zip(expected, got):
        assert set(have) == set(want)
        for key in want:  # the hand-written haversine may differ from numpy's in the last bits
            assert close(want[key], have[key], 1e-12 if key == "distance_km" else 0), (key, want[key], have[key])
    assert expected[0]["cuisine"] is None  # null cuisine stays null
    assert {r["cuisine"] for r in expected} == {None, 0, 1, 2}
