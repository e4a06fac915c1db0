"""A partitioned model's partitions trained on Spark (``resources.engine: spark``): every
partition of the hierarchy in one Spark job, each partition's model in a task of its own.

The splits stay Spark DataFrames of the program's outputs. Each row is exploded into one record
per level it has a partition at (the same partition ids as :func:`~fresco.training.partitioning.level_ids`:
its codes from the top down, null for a missing or out-of-vocabulary code), and then:

1. **Survey** (one aggregate job): per partition, its training and validation rows (and whether a
   classifier's training rows hold one class), to the driver: a row per partition.
2. **Training** (one job for the whole hierarchy): the rows of every partition with enough rows,
   grouped by partition (``applyInPandas``), each group fitted by the configured local trainer
   in one task, on its rows in a fixed order (sorted by value: the answer does not depend on
   how Spark shuffled them). Each model comes back as the files the trainer saves.
3. **Comparison** (only with ``only_if_better``; one job): each trained partition's validation
   rows scored by its own model and by each trained ancestor's, broadcast to the tasks.

Then :meth:`~fresco.training.partitioning.PartitionedTrainer.assemble` settles who answers
whom from the top down: the rule the local path uses. What reaches the driver grows with the
number of partitions, never with the rows.
"""

from __future__ import annotations

import pickle
import tempfile
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fresco.training.partitioning import ROOT, Partition, PartitionedModel, PartitionedTrainer
from fresco.training.trainers.base import Progress, Trainer, _quiet

#: Relative difference allowed between a partitioned model's answers trained on Spark and
#: locally (one XGBoost worker for the root): the same trainer on the same rows, in another order
#: (float sums may round otherwise); on the tests' data they are equal to the last bit.
SPARK_PREDICTION_TOLERANCE = 1e-6
_Y, _VALIDATION, _LEVEL, _PID = "__y", "__is_validation", "__level", "__pid"


def _inputs(n_inputs: int) -> list[str]:
    """The names the model's inputs (without the partition codes) take in the partition jobs."""
    return [f"__in{i}" for i in range(n_inputs)]


def model_bytes(trainer: Trainer, model: Any) -> bytes:
    """``model`` as the files ``trainer.save`` writes, in one picklable value."""
    with tempfile.TemporaryDirectory(prefix="fresco-partition-") as folder:
        trainer.save(model, Path(folder))
        files = {str(f.relative_to(folder)): f.read_bytes() for f in Path(folder).rglob("*") if f.is_file()}
    return pickle.dumps(files, protocol=pickle.HIGHEST_PROTOCOL)


def model_from_bytes(trainer: Trainer, data: bytes) -> Any:
    """The model :func:`model_bytes` packed, loaded by ``trainer.load``."""
    with tempfile.TemporaryDirectory(prefix="fresco-partition-") as folder:
        for name, content in pickle.loads(data).items():
            path = Path(folder) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return trainer.load(Path(folder))


def _level_id(codes: list[Any], sizes: list[int], level: int) -> Any:
    """A row's partition id at ``level`` as a Spark column (null: no partition of that level)."""
    from pyspark.sql import functions as F

    known = [c.isNotNull() & ~F.isnan(c) & (c >= 0) & (c < size) for c, size in zip(codes[:level], sizes)]
    pid = reduce(lambda acc, cs: acc * cs[1] + cs[0].cast("long"), zip(codes[:level], sizes), F.lit(0).cast("long"))
    return F.when(reduce(lambda a, b: a & b, known), pid)


def _key(pid: int, sizes: list[int], level: int) -> list[int]:
    """The codes from the top down of partition id ``pid`` at ``level``."""
    key = []
    for size in reversed(sizes[:level]):
        pid, code = divmod(pid, size)
        key.append(int(code))
    return key[::-1]


def _rows_by_partition(train: Any, validation: Any, columns: list[Any], label: str, n_inputs: int,
                       sizes: list[int]) -> Any:
    """Training and validation rows, one record per level each row has a partition at: its
    inputs (:func:`_inputs`), label, split, level and partition id."""
    from pyspark.sql import functions as F

    names = _inputs(n_inputs)

    def split(frame: Any, is_validation: bool) -> Any:
        codes = [F.col(f"__c{i}") for i in range(len(sizes))]
        rows = frame.select(*[c.alias(name) for c, name in zip(columns, names)], F.col(label).cast("double").alias(_Y),
                            *[c.alias(f"__c{i}") for i, c in enumerate(columns[n_inputs:])])
        levels = F.array(*[F.struct(F.lit(level).alias(_LEVEL), _level_id(codes, sizes, level).alias(_PID))
                           for level in range(1, len(sizes) + 1)])
        return rows.select(*names, _Y, F.lit(is_validation).alias(_VALIDATION), F.explode(levels).alias("__p"))

    both = split(train, False).unionByName(split(validation, True))
    return both.select(*names, _Y, _VALIDATION, F.col(f"__p.{_LEVEL}").alias(_LEVEL),
                       F.col(f"__p.{_PID}").alias(_PID)).where(F.col(_PID).isNotNull())


def _matrix(frame: pd.DataFrame, n_inputs: int) -> np.ndarray:
    return frame[_inputs(n_inputs)].to_numpy(dtype=np.float64, na_value=np.nan)


def _in_value_order(frame: pd.DataFrame, n_inputs: int) -> pd.DataFrame:
    """The rows sorted by validation flag, label and inputs: an order Spark's shuffle cannot change."""
    X = _matrix(frame, n_inputs)
    keys = [np.nan_to_num(X[:, i], nan=np.inf) for i in reversed(range(n_inputs))]
    order = np.lexsort([*keys, frame[_Y].to_numpy(dtype=np.float64), frame[_VALIDATION].to_numpy()])
    return frame.iloc[order]


