"""A training run from a model config: dataset -> DSL -> trainer (and search) -> report -> repository."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fresco.training import features as feats
from fresco.training.config import HiveSource, ModelConfig
from fresco.training.datasets import TrainingDataError, _resolve_refs, build_training_frame
from fresco.training.evaluation import SplitData, build_report, is_better, write_report
from fresco.training.metrics import compute_metrics
from fresco.training.plan import TrainingPlan, plan_training
from fresco.training.reference import reference_sample
from fresco.training.references import open_config_store
from fresco.training.repository import ModelRecord, ModelRepository, current_user
from fresco.training.sources import hive_table_types, training_spark

Progress = Callable[[str], None]

#: Random trials a Bayesian (TPE) search runs before its model of the results guides it.
STARTUP_TRIALS = 5


def _quiet(_: str) -> None:
    pass


@dataclass
class TrainingDataset:
    """A built training dataset: the frame split (by time by default), and its reference.

    ``train`` fits the DSL program and the model; ``validation`` early-stops, restores Keras's
    best weights and ranks search trials; ``test`` is held out for the final model's metrics.
    """

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    reference: dict[str, Any]


@dataclass
class TrainResult:
    uuid: str
    record: ModelRecord
    report_html: Path
    report_json: Path


# -- dataset -----------------------------------------------------------------------------------

def _load_entity_rows(config: ModelConfig, spark: Any = None) -> pd.DataFrame:
    """The configured entity and label rows in the time range, oldest first, with every
    timestamp column as ``datetime64[us, UTC]`` (so Hive and Parquet give identical frames)."""
    data = config.data
    ts = data.timestamp_column
    if isinstance(data.source, HiveSource):
        from pyspark.sql import functions as F

        spark = training_spark(spark, config.resources.spark_master)
        hive_table_types(data.source.hive_table, spark)  # a missing table names its config field
        sdf = spark.table(data.source.hive_table)
        if data.start is not None:
            sdf = sdf.where(F.col(ts) >= F.lit(data.start))
        if data.end is not None:
            sdf = sdf.where(F.col(ts) < F.lit(data.end))
        rows = sdf.toPandas()
    else:
        rows = pd.read_parquet(data.source.parquet)
    check_row_columns(config, list(rows.columns))
    rows = with_utc_times(rows, ts)
    if data.start is not None:
        rows = rows[rows[ts] >= pd.Timestamp(data.start)]
    if data.end is not None:
        rows = rows[rows[ts] < pd.Timestamp(data.end)]
    rows = rows.sort_values(ts, kind="stable")
    if data.limit is not None:
        rows = rows.tail(data.limit)
    return rows.reset_index(drop=True)


def with_utc_times(rows: pd.DataFrame, timestamp_column: str) -> pd.DataFrame:
    """**The** rule for entity rows' times: ``timestamp_column`` and every other timestamp column
    as ``datetime64[us, UTC]`` (a time without a zone is UTC), so Hive and Parquet rows compare."""
    for col in rows.columns:
        if col == timestamp_column or pd.api.types.is_datetime64_any_dtype(rows[col]):
            rows[col] = pd.to_datetime(rows[col], utc=True).astype("datetime64[us, UTC]")
    return rows


def check_row_columns(config: ModelConfig, columns: list[str]) -> None:
    """The entity rows must hold the configured timestamp and label columns (named by field)."""
    ts = config.data.timestamp_column
    for col in (ts, config.data.label):
        if col not in columns:
            field = "data.timestamp_column" if col == ts else "data.label"
            raise TrainingDataError(f"{field}: the entity rows have no column {col!r}; they have {sorted(columns)}")


def feature_refs(config: ModelConfig, program: Any, store: Any) -> tuple[Any, list[str]]:
    """(the store, opened from the config when needed; the features to retrieve: the config's
    service and references, then the program's, each once)."""
    refs: list[str] = []
    if store is None and (config.features.service or config.features.references or feats.feature_refs(program)):
        store, errors = open_config_store(config)
        if errors:
            raise TrainingDataError("; ".join(f"{field}: {message}" for field, message in errors))
    if config.features.service:
        refs += _resolve_refs(store, config.features.service)
    for ref in [*config.features.references, *feats.feature_refs(program)]:
        if ref not in refs:
            refs.append(ref)
    return store, refs


def dataset_reference(config: ModelConfig, store: Any, refs: list[str], retrieval: dict[str, Any],
                      figures: dict[str, Any]) -> dict[str, Any]:
    """The dataset's record (``ModelRecord.dataset``): its source, time range, features, retrieval,
    row counts, split and content hash (``figures``: what the build measured)."""
    source = ({"hive_table": config.data.source.hive_table} if isinstance(config.data.source, HiveSource)
              else {"parquet": str(config.data.source.parquet)})
    return {
        "source": source,
        "feature_repo": str(store.repo_path) if store is not None else None,
        "timestamp_column": config.data.timestamp_column,
        "label": config.data.label,
        "time_range": {
            "requested": {"start": config.data.start.isoformat() if config.data.start else None,
                          "end": config.data.end.isoformat() if config.data.end else None},
            "actual": figures["actual"],
        },
        "feature_service": config.features.service,
        "feature_refs": refs,
        "retrieval": retrieval,
        **{k: figures[k] for k in ("rows", "rows_dropped_null_label", "train_rows", "validation_rows",
                                   "test_rows", "split", "columns", "content_hash", "seconds")},
        **({"content_hash_method": figures["content_hash_method"]} if "content_hash_method" in figures else {}),
    }


def split_failure(config: ModelConfig, counts: dict[str, int]) -> TrainingDataError | None:
    """The error when a split is empty (None when none is)."""
    if all(counts.values()):
        return None
    return TrainingDataError(
        "the split leaves " + ", ".join(f"{n} {name}" for name, n in counts.items()) + " rows"
        + (" (rows of one timestamp stay in one split: too few distinct timestamps?)"
           if config.split.method == "time" else ""))


def content_hash(frame: pd.DataFrame) -> str:
    """A SHA-256 of the frame's columns and values (row order included)."""
    h = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def build_dataset(
    config: ModelConfig, program: Any, *, store: Any = None, spark: Any = None, progress: Progress = _quiet
) -> TrainingDataset:
    """Entity rows -> point-in-time features (Feast) -> split by time (or at random)."""
    t0 = time.perf_counter()
    rows = _load_entity_rows(config, spark)
    if rows.empty:
        raise TrainingDataError("no entity rows in the configured source and time range")
    store, refs = feature_refs(config, program, store)
    ts, label = config.data.timestamp_column, config.data.label
    retrieval: dict[str, Any] = {}
    if refs:
        offline = str(store.config.offline_store.type)
        chunk_rows = config.resources.chunk_rows(offline)
        retrieval = {"offline_store": offline, "chunk_rows": chunk_rows}
        progress(f"retrieving {len(refs)} features for {len(rows):,} rows (point in time, {offline} offline "
                 f"store, {f'chunks of {chunk_rows:,} rows' if chunk_rows else 'one query per view'})")
        frame = build_training_frame(rows, refs, store, timestamp_column=ts, chunk_rows=chunk_rows,
                                     progress=progress)
    else:
        frame = rows
    null_labels = int(frame[label].isna().sum())
    frame = frame[frame[label].notna()].reset_index(drop=True)
    moment = frame[ts]
    fractions = (config.split.validation_fraction, config.split.test_fraction)
    split: dict[str, Any] = {"method": config.split.method, "validation_fraction": fractions[0],
                             "test_fraction": fractions[1]}
    if config.split.method == "time":
        cutoffs = time_cutoffs(moment, *fractions)
        masks = split_by_time(moment, cutoffs)
        split["cutoffs"] = {name: cutoff.isoformat() for name, cutoff in cutoffs.items()}
    else:
        masks = split_at_random(len(frame), *fractions, seed=config.split.seed)
        split["seed"] = config.split.seed
    parts = {name: frame[mask].reset_index(drop=True) for name, mask in masks.items()}
    failure = split_failure(config, {name: len(part) for name, part in parts.items()})
    if failure is not None:
        raise failure
    split["ranges"] = {name: {"min": part[ts].min().isoformat(), "max": part[ts].max().isoformat()}
                       for name, part in parts.items()}
    train, val, test = parts["train"], parts["validation"], parts["test"]
    reference = dataset_reference(config, store, refs, retrieval, {
        "actual": {"min": moment.min().isoformat(), "max": moment.max().isoformat()},
        "rows": int(len(frame)), "rows_dropped_null_label": null_labels, "train_rows": int(len(train)),
        "validation_rows": int(len(val)), "test_rows": int(len(test)), "split": split,
        "columns": [str(c) for c in frame.columns], "content_hash": content_hash(frame),
        "seconds": round(time.perf_counter() - t0, 3)})
    progress(f"dataset: {len(train):,} training, {len(val):,} validation, {len(test):,} test rows "
             f"({split['method']} split)")
    return TrainingDataset(train, val, test, reference)


def time_cutoffs(moment: pd.Series, validation_fraction: float, test_fraction: float) -> dict[str, pd.Timestamp]:
    """The first timestamps of the validation and of the test split: the timestamps at those
    fractions of the rows, counted from the newest."""
    ordered = moment.sort_values(kind="stable").reset_index(drop=True)
    return {name: ordered.iloc[i] for name, i in cutoff_positions(len(ordered), validation_fraction,
                                                                   test_fraction).items()}


def cutoff_positions(rows: int, validation_fraction: float, test_fraction: float) -> dict[str, int]:
    """Where the validation and the test split start among ``rows`` rows in time order."""
    at = {"validation": round(rows * (1 - validation_fraction - test_fraction)),
          "test": round(rows * (1 - test_fraction))}
    return {name: min(i, rows - 1) for name, i in at.items()}


def split_by_time(moment: pd.Series, cutoffs: dict[str, pd.Timestamp]) -> dict[str, np.ndarray]:
    """Row masks: train before the validation cutoff, test from the test cutoff on, validation
    between. A row at a cutoff belongs to the later split, so no timestamp is in two splits."""
    is_test = (moment >= cutoffs["test"]).to_numpy()
    is_val = (moment >= cutoffs["validation"]).to_numpy() & ~is_test
    return {"train": ~(is_val | is_test), "validation": is_val, "test": is_test}


def split_at_random(rows: int, validation_fraction: float, test_fraction: float, *, seed: int) -> dict[str, np.ndarray]:
    """Row masks drawn with ``seed``: each row is test with probability ``test_fraction``,
    validation with ``validation_fraction``, else train."""
    draw = np.random.default_rng(seed).random(rows)
    is_test = draw < test_fraction
    is_val = ~is_test & (draw < test_fraction + validation_fraction)
    return {"train": ~(is_val | is_test), "validation": is_val, "test": is_test}


# -- search ------------------------------------------------------------------------------------

def search(config: ModelConfig, fit: Callable[[dict[str, Any]], Any],
           validate: Callable[[Any], dict[str, float]], progress: Progress):
    """Run the configured search: ``fit(params)`` trains a trial's model, ``validate(model)`` gives
    its metrics on the validation split; returns (best model, best params, trials)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = config.search
    assert search is not None
    primary = config.evaluation.primary or "rmse"
    # TPE (Bayesian) samples at random until it has seen `startup` trials, then from its model
    startup = min(STARTUP_TRIALS, search.trials) if search.method == "bayesian" else search.trials
    sampler = (optuna.samplers.RandomSampler(seed=search.seed) if search.method == "random"
               else optuna.samplers.TPESampler(seed=search.seed, n_startup_trials=startup))
    direction = "maximize" if is_better(primary, 1, 0) else "minimize"
    study = optuna.create_study(direction=direction, sampler=sampler)
    trials: list[dict[str, Any]] = []
    best: dict[str, Any] = {}

    def objective(trial: optuna.Trial) -> float:
        params = dict(config.model.hyperparameters)
        for name, space in search.space.items():
            if space.type == "int":
                params[name] = trial.suggest_int(name, int(space.low), int(space.high), log=space.log)
            elif space.type == "float":
                params[name] = trial.suggest_float(name, space.low, space.high, log=space.log)
            else:
                params[name] = trial.suggest_categorical(name, space.choices)
        t0 = time.perf_counter()
        model = fit(params)
        metrics = validate(model)
        value = metrics[primary]
        trials.append({"number": trial.number, "params": {k: params[k] for k in search.space},
                       "metrics": metrics, "split": "validation", "seconds": round(time.perf_counter() - t0, 3),
                       "sampler": type(sampler).__name__, "direction": direction,
                       # proposed by the sampler's model of earlier trials (False: at random)
                       "guided": search.method == "bayesian" and trial.number >= startup})
        if not best or is_better(primary, value, best["value"]):
            best.update(value=value, model=model, params=params, number=trial.number)
        progress(f"trial {trial.number + 1}/{search.trials}: {primary}={value:.4f} "
                 f"(best {best['value']:.4f}, trial {best['number'] + 1}) {trials[-1]['params']}")
        return value

    study.optimize(objective, n_trials=search.trials)
    for t in trials:
        t["best"] = t["number"] == best["number"]
    return best["model"], best["params"], trials


# -- training ----------------------------------------------------------------------------------

def train(
    plan: TrainingPlan | ModelConfig | str | Path,
    *,
    overrides: dict[str, Any] | None = None,
    repository: ModelRepository | None = None,
    store: Any = None,
    spark: Any = None,
    progress: Progress = _quiet,
    reports_dir: Path | None = None,
) -> TrainResult:
    """Train, evaluate and store one model from a plan (or a config, or a YAML path, planned here).

    A config is first checked into a :class:`~fresco.training.plan.TrainingPlan` (a
    :class:`~fresco.training.config.ConfigError` names every bad field); then the dataset is
    built, the DSL program fitted on the training split and applied to all three, the model
    trained (or searched) with early stopping and trial ranking on the validation split, then
    evaluated once on the held-out test split against the baseline (the training mean, or the
    training base rate for a classifier: the headline), and stored with its record under a new UUID.
    """
    if not isinstance(plan, TrainingPlan):
        plan = plan_training(plan, overrides=overrides, store=store, spark=spark)
    config, trainer = plan.config, plan.trainer
    spark = plan.spark or spark
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    repository = repository or ModelRepository()
    engine = config.resources.engine
    distributed = None
    if engine == "spark":
        spark = training_spark(spark, config.resources.spark_master)
        # on Spark, the search's trials too: one after another, each distributed
        distributed = trainer.on_spark(spark, config.resources.workers)
        if distributed is None:
            progress(f"      {config.model.type} has no Spark trainer: the dataset is built in this process")
    if distributed is not None:
        from fresco.training.spark_training import fitted_on_spark

        from fresco.platform.state import scratch_dir

        with scratch_dir("training") as scratch:
            fit = fitted_on_spark(plan, distributed, spark, scratch=scratch, progress=progress)
    else:
        fit = _fitted_locally(plan, trainer, spark, progress)
    return _evaluate_and_store(plan, fit, repository, started, t0, progress, reports_dir)


@dataclass
class FittedModel:
    """What training hands to evaluation: the model and its fitted program, each split's labels
    and predictions, and the test rows the report and the reference sample draw from (all of
    them locally; a bounded sample of them on Spark): ``test_rows`` and ``X_test`` are the rows
    of ``splits["test"]``'s labels and predictions."""

    trainer: Any
    model: Any
    params: dict[str, Any]
    trials: list[dict[str, Any]]
    fitted: Any
    inputs: list[str]
    dataset: dict[str, Any]  # the dataset's reference record
    splits: dict[str, SplitData]
    label_mean: float  # the training split's (the baseline's prediction)
    test_rows: pd.DataFrame
    X_test: np.ndarray


def check_binary_labels(task: str, label: str, labels: np.ndarray) -> None:
    """A binary model needs labels 0/1."""
    if task == "binary" and not set(np.unique(labels)) <= {0.0, 1.0}:
        raise TrainingDataError(f"data.label: a binary model needs labels 0/1; {label!r} has other values")


def _fitted_locally(plan: TrainingPlan, trainer: Any, spark: Any, progress: Progress) -> FittedModel:
    """Dataset, program and model in this process (the DSL on Spark with ``engine: spark``)."""
    config, program = plan.config, plan.program
    engine = config.resources.engine
    progress(f"[1/5] building the training dataset ({engine})")
    dataset = build_dataset(config, program, store=plan.store, spark=spark, progress=progress)
    label = config.data.label

    progress("[2/5] fitting the DSL program on the training split and applying it to all three splits")
    fitted = feats.fit_program(program, dataset.train)
    inputs = feats.model_inputs(fitted, config.features.inputs, config.partition_columns)
    if config.partitioning is not None:  # one model per partition, the statistics fitted once (the root's)
        from fresco.training.partitioning import partitioned_trainer

        trainer = partitioned_trainer(trainer, config, feats.categorical_vocabularies(fitted))
    X, X_val, X_test = (feats.to_matrix(feats.apply_program(fitted, part, engine, spark), inputs)
                        for part in (dataset.train, dataset.validation, dataset.test))
    y, y_val, y_test = (part[label].to_numpy(dtype=np.float64)
                        for part in (dataset.train, dataset.validation, dataset.test))
    check_binary_labels(config.model.task, label, np.concatenate([y, y_val, y_test]))

    # the trainer and the search see train and validation only; the test split waits below
    fit_args = dict(X=X, y=y, X_val=X_val, y_val=y_val, task=config.model.task, feature_names=inputs,
                    progress=progress)
    trials: list[dict[str, Any]] = []
    if config.search is not None:
        progress(f"[3/5] {config.search.method} search, {config.search.trials} trials ({config.model.type}; "
                 "trials ranked on the validation split)")
        model, params, trials = search(config, lambda params: trainer.fit(params=params, **fit_args),
                                       lambda model: compute_metrics(config.model.task, y_val,
                                                                     trainer.predict(model, X_val)),
                                       progress)
    else:
        progress(f"[3/5] training {config.model.type} on {len(y):,} rows x {len(inputs)} inputs")
        params = dict(config.model.hyperparameters)
        model = trainer.fit(params=params, **fit_args)

    progress(f"[4/5] evaluating the final model on the held-out test split ({len(y_test):,} rows)")
    ts = config.data.timestamp_column
    splits = {name: SplitData(name, y_part, trainer.predict(model, X_part), part[ts].min(), part[ts].max())
              for name, y_part, X_part, part in (("train", y, X, dataset.train),
                                                 ("validation", y_val, X_val, dataset.validation),
                                                 ("test", y_test, X_test, dataset.test))}
    return FittedModel(trainer, model, params, trials, fitted, inputs, dataset.reference, splits, float(np.mean(y)),
                       dataset.test, X_test)


def _evaluate_and_store(plan: TrainingPlan, fit: FittedModel, repository: ModelRepository, started: datetime,
                        t0: float, progress: Progress, reports_dir: Path | None) -> TrainResult:
    """The report (test split the headline) and the model stored with its record and reference sample."""
    from fresco.platform.state import state_dir

    config, functions = plan.config, plan.functions
    trainer, model, inputs, label = fit.trainer, fit.model, fit.inputs, config.data.label
    uuid = ModelRepository.new_uuid()

    def predict(matrix: np.ndarray) -> np.ndarray:
        return trainer.predict(model, matrix)

    importance = trainer.feature_importance(model, inputs)
    report = build_report(
        task=config.model.task, splits=fit.splits, y_train_mean=fit.label_mean,
        feature_names=inputs, importance=importance, predict=predict, X_test=fit.X_test,
        top_features=config.evaluation.partial_dependence_features, selected=config.evaluation.metrics,
        breakdown=trainer.test_breakdown(model, fit.X_test, fit.splits["test"].y, config.model.task),
    )
    finished = datetime.now(timezone.utc)
    config_data = config.to_dict()
    config_data["model"]["hyperparameters"] = fit.params
    header = {"model": config.model.name, "uuid": uuid, "type": config.model.type, "task": config.model.task,
              "label": label, "author": current_user(), "trained": f"{started:%Y-%m-%d %H:%M:%S} UTC",
              "seconds": round(time.perf_counter() - t0, 1),
              **{f"{name} split": report["splits"][name]["label"] for name in ("train", "validation", "test")},
              "split": fit.dataset["split"],
              "dataset hash": fit.dataset["content_hash"][:16], "inputs": ", ".join(inputs)}
    folder = (reports_dir or state_dir() / "reports") / uuid
    html_path, json_path = write_report(report, header, folder)

    progress("[5/5] storing the model in the repository (with a reference sample of the test split)")
    program_json = fit.fitted.to_json()
    extensions: dict[str, Any] = {"functions": feats.function_manifest(program_json, functions)}
    if plan.trainer_extension is not None:
        extensions["trainer"] = plan.trainer_extension
    record = ModelRecord(
        uuid=uuid, name=config.model.name, model_type=config.model.type, task=config.model.task, label=label,
        inputs=inputs, author=current_user(), started_at=started.isoformat(), finished_at=finished.isoformat(),
        config=config_data, dataset=fit.dataset, metrics=report["metrics"], baseline=report["baseline"],
        feature_importance=importance, learnt_parameters=trainer.learnt_parameters(model),
        program=program_json, trials=fit.trials, report_html=str(html_path), report_json=str(json_path),
        extensions=extensions,
    )
    reference = reference_sample(fit.test_rows, fit.X_test, fit.splits["test"].p, fit.splits["test"].y, inputs=inputs,
                                 program=fit.fitted, rows=config.monitoring.reference_rows,
                                 seed=config.monitoring.seed, model_uuid=uuid)
    repository.save(record, trainer, model, record.program, reference=reference)
    return TrainResult(uuid, record, html_path, json_path)
