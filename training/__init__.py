"""Fresco training: datasets from the feature catalog, trainers, evaluation, model repository.

Public surface (the CLI and serving use only this):

- configs: :func:`load_config`, :func:`parse_config`, :class:`ModelConfig`, :class:`ConfigError`
- datasets: :func:`build_training_frame`, :func:`build_dataset`, :class:`TrainingDataError`
- training: :func:`train` -> :class:`TrainResult`
- the repository: :class:`ModelRepository` (list, get, tag, tag_history, resolve,
  set_experiment, stop_experiment, experiments, experiment_history),
  :class:`ModelRecord`, :func:`compare_models`, :func:`load_model` -> :class:`TrainedModel`
- artifacts: :func:`load_artifact` (a model folder alone, e.g. bundled in a Bento)
- trainers: :func:`get_trainer`, :func:`trainer_names`
"""

from training.config import ConfigError, ModelConfig, load_config, parse_config
from training.datasets import TrainingDataError, build_training_frame
from training.artifacts import ArtifactError, TrainedModel, load_artifact, load_model
from training.pipeline import TrainResult, build_dataset, train
from training.repository import ExperimentRecord, ModelRecord, ModelRepository, RepositoryError, TagMove
from training.repository import compare as compare_models
from training.trainers import get_trainer, trainer_names

__all__ = [
    "ArtifactError",
    "ConfigError",
    "ExperimentRecord",
    "ModelConfig",
    "ModelRecord",
    "ModelRepository",
    "RepositoryError",
    "TagMove",
    "TrainResult",
    "TrainedModel",
    "TrainingDataError",
    "build_dataset",
    "build_training_frame",
    "compare_models",
    "get_trainer",
    "load_artifact",
    "load_config",
    "load_model",
    "parse_config",
    "train",
    "trainer_names",
]
