"""Offline predictions on Spark: the same program and model as the online path, on a table.

``predict_batch`` reads a Parquet dataset or a Hive table of rows (entity keys and request
fields, like the online requests), gets each row's features, runs the model's fitted DSL
program as Spark column expressions, scores the model inside Spark (``mapInPandas``, one
``predict`` call per Arrow batch) and writes the rows with ``prediction``, ``model_uuid``,
``model_tag``, ``experiment``, ``arm``, ``scored_at`` and ``prediction_id`` (and, for a
partitioned model, the ``partition`` that answered each row) to Parquet or a Hive table. A tag split by an experiment is split here as online: each row to the arm its sticky key
picks.

Every scored row is also logged to the prediction log, as the online service logs (the same
:class:`~fresco.platform.logs.PredictionRecord` written by the same
:class:`~fresco.platform.logs.PredictionSink`, so ``fresco monitor`` reads both alike), unless
``log=False`` (``fresco predict-batch --no-log``) or ``FRESCO_PREDICTION_LOG=off``: each Spark task
writes the rows of each Arrow batch it scores as Parquet files under the log's
``date=YYYY-MM-DD/`` folders (``FRESCO_PREDICTION_LOG_DIR``, else ``<state dir>/predictions``;
``FRESCO_PREDICTION_LOG_SAMPLE`` applies), nothing collected on the driver. A record's
``predicted_at`` is when its batch was scored (UTC), its ``latency_ms`` the row's share of its
Arrow batch's scoring time (the program's outputs to the model's answers; the feature join is
not counted), its ``prediction_id`` the output row's. A Spark task that fails and is retried
logs its rows again (under new ids).

Features: columns already named ``view__feature`` in the input are used as they are (a
training frame, or a table joined upstream). Missing ones are retrieved point in time from
Feast's offline store, as of each row's ``timestamp_column``, or as of now when none is given
(the values the online store serves now, for the same TTLs): on Feast's Spark offline store the
join stays in Spark (``fresco.training.spark_training_frame``) and nothing reaches the driver; on
Fresco's DuckDB store (the embedded default) Spark writes the rows as Parquet, DuckDB joins them
and writes its answer, which Spark reads (``fresco.training.duckdb_spark_frame``; the files live
in a scratch folder under the state folder, removed when the batch is written), so no row passes
through Python there either; on other stores (Feast's file store) the entity rows go through the
driver to ``fresco.training.build_training_frame``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fresco.dsl import feature_column
from fresco.training.features import to_matrix

PREDICTION = "prediction"
PREDICTION_ID = "prediction_id"
#: A partitioned model's output column: the partition that answered each row.
PARTITION = "partition"


#: Output columns naming who answered each row (``experiment`` and ``arm`` null without one).
ANSWERED_BY = ("model_uuid", "model_tag", "experiment", "arm", "scored_at")


@dataclass
class BatchResult:
    rows: int
    #: rows scored by each model UUID (one UUID, or each arm's under an experiment)
    rows_by_model: dict[str, int]
    model_tag: str | None
    output: str
    seconds: float
    experiment: str | None = None
    #: the prediction log's folder the rows were logged to (None: not logged)
    logged_to: Path | None = None

    @property
    def model_uuid(self) -> str:
        """The UUID that scored the rows (several, comma-separated, under an experiment)."""
        return ", ".join(self.rows_by_model)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("nan")


def _is_table(source: str) -> bool:
    return not ("/" in source or source.endswith(".parquet") or Path(source).exists())


def predict_batch(
    source: str | Path,
    model: str,
    output: str | Path,
    *,
    spark: Any = None,
    store: Any = None,
    repository: Any = None,
    timestamp_column: str | None = None,
    mode: str = "overwrite",
    chunk_rows: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
    log: bool = True,
) -> BatchResult:
    """Score ``source`` (Parquet path or Hive table) with ``model`` (UUID or tag) into ``output``.

    ``output`` is a Parquet path when it contains ``/`` or ends in ``.parquet``, else a Hive
    table name. When an experiment splits the tag ``model``, each row goes to the arm the
    online service would route it to (the same sticky bucket of the same key fields), and the
    output records ``experiment`` and ``arm``. Features missing from ``source`` are retrieved
    point in time in chunks of ``chunk_rows`` entity rows (0: one query; default: as training,
    :func:`fresco.training.config.retrieval_chunk_rows`). With ``log`` (and the prediction log
    not off in the environment) the rows are logged too (see the module doc). Returns the row
    count per model UUID, the tag, the time taken and where the rows were logged.
    """
    from pyspark.sql import functions as F

    from fresco.serving.prediction_log import prediction_log_settings
    from fresco.serving.routing import current_route
    from fresco.platform.state import scratch_dir
    from fresco.training import ModelRepository, portable_model

    t0 = time.perf_counter()
    settings = prediction_log_settings() if log else None
    repository = repository or ModelRepository()
    route = current_route(repository, str(model))
    from fresco.platform.spark import spark_session, warm_python_workers

    if spark is None:  # a session of its own: the workers start while the rows are read and joined
        spark = spark_session("fresco-predict-batch")
        warm_python_workers(spark)
    if store is None:
        from fresco.platform import open_store

        store = open_store()
    source = str(source)
    progress(f"reading {source}")
    sdf = spark.table(source) if _is_table(source) else spark.read.parquet(source)

    if route.experiment is None:
        assert route.uuid is not None
        parts = [(None, route.uuid, sdf)]
    else:
        first = portable_model(next(iter(route.arms.values())), repository)
        keys = _split_keys(route.experiment, first.program.feature_refs, store, sdf.columns)
        progress(f"experiment {route.experiment.name} splits {route.ref} by {keys}: "
                 + ", ".join(f"{arm}={w:g}" for arm, w in route.experiment.arms.items()))
        arm_column = "__fresco_arm"
        split = sdf.withColumn(arm_column, _arm_of(route.experiment)(F.struct(*keys)))
        parts = [(arm, uuid, split.filter(F.col(arm_column) == arm).drop(arm_column))
                 for arm, uuid in route.arms.items()]

    scored_at = datetime.now(timezone.utc)
    with scratch_dir("predict-batch") as scratch:
        return _score_all(spark, parts, route, settings, store, repository, scored_at, output, mode,
                          timestamp_column, chunk_rows, scratch, progress, t0)


def _score_all(spark: Any, parts: list[tuple[str | None, str, Any]], route: Any, settings: Any, store: Any,
               repository: Any, scored_at: datetime, output: str | Path, mode: str,
               timestamp_column: str | None, chunk_rows: int | None, scratch: Path,
               progress: Callable[[str], None], t0: float) -> BatchResult:
    """Each part scored by its model, written to ``output``; ``scratch`` holds any files the
    feature join needs until the write is done."""
    from pyspark.sql import functions as F

    from fresco.training import portable_model

    if settings is not None:
        progress(f"logging the predictions to {settings.folder}")
    outs = []
    for n, (arm, uuid, part) in enumerate(parts):
        if arm is not None:
            progress(f"arm {arm} ({uuid})")
        trained = portable_model(uuid, repository)  # loaded by the tasks, not here
        logger = None if settings is None else _BatchLog.of(
            settings, trained, store, route.tag, route.experiment.name if route.experiment else None, arm,
            spark.conf.get("spark.sql.session.timeZone"))
        outs.append(
            _score(part, trained, store, timestamp_column, chunk_rows, progress, scratch / f"part-{n}", logger)
            .withColumn("model_uuid", F.lit(uuid))
            .withColumn("model_tag", F.lit(route.tag).cast("string"))
            .withColumn("experiment", F.lit(route.experiment.name if route.experiment else None)
                        .cast("string"))
            .withColumn("arm", F.lit(arm).cast("string"))
            .withColumn("scored_at", F.lit(scored_at).cast("timestamp")))
    out = outs[0]
    for more in outs[1:]:  # arms may read different features: missing columns are null
        out = out.unionByName(more, allowMissingColumns=True)

    output = str(output)
    progress(f"scoring and writing {output}")
    from fresco.platform.spark_progress import spark_progress

    with spark_progress(spark, progress):
        if _is_table(output):
            out.write.mode(mode).saveAsTable(output)
            written = spark.table(output)
        else:
            out.write.mode(mode).parquet(output)
            written = spark.read.parquet(output)
    counts = {r["model_uuid"]: r["count"] for r in written.groupBy("model_uuid").count().collect()}
    by_model = {uuid: counts.get(uuid, 0) for _, uuid, _ in parts}
    result = BatchResult(sum(counts.values()), by_model, route.tag, output,
                         time.perf_counter() - t0,
                         route.experiment.name if route.experiment else None,
                         settings.folder if settings is not None else None)
    progress(f"{result.rows:,} rows scored by {result.model_uuid} in {result.seconds:.1f}s "
             f"({result.rows_per_second:,.0f} rows/s)")
    return result


def _split_keys(experiment: Any, feature_refs: Any, store: Any, columns: list[str]) -> list[str]:
    """The fields ``experiment`` splits by (its key, else the first arm's entity keys, as
    online), which ``columns`` must hold."""
    from fresco.serving.online import OnlineFeatures

    keys = experiment.key or [k.name for k in OnlineFeatures(store).entity_keys(feature_refs)]
    missing = [k for k in keys if k not in columns]
    if missing:
        raise ValueError(f"experiment {experiment.name!r} splits traffic by {keys}; the input has "
                         f"no column {missing[0]!r}")
    return keys


def _arm_of(experiment: Any) -> Any:
    """A pandas UDF: a struct of the key fields -> the arm :meth:`Experiment.arm_for` picks."""
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")  # type: ignore[call-overload]
    def arm(keys: pd.DataFrame) -> pd.Series:
        return pd.Series([experiment.arm_for(values) for values in keys.itertuples(index=False)],
                         index=keys.index, dtype="object")

    return arm


@dataclass(frozen=True)
class _BatchLog:
    """What a Spark task needs to log the rows one model scores (pickled to the Python workers)."""

    settings: Any  # fresco.serving.prediction_log.LogSettings
    model_uuid: str
    tag: str | None
    experiment: str | None
    arm: str | None
    entity_keys: tuple[str, ...]
    request_fields: tuple[str, ...]
    features: tuple[tuple[str, str], ...]  # (view:feature, its column)
    inputs: tuple[str, ...]
    time_zone: str = "UTC"  # Spark's session time zone: pandas gets timestamps naive in it

    @classmethod
    def of(cls, settings: Any, trained: Any, store: Any, tag: str | None, experiment: str | None,
           arm: str | None, time_zone: str) -> "_BatchLog":
        program = trained.program
        refs = list(program.feature_refs)
        keys: list[str] = []
        if refs:  # a model on request fields alone has no entity keys (and needs no store)
            from fresco.serving.online import OnlineFeatures

            keys = [k.name for k in OnlineFeatures(store).entity_keys(refs)]
        return cls(settings, trained.uuid, tag, experiment, arm, tuple(keys),
                   tuple(program.request_fields), tuple((r, feature_column(r)) for r in refs),
                   tuple(trained.inputs), time_zone)

    def write(self, pdf: pd.DataFrame, ids: list[str], predictions: np.ndarray,
              predicted_at: datetime, latency_ms: float, partitions: list[str] | None = None) -> None:
        """The rows of one scored Arrow batch into the prediction log."""
        from fresco.platform.logs import PredictionRecord, PredictionSink
        from fresco.serving.prediction_log import sampled_in

        kept = [i for i, pid in enumerate(ids) if sampled_in(pid, self.settings.sample_rate)]
        if not kept:
            return
        rows = pdf.iloc[kept]

        def values(columns: Any) -> list[dict[str, Any]]:
            names = list(columns)
            if not names:  # pandas gives no records of no columns
                return [{} for _ in kept]
            part = rows[names].copy()
            for name in names:  # Spark hands timestamps over naive, in its session time zone
                if pd.api.types.is_datetime64_dtype(part[name]) and getattr(part[name].dt, "tz", None) is None:
                    part[name] = part[name].dt.tz_localize(self.time_zone).dt.tz_convert("UTC")
            part = part.astype(object)
            return part.where(part.notna(), None).to_dict("records")

        keys, request, inputs = values(self.entity_keys), values(self.request_fields), values(self.inputs)
        features = values(c for _, c in self.features)
        PredictionSink(self.settings.folder).write([PredictionRecord(
            prediction_id=ids[i], predicted_at=predicted_at, model_uuid=self.model_uuid, tag=self.tag,
            experiment=self.experiment, arm=self.arm, entity_keys=keys[n], request=request[n],
            features={ref: features[n][col] for ref, col in self.features}, inputs=inputs[n],
            prediction=float(predictions[i]), latency_ms=latency_ms,
            partition=partitions[i] if partitions is not None else None,
        ) for n, i in enumerate(kept)])


def _score(sdf: Any, trained: Any, store: Any, timestamp_column: str | None,
           chunk_rows: int | None, progress: Callable[[str], None], scratch: Path,
           log: _BatchLog | None = None) -> Any:
    """``sdf`` (with any features it lacks joined), a ``prediction`` column by ``trained`` and
    each row's ``prediction_id``; with ``log``, the rows logged as they are scored."""
    from pyspark.sql import types as T

    from fresco.platform.logs import new_prediction_id

    program = trained.program
    missing = [ref for ref in program.feature_refs if feature_column(ref) not in sdf.columns]
    if missing:
        sdf = _join_features(sdf, missing, store, timestamp_column, program.input_types,
                             chunk_rows, progress, scratch)

    progress("applying the DSL program (Spark expressions)")
    scored = program.to_spark(sdf)
    inputs = list(trained.inputs)

    keep = list(sdf.columns)
    partitioned = trained.partitioned
    schema = T.StructType([*sdf.schema.fields, T.StructField(PREDICTION, T.DoubleType()),
                           T.StructField(PREDICTION_ID, T.StringType()),
                           *([T.StructField(PARTITION, T.StringType())] if partitioned else [])])

    def score(batches):
        for pdf in batches:
            started = time.perf_counter()
            # trained: pickled to the Python workers once per task, its model loaded once per worker
            matrix = to_matrix(pdf, inputs)
            predicted, partitions = trained.predict_answered(matrix)
            predictions = np.asarray(predicted, dtype="float64")
            predicted_at = datetime.now(timezone.utc)
            ids = [new_prediction_id() for _ in range(len(pdf))]
            answer = pdf[keep].copy()
            answer[PREDICTION] = predictions
            answer[PREDICTION_ID] = ids
            if partitioned:
                answer[PARTITION] = partitions
            if log is not None and len(pdf):
                log.write(pdf, ids, predictions, predicted_at,
                          (time.perf_counter() - started) * 1000 / len(pdf), partitions)
            yield answer

    return scored.mapInPandas(score, schema)


def _join_features(sdf: Any, refs: list[str], store: Any, timestamp_column: str | None,
                   types: dict[str, Any], chunk_rows: int | None,
                   progress: Callable[[str], None], scratch: Path) -> Any:
    """``sdf`` with ``view__feature`` columns for ``refs``, point in time as of ``timestamp_column``
    (or now) by the store's best path (:func:`fresco.training.datasets.spark_features`)."""
    from pyspark.sql import functions as F

    from fresco.training.datasets import spark_features

    ts = timestamp_column or "__fresco_as_of"
    if timestamp_column is None:
        sdf = sdf.withColumn(ts, F.lit(datetime.now(timezone.utc)).cast("timestamp"))
    frame, _ = spark_features(sdf, refs, store, timestamp_column=ts, scratch=scratch, chunk_rows=chunk_rows,
                              types=types, progress=progress)
    return frame if timestamp_column is not None else frame.drop(ts)
