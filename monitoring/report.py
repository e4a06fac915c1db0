"""The drift and data-quality report of one model (``fresco monitor report``): its logged
predictions against the reference sample kept in its artifact (:mod:`fresco.training.reference`).

Evidently runs ``DataDriftPreset`` on the model inputs and the prediction, ``DataSummaryPreset``
on the same columns and, on the predictions that have an outcome, ``RegressionPreset`` or
``ClassificationPreset``. Its HTML is written beside a JSON of the same figures (the shape is in
monitoring/README.md), and the out-of-vocabulary rate of every ``categorical(...)`` input (which
Evidently cannot know) is added from the vocabularies fitted at training.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from fresco.monitoring.log import read_predictions
from fresco.monitoring.outcomes import JoinedOutcomes, OutcomeSource, join_outcomes, outcomes_to_join
from fresco.platform.logs import prediction_log_folder
from fresco.training.reference import INPUT, ReferenceSample, read_reference

log = logging.getLogger(__name__)

#: The prediction's and the label's columns in Evidently's datasets (no DSL output is named so).
PREDICTION, LABEL = "(prediction)", "(label)"
_METRIC = "evidently:metric_v2:"


#: A report folder's name: the UTC time it was written (sorts as it was written).
STAMP = "%Y%m%dT%H%M%SZ"


def reports_folder() -> Path:
    """Where reports are written by default: ``<state dir>/monitoring/reports``, in it a folder
    per model UUID and in that one per report, named by its UTC time (:data:`STAMP`)."""
    from fresco.platform.state import state_dir

    return state_dir() / "monitoring" / "reports"


def stored_reports(root: Path | None = None) -> dict[str, list[Path]]:
    """The reports under ``root`` (default :func:`reports_folder`): model UUID -> its report
    folders holding a ``report.json``, newest first. Only what is there is listed: a name
    given by someone else is looked up in it, never made into a path."""
    root = reports_folder() if root is None else root
    if not root.is_dir():
        return {}
    found: dict[str, list[Path]] = {}
    for model in sorted(p for p in root.iterdir() if p.is_dir()):
        written = [p for p in model.iterdir() if _is_stamp(p.name) and (p / "report.json").is_file()]
        if written:
            found[model.name] = sorted(written, key=lambda p: p.name, reverse=True)
    return found


def _is_stamp(name: str) -> bool:
    try:
        datetime.strptime(name, STAMP)
    except ValueError:
        return False
    return True


class NoPredictions(LookupError):
    """No logged prediction of the model in the period."""


@dataclass
class ModelReport:
    """The figures (the JSON's content) and where the files are."""

    figures: dict[str, Any]
    html: Path
    json: Path
    quality_html: Path | None = None


def logged_inputs(predictions: pd.DataFrame, inputs: list[str]) -> pd.DataFrame:
    """The model inputs of logged predictions (their ``inputs_json``) as float columns in
    ``inputs`` order (null, a missing input and NaN as NaN; booleans as 0/1)."""
    records = [json.loads(text) if text else {} for text in predictions["inputs_json"]]
    frame = pd.DataFrame.from_records(records, columns=inputs) if records else pd.DataFrame(columns=inputs)
    return frame.astype("float64").reset_index(drop=True)


def oov_rate(values: pd.Series, vocabulary: list[Any]) -> float | None:
    """Share of the non-null values of a ``categorical(...)`` input outside its vocabulary (the
    index ``len(vocabulary)``); None without values."""
    present = values.dropna()
    return float((present == len(vocabulary)).mean()) if len(present) else None


def _categories(values: pd.Series) -> pd.Series:
    """A categorical input's float codes as Python ints, null as None (what Evidently counts)."""
    return pd.Series([None if pd.isna(v) else int(v) for v in values], index=values.index, dtype=object)


def period_text(since: datetime | None, until: datetime | None) -> str:
    """``from X until Y`` (UTC, ISO), as much of it as is given; ``in the whole log`` otherwise."""
    parts = [f"from {since.isoformat()}" if since else "", f"until {until.isoformat()}" if until else ""]
    return " ".join(p for p in parts if p) or "in the whole log"


def _run(columns: dict[str, str], task: str, current: pd.DataFrame, reference: pd.DataFrame,
         presets: list[Any]) -> Any:
    """Evidently's snapshot of ``presets`` on ``current`` against ``reference`` (``columns``:
    name -> numerical or categorical; with ``LABEL`` present, the task's target mapping)."""
    from evidently import BinaryClassification, DataDefinition, Dataset, Regression, Report

    task_mapping: dict[str, Any] = {}
    if LABEL in current.columns:
        task_mapping = ({"regression": [Regression(target=LABEL, prediction=PREDICTION)]} if task == "regression"
                        else {"classification": [BinaryClassification(target=LABEL, prediction_probas=PREDICTION,
                                                                      pos_label=1)]})
    definition = DataDefinition(
        numerical_columns=[c for c, kind in columns.items() if kind == "numerical"],
        categorical_columns=[c for c, kind in columns.items() if kind == "categorical"], **task_mapping)
    return Report(presets, include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition))


