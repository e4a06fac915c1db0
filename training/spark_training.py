"""Training on ``resources.engine: spark`` with a distributed trainer (XGBoost's Spark estimator,
or the linear model from Spark aggregates), the dataset kept in Spark throughout.

The dataset is built in Spark (:mod:`fresco.training.spark_dataset`), the DSL program fitted by
Spark aggregates (``Program.fit_spark``) and applied as Spark column expressions, the trainer
fed the Spark frame's input columns (its ``prepare`` then ``fit_frame``: ``SparkXGBoostTrainer``,
``SparkLinearTrainer``), a search's trials run
one after another on the cluster, and every split scored inside Spark with the trained booster.

What reaches the driver: counts, cutoffs, the DSL's statistics and every split's metrics (Spark
aggregates, :func:`fresco.training.metrics.spark_metrics`), and a seeded sample of the test split
(:data:`TEST_SAMPLE_ROWS` rows, or the reference sample's size if larger) for the report's
figures, the partial dependence and the reference sample monitoring compares with: a number of
rows that does not grow with the dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fresco.platform.spark_progress import spark_progress
from fresco.training import features as feats
from fresco.training.evaluation import SplitData
from fresco.training.metrics import spark_metrics
from fresco.training.pipeline import FittedModel, Progress, check_binary_labels, search
from fresco.training.partitioning import PartitionedTrainer, partitioned_trainer
from fresco.training.plan import TrainingPlan
from fresco.training.spark_dataset import build_spark_dataset
from fresco.training.trainers.xgboost_spark import spark_predictions, training_frame

#: The test split's rows sampled to the driver for the report's figures and partial dependence.
TEST_SAMPLE_ROWS = 5_000


def _predictor(trainer: Any, model: Any) -> Any:
    """A picklable matrix -> predictions function of a model: a partitioned model's trainer's
    predict, else the distributed trainer's ``local`` one's (the distributed trainer holds the
    Spark session, which does not pickle)."""
    from functools import partial

    if isinstance(trainer, PartitionedTrainer):
        return partial(trainer.predict, model)
    return partial(trainer.local.predict, model)


def _evaluate(config: Any, dataset: Any, outputs: dict[str, Any], columns: list[Any], predict: Any,
              n_inputs: int) -> tuple[dict[str, SplitData], float, pd.DataFrame, np.ndarray]:
    """Every split scored and measured in Spark, and the test sample the report draws from:
    (splits, the test split's holding the sample's labels and predictions; the training label's
    mean; the sample's rows and inputs)."""
    from pyspark.sql import functions as F

    label, task = config.data.label, config.model.task
    ranges = dataset.reference["split"]["ranges"]
    label_mean = float(dataset.train.agg(F.avg(F.col(label).cast("double"))).first()[0])
    sample_rows = max(TEST_SAMPLE_ROWS, config.monitoring.reference_rows)
    fraction = min(1.0, 1.5 * sample_rows / max(dataset.counts["test"], 1))
    sample = outputs["test"].sample(fraction=fraction, seed=config.monitoring.seed).limit(sample_rows)
    sample = sample.withColumn("__matrix", F.array(*columns)).toPandas()  # null -> None -> NaN below
    X_test = np.array(sample["__matrix"].tolist(), dtype=np.float64).reshape(len(sample), n_inputs)
    y_test = sample[label].to_numpy(dtype=np.float64)
    p_test = np.asarray(predict(X_test), dtype=np.float64)
    splits = {}
    for name, part in outputs.items():
        scored = spark_predictions(part, columns, label, predict).persist()
        constant = part.select(F.col(label).cast("double").alias("label"),
                               F.lit(label_mean).alias("prediction"))
        y, p = (y_test, p_test) if name == "test" else (np.array([]), np.array([]))
        splits[name] = SplitData(name, y, p, pd.Timestamp(ranges[name]["min"]), pd.Timestamp(ranges[name]["max"]),
                                 rows=dataset.counts[name], metrics=spark_metrics(task, scored),
                                 baseline=None if name == "train" else spark_metrics(task, constant))
        scored.unpersist()
    return splits, label_mean, sample.drop(columns=["__matrix"]), X_test


def fitted_on_spark(plan: TrainingPlan, distributed: Any, spark: Any, *, scratch: Path,
                    progress: Progress) -> FittedModel:
    """Dataset, program and model on Spark (see the module doc)."""
    from pyspark.sql import functions as F

    config, program = plan.config, plan.program
    label, task = config.data.label, config.model.task
    progress("[1/5] building the training dataset (spark, kept in Spark)")
    with spark_progress(spark, progress):
        dataset = build_spark_dataset(config, program, spark=spark, scratch=scratch, store=plan.store,
                                      progress=progress)
    try:
        progress("[2/5] fitting the DSL program on the training split (Spark aggregates) and applying it "
                 "to all three splits (Spark expressions)")
        with spark_progress(spark, progress):
            fitted = feats.fit_program_spark(program, dataset.train)
        inputs = feats.model_inputs(fitted, config.features.inputs, config.partition_columns)
        outputs = {name: fitted.to_spark(part) for name, part in dataset.splits().items()}
        columns = feats.spark_input_columns(outputs["train"], inputs)
        if task == "binary":
            other = dataset.train.unionByName(dataset.validation).unionByName(dataset.test).where(
                ~F.col(label).isin(0, 1)).select(label).limit(1).collect()
            check_binary_labels(task, label, np.array([float(r[0]) for r in other]))

        n = len(inputs) - len(config.partition_columns)  # a partitioned model's root sees no partition codes
        frame = distributed.prepare(training_frame(outputs["train"].select(*columns[:n], label),
                                                   outputs["validation"].select(*columns[:n], label),
                                                   inputs[:n], label), inputs[:n])
        rows = (dataset.counts["train"], dataset.counts["validation"])
        trials: list[dict[str, Any]] = []
        if config.search is not None:
            progress(f"[3/5] {config.search.method} search, {config.search.trials} trials ({config.model.type}; "
                     f"trials ranked on the validation split; one after another on Spark, each on "
                     f"{config.resources.workers} workers)")

            def validate(model: Any) -> dict[str, float]:
                return spark_metrics(task, spark_predictions(outputs["validation"], columns, label,
                                                             _predictor(distributed, model)))

            model, params, trials = search(
                config, lambda params: distributed.fit_frame(frame, params, task=task, rows=rows, progress=progress),
                validate, progress)
        else:
            progress(f"[3/5] training {config.model.type} on {rows[0]:,} rows x {len(inputs)} inputs (on Spark)")
            params = dict(config.model.hyperparameters)
            model = distributed.fit_frame(frame, params, task=task, rows=rows, progress=progress)
        trainer = distributed
        if config.partitioning is not None:  # the root above; every partition below it in one Spark job
            from fresco.training.spark_partitions import fit_partitions_on_spark

            trainer = partitioned_trainer(plan.trainer, config, feats.categorical_vocabularies(fitted))
            model = fit_partitions_on_spark(trainer, model, outputs["train"], outputs["validation"], columns, label,
                                            params, task=task, feature_names=inputs, rows=rows, progress=progress)

        progress(f"[4/5] evaluating the final model on the held-out test split ({dataset.counts['test']:,} rows, "
                 "scored in Spark)")
        with spark_progress(spark, progress):
            splits, label_mean, sample, X_test = _evaluate(config, dataset, outputs, columns,
                                                           _predictor(trainer, model), len(inputs))
        return FittedModel(trainer, model, params, trials, fitted, inputs, dataset.reference, splits, label_mean,
                           sample, X_test)
    finally:
        dataset.release()

