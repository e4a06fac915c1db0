"""The outcome log's queue: labels clients report for earlier predictions (``POST /outcome``).

Each outcome names the ``prediction_id`` its answer carried, the observed ``outcome`` (the
label: a value, or 0/1 for a binary model) and when it was observed (default: when received).
They are queued like the prediction log (:class:`fresco.serving.prediction_log.AsyncLog`: never
blocks, drops counted) and written by :class:`fresco.platform.logs.OutcomeSink`, whose columns
``fresco monitor metrics`` reads (``fresco.monitoring.outcomes``).
"""

from __future__ import annotations

from collections.abc import Mapping

from fresco.platform.logs import OutcomeSink, outcome_log_folder
from fresco.serving.prediction_log import AsyncLog


def outcome_log_from_env(environ: Mapping[str, str] | None = None) -> AsyncLog:
    """The service's outcome log (always on: without it, reported outcomes would be lost)."""
    return AsyncLog(OutcomeSink(outcome_log_folder(environ)))
