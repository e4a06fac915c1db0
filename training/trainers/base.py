"""The trainer interface."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class TrainerParams(BaseModel):
    """Hyperparameters of one trainer; unknown names are refused (typos fail the config)."""

    model_config = ConfigDict(extra="forbid")


class Trainer:
    """One model type. Subclasses set ``name``, ``tasks`` and ``Params`` and implement the methods."""

    name: ClassVar[str]
    tasks: ClassVar[tuple[str, ...]] = ("regression", "binary")
    Params: ClassVar[type[TrainerParams]]
    #: why ``resources.engine: spark`` is refused for this model type (None: it trains on Spark
    #: through :meth:`on_spark`, or in the process after the dataset and the DSL ran on Spark)
    spark_refusal: ClassVar[str | None] = None

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray,
        y_val: np.ndarray,
        params: dict[str, Any],
        *,
        task: str,
        feature_names: list[str],
        progress: Progress = _quiet,
    ) -> Any:
        """Train on (X, y), using (X_val, y_val) for early stopping; returns the fitted model."""
        raise NotImplementedError

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        """Predictions: the value (regression) or the probability of class 1 (binary)."""
        raise NotImplementedError

    def feature_importance(self, model: Any, feature_names: list[str]) -> dict[str, float]:
        """Importance per model input, summing to 1 (all zero when the model uses none)."""
        raise NotImplementedError

    def learnt_parameters(self, model: Any) -> dict[str, Any]:
        """A small JSON-able summary of what the model learnt (trees, coefficients, epochs)."""
        return {}

    def answered_by(self, model: Any, X: np.ndarray) -> list[str] | None:
        """Which part of the model answers each row (a partitioned model's partition), or None
        for a model of one part."""
        return None

    def predict_answered(self, model: Any, X: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
        """:meth:`predict` and :meth:`answered_by` at once (a partitioned model routes the rows once)."""
        return self.predict(model, X), None

    def test_breakdown(self, model: Any, X: np.ndarray, y: np.ndarray, task: str) -> list[dict[str, Any]] | None:
        """Rows of the evaluation report's breakdown of the test split (``X``, ``y``) by part of
        the model (a partitioned model's partitions), or None."""
        return None

    def on_spark(self, spark: Any, num_workers: int) -> "Trainer | None":
        """This trainer training on Spark with ``num_workers`` workers (the same artifact), or
        None when it trains in one process only (``resources.engine: spark`` then runs the
        dataset and the DSL on Spark and the training here)."""
        return None

    def save(self, model: Any, folder: Path) -> None:
        """Write the model into ``folder`` (exists, empty but for what the repository adds)."""
        raise NotImplementedError

    def load(self, folder: Path) -> Any:
        """Read a model written by :meth:`save`."""
        raise NotImplementedError


def normalise(scores: dict[str, float], feature_names: list[str]) -> dict[str, float]:
    raw = {name: max(float(scores.get(name, 0.0)), 0.0) for name in feature_names}
    total = sum(raw.values())
    return {k: (v / total if total > 0 else 0.0) for k, v in raw.items()}


class Standardiser:
    """Mean-impute and standardise columns (for the linear and neural models), as plain JSON."""

    def __init__(self, mean: list[float], scale: list[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    @classmethod
    def fit(cls, X: np.ndarray) -> "Standardiser":
        with np.errstate(all="ignore"):
            mean = np.nanmean(X, axis=0) if len(X) else np.zeros(X.shape[1])
            std = np.nanstd(X, axis=0) if len(X) else np.ones(X.shape[1])
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        return cls(mean.tolist(), std.tolist())

    def transform(self, X: np.ndarray) -> np.ndarray:
        Z = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
        return np.where(np.isnan(Z), 0.0, Z)

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}
