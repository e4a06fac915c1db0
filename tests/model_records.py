"""A real (tiny) model stored in a model repository under a UUID the test chooses."""

from __future__ import annotations

import numpy as np

from fresco.training.repository import ModelRecord, ModelRepository
from fresco.training.trainers import get_trainer


def save_tiny_model(repository: ModelRepository, uuid: str, task: str = "regression") -> None:
    """A linear model on two inputs, trained on 50 rows, saved as ``uuid`` (name ``tiny``)."""
    trainer = get_trainer("linear")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = X[:, 0] + rng.normal(0, 0.1, 50)
    if task == "binary":
        y = (y > 0).astype(float)
    model = trainer.fit(X, y, X, y, {"alpha": 0.1}, task=task, feature_names=["a", "b"])
    record = ModelRecord(
        uuid=uuid, name="tiny", model_type="linear", task=task, label="y",
        inputs=["a", "b"], author="test", started_at="2026-12-03T00:00:00+00:00",
        finished_at="2026-12-03T00:00:01+00:00", config={}, dataset={}, metrics={}, baseline={},
        feature_importance={}, learnt_parameters={}, program="")
    repository.save(record, trainer, model, "{}")
