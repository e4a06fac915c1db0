"""The baseline: ridge regression or logistic regression on standardised, mean-imputed inputs.

The fitted model is plain JSON (means, scales, coefficients, intercept); predicting needs
only numpy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from fresco.training.trainers.base import Progress, Standardiser, Trainer, TrainerParams, _quiet, normalise


class LinearParams(TrainerParams):
    alpha: float = Field(1.0, ge=0, description="L2 penalty (ridge alpha; logistic C = 1 / alpha).")
    max_iter: int = Field(1000, ge=10)


class LinearModel:
    def __init__(self, task: str, coef: list[float], intercept: float, scaler: Standardiser) -> None:
        self.task, self.coef, self.intercept, self.scaler = task, np.asarray(coef), float(intercept), scaler

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "coef": self.coef.tolist(), "intercept": self.intercept,
                "scaler": self.scaler.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LinearModel":
        return cls(d["task"], d["coef"], d["intercept"], Standardiser(**d["scaler"]))


class LinearTrainer(Trainer):
    name = "linear"
    Params = LinearParams

    def fit(self, X, y, X_val, y_val, params, *, task, feature_names, progress: Progress = _quiet):
        p = LinearParams.model_validate(params)
        scaler = Standardiser.fit(X)
        Z = scaler.transform(X)
        if task == "regression":
            from sklearn.linear_model import Ridge

            est = Ridge(alpha=p.alpha).fit(Z, y)
            coef, intercept = est.coef_.ravel(), float(np.ravel(est.intercept_)[0])
        else:
            from sklearn.linear_model import LogisticRegression

            # to the optimum (scikit-learn's default tol, 1e-4, stopped 0.6% short of it on the tests'
            # data): the same coefficients as Spark's L-BFGS on engine spark (linear_spark.py)
            est = LogisticRegression(C=1.0 / max(p.alpha, 1e-12), max_iter=p.max_iter, tol=1e-8).fit(Z, y)
            coef, intercept = est.coef_.ravel(), float(est.intercept_[0])
        progress(f"fitted {len(coef)} coefficients")
        return LinearModel(task, coef.tolist(), intercept, scaler)

    def on_spark(self, spark: Any, num_workers: int) -> "LinearTrainer":
        from fresco.training.trainers.linear_spark import SparkLinearTrainer

        return SparkLinearTrainer(spark, num_workers)

    def predict(self, model: LinearModel, X):
        z = model.scaler.transform(X) @ model.coef + model.intercept
        return z if model.task == "regression" else 1.0 / (1.0 + np.exp(-z))

    def feature_importance(self, model: LinearModel, feature_names):
        return normalise(dict(zip(feature_names, np.abs(model.coef))), feature_names)

    def learnt_parameters(self, model: LinearModel) -> dict[str, Any]:
        return model.to_dict()

    def save(self, model: LinearModel, folder: Path) -> None:
        (folder / "linear.json").write_text(json.dumps(model.to_dict()))

    def load(self, folder: Path) -> LinearModel:
        return LinearModel.from_dict(json.loads((folder / "linear.json").read_text()))


TRAINER = LinearTrainer()
