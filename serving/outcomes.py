"""The outcome log's queue: labels clients report for earlier predictions (``POST /outcome``).

Each outcome names the ``prediction_id`` its answer carried, the observed ``outcome`` (the
label: a value, or 0/1 for a binary model) and when it was observed (default: when received).
They are queued like the prediction log (:class:`fresco.serving.prediction_log.AsyncLog`: never
blocks, drops counted) and written by :class:`fresco.platform.logs.OutcomeSink`, whose columns
``fresco monitor metrics`` reads (``fresco.monitoring.outcomes``), or published to Kafka
(``FRESCO_OUTCOME_LOG=kafka``) for ``fresco monitor ingest --kind outcomes`` to land.
"""

from __future__ import annotations

from collections.abc import Mapping

from fresco.platform.logs import OutcomeSink, outcome_log_folder
from fresco.serving.prediction_log import AsyncLog, sink_from_env


def outcome_log_from_env(environ: Mapping[str, str] | None = None) -> AsyncLog:
    """The service's outcome log (always on: without it, reported outcomes would be lost).

    ``FRESCO_OUTCOME_LOG``        ``parquet`` (default) or ``kafka``
    ``FRESCO_OUTCOME_LOG_DIR``    the Parquet folder (default ``<state dir>/outcomes``)
    ``FRESCO_OUTCOME_LOG_TOPIC``  with ``kafka``: the topic (default ``fresco.outcomes``), after
                                  ``$FRESCO_KAFKA_TOPIC_PREFIX``, on ``$FRESCO_KAFKA_BOOTSTRAP_SERVERS``
    """
    import os

    env = os.environ if environ is None else environ
    sink = sink_from_env("FRESCO_OUTCOME_LOG", env, lambda: OutcomeSink(outcome_log_folder(env)), "outcomes",
                         may_be_off=False)
    assert sink is not None
    return AsyncLog(sink)
