"""The one metrics module: training's report and monitoring compute every figure here, with
scikit-learn's ``sklearn.metrics`` on arrays, or (:func:`spark_metrics`) as Spark aggregates
over a Spark frame of labels and predictions, with the same definitions.

Regression: ``rmse``, ``mae``, ``r2``, ``rmsle`` (predictions and labels below 0 count as 0).
Binary classification (``p`` is P(class 1), labels 0/1): ``auc`` (NaN when one class is
absent), ``logloss``, and at ``threshold`` ``precision``, ``recall``, ``f1``, ``accuracy``
(0 where a ratio has no denominator). No rows: every metric NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REGRESSION_METRICS = ("rmse", "mae", "r2", "rmsle")
BINARY_METRICS = ("auc", "logloss", "precision", "recall", "f1", "accuracy")
#: Metrics where larger is better (the others are errors: smaller is better).
GREATER_IS_BETTER = frozenset({"r2", "auc", "precision", "recall", "f1", "accuracy"})


def metric_names(task: str) -> tuple[str, ...]:
    """The metrics of ``task`` (``regression`` or ``binary``)."""
    return REGRESSION_METRICS if task == "regression" else BINARY_METRICS


def _arrays(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"labels and predictions differ in shape: {y.shape} and {p.shape}")
    return y, p


def regression_metrics(y: Any, p: Any) -> dict[str, float]:
    from sklearn import metrics

    y, p = _arrays(y, p)
    if not len(y):
        return dict.fromkeys(REGRESSION_METRICS, float("nan"))
    return {
        "rmse": float(metrics.root_mean_squared_error(y, p)),
        "mae": float(metrics.mean_absolute_error(y, p)),
        "r2": float(metrics.r2_score(y, p)) if len(y) > 1 else float("nan"),
        "rmsle": float(metrics.root_mean_squared_log_error(np.clip(y, 0, None), np.clip(p, 0, None))),
    }


def classification_metrics(y: Any, p: Any, threshold: float = 0.5) -> dict[str, float]:
    from sklearn import metrics

    y, p = _arrays(y, p)
    if not len(y):
        return dict.fromkeys(BINARY_METRICS, float("nan"))
    labels = y.astype(int)
    decided = (p >= threshold).astype(int)
    both = len(np.unique(labels)) == 2
    return {
        "auc": float(metrics.roc_auc_score(labels, p)) if both else float("nan"),
        "logloss": float(metrics.log_loss(labels, np.clip(p, 0.0, 1.0), labels=[0, 1])),
        "precision": float(metrics.precision_score(labels, decided, zero_division=0)),
        "recall": float(metrics.recall_score(labels, decided, zero_division=0)),
        "f1": float(metrics.f1_score(labels, decided, zero_division=0)),
        "accuracy": float(metrics.accuracy_score(labels, decided)),
    }


def compute_metrics(task: str, y: Any, p: Any) -> dict[str, float]:
    """Every metric of ``task`` for labels ``y`` and predictions ``p``."""
    return regression_metrics(y, p) if task == "regression" else classification_metrics(y, p)


def curves(y: Any, p: Any, points: int = 101) -> dict[str, list[float]]:
    """ROC (``fpr``, ``tpr``) and precision-recall (``precision``, ``recall``) curves of a
    binary model, each thinned to about ``points`` points."""
    from sklearn import metrics

    y, p = _arrays(y, p)
    labels = y.astype(int)
    if len(np.unique(labels)) < 2:
        return {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0], "precision": [], "recall": []}
    fpr, tpr, _ = metrics.roc_curve(labels, p)
    precision, recall, _ = metrics.precision_recall_curve(labels, p)

    def thin(*arrays: np.ndarray) -> list[list[float]]:
        keep = np.unique(np.linspace(0, len(arrays[0]) - 1, min(points, len(arrays[0]))).round().astype(int))
        return [a[keep].tolist() for a in arrays]

    fpr_l, tpr_l = thin(fpr, tpr)
    precision_l, recall_l = thin(precision, recall)
    return {"fpr": fpr_l, "tpr": tpr_l, "precision": precision_l, "recall": recall_l}


def calibration(y: Any, p: Any, bins: int = 10) -> dict[str, list[float]]:
    """The calibration curve of a binary model (scikit-learn's ``calibration_curve``, ``bins``
    equal-width bins of P(class 1), empty ones left out): each bin's mean prediction and its share
    of positives."""
    from sklearn.calibration import calibration_curve

    y, p = _arrays(y, p)
    if not len(y):
        return {"mean_predicted": [], "fraction_positive": []}
    positive, predicted = calibration_curve(y.astype(int), np.clip(p, 0.0, 1.0), n_bins=bins, strategy="uniform")
    return {"mean_predicted": predicted.tolist(), "fraction_positive": positive.tolist()}


def confusion(y: Any, p: Any, threshold: float = 0.5) -> list[list[int]]:
    """[[true 0 as 0, true 0 as 1], [true 1 as 0, true 1 as 1]] at ``threshold``."""
    from sklearn import metrics

    y, p = _arrays(y, p)
    return metrics.confusion_matrix(y.astype(int), (p >= threshold).astype(int), labels=[0, 1]).tolist()


def spark_metrics(task: str, frame: Any, label: str = "label", prediction: str = "prediction",
                  threshold: float = 0.5) -> dict[str, float]:
    """:func:`compute_metrics` over a Spark frame's ``label`` and ``prediction`` columns, computed
    by Spark (only the figures reach the driver): the same definitions as scikit-learn's, equal
    to about 1e-12 (Spark sums in another order); AUC exactly as ``roc_auc_score`` (Spark's
    ``BinaryClassificationEvaluator`` with every distinct score a threshold, ``numBins=0``)."""
    from pyspark.sql import functions as F

    y, p = F.col(label).cast("double"), F.col(prediction).cast("double")
    if task == "regression":
        clipped = F.log1p(F.greatest(y, F.lit(0.0))) - F.log1p(F.greatest(p, F.lit(0.0)))
        row = frame.agg(F.count(F.lit(1)), F.avg((y - p) ** 2), F.avg(F.abs(y - p)), F.var_pop(y),
                        F.avg(clipped ** 2)).first()
        n = int(row[0])
        if not n:
            return dict.fromkeys(REGRESSION_METRICS, float("nan"))
        mse, mae, var, msle = (float(v) for v in row[1:])
        if n < 2:
            r2 = float("nan")
        elif var == 0:  # scikit-learn's force_finite: a perfect fit of a constant is 1, else 0
            r2 = 1.0 if mse == 0 else 0.0
        else:
            r2 = 1.0 - mse / var
        return {"rmse": float(np.sqrt(mse)), "mae": mae, "r2": r2, "rmsle": float(np.sqrt(msle))}

    eps = float(np.finfo(np.float64).eps)
    q = F.least(F.greatest(p, F.lit(eps)), F.lit(1.0 - eps))  # scikit-learn clips to [eps, 1 - eps]
    decided = (p >= F.lit(threshold)).cast("int")
    positive = (y == F.lit(1.0)).cast("int")
    row = frame.agg(
        F.count(F.lit(1)), F.sum(positive),
        F.avg(-(positive * F.log(q) + (1 - positive) * F.log(1 - q))),
        F.sum(positive * decided), F.sum((1 - positive) * decided), F.sum(positive * (1 - decided)),
    ).first()
    n = int(row[0])
    if not n:
        return dict.fromkeys(BINARY_METRICS, float("nan"))
    positives, logloss, tp, fp, fn = int(row[1]), float(row[2]), int(row[3]), int(row[4]), int(row[5])
    tn = n - tp - fp - fn
    auc = float("nan")
    if 0 < positives < n:
        from pyspark.ml.evaluation import BinaryClassificationEvaluator

        auc = float(BinaryClassificationEvaluator(rawPredictionCol=prediction, labelCol=label,
                                                  metricName="areaUnderROC", numBins=0)
                    .evaluate(frame.select(y.alias(label), p.alias(prediction))))

    def ratio(a: int, b: int) -> float:
        return a / b if b else 0.0

    return {"auc": auc, "logloss": logloss, "precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn),
            "f1": ratio(2 * tp, 2 * tp + fp + fn), "accuracy": (tp + tn) / n}
