"""A training plan: a model config checked once into everything a run needs.

:func:`plan_training` runs a short sequence of small named checks; each returns what it built
and the ``(field path, message)`` pairs of what is wrong. A later check runs only when the ones
it depends on passed, so a run never fails half-way on something a check could have seen. The
plan (config, trainer, user functions, the opened feature store, the entity rows' column types,
the compiled program) is what :func:`fresco.training.train` consumes: nothing is opened,
parsed or looked up twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from fresco.training.config import (
    ConfigError,
    HiveSource,
    ModelConfig,
    ModelSection,
    ParquetSource,
    SearchSection,
    field_path,
    load_config,
)
from fresco.training.references import (
    check_references,
    needs_store,
    open_config_store,
    program_feature_refs,
    program_field,
)
from fresco.training.sources import SourceError, entity_source_types, training_spark
from fresco.training.trainers import trainer_manifest

Errors = list[tuple[str, str]]


@dataclass(frozen=True)
class TrainingPlan:
    """What a training run consumes, built and checked once by :func:`plan_training`."""

    config: ModelConfig
    trainer: Any  #: the resolved :class:`~fresco.training.trainers.Trainer`
    trainer_extension: dict[str, Any] | None  #: what the artifact records of a custom trainer
    functions: Any  #: the DSL ``FunctionRegistry`` (installed entry points + ``features.functions``)
    store: Any  #: the opened Feast ``FeatureStore``, None when the config names no feature
    source_types: dict[str, str]  #: entity-row column -> DSL type (``""``: none the DSL names)
    program: Any  #: the compiled (not yet fitted) DSL program
    spark: Any = None  #: the Spark session the checks used (a Hive source), else None


def check_trainer(config: ModelConfig) -> tuple[tuple[Any, Any], Errors]:
    """The trainer of ``model.type`` and where it came from (:func:`resolve_trainer`); the task,
    hyperparameters and search space checked against it. Hyperparameters are replaced by the
    trainer's validated ones (defaults filled in)."""
    from fresco.dsl import ExtensionError
    from fresco.training.trainers import UnknownTrainer, resolve_trainer

    try:
        trainer, provider = resolved = resolve_trainer(config.model.type)
    except (UnknownTrainer, ExtensionError) as err:
        return (None, None), [("model.type", str(err))]
    errors: Errors = []
    if config.model.task not in trainer.tasks:
        errors.append(("model.task", f"{config.model.type} does not support {config.model.task!r}"))
    try:
        config.model.hyperparameters = trainer.Params.model_validate(config.model.hyperparameters).model_dump()
    except ValidationError as err:
        return resolved, errors + [("model.hyperparameters." + field_path(e["loc"]), e["msg"]) for e in err.errors()]
    if config.search is not None:
        errors += check_search_space(config.search, trainer.Params, config.model)
    if config.resources.engine == "spark" and trainer.spark_refusal:
        errors.append(("resources.engine", f"model.type {config.model.type} with resources.engine spark: "
                                           f"{trainer.spark_refusal}"))
    return resolved, errors


def check_search_space(search: SearchSection, params: type[BaseModel], model: ModelSection) -> Errors:
    """Every search range names a hyperparameter of the trainer, and its ends (and choices)
    are values the trainer accepts: a bad range fails here, not in the middle of a search."""
    errors: Errors = []
    known = set(params.model_fields)
    for name, space in search.space.items():
        path = f"search.space.{name}"
        if name not in known:
            errors.append((path, f"not a {model.type} hyperparameter; known: {sorted(known)}"))
            continue
        kinds = set(get_args(params.model_fields[name].annotation)) or {params.model_fields[name].annotation}
        if space.type == "float" and int in kinds and float not in kinds:
            errors.append((f"{path}.type", f"{name} is an integer hyperparameter: use type int, not float"))
            continue
        for field, values in space.probes().items():
            for value in values:
                try:
                    params.model_validate({**model.hyperparameters, name: value})
                except ValidationError as err:
                    message = "; ".join(e["msg"] for e in err.errors())
                    errors.append((f"{path}.{field}", f"{value!r}: {message}" if field == "choices" else message))
                    break
    return errors


def check_files(config: ModelConfig) -> Errors:
    """The files the config names exist (the program file, the entity rows' Parquet)."""
    errors: Errors = []
    if config.features.program_file is not None and not Path(config.features.program_file).exists():
        errors.append(("features.program_file", f"file not found: {config.features.program_file}"))
    if isinstance(config.data.source, ParquetSource) and not Path(config.data.source.parquet).exists():
        errors.append(("data.source.parquet", f"file not found: {config.data.source.parquet}"))
    return errors


