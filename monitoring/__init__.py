"""Fresco monitoring: reads the prediction log serving writes, joins outcomes to it, and
reports accuracy over time and drift against each model's reference sample.

- :func:`read_predictions` (``fresco.monitoring.log``): the log as a DataFrame, by time range and model
- :func:`join_outcomes` (``fresco.monitoring.outcomes``): labels observed later, joined by prediction
  id, duplicates and late ones counted; :class:`OutcomeSource` a pipeline's outcome table (its
  columns, joined on key fields within a window: :func:`match_by_key`, the one rule)
- :func:`accuracy_over_time` (``fresco.monitoring.accuracy``): per window and model / tag / arm, the
  metrics of :mod:`fresco.training.metrics`, prediction and outcome counts, join rate;
  :func:`accuracy_from_logs` all three from the service's logs (``fresco monitor metrics``)
- :func:`report_from_logs` (``fresco.monitoring.report``): one model's drift and data quality
  against its reference sample, with Evidently (``fresco monitor report``)
- ``fresco.monitoring.ingest``: the service's Kafka logs landed as the Parquet logs, each record
  once (``fresco monitor ingest``; the landing folder as offset store: ``fresco.monitoring.landing``)
"""

import importlib
from typing import Any

_EXPORTS = {"read_predictions": "log", "read_outcomes": "outcomes", "join_outcomes": "outcomes",
            "JoinedOutcomes": "outcomes", "OutcomeSource": "outcomes", "match_by_key": "outcomes",
            "outcomes_to_join": "outcomes", "accuracy_over_time": "accuracy",
            "accuracy_from_logs": "accuracy", "report_from_logs": "report"}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
