"""Model configs: the schema of a YAML model config (pydantic), and reading one.

This module is the schema alone; :mod:`fresco.training.plan` checks what a schema cannot (the
trainer, files, feature repository, DSL program) and builds the plan a run consumes.

A config names everything a training run needs: the model (name, type, task, hyperparameters),
the label and entity rows (a Parquet path or a Hive table, with an optional time range), the
features (a feature service or references, and the DSL program that turns them into model
inputs), the split (by time by default), the hyperparameter search, the partitioning (one model per
partition of a hierarchy, :mod:`fresco.training.partitioning`), the evaluation metrics and
the resources (local pandas or Spark) and the reference sample kept for monitoring.

Extensions from a user's project: ``model.type`` may be the name of an installed
``fresco.trainers`` entry point or ``package.module:attr`` (see :mod:`fresco.training.trainers`),
and ``features.functions`` lists modules whose ``register(registry)`` adds user DSL
functions, besides the installed ``fresco.dsl_functions`` entry points (see dsl/README.md).

Every error names the file and the field path, e.g.
``churn.yaml: model.hyperparameters.max_depth: Input should be a valid integer``.
Relative paths in a config are relative to the config file's folder.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from fresco.platform.times import utc
from fresco.training.metrics import metric_names


_MODULE_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:[A-Za-z_]\w*)?")


class ConfigError(ValueError):
    """A config (a model's, or ``what`` else) is invalid. ``errors`` holds ``(field path,
    message)`` pairs."""

    def __init__(self, source: str, errors: list[tuple[str, str]], what: str = "model config") -> None:
        self.source = source
        self.errors = errors
        lines = [f"{source}: {path}: {message}" if path else f"{source}: {message}" for path, message in errors]
        super().__init__(f"invalid {what}\n" + "\n".join(lines) if len(lines) > 1 else lines[0])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ModelSection(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=63,
                      description="Model name (lower case); BentoML tag name.")
    type: str = Field(description=("Trainer: xgboost, lightgbm, keras, linear, the name of an installed "
                                   "'fresco.trainers' entry point, or package.module:attr."))
    task: Literal["regression", "binary"] = "regression"
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    description: str = ""


class ParquetSource(_Strict):
    parquet: Path = Field(description="A Parquet file, or a folder of them (as Spark writes).")


class HiveSource(_Strict):
    hive_table: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class DataSection(_Strict):
    source: ParquetSource | HiveSource
    label: str
    timestamp_column: str = "event_timestamp"
    start: datetime | None = Field(None, description="Inclusive start of the rows' time range (UTC).")
    end: datetime | None = Field(None, description="Exclusive end of the rows' time range (UTC).")
    limit: int | None = Field(None, gt=0, description="Keep only the latest N rows (for quick runs).")

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else utc(value)  # a config's naive time is UTC

    @model_validator(mode="after")
    def _range(self) -> "DataSection":
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class FeaturesSection(_Strict):
    repo: Path | None = Field(None, description="Feast repository (default: $FRESCO_FEATURE_REPO, else the "
                                                "current directory when it holds a feature_store.yaml).")
    store_yaml: Path | None = Field(None, description="feature_store.yaml to use (default: the repo's).")
    service: str | None = Field(None, description="Feature service to retrieve.")
    references: list[str] = Field(default_factory=list, description="Extra 'view:feature' references.")
    program: str | None = Field(None, description="The DSL program, inline.")
    program_file: Path | None = Field(None, description="The DSL program, from a file.")
    inputs: list[str] | None = Field(None, description="DSL outputs used as model inputs (default: all).")
    input_types: dict[str, Literal["int", "float", "bool", "string", "timestamp"]] = Field(
        default_factory=dict,
        description="Types of program inputs the entity rows' schema and the Feast registry do not give.",
    )
    functions: list[str] = Field(
        default_factory=list,
        description=("Modules (package.module or package.module:function) whose register(registry) adds "
                     "user DSL functions, besides the installed 'fresco.dsl_functions' entry points."),
    )

    @field_validator("functions")
    @classmethod
    def _modules(cls, paths: list[str]) -> list[str]:
        bad = [p for p in paths if not _MODULE_PATH.fullmatch(p)]
        if bad:
            raise ValueError("user function modules look like 'package.module' or "
                             f"'package.module:function', got {bad}")
        return paths

    @field_validator("references")
    @classmethod
    def _refs(cls, refs: list[str]) -> list[str]:
        bad = [r for r in refs if r.count(":") != 1]
        if bad:
            raise ValueError(f"feature references look like 'view:feature', got {bad}")
        return refs

    @model_validator(mode="after")
    def _one_program(self) -> "FeaturesSection":
        if (self.program is None) == (self.program_file is None):
            raise ValueError("give exactly one of 'program' (inline) or 'program_file'")
        return self


class SplitSection(_Strict):
    """Train / validation / test. ``time``: the oldest rows train, the next validate (early
    stopping, best weights, the search), the newest test (the headline metrics, seen once by the
    final model). Fractions are of the rows; on a time split the rows of one timestamp are never
    divided: a cutoff is a timestamp, and the rows at it belong to the later split. ``random``:
    each row drawn with ``seed``."""

    method: Literal["time", "random"] = "time"
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = 0

    @field_validator("test_fraction")
    @classmethod
    def _leaves_training_rows(cls, value: float, info: ValidationInfo) -> float:
        """Validation and test together take less than all the rows."""
        total = info.data.get("validation_fraction", 0.0) + value
        if total >= 1:
            raise PydanticCustomError(
                "split_fractions",
                "validation_fraction + test_fraction is {total}: it must be below 1 (no rows left to train on)",
                {"total": f"{total:g}"},
            )
        return value


class ParamSpace(_Strict):
    type: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _shape(self) -> "ParamSpace":
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical range needs a non-empty 'choices' list")
            if self.log:
                raise ValueError("'log' applies to int and float ranges, not to choices")
        else:
            if self.low is None or self.high is None:
                raise ValueError(f"an {self.type} range needs 'low' and 'high'")
            if self.low >= self.high:
                raise ValueError("'low' must be below 'high'")
            if self.log and self.low <= 0:
                raise ValueError("a log range needs 'low' > 0")
            if self.type == "int" and not (float(self.low).is_integer() and float(self.high).is_integer()):
                raise ValueError("an int range needs whole-number 'low' and 'high'")
        return self

    def probes(self) -> dict[str, list[Any]]:
        """Values of the range to check against the trainer, keyed by the field that gives them."""
        if self.type == "categorical":
            return {"choices": list(self.choices or [])}
        cast = int if self.type == "int" else float
        return {"low": [cast(self.low)], "high": [cast(self.high)]}


class PartitioningSection(_Strict):
    """A partitioned model: one logical model over a hierarchy (say region -> city), a model per
    partition with enough rows, the others answered by their nearest trained ancestor."""

    columns: list[str] = Field(min_length=1, max_length=5, description=(
        "Outputs of the DSL program, from the root of the hierarchy down (e.g. [region, city]); "
        "each a categorical(...), whose vocabulary names the partitions."))
    min_rows: int = Field(1000, ge=1, description=(
        "Training rows a partition needs for a model of its own; one with fewer is answered by "
        "its nearest trained ancestor (the root at worst)."))
    only_if_better: bool = Field(False, description=(
        "Keep a partition's own model only when it beats the model that would answer its rows "
        "otherwise (its parent's) on the partition's validation rows, by evaluation.primary."))
    parallel_after_seconds: float = Field(5.0, ge=0, description=(
        "A level's partitions train in resources.workers processes when the root took at least "
        "this long to train (a level holds at most the root's rows, so it takes about as long; "
        "worker processes take seconds to start); below it, in the training process. 0: always."))

    @field_validator("columns")
    @classmethod
    def _distinct(cls, columns: list[str]) -> list[str]:
        twice = sorted({c for c in columns if columns.count(c) > 1})
        if twice:
            raise ValueError(f"{twice} named more than once")
        return columns


class SearchSection(_Strict):
    method: Literal["random", "bayesian"] = "bayesian"
    trials: int = Field(10, ge=1, le=1000)
    seed: int = 0
    space: dict[str, ParamSpace] = Field(min_length=1)


class EvaluationSection(_Strict):
    metrics: list[str] | None = Field(None, description="Metrics to report (default: all of the task's).")
    primary: str | None = Field(None, description="Metric that picks the best trial (default rmse / auc).")
    partial_dependence_features: int = Field(3, ge=0, le=10)


class MonitoringSection(_Strict):
    """What the model keeps for monitoring: a sample of its held-out test split (inputs, raw
    features, predictions, labels) in its artifact, the reference of ``fresco monitor report``."""

    reference_rows: int = Field(5000, ge=1, le=1_000_000, description=(
        "Rows of the test split kept as the reference sample (all of them when it has fewer)."))
    seed: int = Field(0, description="Seed of the sample's draw.")


#: Entity rows per point-in-time query on Feast's file offline store when the config sets none.
FILE_STORE_CHUNK_ROWS = 20_000


class ResourcesSection(_Strict):
    engine: Literal["local", "spark"] = "local"
    workers: int = Field(2, ge=1, le=64, description=(
        "On engine spark: XGBoost's Spark workers (xgboost.spark num_workers, one Spark task "
        "slot each)."))
    spark_master: str | None = Field(None, min_length=1, description=(
        "The Spark master of every Spark step of this training (engine spark; a Hive entity-row "
        "table): spark://host:7077, yarn, k8s://https://host:443, local[N]. Default: "
        "$FRESCO_SPARK_MASTER, else local[2]."))
    retrieval_chunk_rows: int | None = Field(
        None, ge=0,
        description=("Entity rows per point-in-time query, oldest first (0: one query). Default: "
                     f"{FILE_STORE_CHUNK_ROWS:,} on Feast's file offline store (type file or dask), which "
                     "joins each row with all of its entity's feature rows before the TTL filter; one "
                     "query on the others (the embedded default's DuckDB store does as-of joins)."),
    )

    def chunk_rows(self, offline_store: str) -> int | None:
        """The chunk size for an offline store type (``file``, ``spark``, ...); None: one query."""
        return retrieval_chunk_rows(offline_store, self.retrieval_chunk_rows)


def retrieval_chunk_rows(offline_store: str, configured: int | None = None) -> int | None:
    """Entity rows per point-in-time query: ``configured`` (0: one query), else
    :data:`FILE_STORE_CHUNK_ROWS` on Feast's file offline store (``file``/``dask``) and one
    query on the others (None), Fresco's DuckDB store of the embedded default included: its
    as-of join holds one row per entity row, not rows x history."""
    if configured is not None:
        return configured or None
    return FILE_STORE_CHUNK_ROWS if offline_store in ("file", "dask") else None


class ModelConfig(_Strict):
    """A whole model config (see the module doc)."""

    _source: str = PrivateAttr("<config>")

    model: ModelSection
    data: DataSection
    features: FeaturesSection
    split: SplitSection = SplitSection()
    search: SearchSection | None = None
    partitioning: PartitioningSection | None = None
    evaluation: EvaluationSection = EvaluationSection()
    resources: ResourcesSection = ResourcesSection()
    monitoring: MonitoringSection = MonitoringSection()

    @model_validator(mode="after")
    def _metrics(self) -> "ModelConfig":
        allowed = metric_names(self.model.task)
        metrics = self.evaluation.metrics
        if metrics is not None:
            bad = [m for m in metrics if m not in allowed]
            if bad:
                raise ValueError(
                    f"evaluation.metrics: {bad} are not {self.model.task} metrics; choose from {list(allowed)}"
                )
        else:
            self.evaluation.metrics = list(allowed)
        if self.evaluation.primary is None:
            self.evaluation.primary = "rmse" if self.model.task == "regression" else "auc"
        elif self.evaluation.primary not in allowed:
            raise ValueError(
                f"evaluation.primary: {self.evaluation.primary!r} is not a {self.model.task} metric; "
                f"choose from {list(allowed)}"
            )
        return self

    @property
    def source(self) -> str:
        """Where the config came from (its file), as error messages name it."""
        return self._source

    @property
    def partition_columns(self) -> list[str]:
        """The partitioning's columns from the root down (none for a model of one partition)."""
        return list(self.partitioning.columns) if self.partitioning else []

    @property
    def program_source(self) -> str:
        if self.features.program is not None:
            return self.features.program
        return Path(self.features.program_file).read_text()  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-able data (paths as strings, times in ISO 8601)."""
        return self.model_dump(mode="json")


def field_path(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as the dotted field path people wrote (union member names dropped)."""
    # pydantic adds the union member's class name to the path; people never wrote it
    parts = [str(p) for p in loc if not (isinstance(p, str) and p[:1].isupper())]
    return ".".join(parts)


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _resolve_paths(config: ModelConfig, base: Path) -> None:
    def fix(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else (base / p).resolve())

    if isinstance(config.data.source, ParquetSource):
        config.data.source.parquet = fix(config.data.source.parquet)  # type: ignore[assignment]
    config.features.repo = fix(config.features.repo)
    config.features.store_yaml = fix(config.features.store_yaml)
    config.features.program_file = fix(config.features.program_file)


def parse_config(
    data: dict[str, Any],
    *,
    source: str = "<config>",
    base_dir: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> ModelConfig:
    """Validate config data (already parsed YAML) against the schema into a :class:`ModelConfig`.

    ``overrides`` maps dotted field paths to values (``{"data.source.parquet": "x.parquet"}``);
    they are applied before validation. Relative paths are resolved against ``base_dir``. What
    the schema cannot know (the trainer and its hyperparameters, the files, the feature
    repository, the DSL program) is checked by :func:`fresco.training.plan_training`.
    """
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "a model config is a YAML mapping (model:, data:, features:, ...)")])
    data = copy.deepcopy(data)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    try:
        config = ModelConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(source, [(field_path(e["loc"]), e["msg"]) for e in err.errors()]) from None
    _resolve_paths(config, (base_dir or Path.cwd()).resolve())
    config._source = source
    return config


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ModelConfig:
    """Read a YAML model config and validate it against the schema (see :func:`parse_config`)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(str(path), [("", "file not found")])
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(path.name, [("", f"not valid YAML: {err}")]) from None
    return parse_config(data, source=str(path), base_dir=path.parent, overrides=overrides)
