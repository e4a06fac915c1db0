"""Accuracy over time: per time window (of the prediction) and per model UUID, tag,
experiment and arm (and, when asked, a partitioned model's partition), the metrics of :mod:`fresco.training.metrics` on the predictions that have an
outcome, beside the prediction count, the outcome count and the join rate."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from fresco.monitoring.log import read_predictions
from fresco.monitoring.outcomes import JoinedOutcomes, OutcomeSource, join_outcomes, no_outcomes, outcomes_to_join
from fresco.training.metrics import compute_metrics, metric_names

GROUPS = ("model_uuid", "tag", "experiment", "arm")
#: The prediction log's column of a partitioned model's partition (null for other models).
PARTITION = "partition"


def accuracy_over_time(joined: pd.DataFrame, tasks: Mapping[str, str], *, window: str = "1h",
                       by: Sequence[str] = GROUPS) -> pd.DataFrame:
    """One row per window and group: ``window_start``, the ``by`` columns, ``predictions``,
    ``outcomes``, ``join_rate`` and every metric of the model's task (``tasks``: model UUID
    -> ``regression`` or ``binary``; NaN where a window has no outcome). ``window`` is a
    pandas frequency (``15min``, ``1h``, ``1D``)."""
    try:
        starts = pd.to_datetime(joined["predicted_at"], utc=True).dt.floor(window)
    except ValueError as exc:
        raise ValueError(f"window {window!r} is not a time span such as 15min, 1h or 1D ({exc})") from None
    unknown = sorted(set(joined["model_uuid"]) - set(tasks))
    if unknown:
        raise ValueError(f"no task known for model(s) {unknown}")
    frame = joined.assign(window_start=starts)
    rows = []
    for key, group in frame.groupby(["window_start", *by], dropna=False, sort=True):
        values = dict(zip(["window_start", *by], key))
        task = tasks[values["model_uuid"]]
        observed = group[group["outcome"].notna()]
        rows.append({
            **{k: (None if pd.isna(v) else v) for k, v in values.items()},
            "task": task, "predictions": len(group), "outcomes": len(observed),
            "join_rate": len(observed) / len(group),
            **compute_metrics(task, observed["outcome"].to_numpy(), observed["prediction"].to_numpy()),
        })
    columns = ["window_start", *by, "task", "predictions", "outcomes", "join_rate",
               *dict.fromkeys(m for t in set(tasks.values()) for m in metric_names(t))]
    return pd.DataFrame(rows, columns=columns)


def accuracy_from_logs(
    task_of: Callable[[str], str], *, log_folder: Path | None = None,
    outcomes: OutcomeSource | Path | str | None = None,
    since: datetime | None = None, until: datetime | None = None, model: str | None = None,
    window: str = "1h", max_delay: timedelta | None = timedelta(days=7), by_partition: bool = False,
) -> tuple[JoinedOutcomes, pd.DataFrame]:
    """The prediction log (default ``<state dir>/predictions``) joined with ``outcomes`` (a table,
    or an :class:`~fresco.monitoring.outcomes.OutcomeSource`; default: what ``POST /outcome``
    logged) and its accuracy over time; ``task_of`` gives a model UUID's task (the model
    repository's record); ``by_partition``: also per partition of a partitioned model (the
    partition that answered each prediction). ``ValueError`` when no prediction is logged in the range."""
    predictions = read_predictions(log_folder, since=since, until=until, model=model)
    if predictions.empty:
        raise ValueError("no logged predictions in that range (is the service logging? "
                         "FRESCO_PREDICTION_LOG, FRESCO_PREDICTION_LOG_DIR)")
    table = outcomes_to_join(outcomes, predictions)
    joined = join_outcomes(predictions, no_outcomes() if table is None else table, max_delay=max_delay)
    tasks = {uuid: task_of(uuid) for uuid in predictions["model_uuid"].unique()}
    return joined, accuracy_over_time(joined.frame, tasks, window=window,
                                      by=(*GROUPS, PARTITION) if by_partition else GROUPS)
