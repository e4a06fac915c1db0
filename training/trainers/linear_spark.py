"""The linear baseline trained on Spark (``resources.engine: spark``): the same model as
:class:`~fresco.training.trainers.linear_trainer.LinearTrainer`, from Spark aggregates.

The local trainer mean-imputes and standardises every input (:class:`Standardiser`), then fits
a ridge regression (scikit-learn's ``Ridge``) or a logistic regression (``LogisticRegression``,
``C = 1 / alpha``). On Spark:

* the means and the standard deviations are per-partition sums of each column (NaN and null left
  out, as NumPy's ``nanmean`` and ``nanstd`` do), added up on the driver: two passes;
* **ridge** is solved exactly from the Gram matrix ``Z'Z`` and ``Z'y`` of the standardised
  inputs, summed per partition (a ``k x k`` matrix per partition for ``k`` inputs): the normal
  equations scikit-learn's Cholesky solver solves, with the intercept unpenalised, so the
  coefficients are the local ones to rounding;
* **logistic** regression runs Spark ML's ``LogisticRegression`` on the standardised columns,
  with ``regParam = alpha / n`` (Spark averages the loss over the ``n`` rows, scikit-learn sums
  it), no standardisation of its own: the same objective, optimised by Spark's L-BFGS, so the
  coefficients agree with the local ones within the optimisers' tolerance
  (:data:`LOGISTIC_TOLERANCE`).

Only sums of at most ``k x k`` numbers per partition reach the driver; the model is the local
trainer's (JSON: means, scales, coefficients, intercept), which serving loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fresco.training.trainers.base import Progress, Standardiser, _quiet
from fresco.training.trainers.linear_trainer import LinearModel, LinearParams, LinearTrainer

#: Relative difference of a logistic model's predicted probabilities between Spark and local
#: training on the tests' data (two L-BFGS runs to their tolerances).
LOGISTIC_TOLERANCE = 1e-3
_LABEL, _VALIDATION = "label", "is_validation"


@dataclass
class LinearFrame:
    """The training frame as the Spark linear trainer takes it: the input columns (doubles, NaN
    or null for missing), ``label`` and ``is_validation`` (validation rows are not used: ridge
    and logistic regression do not stop early)."""

    frame: Any
    inputs: list[str]


def _summed(frame: Any, columns: list[str], part: Any, width: int) -> np.ndarray:
    """``part`` (a matrix of ``columns``' values -> a vector of ``width`` sums) run over each of
    ``frame``'s partitions inside Spark, the partitions' vectors added up here."""
    def sums(batches):
        total = np.zeros(width)
        for pdf in batches:
            total += part(pdf[columns].to_numpy(dtype=np.float64, na_value=np.nan))
        yield pd.DataFrame({"sums": [total.tolist()]})

    rows = frame.select(*columns).mapInPandas(sums, "sums array<double>").collect()
    return np.sum([np.asarray(r["sums"], dtype=np.float64) for r in rows], axis=0) if rows else np.zeros(width)


class SparkLinearTrainer(LinearTrainer):
    """The linear trainer whose ``fit_frame`` runs on Spark (see the module doc)."""

    def __init__(self, spark: Any, num_workers: int) -> None:
        self.spark, self.num_workers = spark, num_workers
        self.local = LinearTrainer()  #: predicts, saves and loads (pickles without the session)

    def prepare(self, frame: Any, inputs: list[str]) -> LinearFrame:
        """The training frame (:func:`~fresco.training.trainers.xgboost_spark.training_frame`'s)
        as :meth:`fit_frame` takes it."""
        return LinearFrame(frame.select(*inputs, _LABEL, _VALIDATION), list(inputs))

    def fit_frame(self, prepared: LinearFrame, params: dict[str, Any], *, task: str, rows: tuple[int, int],
                  progress: Progress = _quiet) -> LinearModel:
        from pyspark.sql import functions as F

        p = LinearParams.model_validate(params)
        train = prepared.frame.where(~F.col(_VALIDATION)).drop(_VALIDATION).persist()
        try:
            inputs, k = prepared.inputs, len(prepared.inputs)
            progress(f"linear on Spark: {rows[0]:,} training rows x {k} inputs: means and scales (2 passes)")
            scaler = self._standardiser(train, inputs)
            if task == "regression":
                progress("linear on Spark: the ridge's normal equations from each partition's Gram matrix")
                coef, intercept = self._ridge(train, inputs, scaler, p.alpha)
            else:
                progress("linear on Spark: logistic regression with Spark ML (L-BFGS)")
                coef, intercept = self._logistic(train, inputs, scaler, p, rows[0])
        finally:
            train.unpersist()
        progress(f"fitted {k} coefficients")
        return LinearModel(task, coef.tolist(), intercept, scaler)

    @staticmethod
    def _standardiser(train: Any, inputs: list[str]) -> Standardiser:
        """:meth:`Standardiser.fit` of the whole column, from per-partition sums (two passes:
        the sums of squares are taken about the mean, as ``nanstd`` does)."""
        k = len(inputs)
        first = _summed(train, inputs, lambda X: np.concatenate([(~np.isnan(X)).sum(axis=0), np.nansum(X, axis=0)]),
                        2 * k)
        counts, sums = first[:k], first[k:]
        with np.errstate(all="ignore"):
            mean = sums / counts
        mean = np.where(np.isfinite(mean), mean, 0.0)
        squares = _summed(train, inputs, lambda X: np.nansum((X - mean) ** 2, axis=0), k)
        with np.errstate(all="ignore"):
            std = np.sqrt(squares / counts)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        return Standardiser(mean.tolist(), std.tolist())

    @staticmethod
    def _ridge(train: Any, inputs: list[str], scaler: Standardiser, alpha: float) -> tuple[np.ndarray, float]:
        """Ridge with an unpenalised intercept: ``(Zc'Zc + alpha I) b = Zc'(y - mean y)`` with
        ``Zc`` the inputs standardised and centred."""
        k = len(inputs)

        def gram(M: np.ndarray) -> np.ndarray:
            Z, y = scaler.transform(M[:, :k]), M[:, k]
            return np.concatenate([(Z.T @ Z).ravel(), Z.T @ y, Z.sum(axis=0), [y.sum(), len(y)]])

        out = _summed(train, [*inputs, _LABEL], gram, k * k + 2 * k + 2)
        ZZ, Zy, Zsum, ysum, n = out[:k * k].reshape(k, k), out[k * k:k * k + k], out[k * k + k:-2], out[-2], out[-1]
        z_mean, y_mean = Zsum / n, ysum / n
        centred = ZZ - n * np.outer(z_mean, z_mean)
        coef = np.linalg.solve(centred + alpha * np.eye(k), Zy - n * z_mean * y_mean)
        return coef, float(y_mean - z_mean @ coef)

    @staticmethod
    def _logistic(train: Any, inputs: list[str], scaler: Standardiser, p: LinearParams,
                  n: int) -> tuple[np.ndarray, float]:
        from pyspark.ml.classification import LogisticRegression
        from pyspark.ml.feature import VectorAssembler
        from pyspark.sql import functions as F

        standardised = [F.coalesce(F.when(~F.isnan(F.col(c)), (F.col(c) - float(m)) / float(s)), F.lit(0.0)).alias(c)
                        for c, m, s in zip(inputs, scaler.mean, scaler.scale)]
        frame = VectorAssembler(inputCols=inputs, outputCol="features").transform(
            train.select(*standardised, F.col(_LABEL)))
        fitted = LogisticRegression(featuresCol="features", labelCol=_LABEL, regParam=p.alpha / max(n, 1),
                                    elasticNetParam=0.0, standardization=False, fitIntercept=True,
                                    maxIter=p.max_iter, tol=1e-10).fit(frame)
        return np.asarray(fitted.coefficients.toArray(), dtype=np.float64), float(fitted.intercept)
