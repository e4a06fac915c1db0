"""XGBoost gradient-boosted trees (regression and binary classification)."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from fresco.training.trainers.base import Progress, Trainer, TrainerParams, _quiet, normalise

#: booster -> its iteration range (:meth:`XGBoostTrainer._best`); a booster is not changed once trained
_ITERATION_RANGES: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()


class XGBoostParams(TrainerParams):
    n_estimators: int = Field(300, ge=1, le=20_000)
    max_depth: int = Field(6, ge=1, le=20)
    learning_rate: float = Field(0.1, gt=0, le=1)
    subsample: float = Field(1.0, gt=0, le=1)
    colsample_bytree: float = Field(1.0, gt=0, le=1)
    min_child_weight: float = Field(1.0, ge=0)
    reg_lambda: float = Field(1.0, ge=0)
    reg_alpha: float = Field(0.0, ge=0)
    early_stopping_rounds: int | None = Field(30, ge=1)
    nthread: int = Field(2, ge=1)
    seed: int = 0


class XGBoostTrainer(Trainer):
    name = "xgboost"
    Params = XGBoostParams

    def fit(self, X, y, X_val, y_val, params, *, task, feature_names, progress: Progress = _quiet):
        import xgboost as xgb

        p = XGBoostParams.model_validate(params)
        booster_params = {
            "objective": "reg:squarederror" if task == "regression" else "binary:logistic",
            "eval_metric": "rmse" if task == "regression" else "logloss",
            "max_depth": p.max_depth,
            "eta": p.learning_rate,
            "subsample": p.subsample,
            "colsample_bytree": p.colsample_bytree,
            "min_child_weight": p.min_child_weight,
            "lambda": p.reg_lambda,
            "alpha": p.reg_alpha,
            "nthread": p.nthread,
            "seed": p.seed,
            "tree_method": "hist",
        }
        names = [f"f{i}" for i in range(X.shape[1])]
        dtrain = xgb.DMatrix(X, label=y, missing=np.nan, feature_names=names)
        dval = xgb.DMatrix(X_val, label=y_val, missing=np.nan, feature_names=names)
        every = max(1, p.n_estimators // 10)

        class _Report(xgb.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log):
                if (epoch + 1) % every == 0:
                    scores = {k: v[-1] for k, v in evals_log.get("validation", {}).items()}
                    progress(f"round {epoch + 1}/{p.n_estimators} validation {scores}")
                return False

        booster = xgb.train(
            booster_params,
            dtrain,
            num_boost_round=p.n_estimators,
            evals=[(dval, "validation")],
            early_stopping_rounds=p.early_stopping_rounds if len(y_val) else None,
            verbose_eval=False,
            callbacks=[_Report()],
        )
        return booster

    def on_spark(self, spark: Any, num_workers: int) -> "XGBoostTrainer":
        from fresco.training.trainers.xgboost_spark import SparkXGBoostTrainer

        return SparkXGBoostTrainer(spark, num_workers)

    def _best(self, booster) -> tuple[int, int]:
        """The trees to predict with (up to early stopping's best), read once per booster:
        ``best_iteration`` is a call into XGBoost, about 2% of a served request's time."""
        found = _ITERATION_RANGES.get(booster)
        if found is None:
            best = getattr(booster, "best_iteration", None)
            found = _ITERATION_RANGES[booster] = (0, best + 1) if best is not None else (0, 0)
        return found

    def predict(self, model, X):
        # inplace_predict skips building a DMatrix: the per-request serving path is one row
        return model.inplace_predict(
            np.asarray(X, dtype=np.float64), iteration_range=self._best(model), missing=np.nan
        )

    def feature_importance(self, model, feature_names):
        gain = model.get_score(importance_type="total_gain")
        return normalise({feature_names[int(k[1:])]: v for k, v in gain.items()}, feature_names)

    def learnt_parameters(self, model) -> dict[str, Any]:
        return {
            "trees": model.num_boosted_rounds(),
            "best_iteration": getattr(model, "best_iteration", None),
            "best_score": getattr(model, "best_score", None),
        }

    def save(self, model, folder: Path) -> None:
        model.save_model(str(folder / "model.ubj"))

    def load(self, folder: Path):
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(folder / "model.ubj"))
        # A loaded model predicts (serving, batch partitions): one thread. XGBoost's default,
        # every core, costs tens of ms at the tail for a one-row predict on a busy machine.
        booster.set_param({"nthread": 1})
        return booster


TRAINER = XGBoostTrainer()
