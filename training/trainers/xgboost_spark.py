"""XGBoost trained on Spark (``resources.engine: spark``) through ``xgboost.spark``.

:class:`SparkXGBoostTrainer` is the XGBoost trainer whose ``fit`` runs XGBoost's own Spark
estimator (``SparkXGBRegressor`` / ``SparkXGBClassifier``) on ``num_workers`` barrier tasks;
it keeps the local trainer's ``predict``, ``save`` and ``load``, so the model it stores is
the same artifact (an XGBoost booster) that serving and batch scoring load.

The same hyperparameters, the same early stopping on the validation split (XGBoost's
``validation_indicator_col``). Each worker builds its histogram sketch from its own partition,
so on more than one worker the trees differ slightly from local training (on one worker they
are identical, tested); the test split's metrics agree within
:data:`DISTRIBUTED_METRIC_TOLERANCE` on the tests' small data. Threads per worker are Spark's
``spark.task.cpus`` (XGBoost's Spark estimator refuses ``nthread``).

:meth:`SparkXGBoostTrainer.fit_frame` trains on a Spark DataFrame's input columns (the training
pipeline's path on ``engine: spark``: the dataset never reaches the driver); ``fit`` takes
matrices from the driver (the search and the trainer interface), turned into the same kind of
DataFrame by :func:`to_spark_frame`. :func:`spark_predictions` scores a Spark DataFrame with a
trained booster inside Spark (``mapInPandas``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fresco.training.trainers.base import Progress, _quiet
from fresco.training.trainers.xgboost_trainer import XGBoostParams, XGBoostTrainer

#: Relative difference of a test-split metric between 2-worker and local training on small data.
DISTRIBUTED_METRIC_TOLERANCE = 0.10
_FEATURES, _LABEL, _VALIDATION = "features", "label", "is_validation"


def to_spark_frame(spark: Any, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                   partitions: int) -> Any:
    """Train and validation rows as one DataFrame: a ``features`` vector (NaN kept as missing),
    ``label`` and ``is_validation``, in ``partitions`` partitions."""
    names = [f"f{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(np.vstack([X, X_val]).astype("float64"), columns=names)
    frame[_LABEL] = np.concatenate([y, y_val]).astype("float64")
    frame[_VALIDATION] = np.arange(len(frame)) >= len(X)
    return assemble(spark.createDataFrame(frame), names, partitions)


def assemble(frame: Any, inputs: list[str], partitions: int) -> Any:
    """``frame``'s double input columns as the ``features`` vector (NaN and null kept as missing)
    beside ``label`` and ``is_validation``, in ``partitions`` partitions."""
    from pyspark.ml.feature import VectorAssembler

    assembled = VectorAssembler(inputCols=inputs, outputCol=_FEATURES, handleInvalid="keep").transform(frame)
    return assembled.select(_FEATURES, _LABEL, _VALIDATION).repartition(partitions)


def training_frame(train: Any, validation: Any, inputs: list[Any], label: str) -> Any:
    """Train and validation rows of Spark frames holding the program's outputs and the label, as
    one frame of double ``inputs`` columns, ``label`` and ``is_validation`` (for :func:`assemble`)."""
    from pyspark.sql import functions as F

    def part(frame: Any, is_validation: bool) -> Any:
        return frame.select(*inputs, F.col(label).cast("double").alias(_LABEL),
                            F.lit(is_validation).alias(_VALIDATION))

    return part(train, False).unionByName(part(validation, True))


def spark_predictions(frame: Any, inputs: list[Any], label: str, predict: Any) -> Any:
    """``label`` and ``prediction`` (doubles) of every row of ``frame`` (which holds the program's
    outputs), ``predict`` (a matrix -> predictions function, pickled to the Python workers)
    called once per Arrow batch inside Spark."""
    from pyspark.sql import functions as F

    names = [f"__in{i}" for i in range(len(inputs))]
    columns = frame.select(F.col(label).cast("double").alias(_LABEL),
                           *[c.alias(n) for c, n in zip(inputs, names)])

    def score(batches):
        for pdf in batches:
            matrix = pdf[names].to_numpy(dtype="float64", na_value=np.nan)
            yield pd.DataFrame({_LABEL: pdf[_LABEL].to_numpy(dtype="float64"),
                                "prediction": np.asarray(predict(matrix), dtype="float64")})

    return columns.mapInPandas(score, f"{_LABEL} double, prediction double")


class SparkXGBoostTrainer(XGBoostTrainer):
    """XGBoost whose ``fit`` runs on Spark with ``num_workers`` workers (see the module doc)."""

    def __init__(self, spark: Any, num_workers: int) -> None:
        self.spark, self.num_workers = spark, num_workers
        self.local = XGBoostTrainer()  #: predicts, saves and loads (pickles without the session)

    def prepare(self, frame: Any, inputs: list[str]) -> Any:
        """The training frame (:func:`training_frame`'s) as :meth:`fit_frame` takes it."""
        return assemble(frame, inputs, self.num_workers)

    def fit(self, X, y, X_val, y_val, params, *, task, feature_names, progress: Progress = _quiet):
        frame = to_spark_frame(self.spark, X, y, X_val, y_val, self.num_workers)
        return self.fit_frame(frame, params, task=task, rows=(len(y), len(y_val)), progress=progress)

    def fit_frame(self, frame: Any, params: dict[str, Any], *, task: str, rows: tuple[int, int],
                  progress: Progress = _quiet) -> Any:
        """Train on an assembled Spark frame (:func:`assemble`: ``features``, ``label``,
        ``is_validation``) of ``rows`` = (training rows, validation rows); returns the booster."""
        from xgboost.spark import SparkXGBClassifier, SparkXGBRegressor

        p = XGBoostParams.model_validate(params)
        slots = self.spark.sparkContext.defaultParallelism
        if self.num_workers > slots:  # barrier tasks all start at once, or never
            raise ValueError(f"resources.workers: {self.num_workers} XGBoost workers need as many "
                             f"Spark task slots at once; this Spark has {slots}")
        estimator_class = SparkXGBRegressor if task == "regression" else SparkXGBClassifier
        has_validation = rows[1] > 0
        estimator = estimator_class(
            features_col=_FEATURES, label_col=_LABEL,
            validation_indicator_col=_VALIDATION if has_validation else None,
            num_workers=self.num_workers,
            n_estimators=p.n_estimators, max_depth=p.max_depth, learning_rate=p.learning_rate,
            subsample=p.subsample, colsample_bytree=p.colsample_bytree,
            min_child_weight=p.min_child_weight, reg_lambda=p.reg_lambda, reg_alpha=p.reg_alpha,
            early_stopping_rounds=p.early_stopping_rounds if has_validation else None,
            random_state=p.seed, tree_method="hist", missing=float("nan"),
            eval_metric="rmse" if task == "regression" else "logloss",
            verbose=max(1, p.n_estimators // 10),  # XGBoost's own round log, from the workers
        )
        progress(f"xgboost.spark: {self.num_workers} workers, {rows[0]:,} training and "
                 f"{rows[1]:,} validation rows")
        from fresco.platform.spark_progress import spark_progress

        with spark_progress(self.spark, progress):
            booster = estimator.fit(frame).get_booster()
        best = getattr(booster, "best_iteration", None)
        progress(f"xgboost.spark: {booster.num_boosted_rounds()} rounds"
                 + (f", best {best + 1} on validation" if best is not None else ""))
        return booster
