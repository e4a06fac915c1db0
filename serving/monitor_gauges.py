"""The service's monitoring figures on BentoML's ``/metrics`` (Prometheus' text format).

Every ``FRESCO_MONITOR_REFRESH_SECONDS`` (default 60; 0 turns them off; the first one interval
after the start) a background thread asks
a child process (its own interpreter, lower priority: no request waits on the computation or
the GIL) for :func:`fresco.monitoring.figures.latest_figures` over the prediction and outcome
logs this service writes, for the models it has loaded, and sets:

=====================================  =========================================================
``fresco_monitor_predictions``          predictions in the latest window (``FRESCO_MONITOR_WINDOW``,
                                        default ``1h``) of each model / tag / experiment / arm
``fresco_monitor_outcomes``             of those, the ones with an outcome
``fresco_monitor_join_rate``            outcomes / predictions
``fresco_monitor_accuracy``             each metric of the model's task (label ``metric``: rmse,
                                        mae, r2, rmsle; auc, logloss, precision, recall, f1,
                                        accuracy) on those outcomes; absent without outcomes
``fresco_monitor_window_start_seconds`` the latest window's start (Unix time)
``fresco_monitor_drift_share``          share of the model's inputs drifted in its latest window
                                        against its reference sample (labels model, model_uuid)
``fresco_monitor_refreshed_seconds``    when the figures were last computed (Unix time)
``fresco_monitor_refresh_errors_total`` refreshes that failed (the error is logged)
=====================================  =========================================================

Labels of the per-group figures: ``model`` (name), ``model_uuid``, ``tag``, ``experiment``,
``arm`` (empty when none). The values equal the last row of ``fresco monitor metrics --window
<window>`` for the same group on the same logs.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger("fresco.serving.monitor")

GROUP_LABELS = ("model", "model_uuid", "tag", "experiment", "arm")
REFRESH_ENV, WINDOW_ENV = "FRESCO_MONITOR_REFRESH_SECONDS", "FRESCO_MONITOR_WINDOW"


def refresh_seconds_from_env(environ: Mapping[str, str] = os.environ) -> float:
    """``FRESCO_MONITOR_REFRESH_SECONDS`` (default 60; 0: off), checked."""
    text = environ.get(REFRESH_ENV, "60")
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{REFRESH_ENV} must be a number of seconds (0: off), got {text!r}") from None
    if seconds < 0:
        raise ValueError(f"{REFRESH_ENV} must be 0 (off) or more, got {text!r}")
    return seconds


def _lower_priority() -> None:
    os.nice(10)


def _compute(models: dict[str, Any], window: str, now: datetime) -> Any:
    """Run in the child process."""
    from fresco.monitoring.figures import latest_figures

    return latest_figures(models, now=now, window=window)


class MonitorGauges:
    """The gauges, and the thread that refreshes them (``start``, ``stop``)."""

    def __init__(self, served: Callable[[], dict[str, Any]], *, refresh_seconds: float, window: str = "1h") -> None:
        import prometheus_client as prom

        self.served, self.refresh_seconds, self.window = served, refresh_seconds, window
        groups = list(GROUP_LABELS)

        def gauge(name: str, what: str, labels: list[str]) -> Any:
            return prom.Gauge(name, what, labels, multiprocess_mode="mostrecent")

        self.predictions = gauge("fresco_monitor_predictions", "Predictions in the latest window.", groups)
        self.outcomes = gauge("fresco_monitor_outcomes", "Predictions with an outcome in the latest window.", groups)
        self.join_rate = gauge("fresco_monitor_join_rate", "Outcomes per prediction in the latest window.", groups)
        self.accuracy = gauge("fresco_monitor_accuracy", "Accuracy metric on the latest window's outcomes.",
                              [*groups, "metric"])
        self.window_start = gauge("fresco_monitor_window_start_seconds", "The latest window's start (Unix time).",
                                  groups)
        self.drift_share = gauge("fresco_monitor_drift_share",
                                 "Share of the model's inputs drifted in its latest window.", ["model", "model_uuid"])
        self.refreshed = prom.Gauge("fresco_monitor_refreshed_seconds", "When the figures were computed (Unix time).",
                                    multiprocess_mode="mostrecent")
        self.errors = prom.Counter("fresco_monitor_refresh_errors", "Monitoring refreshes that failed.")
        self._stopping = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._thread = threading.Thread(target=self._loop, name="fresco-monitor-gauges", daemon=True)

    def start(self) -> MonitorGauges:
        import multiprocessing

        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_lower_priority)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        # the first figures one interval after the start: the service's start-up is not slowed
        while not self._stopping.wait(self.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - a monitoring failure must not stop the service
                self.errors.inc()
                log.exception("monitoring figures not refreshed")

    def refresh(self) -> None:
        """Compute the figures in the child process and set the gauges."""
        assert self._pool is not None
        models = self.served()
        if not models:
            return
        figures = self._pool.submit(_compute, models, self.window, datetime.now(timezone.utc)).result()
        self.set(figures)

    def set(self, figures: Any) -> None:
        """Set the gauges from :class:`fresco.monitoring.figures.Figures`."""
        from fresco.training.metrics import metric_names

        names = {row["model_uuid"]: row["model"] for row in figures.groups}
        for row in figures.groups:
            labels = [str(row.get(k) or "") for k in GROUP_LABELS]
            self.predictions.labels(*labels).set(row["predictions"])
            self.outcomes.labels(*labels).set(row["outcomes"])
            self.join_rate.labels(*labels).set(row["join_rate"])
            self.window_start.labels(*labels).set(row["window_start"].timestamp())
            for metric in metric_names(row["task"]):
                if row.get(metric) is not None:
                    self.accuracy.labels(*labels, metric).set(row[metric])
        for uuid, share in figures.drift_share.items():
            self.drift_share.labels(names.get(uuid, ""), uuid).set(share)
        self.refreshed.set(figures.computed_at.timestamp())


def served_models(predictor: Any) -> Callable[[], dict[str, Any]]:
    """The models ``predictor`` has loaded, as :class:`fresco.monitoring.figures.ServedModel`."""
    from fresco.monitoring.figures import ServedModel

    def models() -> dict[str, Any]:
        return {uuid: ServedModel(uuid, m.name, m.trained.task, m.trained.path)
                for uuid, m in predictor.loaded().items()}

    return models


def gauges_from_env(predictor: Any, environ: Mapping[str, str] = os.environ) -> MonitorGauges | None:
    """The service's gauges as the environment configures them (None when off or without a
    prediction log)."""
    import pandas as pd

    seconds = refresh_seconds_from_env(environ)
    window = environ.get(WINDOW_ENV, "1h")
    try:
        pd.tseries.frequencies.to_offset(window)
    except ValueError:
        raise ValueError(f"{WINDOW_ENV} must be a window such as 15min, 1h or 1D, got {window!r}") from None
    if seconds == 0 or predictor.prediction_log is None:
        return None
    return MonitorGauges(served_models(predictor), refresh_seconds=seconds, window=window).start()

