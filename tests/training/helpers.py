"""Small, real data for training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REQUEST_PROGRAM = """\
hour     = hour_of_day(@req.placed_at)
rush     = if hour in [11, 12, 13, 18, 19, 20] then 1 else 0
distance = @req.distance_km
items    = @req.num_items
dist_z   = standardize(distance)
"""


def synthetic_orders(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Orders with a learnable delivery time (distance, items, rush hours) and a binary 'late'."""
    rng = np.random.default_rng(seed)
    placed = pd.Timestamp("2026-10-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 14 * 86400, n)), unit="s")
    hour = placed.hour.to_numpy()
    rush = np.isin(hour, [11, 12, 13, 18, 19, 20])
    distance = rng.gamma(2.0, 1.3, n)
    items = rng.integers(1, 6, n)
    minutes = 10 + 4.0 * distance + 1.5 * items + 6.0 * rush + rng.normal(0, 1.5, n)
    return pd.DataFrame({
        "order_id": np.arange(n),
        "placed_at": placed.astype("datetime64[us, UTC]"),
        "distance_km": distance,
        "num_items": items.astype("int64"),
        "minutes": minutes,
        "late": (minutes > np.median(minutes)).astype("int64"),
    })


def write_request_config(folder: Path, *, model_type: str = "linear", task: str = "regression",
                         n: int = 1500, extra: str = "") -> Path:
    """A config whose program reads only request fields (no feature store needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    synthetic_orders(n).to_parquet(folder / "orders.parquet", index=False)
    label = "minutes" if task == "regression" else "late"
    program = "\n".join("    " + line for line in REQUEST_PROGRAM.splitlines())
    path = folder / f"{model_type}_{task}.yaml"
    path.write_text(f"""\
model:
  name: eta_test
  type: {model_type}
  task: {task}
data:
  source: {{parquet: orders.parquet}}
  label: {label}
  timestamp_column: placed_at
features:
  program: |
{program}
{extra}""")
    return path
