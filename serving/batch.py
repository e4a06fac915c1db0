"""Offline predictions on Spark: the same program and model as the online path, on a table.

``predict_batch`` reads a Parquet dataset or a Hive table of rows (entity keys and request
fields, like the online requests), gets each row's features, runs the model's fitted DSL
program as Spark column expressions, scores the model inside Spark (``mapInPandas``, one
``predict`` call per Arrow batch) and writes the rows with ``prediction``, ``model_uuid``,
``model_tag`` and ``scored_at`` to Parquet or a Hive table.

Features: columns already named ``view__feature`` in the input are used as they are (a
training frame, or a table joined upstream). Missing ones are retrieved point in time from
Feast's offline store (``training.build_training_frame``), as of each row's
``timestamp_column``, or as of now when none is given (the values the online store serves
now, for the same TTLs).
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

from dsl import feature_column

PREDICTION = "prediction"
_PANDAS_TYPES = {"int": "Int64", "float": "float64", "bool": "boolean"}


@dataclass
class BatchResult:
    rows: int
    model_uuid: str
    model_tag: str | None
    output: str
    seconds: float

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
    table name. Features missing from ``source`` are retrieved point in time in chunks of
    ``chunk_rows`` entity rows (0: one query; default: as training,
    :func:`training.config.retrieval_chunk_rows`). Returns the row count, the model UUID and
    tag and the time taken.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from training import ModelRepository, load_model

    t0 = time.perf_counter()
    repository = repository or ModelRepository()
    uuid = repository.resolve(str(model))
    tag = str(model) if str(model) in repository.tags() else None
    trained = load_model(uuid, repository)
    program = trained.program
    if spark is None:
        from fresco_platform.spark import spark_session

        spark = spark_session("fresco-predict-batch")
    source = str(source)
    progress(f"reading {source}")
    sdf = spark.table(source) if _is_table(source) else spark.read.parquet(source)

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
            matrix = np.column_stack([
                pd.to_numeric(pdf[name], errors="coerce").astype("float64").to_numpy(na_value=np.nan)
                for name in inputs
            ]) if inputs else np.zeros((len(pdf), 0))
            answer = pdf[keep].copy()
            answer[PREDICTION] = np.asarray(model_obj.predict(matrix), dtype="float64")
            yield answer

    out = (
        scored.mapInPandas(score, schema)
        .withColumn("model_uuid", F.lit(uuid))
        .withColumn("model_tag", F.lit(tag).cast("string"))
        .withColumn("scored_at", F.lit(datetime.now(timezone.utc)).cast("timestamp"))
    )
    output = str(output)
    progress(f"scoring and writing {output}")
    if _is_table(output):
        out.write.mode(mode).saveAsTable(output)
        rows = spark.table(output).count()
    else:
        out.write.mode(mode).parquet(output)
        rows = spark.read.parquet(output).count()
    result = BatchResult(rows, uuid, tag, output, time.perf_counter() - t0)
    progress(f"{rows:,} rows scored with {uuid} in {result.seconds:.1f}s "
             f"({result.rows_per_second:,.0f} rows/s)")
    return result


def _join_features(spark: Any, sdf: Any, refs: list[str], store: Any, timestamp_column: str | None,
                   types: dict[str, Any], chunk_rows: int | None,
                   progress: Callable[[str], None]) -> Any:
    """``sdf`` with ``view__feature`` columns for ``refs``, point in time from Feast's offline store."""
    from training import build_training_frame
    from training.config import retrieval_chunk_rows

    if store is None:
        from fresco_platform import open_store

        store = open_store()
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