def check_functions(config: ModelConfig) -> tuple[Any, Errors]:
    """The user DSL functions: installed entry points and ``features.functions`` modules."""
    from fresco.dsl import ExtensionError
    from fresco.training.features import load_user_functions

    try:
        return load_user_functions(config.features.functions), []
    except ExtensionError as err:
        return None, [("features.functions", str(err))]


def check_source(config: ModelConfig, spark: Any = None) -> tuple[dict[str, str], Errors]:
    """The entity rows' columns and types; the timestamp and label columns are among them."""
    try:
        types = entity_source_types(config, spark)
    except SourceError as err:
        return {}, [(err.field, str(err))]
    errors = [(field, f"the entity rows have no column {column!r}; they have {sorted(types)}")
              for field, column in (("data.timestamp_column", config.data.timestamp_column),
                                    ("data.label", config.data.label)) if column not in types]
    return types, errors


def check_store(config: ModelConfig, store: Any = None) -> tuple[Any, Errors]:
    """The feature repository opened once (unless ``store`` is given) and every name the config
    uses found in it; ``(None, [])`` when the config names no feature."""
    program_refs = program_feature_refs(config)  # the program parsed once for its accessors
    if store is None:
        if not needs_store(config, program_refs):
            return None, []
        store, errors = open_config_store(config)
        if errors:
            return None, errors
    return store, check_references(config, store, program_refs)


def check_program(config: ModelConfig, store: Any, source_types: dict[str, str], functions: Any) -> tuple[Any, Errors]:
    """The DSL program compiled with its inputs typed from the entity rows' schema, the feature
    registry and ``features.input_types`` (which wins); ``features.inputs`` are its outputs."""
    from fresco.dsl import DSLError
    from fresco.training.features import compile_features, feast_input_types

    types = {name: dtype for name, dtype in source_types.items() if dtype}
    if store is not None:
        types.update(feast_input_types(store))
    types.update(config.features.input_types)
    try:
        program = compile_features(config.program_source, types, functions)
    except DSLError as err:  # its message names line, column and text
        return None, [(program_field(config), str(err))]
    names = [o.name for o in program.outputs]
    missing = [n for n in config.features.inputs or [] if n not in names]
    if missing:
        return program, [("features.inputs", f"{missing} are not outputs of the program {names}")]
    return program, []


def check_partitioning(config: ModelConfig, program: Any) -> Errors:
    """A partitioning's columns are ``categorical(...)`` outputs of the program (their
    vocabularies name the partitions), not also model inputs; it trains without search."""
    from fresco.training.features import categorical_outputs, output_names

    if config.partitioning is None:
        return []
    errors: Errors = []
    names, categorical = output_names(program), categorical_outputs(program)
    for column in config.partition_columns:
        if column not in names:
            errors.append(("partitioning.columns", f"{column!r} is not an output of the program {names}"))
        elif column not in categorical:
            errors.append(("partitioning.columns", f"{column!r} is not a categorical(...) output: write "
                                                   f"{column} = categorical(<the field or feature>) in the program"))
    shared = [c for c in config.features.inputs or [] if c in config.partition_columns]
    if shared:
        errors.append(("features.inputs", f"{shared} are partitioning columns, which reach the model as its "
                                          "partition; to use one as an input too, give it a second output"))
    if config.search is not None:
        errors.append(("search", "a partitioned model trains with the configured hyperparameters; "
                                 "search is not supported with partitioning"))
    return errors


def plan_training(
    config: ModelConfig | str | Path,
    *,
    overrides: dict[str, Any] | None = None,
    store: Any = None,
    spark: Any = None,
) -> TrainingPlan:
    """Check a config (a :class:`ModelConfig` or a YAML path) into a :class:`TrainingPlan`.

    Raises :class:`~fresco.training.config.ConfigError` listing every problem found with its
    field path. ``store`` and ``spark``, when given, are used instead of opening new ones.
    """
    if not isinstance(config, ModelConfig):
        config = load_config(config, overrides)
    elif overrides:
        raise ConfigError(config.source, [("", "overrides apply to a config file, not a ModelConfig")])
    else:
        config = config.model_copy(deep=True)  # the trainer's checked hyperparameters are written into it
    (trainer, provider), errors = check_trainer(config)
    errors += check_files(config)
    functions, function_errors = check_functions(config)
    errors += function_errors
    if errors:
        raise ConfigError(config.source, errors)
    if isinstance(config.data.source, HiveSource):
        spark = training_spark(spark, config.resources.spark_master)
    source_types, errors = check_source(config, spark)
    if not errors:
        store, errors = check_store(config, store)
    program = None
    if not errors:
        program, errors = check_program(config, store, source_types, functions)
    if not errors:
        errors = check_partitioning(config, program)
    if errors:
        raise ConfigError(config.source, errors)
    return TrainingPlan(config, trainer, trainer_manifest(config.model.type, provider), functions, store,
                        source_types, program, spark)
