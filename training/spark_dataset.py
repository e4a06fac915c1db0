"""The training dataset on ``resources.engine: spark``, kept in Spark from the entity rows to the
split: nothing but counts, cutoffs and figures reaches the driver.

The entity rows are read by Spark (a Hive table or Parquet); the features are joined point in
time in Spark on Feast's Spark offline store (:func:`~fresco.training.datasets.spark_training_frame`)
or by DuckDB through Parquet files on Fresco's DuckDB store
(:func:`~fresco.training.datasets.duckdb_spark_frame`); any other store goes through the driver
(said in the progress). Rows with a null label are dropped (and counted). The split follows
the same rules as the pandas dataset's (:func:`fresco.training.pipeline.build_dataset`):

* by time: the cutoffs are the timestamps at the same positions of the rows in time order, and a
  row at a cutoff belongs to the later split, so the splits hold the same rows as locally;
* at random: each row is drawn from a hash of its values and the seed, so the draw does not
  depend on Spark's partitioning (and repeated rows land in one split); it is a different draw
  from the local engine's, which numbers rows in file order.

The rows are laid out by a hash of their values (:func:`in_fixed_order`), so a run on any cluster
sees the same partitions in the same order: the DSL's statistics and the model are reproducible.
The content hash is order-independent (Spark's rows have no order): SHA-256 of the column
names, the row count and the sum of every row's ``xxhash64``; it differs from the local
engine's hash of the same rows (``content_hash_method`` in the record says which).
"""

from __future__ import annotations

import hashlib
import json
import operator
import time
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

from fresco.training.config import HiveSource, ModelConfig
from fresco.training.datasets import TrainingDataError, spark_features
from fresco.training.pipeline import (
    Progress,
    _quiet,
    check_row_columns,
    cutoff_positions,
    dataset_reference,
    feature_refs,
    split_failure,
)
from fresco.training.sources import hive_table_types

#: The dataset's layout in Spark (:func:`partitions_for`).
ROWS_PER_PARTITION, MAX_PARTITIONS = 500_000, 200
CONTENT_HASH_METHOD = "spark: sha256 of columns, row count and the sum of each row's xxhash64"


@dataclass
class SparkTrainingDataset:
    """The split dataset as Spark DataFrames (each persisted), and its reference record."""

    train: Any
    validation: Any
    test: Any
    reference: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)

    def splits(self) -> dict[str, Any]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def release(self) -> None:
        """Drop the persisted frames from Spark's cache."""
        for frame in self.splits().values():
            frame.unpersist()


def spark_entity_rows(config: ModelConfig, spark: Any) -> Any:
    """The configured entity and label rows in the time range as a Spark DataFrame (with
    ``data.limit``: the newest rows)."""
    from pyspark.sql import functions as F

    data = config.data
    ts = data.timestamp_column
    if isinstance(data.source, HiveSource):
        hive_table_types(data.source.hive_table, spark)  # a missing table names its config field
        rows = spark.table(data.source.hive_table)
    else:
        rows = spark.read.parquet(str(data.source.parquet))
    check_row_columns(config, list(rows.columns))
    rows = rows.withColumn(ts, F.col(ts).cast("timestamp"))
    if data.start is not None:
        rows = rows.where(F.col(ts) >= F.lit(data.start))
    if data.end is not None:
        rows = rows.where(F.col(ts) < F.lit(data.end))
    if data.limit is not None:
        rows = rows.orderBy(F.col(ts).desc()).limit(data.limit)
    return rows