def _figures_by_column(snapshot: Any) -> dict[str, dict[str, Any]]:
    """Per column: drift (score, stat test, threshold, verdict), null rate, min and max, from a
    snapshot's dictionary (its drift verdict is the ValueDrift test's status)."""
    data = snapshot.dict()
    out: dict[str, dict[str, Any]] = {}
    verdicts = {t["metric_config"]["metric_id"]: getattr(t["status"], "value", t["status"]) for t in data["tests"]
                if t["metric_config"]["params"]["type"] == _METRIC + "ValueDrift"}
    for metric in data["metrics"]:
        config, value = metric["config"], metric["value"]
        column = config.get("column")
        if column is None:
            continue
        figures = out.setdefault(column, {})
        kind = config["type"].removeprefix(_METRIC)
        if kind == "ValueDrift":
            figures["drift"] = {"score": finite_number(value), "stattest": config.get("method"),
                                "threshold": finite_number(config.get("threshold")),
                                "drifted": verdicts.get(metric["id"]) == "FAIL"}
        elif kind == "MissingValueCount":
            figures["null_rate"] = finite_number(value["share"])
        elif kind == "MinValue":
            figures["min"] = finite_number(value)
        elif kind == "MaxValue":
            figures["max"] = finite_number(value)
    return out


def _quality(snapshot: Any) -> dict[str, float | None]:
    """The quality preset's dataset-wide figures by metric name (a mean where Evidently gives
    a mean and a spread)."""
    figures: dict[str, float | None] = {}
    for metric in snapshot.dict()["metrics"]:
        name, value = metric["config"]["type"].removeprefix(_METRIC), metric["value"]
        if isinstance(value, dict):
            value = value.get("mean")
        if isinstance(value, (int, float)) and name not in figures:
            figures[name] = finite_number(value)
    return figures


def finite_number(value: Any) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if pd.notna(number) and abs(number) != float("inf") else None


def build_report(reference: ReferenceSample, predictions: pd.DataFrame, *, task: str,
                 joined: JoinedOutcomes | None = None) -> tuple[dict[str, Any], Any, Any]:
    """(figures, Evidently's drift and summary snapshot, its quality snapshot or None) of
    ``predictions`` (the log's rows of one model) against ``reference``; quality only where
    ``joined`` gives outcomes."""
    from evidently.presets import ClassificationPreset, DataDriftPreset, DataSummaryPreset, RegressionPreset

    inputs = reference.inputs
    columns = {**{name: reference.kinds.get(name, "numerical") for name in inputs}, PREDICTION: "numerical"}
    current = logged_inputs(predictions, inputs).assign(**{PREDICTION: predictions["prediction"].to_numpy()})
    ref = pd.DataFrame({name: reference.frame[INPUT + name] for name in inputs}).assign(
        **{PREDICTION: reference.frame["prediction"].to_numpy()})
    for name in (n for n in inputs if columns[n] == "categorical"):
        current[name], ref[name] = _categories(current[name]), _categories(ref[name])
    drift = _run(columns, task, current, ref, [DataDriftPreset(columns=list(columns)), DataSummaryPreset()])
    by_column = _figures_by_column(drift)
    per_input = {}
    for name in inputs:
        per_input[name] = {"kind": columns[name], **by_column.get(name, {})}
        if name in reference.vocabularies:
            vocabulary = reference.vocabularies[name]
            per_input[name]["oov_rate"] = oov_rate(current[name], vocabulary)
            per_input[name]["reference_oov_rate"] = oov_rate(ref[name], vocabulary)
    drifted = [name for name in inputs if per_input[name].get("drift", {}).get("drifted")]
    figures: dict[str, Any] = {
        "predictions": len(predictions), "reference_rows": len(ref),
        "first_prediction": pd.Timestamp(predictions["predicted_at"].min()).isoformat(),
        "last_prediction": pd.Timestamp(predictions["predicted_at"].max()).isoformat(),
        "drift": {"inputs": len(inputs), "drifted": len(drifted), "share": len(drifted) / len(inputs) if inputs else 0.0,
                  "drifted_inputs": drifted},
        "inputs": per_input, "prediction": by_column.get(PREDICTION, {}), "quality": None,
    }
    quality = None
    if joined is not None:
        figures["outcomes"] = joined.counts()
        observed = joined.frame["outcome"].notna().to_numpy()
        if observed.any():
            pairs = pd.DataFrame({PREDICTION: predictions["prediction"].to_numpy()[observed],
                                  LABEL: joined.frame["outcome"].to_numpy()[observed]})
            ref_pairs = pd.DataFrame({PREDICTION: reference.frame["prediction"], LABEL: reference.frame["label"]})
            if task == "binary":
                pairs[LABEL], ref_pairs[LABEL] = pairs[LABEL].astype(int), ref_pairs[LABEL].astype(int)
            preset = RegressionPreset() if task == "regression" else ClassificationPreset()
            quality = _run({PREDICTION: "numerical"}, task, pairs, ref_pairs, [preset])
            figures["quality"] = {"outcomes": int(observed.sum()), "metrics": _quality(quality)}
    return figures, drift, quality


