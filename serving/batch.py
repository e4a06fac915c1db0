"""Offline predictions on Spark: the same program and model as the online path, on a table.

``predict_batch`` reads a Parquet dataset or a Hive table of rows (entity keys and request
fields, like the online requests), gets each row's features, runs the model's fitted DSL
program as Spark column expressions, scores the model inside Spark (``mapInPandas``, one
``predict`` call per Arrow batch) and writes the rows with ``prediction``, ``model_uuid``,
``model_tag``, ``experiment``, ``arm`` and ``scored_at`` to Parquet or a Hive table. A tag
split by an experiment is split here as online: each row to the arm its sticky key picks.

Features: columns already named ``view__feature`` in the input are used as they are (a
training frame, or a table joined upstream). Missing ones are retrieved point in time from
Feast's offline store, as of each row's ``timestamp_column``, or as of now when none is given
(the values the online store serves now, for the same TTLs): on Feast's Spark offline store the
join stays in Spark (``fresco.training.spark_training_frame``) and nothing reaches the driver; on the
others (the embedded default's DuckDB store, Feast's file store) the entity rows go through the
driver to ``fresco.training.build_training_frame``.
"""

from __future__ import annotations

import dataclasses
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
_PANDAS_TYPES = {"int": "Int64", "float": "float64", "bool": "boolean"}


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
) -> BatchResult:
    """Score ``source`` (Parquet path or Hive table) with ``model`` (UUID or tag) into ``output``.

    ``output`` is a Parquet path when it contains ``/`` or ends in ``.parquet``, else a Hive
    table name. When an experiment splits the tag ``model``, each row goes to the arm the
    online service would route it to (the same sticky bucket of the same key fields), and the
    output records ``experiment`` and ``arm``. Features missing from ``source`` are retrieved
    point in time in chunks of ``chunk_rows`` entity rows (0: one query; default: as training,
    :func:`fresco.training.config.retrieval_chunk_rows`). Returns the row count per model UUID, the
    tag and the time taken.
    """
    from pyspark.sql import functions as F

    from fresco.serving.routing import current_route
    from fresco.training import ModelRepository, load_model

    t0 = time.perf_counter()
    repository = repository or ModelRepository()
    route = current_route(repository, str(model))
    if spark is None:
        from fresco.platform.spark import spark_session

        spark = spark_session("fresco-predict-batch")
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
        first = load_model(next(iter(route.arms.values())), repository)
        keys = _split_keys(route.experiment, first.program.feature_refs, store, sdf.columns)
        progress(f"experiment {route.experiment.name} splits {route.ref} by {keys}: "
                 + ", ".join(f"{arm}={w:g}" for arm, w in route.experiment.arms.items()))
        arm_column = "__fresco_arm"
        split = sdf.withColumn(arm_column, _arm_of(route.experiment)(F.struct(*keys)))
        parts = [(arm, uuid, split.filter(F.col(arm_column) == arm).drop(arm_column))
                 for arm, uuid in route.arms.items()]

    scored_at = datetime.now(timezone.utc)
    outs = []
    for arm, uuid, part in parts:
        if arm is not None:
            progress(f"arm {arm} ({uuid})")
        outs.append(
            _score(spark, part, load_model(uuid, repository), store, timestamp_column, chunk_rows,
                   progress)
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
                         route.experiment.name if route.experiment else None)
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


def _score(spark: Any, sdf: Any, trained: Any, store: Any, timestamp_column: str | None,
           chunk_rows: int | None, progress: Callable[[str], None]) -> Any:
    """``sdf`` (with any features it lacks joined) and a ``prediction`` column by ``trained``."""
    from pyspark.sql import types as T

    program = trained.program
    missing = [ref for ref in program.feature_refs if feature_column(ref) not in sdf.columns]
    if missing:
        sdf = _join_features(spark, sdf, missing, store, timestamp_column, program.input_types,
                             chunk_rows, progress)

    progress("applying the DSL program (Spark expressions)")
    scored = program.to_spark(sdf)
    inputs = list(trained.inputs)
    # pickled to the Python workers once per task (without the program's per-request evaluator)
    model_obj = dataclasses.replace(trained, _program=None)

    keep = list(sdf.columns)
    schema = T.StructType([*sdf.schema.fields, T.StructField(PREDICTION, T.DoubleType())])

    def score(batches):
        for pdf in batches:
            matrix = to_matrix(pdf, inputs)
            answer = pdf[keep].copy()
            answer[PREDICTION] = np.asarray(model_obj.predict(matrix), dtype="float64")
            yield answer

    return scored.mapInPandas(score, schema)


def _join_features(spark: Any, sdf: Any, refs: list[str], store: Any, timestamp_column: str | None,
                   types: dict[str, Any], chunk_rows: int | None,
                   progress: Callable[[str], None]) -> Any:
    """``sdf`` with ``view__feature`` columns for ``refs``, point in time from Feast's offline
    store: in Spark on Feast's Spark store, else through the driver (pandas) in chunks."""
    from pyspark.sql import functions as F

    from fresco.training import build_training_frame
    from fresco.training.config import retrieval_chunk_rows
    from fresco.training.datasets import on_spark_offline_store, spark_training_frame

    if on_spark_offline_store(store):
        ts = timestamp_column or "__fresco_as_of"
        if timestamp_column is None:
            sdf = sdf.withColumn(ts, F.lit(datetime.now(timezone.utc)).cast("timestamp"))
        progress(f"joining {len(refs)} features point in time in Spark (Feast's Spark offline store)")
        frame = spark_training_frame(sdf, refs, store, timestamp_column=ts, progress=progress)
        return frame if timestamp_column is not None else frame.drop(ts)

    rows = sdf.toPandas()
    ts = timestamp_column or "__fresco_as_of"
    if timestamp_column is None:
        rows[ts] = pd.Timestamp.now(tz="UTC").floor("us")
    offline = str(store.config.offline_store.type)
    chunk = retrieval_chunk_rows(offline, chunk_rows)
    progress(f"retrieving {len(refs)} features for {len(rows):,} rows point in time ({offline} "
             f"offline store, {f'chunks of {chunk:,} rows' if chunk else 'one query per view'})")
    frame = build_training_frame(rows, refs, store, timestamp_column=ts, chunk_rows=chunk,
                                 progress=progress)
    if timestamp_column is None:
        frame = frame.drop(columns=[ts])
    for ref in refs:  # Feast's frame widens ints with nulls to float; give the program its types
        dtype = _PANDAS_TYPES.get(str(getattr(types.get(ref), "value", types.get(ref))))
        if dtype is not None:
            frame[feature_column(ref)] = frame[feature_column(ref)].astype(dtype)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].astype("datetime64[us, UTC]")
    return spark.createDataFrame(frame)
