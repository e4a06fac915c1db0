"""A small real model trained with its reference sample, and predictions logged for it as
serving logs them: shared by the monitoring tests (fixtures imported by name)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fresco.platform.logs import PredictionRecord, PredictionSink, new_prediction_id
from fresco.serving.prediction_log import AsyncLog
from tests.conftest import environment_restored
from tests.training.helpers import REQUEST_PROGRAM, synthetic_orders, write_request_config

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc)
#: the helpers' program and a categorical input (vocabulary: the item counts seen, 1 to 5)
PROGRAM = REQUEST_PROGRAM + "size     = categorical(@req.num_items)\n"
REFERENCE_ROWS = 250  # of a 300-row test split


@dataclass
class Trained:
    home: Path
    uuid: str
    config: Path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """One small linear model trained for real under a private state folder."""
    from fresco.training import train

    folder = tmp_path_factory.mktemp("report")
    config = write_request_config(folder, program=PROGRAM,
                                  extra=f"monitoring: {{reference_rows: {REFERENCE_ROWS}, seed: 7}}\n")
    with environment_restored("FRESCO_HOME", "BENTOML_HOME"):
        use_home(folder / "home")
        result = train(config, reports_dir=folder / "reports")
    yield Trained(folder / "home", result.uuid, config)


def use_home(home: Path) -> None:
    import os

    os.environ["FRESCO_HOME"] = str(home)
    os.environ.pop("BENTOML_HOME", None)
    os.environ.pop("FRESCO_OUTCOME_LOG_DIR", None)


@pytest.fixture
def home(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trained model's state folder, for this test."""
    monkeypatch.setenv("FRESCO_HOME", str(trained.home))
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    monkeypatch.delenv("FRESCO_OUTCOME_LOG_DIR", raising=False)
    return trained.home


def log_predictions(uuid: str, folder: Path, *, n: int = 400, seed: int = 11, extra_items: int = 0,
                    start: datetime = T0, tag: str = "eta:production", every: float = 5.0,
                    null_every: int = 0) -> list[PredictionRecord]:
    """``n`` new orders (``num_items`` shifted by ``extra_items``) scored as serving scores a
    request (the program per row, then the model), logged through serving's writer from
    ``start``, one every ``every`` seconds; with ``null_every``, every such record logs its
    ``distance`` input as null."""
    from fresco.training import load_model
    from fresco.training.features import matrix_from_rows

    model = load_model(uuid)
    orders = synthetic_orders(n, seed=seed)
    orders["num_items"] += extra_items
    rows = [{"placed_at": r.placed_at.to_pydatetime(), "distance_km": float(r.distance_km),
             "num_items": int(r.num_items)} for r in orders.itertuples()]
    outputs = [model.program.evaluate(row) for row in rows]
    predictions = model.predict(matrix_from_rows(outputs, model.inputs))
    records = [PredictionRecord(
        new_prediction_id(), start + timedelta(seconds=every * i), uuid, tag, None, None,
        {"order_id": i}, {**row, "placed_at": row["placed_at"].isoformat()}, {},
        {name: (None if null_every and i % null_every == 0 and name == "distance" else out[name])
         for name in model.inputs}, float(p), 2.0)
        for i, (row, out, p) in enumerate(zip(rows, outputs, predictions))]
    log = AsyncLog(PredictionSink(folder), flush_seconds=0.05)
    log.log(records)
    log.close()
    assert log.stats().written == n
    return records
