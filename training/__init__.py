"""Fresco training: datasets from the feature catalog, trainers, evaluation, model repository.

Public surface (the CLI and serving use only this):

- configs: :func:`load_config`, :func:`parse_config` (the schema), :class:`ModelConfig`,
  :class:`ConfigError`; :func:`plan_training` -> :class:`TrainingPlan` (everything else checked
  once: trainer, files, feature repository, DSL program)
- datasets: :func:`build_training_frame`, :func:`spark_training_frame` (kept in Spark on a
  Spark offline store), :func:`duckdb_spark_frame` (Spark rows joined by the DuckDB store through
  Parquet files, never in Python), :func:`build_dataset`, :class:`TrainingDataError`
- training: :func:`train` (a plan, a config or a YAML path) -> :class:`TrainResult`
- the repository: :class:`ModelRepository` (list, get, tag, tag_history, resolve,
  set_experiment, stop_experiment, experiments, experiment_history),
  :class:`ModelRecord`, :func:`compare_models`, :func:`load_model` -> :class:`TrainedModel`
- artifacts: :func:`load_artifact` (a model folder alone, e.g. bundled in a Bento),
  :func:`portable_model` (its files as bytes, loaded where a Spark task predicts)
- trainers: :func:`get_trainer`, :func:`trainer_names`
"""

import importlib
from typing import Any

#: public name -> the module defining it; imported on first use, so ``from fresco.training import
#: ModelRepository`` does not import Feast, pandas or the trainers' libraries.
_EXPORTS = {
    "ConfigError": "config", "ModelConfig": "config", "load_config": "config", "parse_config": "config",
    "TrainingPlan": "plan", "plan_training": "plan",
    "TrainingDataError": "datasets", "build_training_frame": "datasets",
    "spark_training_frame": "datasets", "duckdb_spark_frame": "datasets",
    "ArtifactError": "artifacts", "TrainedModel": "artifacts", "load_artifact": "artifacts",
    "load_model": "artifacts", "PortableModel": "artifacts", "portable_model": "artifacts",
    "TrainResult": "pipeline", "build_dataset": "pipeline", "train": "pipeline",
    "ExperimentRecord": "repository", "ModelRecord": "repository", "ModelRepository": "repository",
    "RepositoryError": "repository", "TagMove": "repository",
    "get_trainer": "trainers", "trainer_names": "trainers",
}


def __getattr__(name: str) -> Any:
    if name == "compare_models":
        return importlib.import_module("fresco.training.repository").compare
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ArtifactError",
    "ConfigError",
    "ExperimentRecord",
    "ModelConfig",
    "ModelRecord",
    "ModelRepository",
    "PortableModel",
    "RepositoryError",
    "TagMove",
    "TrainResult",
    "TrainedModel",
    "TrainingDataError",
    "TrainingPlan",
    "build_dataset",
    "build_training_frame",
    "compare_models",
    "get_trainer",
    "load_artifact",
    "load_config",
    "load_model",
    "parse_config",
    "plan_training",
    "portable_model",
    "spark_training_frame",
    "duckdb_spark_frame",
    "train",
    "trainer_names",
]
