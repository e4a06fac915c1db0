"""Outcomes (labels observed after the prediction) and their join to the prediction log.

An outcome table has ``prediction_id`` (from the answer), ``outcome`` (the observed label:
a value, or 0/1 for a binary model) and ``observed_at`` (UTC). It is joined by prediction
id: several outcomes for one prediction are a correction (the latest observed counts, the
others are counted as duplicates); an outcome observed more than ``max_delay`` after its
prediction is counted as late and left out; one whose prediction is not in the log read (not
logged, sampled out, or outside the time range) is counted as unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd

OUTCOME_COLUMNS = ("prediction_id", "outcome", "observed_at")


def no_outcomes() -> pd.DataFrame:
    """An outcome table without rows (what a log joins to when nothing was reported)."""
    return pd.DataFrame({"prediction_id": pd.Series(dtype=str), "outcome": pd.Series(dtype=float),
                         "observed_at": pd.Series(dtype="datetime64[us, UTC]")})


def outcomes_to_join(outcomes: Path | None) -> pd.DataFrame | None:
    """The outcome table the monitoring commands join: ``outcomes`` when given (it must
    exist), else what ``POST /outcome`` logged when it logged anything; None otherwise."""
    from fresco.platform.logs import outcome_log_folder

    if outcomes is not None:
        return read_outcomes(Path(outcomes))
    folder = outcome_log_folder()
    return read_outcomes(folder) if any(folder.rglob("*.parquet")) else None


def read_outcomes(path: Path) -> pd.DataFrame:
    """An outcome table (a Parquet file or folder), checked: its columns, numeric outcomes,
    UTC times."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no outcome table at {path}")
    frame = pd.read_parquet(path)
    missing = [c for c in OUTCOME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"outcome table {path} lacks column(s) {missing}; it has {sorted(frame.columns)}")
    frame = frame[list(OUTCOME_COLUMNS)].copy()
    frame["prediction_id"] = frame["prediction_id"].astype(str)
    try:
        frame["outcome"] = pd.to_numeric(frame["outcome"]).astype("float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"outcome table {path}: column 'outcome' must be numeric ({exc})") from None
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True)
    return frame


@dataclass
class JoinedOutcomes:
    """Predictions with their ``outcome`` and ``observed_at`` (null when none), and the counts."""

    frame: pd.DataFrame
    predictions: int
    outcomes: int  # rows in the outcome table
    matched: int  # predictions that got an outcome
    duplicates: int  # extra outcomes for a prediction that had one (the latest observed counts)
    late: int  # outcomes observed more than max_delay after their prediction
    unmatched: int  # outcomes for predictions not in the log read

    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in
                ("predictions", "outcomes", "matched", "duplicates", "late", "unmatched")}


def join_outcomes(predictions: pd.DataFrame, outcomes: pd.DataFrame, *,
                  max_delay: timedelta | None = None) -> JoinedOutcomes:
    """``predictions`` (the log) with ``outcomes`` joined by prediction id (see the module doc)."""
    outcomes = outcomes.sort_values("observed_at", kind="stable")
    known = outcomes["prediction_id"].isin(predictions["prediction_id"])
    unmatched = int((~known).sum())
    outcomes = outcomes[known]
    latest = outcomes.drop_duplicates("prediction_id", keep="last")
    duplicates = len(outcomes) - len(latest)
    when = predictions.set_index("prediction_id")["predicted_at"]
    late = pd.Series(False, index=latest.index)
    if max_delay is not None:
        late = latest["observed_at"] - latest["prediction_id"].map(when) > pd.Timedelta(max_delay)
    kept = latest[~late]
    frame = predictions.merge(kept, on="prediction_id", how="left", validate="one_to_one")
    return JoinedOutcomes(frame, len(predictions), unmatched + len(outcomes), int(kept.shape[0]),
                          duplicates, int(late.sum()), unmatched)