def partitions_for(rows: int) -> int:
    """How many partitions the dataset is laid out in: from its size alone, never from the
    cluster, so that every cluster sees the same partitions (:func:`in_fixed_order`)."""
    return max(2, min(MAX_PARTITIONS, -(-rows // ROWS_PER_PARTITION)))


def in_fixed_order(frame: Any, rows: int) -> Any:
    """``frame`` hash-partitioned by each row's values into :func:`partitions_for` partitions and
    sorted by that hash inside each: the same rows in the same order on every run and cluster,
    whatever files the rows were read from (a DuckDB answer's files differ from run to run). The
    DSL's fitted statistics and the rows each XGBoost worker gets follow this layout, so the
    model does too."""
    from pyspark.sql import functions as F

    key = "__fresco_row_hash"
    hashed = frame.withColumn(key, F.xxhash64(*[F.col(c) for c in frame.columns]))
    return hashed.repartition(partitions_for(rows), key).sortWithinPartitions(key).drop(key)


def values_at_positions(frame: Any, column: str, positions: dict[str, int], rows: int) -> dict[str, Any]:
    """The values of timestamp ``column`` at 0-based ``positions`` of ``frame``'s ``rows`` rows in
    order, exactly, without sorting them on one node: approximate quantiles (Spark's
    ``approxQuantile``) bracket each position, a count gives the rank below the bracket, and only
    the values inside it (a few thousand) are sorted here."""
    from pyspark.sql import functions as F

    micros = frame.select(F.unix_micros(F.col(column)).alias("t")).where(F.col("t").isNotNull())
    error = min(0.01, 2_000 / max(rows, 1))
    probabilities = []
    for i in positions.values():
        probabilities += [max(0.0, i / rows - 2 * error), min(1.0, (i + 1) / rows + 2 * error)]
    bounds = micros.approxQuantile("t", probabilities, error)
    brackets = {name: (bounds[2 * n], bounds[2 * n + 1]) for n, name in enumerate(positions)}
    below = micros.agg(*[F.sum((F.col("t") < F.lit(low)).cast("long")).alias(name)
                         for name, (low, _) in brackets.items()]).first()
    inside = micros.where(reduce(operator.or_, (F.col("t").between(low, high) for low, high in brackets.values())))
    values = sorted(r[0] for r in inside.collect())
    result = {}
    for name, i in positions.items():
        low, high = brackets[name]
        window = [v for v in values if low <= v <= high]
        result[name] = _from_micros(window[i - int(below[name] or 0)])
    return result


def _from_micros(micros: int) -> Any:
    """A naive UTC datetime (as Spark hands timestamps to Python in a UTC session) of epoch microseconds."""
    from datetime import datetime, timedelta

    return datetime(1970, 1, 1) + timedelta(microseconds=int(micros))


def _random_draw(frame: Any, seed: int) -> Any:
    """A number in [0, 1) per row from a hash of its values and ``seed``."""
    from pyspark.sql import functions as F

    bits = 2 ** 53
    return F.pmod(F.xxhash64(F.lit(seed), *[F.col(c) for c in frame.columns]), F.lit(bits)) / F.lit(float(bits))


def spark_content_hash(frame: Any) -> str:
    """An order-independent SHA-256 of a Spark frame's columns and rows (see the module doc)."""
    from pyspark.sql import functions as F

    row = frame.agg(F.count(F.lit(1)), F.sum(F.xxhash64(*[F.col(c) for c in frame.columns]).cast(
        "decimal(38,0)"))).first()
    h = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    h.update(f"{int(row[0])}:{row[1]}".encode())
    return h.hexdigest()


def build_spark_dataset(config: ModelConfig, program: Any, *, spark: Any, scratch: Path, store: Any = None,
                        progress: Progress = _quiet) -> SparkTrainingDataset:
    """Entity rows -> point-in-time features -> split, as Spark DataFrames (see the module doc).
    ``scratch`` holds the DuckDB store's Parquet files: keep it until training is done."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    ts, label = config.data.timestamp_column, config.data.label
    rows = spark_entity_rows(config, spark)
    store, refs = feature_refs(config, program, store)
    frame, retrieval = (spark_features(rows, refs, store, timestamp_column=ts, scratch=scratch,
                                       chunk_rows=config.resources.retrieval_chunk_rows,
                                       types=program.input_types, progress=progress)
                        if refs else (rows, {}))
    joined = frame.persist(StorageLevel.MEMORY_AND_DISK)  # counted, then laid out: joined once
    counted = joined.agg(F.count(F.lit(1)), F.count(F.col(label)), F.count(F.col(ts))).first()
    if not counted[0]:
        joined.unpersist()
        raise TrainingDataError("no entity rows in the configured source and time range")
    if counted[2] < counted[0]:
        joined.unpersist()
        raise TrainingDataError(f"column {ts!r} has null timestamps")
    null_labels = int(counted[0] - counted[1])
    total = int(counted[1])
    frame = in_fixed_order(joined.where(F.col(label).isNotNull()), total).persist(StorageLevel.MEMORY_AND_DISK)
    fractions = (config.split.validation_fraction, config.split.test_fraction)
    split: dict[str, Any] = {"method": config.split.method, "validation_fraction": fractions[0],
                             "test_fraction": fractions[1]}
    moment = F.col(ts)
    if config.split.method == "time":
        cutoffs = values_at_positions(frame, ts, cutoff_positions(total, *fractions), total)
        is_test = moment >= F.lit(cutoffs["test"])
        is_val = (moment >= F.lit(cutoffs["validation"])) & ~is_test
        split["cutoffs"] = {name: _iso(cutoff) for name, cutoff in cutoffs.items()}
    else:
        draw = _random_draw(frame, config.split.seed)
        is_test = draw < F.lit(fractions[1])
        is_val = ~is_test & (draw < F.lit(fractions[1] + fractions[0]))
        split["seed"] = config.split.seed
        split["draw"] = "xxhash64 of each row's values and the seed"
    parts = {name: part.persist(StorageLevel.MEMORY_AND_DISK) for name, part in (
        ("train", frame.where(~(is_val | is_test))), ("validation", frame.where(is_val)),
        ("test", frame.where(is_test)))}
    ranges = {name: part.agg(F.count(F.lit(1)), F.min(moment), F.max(moment)).first() for name, part in parts.items()}
    counts = {name: int(r[0]) for name, r in ranges.items()}
    joined.unpersist()
    failure = split_failure(config, counts)
    if failure is not None:
        for part in (frame, *parts.values()):
            part.unpersist()
        raise failure
    split["ranges"] = {name: {"min": _iso(r[1]), "max": _iso(r[2])} for name, r in ranges.items()}
    whole = frame.agg(F.min(moment), F.max(moment)).first()
    reference = dataset_reference(config, store, refs, retrieval, {
        "actual": {"min": _iso(whole[0]), "max": _iso(whole[1])}, "rows": total,
        "rows_dropped_null_label": null_labels, "train_rows": counts["train"],
        "validation_rows": counts["validation"], "test_rows": counts["test"], "split": split,
        "columns": list(frame.columns), "content_hash": spark_content_hash(frame),
        "content_hash_method": CONTENT_HASH_METHOD, "seconds": round(time.perf_counter() - t0, 3)})
    progress(f"dataset (in Spark): {counts['train']:,} training, {counts['validation']:,} validation, "
             f"{counts['test']:,} test rows ({split['method']} split)")
    frame.unpersist()
    return SparkTrainingDataset(parts["train"], parts["validation"], parts["test"], reference, counts)


def _iso(moment: Any) -> str:
    """A Spark timestamp (a naive datetime in the session's time zone, UTC here) in ISO 8601, UTC."""
    import pandas as pd

    return pd.Timestamp(moment).tz_localize("UTC").isoformat() if moment.tzinfo is None else \
        pd.Timestamp(moment).tz_convert("UTC").isoformat()
