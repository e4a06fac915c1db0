"""Trainers behind one small interface; a model type is one module plus one line in ``TRAINERS``.

A trainer turns a float matrix (rows x model inputs, NaN = null) and a label vector into a
fitted model, predicts with it (regression: the value; binary: the probability of class 1),
reports feature importance and learnt parameters, and saves the model into a folder (the
BentoML model's folder) and loads it back. Heavy libraries are imported inside the methods,
so validating a config never imports TensorFlow.
"""

from __future__ import annotations

import importlib

from training.trainers.base import Progress, Trainer

#: model type -> module defining ``TRAINER`` (a :class:`Trainer` instance).
TRAINERS: dict[str, str] = {
    "xgboost": "training.trainers.xgboost_trainer",
    "lightgbm": "training.trainers.lightgbm_trainer",
    "keras": "training.trainers.keras_trainer",
    "linear": "training.trainers.linear_trainer",
}


def trainer_names() -> list[str]:
    return sorted(TRAINERS)


def get_trainer(model_type: str) -> Trainer:
    """The trainer of ``model_type`` (raises ``KeyError`` naming the known types)."""
    if model_type not in TRAINERS:
        raise KeyError(f"unknown model type {model_type!r}; known: {trainer_names()}")
    return importlib.import_module(TRAINERS[model_type]).TRAINER


__all__ = ["TRAINERS", "Progress", "Trainer", "get_trainer", "trainer_names"]
