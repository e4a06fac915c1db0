"""Small, real data for training tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
                         n: int = 1500, extra: str = "", program: str = REQUEST_PROGRAM) -> Path:
    """A config whose program (default :data:`REQUEST_PROGRAM`) reads only request fields (no
    feature store needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    synthetic_orders(n).to_parquet(folder / "orders.parquet", index=False)
    label = "minutes" if task == "regression" else "late"
    program = "\n".join("    " + line for line in program.splitlines())
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


class RecordingTrainer:
    """A real trainer that also records, in order, every matrix it is given to fit or predict
    (copies) and every model it fits. Instrumentation, not a stand-in: it trains for real."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, dict[str, np.ndarray]]] = []
        self.models: list[Any] = []

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray, params: dict[str, Any],
            **kwargs: Any) -> Any:
        self.calls.append(("fit", {"X": np.array(X, copy=True), "X_val": np.array(X_val, copy=True)}))
        model = self.inner.fit(X, y, X_val, y_val, params, **kwargs)
        self.models.append(model)
        return model

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        self.calls.append(("predict", {"X": np.array(X, copy=True)}))
        return self.inner.predict(model, X)

    def __getattr__(self, name: str) -> Any:  # feature_importance, save, learnt_parameters, ...
        return getattr(self.inner, name)


def row_keys(matrix: np.ndarray) -> set[bytes]:
    """Each row of a float matrix as bytes (NaN-safe), to compare sets of rows exactly."""
    return {row.tobytes() for row in np.ascontiguousarray(matrix, dtype=np.float64)}


def rows_reaching_the_driver(spark: Any, monkeypatch: Any) -> list[int]:
    """Every DataFrame result that reaches Python from now on (``collect``, ``toPandas``), as its
    number of rows: the real calls, observed."""
    DataFrame = type(spark.range(1))  # the session's class (pyspark.sql.classic's), whose methods run
    received: list[int] = []
    collect, to_pandas = DataFrame.collect, DataFrame.toPandas

    def counted_collect(self):
        rows = collect(self)
        received.append(len(rows))
        return rows

    def counted_to_pandas(self):
        frame = to_pandas(self)
        received.append(len(frame))
        return frame

    monkeypatch.setattr(DataFrame, "collect", counted_collect)
    monkeypatch.setattr(DataFrame, "toPandas", counted_to_pandas)
    return received
