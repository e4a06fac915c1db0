"""The latest monitoring figures of the models a service serves, as the service exports them on
``/metrics`` (:mod:`fresco.serving.monitor_gauges`): per model UUID, tag, experiment and arm, the
latest window's predictions, outcomes, join rate and accuracy metrics (exactly the last row of
``fresco monitor metrics`` for that group, :func:`fresco.monitoring.accuracy_over_time`), and per
model the share of its inputs drifted in that window against its reference sample
(:func:`fresco.monitoring.report.build_report`). Computed in a child process of the service so
that no request waits on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from fresco.monitoring.accuracy import GROUPS, accuracy_over_time
from fresco.monitoring.log import read_predictions
from fresco.monitoring.outcomes import join_outcomes, no_outcomes, outcomes_to_join
from fresco.monitoring.report import finite_number


@dataclass(frozen=True)
class ServedModel:
    """What the figures need of a served model (no repository: a Bento serves without one)."""

    uuid: str
    name: str
    task: str
    folder: Path  #: its artifact folder (the reference sample is ``reference.parquet`` there)


@dataclass
class Figures:
    """The latest window's figures: ``groups`` rows (labels and values) and drift by model UUID."""

    window: str
    computed_at: datetime
    groups: list[dict[str, Any]] = field(default_factory=list)
    drift_share: dict[str, float] = field(default_factory=dict)
    no_reference: list[str] = field(default_factory=list)  #: models trained before reference samples


def latest_figures(models: dict[str, ServedModel], *, now: datetime, window: str = "1h",
                   lookback: timedelta = timedelta(days=1), log_folder: Path | None = None,
                   outcomes: Path | None = None, max_delay: timedelta | None = timedelta(days=7),
                   drift: bool = True) -> Figures:
    """The figures of ``models``' predictions logged in ``[now - lookback, now)``: for each
    group, its latest window's row; for each model, the drift share in its latest window."""
    figures = Figures(window, now)
    predictions = read_predictions(log_folder, since=now - lookback, until=now)
    predictions = predictions[predictions["model_uuid"].isin(list(models))].reset_index(drop=True)
    if predictions.empty:
        return figures
    table = outcomes_to_join(outcomes, predictions)
    joined = join_outcomes(predictions, no_outcomes() if table is None else table, max_delay=max_delay).frame
    tasks = {uuid: models[uuid].task for uuid in joined["model_uuid"].unique()}
    rows = accuracy_over_time(joined, tasks, window=window)
    latest = rows.sort_values("window_start").groupby(list(GROUPS), dropna=False, sort=False).tail(1)
    for row in latest.to_dict("records"):
        figures.groups.append({**{k: finite_number(v) if isinstance(v, float) else v for k, v in row.items()},
                               "model": models[row["model_uuid"]].name})
    if drift:
        _drift(figures, models, predictions, window)
    return figures


def _drift(figures: Figures, models: dict[str, ServedModel], predictions: pd.DataFrame, window: str) -> None:
    from fresco.monitoring.report import build_report
    from fresco.training.reference import NoReferenceSample, read_reference

    starts = pd.to_datetime(predictions["predicted_at"], utc=True).dt.floor(window)
    for uuid, rows in predictions.assign(__start=starts).groupby("model_uuid"):
        model = models[uuid]
        try:
            reference = read_reference(model.folder, f"{model.name} ({uuid})")
        except NoReferenceSample:
            figures.no_reference.append(uuid)
            continue
        current = rows[rows["__start"] == rows["__start"].max()].drop(columns="__start").reset_index(drop=True)
        report, _, _ = build_report(reference, current, task=model.task)
        figures.drift_share[uuid] = float(report["drift"]["share"])