def _accuracy_plot(joined: JoinedOutcomes, task: str, uuid: str, out: Path, html: Path) -> Path:
    """Accuracy over time of the report's predictions (hourly up to two days, else daily) as
    ``accuracy.png``, also embedded at the end of ``html``."""
    from fresco.monitoring.accuracy import accuracy_over_time
    from fresco.monitoring.plots import accuracy_png, embed_png

    when = pd.to_datetime(joined.frame["predicted_at"], utc=True)
    window = "1h" if when.max() - when.min() <= pd.Timedelta(days=2) else "1D"
    table = accuracy_over_time(joined.frame, {uuid: task}, window=window)
    png = accuracy_png(table, out / "accuracy.png")
    embed_png(html, png, f"Accuracy over time ({window} windows, predictions with an outcome)")
    return png


def report_from_logs(
    model: str, *, repository: Any = None, log_folder: Path | None = None,
    outcomes: OutcomeSource | Path | str | None = None,
    since: datetime | None = None, until: datetime | None = None,
    max_delay: timedelta | None = timedelta(days=7), out_dir: Path | None = None,
) -> ModelReport:
    """The report of ``model`` (a model reference: tag, UUID or prefix) on its logged predictions
    in ``[since, until)``, written under ``out_dir`` (default
    ``<state dir>/monitoring/reports/<uuid>/<UTC time>/``). Outcomes: ``outcomes`` (a table, or an
    :class:`~fresco.monitoring.outcomes.OutcomeSource`: its columns, joined on key fields), else
    what ``POST /outcome`` logged, when there is any. ``LookupError`` for an unknown model
    (``RepositoryError``), one without a reference sample (``NoReferenceSample``) and no
    predictions in the period (:class:`NoPredictions`)."""
    from fresco.training import ModelRepository

    started = time.perf_counter()
    repository = repository or ModelRepository()
    uuid = repository.resolve(model)
    record = repository.get(uuid)
    who = f"{record.name} ({uuid})"
    reference = read_reference(repository.artifact_path(uuid), who)
    folder = Path(log_folder) if log_folder is not None else prediction_log_folder()
    predictions = read_predictions(folder, since=since, until=until, model=uuid)
    if predictions.empty:
        raise NoPredictions(f"no logged predictions of model {who} {period_text(since, until)} "
                            f"in the prediction log {folder}")
    table = outcomes_to_join(outcomes, predictions)
    joined = None if table is None else join_outcomes(predictions, table, max_delay=max_delay)
    figures, drift, quality = build_report(reference, predictions, task=record.task, joined=joined)
    stamp = datetime.now(timezone.utc).strftime(STAMP)
    out = Path(out_dir) if out_dir is not None else reports_folder() / uuid / stamp
    out.mkdir(parents=True, exist_ok=True)
    html, quality_html = out / "report.html", (out / "quality.html" if quality is not None else None)
    drift.save_html(str(html))
    if quality is not None:
        quality.save_html(str(quality_html))
    plot = _accuracy_plot(joined, record.task, uuid, out, html) if quality is not None else None
    import evidently

    figures = {"model": {"uuid": uuid, "name": record.name, "task": record.task, "asked_as": model},
               "period": {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None},
               **figures, "html": str(html), "quality_html": str(quality_html) if quality_html else None,
               "accuracy_png": str(plot) if plot else None,
               "evidently": evidently.__version__, "seconds": round(time.perf_counter() - started, 3)}
    (out / "report.json").write_text(json.dumps(figures, indent=2))
    log.info("report of %s on %d predictions in %.1f s", who, len(predictions), figures["seconds"])
    return ModelReport(figures, html, out / "report.json", quality_html)
