"""The outcome log: labels clients report for earlier predictions (``POST /outcome``).

Each outcome names the ``prediction_id`` its answer carried, the observed ``outcome`` (the
label: a value, or 0/1 for a binary model) and when it was observed (default: when received).
They are queued like the prediction log (:class:`fresco.serving.prediction_log.AsyncLog`: never
blocks, drops counted) and written as Parquet under ``<folder>/date=YYYY-MM-DD/`` with the
columns ``fresco monitor metrics`` reads (``fresco.monitoring.outcomes``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fresco.serving.prediction_log import AsyncLog, write_day_files


@dataclass(frozen=True)
class OutcomeRecord:
    prediction_id: str
    outcome: float
    observed_at: datetime  # UTC
    received_at: datetime  # UTC


def outcome_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("prediction_id", pa.string()), ("outcome", pa.float64()),
                      ("observed_at", pa.timestamp("us", tz="UTC")),
                      ("received_at", pa.timestamp("us", tz="UTC"))])


class OutcomeSink:
    """Outcomes as Parquet under ``folder``, partitioned by the day they were received."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def write(self, records: Sequence[OutcomeRecord]) -> None:
        write_day_files(self.folder, [(r.received_at.astimezone(timezone.utc).date(), {
            "prediction_id": r.prediction_id, "outcome": r.outcome, "observed_at": r.observed_at,
            "received_at": r.received_at}) for r in records], outcome_schema())


def default_outcome_folder(environ: Mapping[str, str] | None = None) -> Path:
    """``FRESCO_OUTCOME_LOG_DIR``, else ``<state dir>/outcomes``."""
    import os

    env = os.environ if environ is None else environ
    if env.get("FRESCO_OUTCOME_LOG_DIR"):
        return Path(env["FRESCO_OUTCOME_LOG_DIR"])
    from fresco.platform.state import state_dir

    return state_dir() / "outcomes"


def outcome_log_from_env(environ: Mapping[str, str] | None = None) -> AsyncLog:
    """The service's outcome log (always on: without it, reported outcomes would be lost)."""
    return AsyncLog(OutcomeSink(default_outcome_folder(environ)))
