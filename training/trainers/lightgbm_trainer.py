"""LightGBM gradient-boosted trees (regression and binary classification)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from fresco.training.trainers.base import Progress, Trainer, TrainerParams, _quiet, normalise


class LightGBMParams(TrainerParams):
    n_estimators: int = Field(300, ge=1, le=20_000)
    num_leaves: int = Field(31, ge=2, le=4096)
    max_depth: int = Field(-1, ge=-1, le=64)
    learning_rate: float = Field(0.1, gt=0, le=1)
    min_child_samples: int = Field(20, ge=1)
    feature_fraction: float = Field(1.0, gt=0, le=1)
    bagging_fraction: float = Field(1.0, gt=0, le=1)
    lambda_l2: float = Field(0.0, ge=0)
    early_stopping_rounds: int | None = Field(30, ge=1)
    num_threads: int = Field(2, ge=1)
    seed: int = 0


class LightGBMTrainer(Trainer):
    name = "lightgbm"
    Params = LightGBMParams
    # SynapseML (LightGBM on Spark) is built for Scala 2.12 (Spark 3) only: its newest release on
    # Maven Central, 1.0.15, has no _2.13 artifact, and pyspark 4 runs Scala 2.13 (issue #32)
    spark_refusal = ("LightGBM has no Spark trainer for this Spark (SynapseML, its Spark package, is "
                     "built for Spark 3 / Scala 2.12 only); use model.type: xgboost on Spark, or "
                     "resources.engine: local")

    def fit(self, X, y, X_val, y_val, params, *, task, feature_names, progress: Progress = _quiet):
        import lightgbm as lgb

        p = LightGBMParams.model_validate(params)
        lgb_params = {
            "objective": "regression" if task == "regression" else "binary",
            "metric": "rmse" if task == "regression" else "binary_logloss",
            "num_leaves": p.num_leaves,
            "max_depth": p.max_depth,
            "learning_rate": p.learning_rate,
            "min_child_samples": p.min_child_samples,
            "feature_fraction": p.feature_fraction,
            "bagging_fraction": p.bagging_fraction,
            "bagging_freq": 1 if p.bagging_fraction < 1 else 0,
            "lambda_l2": p.lambda_l2,
            "num_threads": p.num_threads,
            "seed": p.seed,
            "verbosity": -1,
            "deterministic": True,
        }
        names = [f"f{i}" for i in range(X.shape[1])]
        train = lgb.Dataset(X, label=y, feature_name=names, free_raw_data=False)
        val = lgb.Dataset(X_val, label=y_val, reference=train, feature_name=names)
        every = max(1, p.n_estimators // 10)

        def report(env) -> None:
            if (env.iteration + 1) % every == 0 and env.evaluation_result_list:
                _, metric, value, _ = env.evaluation_result_list[0][:4]
                progress(f"round {env.iteration + 1}/{p.n_estimators} validation {metric}={value:.4f}")

        callbacks = [report]
        if p.early_stopping_rounds and len(y_val):
            callbacks.append(lgb.early_stopping(p.early_stopping_rounds, verbose=False))
        return lgb.train(lgb_params, train, num_boost_round=p.n_estimators, valid_sets=[val],
                         valid_names=["validation"], callbacks=callbacks)

    def predict(self, model, X):
        best = model.best_iteration or None
        return model.predict(np.asarray(X, dtype=np.float64), num_iteration=best)

    def feature_importance(self, model, feature_names):
        gain = model.feature_importance(importance_type="gain")
        return normalise(dict(zip(feature_names, gain)), feature_names)

    def learnt_parameters(self, model) -> dict[str, Any]:
        return {"trees": model.num_trees(), "best_iteration": model.best_iteration or None}

    def save(self, model, folder: Path) -> None:
        model.save_model(str(folder / "model.txt"), num_iteration=model.best_iteration or None)

    def load(self, folder: Path):
        import lightgbm as lgb

        return lgb.Booster(model_file=str(folder / "model.txt"))


TRAINER = LightGBMTrainer()
