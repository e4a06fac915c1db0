"""Fresco training: datasets from the feature catalog, trainers, evaluation, model repository."""

from training.datasets import TrainingDataError, build_training_frame

__all__ = ["TrainingDataError", "build_training_frame"]