def fit_partitions_on_spark(trainer: PartitionedTrainer, root: Any, train: Any, validation: Any,
                            columns: list[Any], label: str, params: dict[str, Any], *, task: str,
                            feature_names: list[str], rows: tuple[int, int],
                            progress: Progress = _quiet) -> PartitionedModel:
    """The partitioned model of ``root`` (the root's model, trained already) and every partition
    below it trained on Spark (see the module doc). ``columns`` are the model's input columns
    (:func:`fresco.training.features.spark_input_columns`), the partition codes last;
    ``rows`` the training and validation rows of the root."""
    from pyspark.sql import functions as F

    from fresco.platform.spark_progress import spark_progress
    from fresco.training.metrics import compute_metrics

    spark = train.sparkSession
    depth, sizes = len(trainer.vocabularies), trainer.sizes
    n = len(columns) - depth
    partition_columns, names = list(feature_names[n:]), list(feature_names[:n])
    exploded = _rows_by_partition(train, validation, columns, label, n, sizes)

    with spark_progress(spark, progress):
        survey = exploded.groupBy(_LEVEL, _PID).agg(
            F.sum((~F.col(_VALIDATION)).cast("long")).alias("train"), F.sum(F.col(_VALIDATION).cast("long")).alias("val"),
            F.min(F.when(~F.col(_VALIDATION), F.col(_Y))).alias("low"),
            F.max(F.when(~F.col(_VALIDATION), F.col(_Y))).alias("high")).collect()
    partitions = [Partition(ROOT, [], None, rows[0], rows[1], ROOT)]
    ids: dict[str, tuple[int, int]] = {}  # a partition to train: (level, id)
    for r in sorted(survey, key=lambda r: (r[_LEVEL], r[_PID])):
        part = trainer.partition(partition_columns, _key(r[_PID], sizes, r[_LEVEL]), int(r["train"]), int(r["val"]),
                                 task == "binary" and r["low"] == r["high"])
        partitions.append(part)
        if part.reason is None:
            ids[part.name] = (r[_LEVEL], r[_PID])
    progress(trainer.survey_line(partitions, "trained as Spark tasks, one job for the hierarchy"))

    base, chosen = trainer.base, [f"{level}:{pid}" for level, pid in ids.values()]
    wanted = exploded.where(F.concat_ws(":", _LEVEL, _PID).isin(chosen)) if chosen else None
    by_id = {at: name for name, at in ids.items()}
    models: dict[str, Any] = {ROOT: root}
    packed: dict[str, bytes] = {}  # each trained partition's model as the job returned it
    if wanted is not None:
        def fit_one(frame: pd.DataFrame) -> pd.DataFrame:
            frame = _in_value_order(frame, n)
            fit, val = frame[~frame[_VALIDATION]], frame[frame[_VALIDATION]]
            model = base.fit(_matrix(fit, n), fit[_Y].to_numpy(), _matrix(val, n), val[_Y].to_numpy(), params,
                             task=task, feature_names=names)
            return pd.DataFrame({_LEVEL: [int(frame[_LEVEL].iloc[0])], _PID: [int(frame[_PID].iloc[0])],
                                 "model": [model_bytes(base, model)]})

        tasks = max(1, min(len(chosen), spark.sparkContext.defaultParallelism * 4))
        with spark_progress(spark, progress):
            trained = (wanted.repartition(tasks, _LEVEL, _PID).groupBy(_LEVEL, _PID)
                       .applyInPandas(fit_one, f"{_LEVEL} int, {_PID} long, model binary").collect())
        packed = {by_id[(r[_LEVEL], r[_PID])]: bytes(r["model"]) for r in trained}
        models.update({name: model_from_bytes(base, data) for name, data in packed.items()})
        progress(f"  {len(trained)} partition models trained on Spark")

    metrics: dict[tuple[str, str], float] = {}
    if trainer.only_if_better and wanted is not None:
        # each partition's validation rows, scored by its own model and every trained ancestor's
        answerers = {name: [p for p in _ancestors(name, partitions) if p in models] for name in ids}
        shipped = spark.sparkContext.broadcast({ROOT: model_bytes(base, root), **packed})
        primary = trainer.primary
        progress("  only_if_better: each partition's validation rows scored by its model and its ancestors' "
                 "(one Spark job)")

        def score_one(frame: pd.DataFrame) -> pd.DataFrame:
            name = by_id[(int(frame[_LEVEL].iloc[0]), int(frame[_PID].iloc[0]))]
            X, y = _matrix(frame, n), frame[_Y].to_numpy(dtype=np.float64)
            who = answerers[name]
            values = [compute_metrics(task, y, base.predict(model_from_bytes(base, shipped.value[w]), X))[primary]
                      for w in who]
            return pd.DataFrame({"partition": name, "model": who, "metric": values})

        with spark_progress(spark, progress):
            scored = (wanted.where(F.col(_VALIDATION)).groupBy(_LEVEL, _PID)
                      .applyInPandas(score_one, "partition string, model string, metric double").collect())
        shipped.unpersist()
        metrics = {(r["partition"], r["model"]): r["metric"] for r in scored}
    return trainer.assemble(partition_columns, n, partitions, models,
                            lambda part, who: metrics[(part.name, who)], progress)


def _ancestors(name: str, partitions: list[Partition]) -> list[str]:
    """``name`` and every partition above it, up to the root."""
    parents = {p.name: p.parent for p in partitions}
    chain: list[str] = []
    at: str | None = name
    while at is not None:
        chain.append(at)
        at = parents.get(at)
    return chain
