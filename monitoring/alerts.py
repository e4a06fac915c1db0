"""``fresco monitor check``: every rule of a monitoring config (:mod:`fresco.monitoring.rules`)
and every feature view's freshness, evaluated at one time, each result recorded with its evidence.

A rule's window is ``[at - window, at)`` of the prediction time. Its value:

* an accuracy metric (``rmse``, ``auc``...): :func:`fresco.training.metrics.compute_metrics` on the
  window's predictions that have an outcome (joined as ``fresco monitor metrics`` joins them);
  the count is those outcomes;
* ``join_rate``: predictions with an outcome / predictions;
* ``null_rate``: the share of the window's predictions whose model input ``input`` was null (by
  default the highest of any input, named in the evidence);
* ``drift_share``: the share of model inputs Evidently finds drifted against the model's
  reference sample (:func:`fresco.monitoring.report.build_report`; per model when a tag's
  window holds several, the highest);
* ``predictions``: how many predictions were logged;
* ``skew_rate``: the share of the window's predictions (at most the rule's ``sample``, drawn at
  random) that replayed offline differ from what was served
  (:func:`fresco.monitoring.skew.skew_figures`; per model when a tag's window holds several, the
  highest); needs the feature repository.

Status per result: ``breach`` (the value is beyond the threshold), ``ok``, or ``insufficient``
(fewer outcomes or predictions than the rule's ``min_count``: not judged, and said). A feature
view is ``breach`` when its last write (:func:`fresco.platform.catalog.last_written`) is older than
its ``freshness_sla`` or it was never written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from fresco.monitoring.log import read_predictions
from fresco.monitoring.outcomes import OutcomeSource, join_outcomes, no_outcomes, outcomes_to_join
from fresco.monitoring.rules import MonitoringConfig, Rule
from fresco.training.metrics import compute_metrics, metric_names

BREACH, OK, INSUFFICIENT = "breach", "ok", "insufficient"


@dataclass
class CheckResult:
    """One rule's (or one view's freshness) verdict and its evidence."""

    rule: str
    subject: str  #: "model <name> <uuid>", "tag <tag>" or "view <name>"
    metric: str
    value: float | None
    threshold: float | None
    direction: str  #: "above" or "below"
    window_start: datetime | None
    window_end: datetime
    count: int
    min_count: int
    status: str
    detail: str = ""

    def line(self) -> str:
        """The result as one line for people."""
        value = "none" if self.value is None else f"{self.value:.6g}"
        if self.metric == "freshness":
            said = (f"last written {self.detail}" if self.value is not None else "never written")
            return (f"{self.status.upper():<12} {self.rule}: {said}; SLA {_span(self.threshold)}")
        period = f"{self.window_start:%Y-%m-%dT%H:%M}Z..{self.window_end:%Y-%m-%dT%H:%M}Z"
        counted = f"{self.count:,} {'outcomes' if self.metric in _ACCURACY else 'predictions'}"
        if self.status == INSUFFICIENT:
            return (f"{self.status.upper():<12} {self.rule}: {self.metric} not judged, {counted} in {period} "
                    f"< min_count {self.min_count} ({self.subject})")
        extra = f"; {self.detail}" if self.detail else ""
        return (f"{self.status.upper():<12} {self.rule}: {self.metric} {value} ({self.direction} {self.threshold:g} "
                f"breaches) over {period} on {counted} ({self.subject}){extra}")


_ACCURACY = frozenset(metric_names("regression")) | frozenset(metric_names("binary"))


def _span(seconds: float | None) -> str:
    return "none" if seconds is None else str(timedelta(seconds=seconds))


@dataclass
class Models:
    """What a rule needs from the model repository: reference -> UUID, UUID -> (name, task)."""

    resolve: Callable[[str], str]
    describe: Callable[[str], tuple[str, str]]
    reference: Callable[[str], Any]  #: UUID -> its reference sample (NoReferenceSample if none)
    load: Callable[[str], Any] | None = None  #: UUID -> the loaded model (for skew_rate)


def repository_models(repository: Any = None) -> Models:
    """:class:`Models` over the model repository (default: the state folder's)."""
    from fresco.training import ModelRepository
    from fresco.training.reference import read_reference

    repo = repository or ModelRepository()

    def describe(uuid: str) -> tuple[str, str]:
        record = repo.get(uuid)
        return record.name, record.task

    def reference(uuid: str) -> Any:
        name, _ = describe(uuid)
        return read_reference(repo.artifact_path(uuid), f"{name} ({uuid})")

    def load(uuid: str) -> Any:
        from fresco.training import load_model

        return load_model(uuid, repo)

    return Models(repo.resolve, describe, reference, load)


def _null_rate(window: pd.DataFrame, inputs: list[str], only: str | None) -> tuple[float, str]:
    from fresco.monitoring.report import logged_inputs

    frame = logged_inputs(window, inputs)
    rates = frame.isna().mean()
    if only is not None:
        return float(rates[only]), f"input {only}"
    worst = str(rates.idxmax())
    return float(rates[worst]), f"highest: input {worst}"


def evaluate_rule(rule: Rule, at: datetime, predictions: pd.DataFrame, outcomes: pd.DataFrame | None,
                  models: Models, max_delay: timedelta | None, store: Any = None) -> CheckResult:
    """``rule``'s verdict at ``at`` on the log's ``predictions`` (every model, the rule's window
    at least) and ``outcomes`` (the outcome table, or None when there is none); ``store``: the
    feature repository (a Feast ``FeatureStore``), which ``skew_rate`` replays through."""
    start = at - rule.span
    when = pd.to_datetime(predictions["predicted_at"], utc=True)
    window = predictions[(when >= pd.Timestamp(start)) & (when < pd.Timestamp(at))]
    if rule.model is not None:
        uuid = models.resolve(rule.model)
        name, _ = models.describe(uuid)
        subject = f"model {name} {uuid}"
        window = window[window["model_uuid"] == uuid]
    else:
        subject = f"tag {rule.tag}"
        window = window[window["tag"] == rule.tag]
    window = window.reset_index(drop=True)
    result = CheckResult(rule.name, subject, rule.metric, None, rule.threshold, rule.direction, start, at,
                         len(window), rule.needed, INSUFFICIENT)
    if rule.metric == "predictions":
        result.value = float(len(window))
    elif len(window):
        result.value, result.count, result.detail = _value(rule, window, outcomes, models, max_delay, store)
    if result.value is None or result.count < result.min_count:
        result.status = INSUFFICIENT
    else:
        result.status = BREACH if rule.breached(result.value) else OK
    return result


def _skew_rate(rule: Rule, window: pd.DataFrame, models: Models, store: Any) -> tuple[float, int, str]:
    """The highest share of replayed predictions with a mismatch of the window's models, the
    predictions replayed, and what differed."""
    from fresco.monitoring.skew import CAUSES, skew_figures

    if store is None:
        raise ValueError(f"rule {rule.name}: {rule.metric} replays predictions through the feature "
                         "repository: give --repo (or set $FRESCO_FEATURE_REPO)")
    assert models.load is not None, "skew_rate needs Models.load"
    worst: tuple[float, int, str] | None = None
    for uuid in dict.fromkeys(window["model_uuid"]):
        rows = window[window["model_uuid"] == uuid].reset_index(drop=True)
        figures = skew_figures(rows, models.load(uuid), store, sample=rule.sample or 1000)
        causes = ", ".join(f"{c} {figures['rows_by_cause'][c]}" for c in CAUSES if figures["rows_by_cause"][c])
        said = (f"{figures['with_mismatch']} of {figures['checked']} replayed predictions of "
                f"{models.describe(uuid)[0]} {uuid[:8]} differ" + (f" ({causes})" if causes else ""))
        if worst is None or figures["mismatch_rate"] > worst[0]:
            worst = (float(figures["mismatch_rate"]), int(figures["checked"]), said)
    assert worst is not None
    return worst


def _value(rule: Rule, window: pd.DataFrame, outcomes: pd.DataFrame | None, models: Models,
           max_delay: timedelta | None, store: Any = None) -> tuple[float | None, int, str]:
    """(value, count it is judged on, detail) of a metric other than ``predictions``."""
    uuids = list(dict.fromkeys(window["model_uuid"]))
    if rule.metric == "skew_rate":
        return _skew_rate(rule, window, models, store)
    if rule.metric == "null_rate":
        inputs = list(dict.fromkeys(k for text in window["inputs_json"].dropna() for k in json.loads(text)))
        if rule.input is not None and rule.input not in inputs:
            raise ValueError(f"rule {rule.name}: no model input {rule.input!r} in the logged predictions "
                             f"(inputs: {', '.join(inputs)})")
        value, detail = _null_rate(window, inputs, rule.input)
        return value, len(window), detail
    if rule.metric == "drift_share":
        from fresco.monitoring.report import build_report

        worst: tuple[float, str] | None = None
        for uuid in uuids:
            rows = window[window["model_uuid"] == uuid].reset_index(drop=True)
            name, task = models.describe(uuid)
            figures, _, _ = build_report(models.reference(uuid), rows, task=task)
            drift = figures["drift"]
            said = f"{drift['drifted']} of {drift['inputs']} inputs drifted for {name} {uuid[:8]}" + (
                f" ({', '.join(drift['drifted_inputs'])})" if drift["drifted_inputs"] else "")
            if worst is None or drift["share"] > worst[0]:
                worst = (float(drift["share"]), said)
        assert worst is not None
        return worst[0], len(window), worst[1]
    joined = join_outcomes(window, outcomes if outcomes is not None else no_outcomes(), max_delay=max_delay).frame
    observed = joined[joined["outcome"].notna()]
    if rule.metric == "join_rate":
        return len(observed) / len(joined), len(joined), ""
    tasks = {models.describe(uuid)[1] for uuid in uuids}
    if len(tasks) > 1:
        raise ValueError(f"rule {rule.name}: the window mixes {' and '.join(sorted(tasks))} models; "
                         "name one model instead of a tag")
    task = tasks.pop()
    if rule.metric not in metric_names(task):
        raise ValueError(f"rule {rule.name}: {rule.metric} is not a metric of a {task} model "
                         f"(its metrics: {', '.join(metric_names(task))})")
    if observed.empty:
        return None, 0, ""
    value = compute_metrics(task, observed["outcome"].to_numpy(), observed["prediction"].to_numpy())[rule.metric]
    return (None if value is None or math.isnan(value) else float(value)), len(observed), ""


def freshness_results(store: Any, config: MonitoringConfig, at: datetime) -> list[CheckResult]:
    """Each chosen feature view's last write against its freshness SLA at ``at``."""
    from fresco.platform.catalog import views_freshness

    if config.freshness == "none":
        return []
    views = views_freshness(store)
    if isinstance(config.freshness, list):
        known = {v.view for v in views}
        missing = [name for name in config.freshness if name not in known]
        if missing:
            raise ValueError(f"freshness: no feature view {', '.join(map(repr, missing))} in the catalog "
                             f"(views: {', '.join(sorted(known))})")
        views = [v for v in views if v.view in config.freshness]
    results = []
    for v in views:
        if v.freshness_sla is None:
            continue
        age = None if v.last_written is None else (at - v.last_written).total_seconds()
        sla = v.freshness_sla.total_seconds()
        detail = "" if v.last_written is None else (
            f"{v.last_written:%Y-%m-%dT%H:%M:%S}Z by its {v.written_by}, {_span(round(age))} ago")
        results.append(CheckResult(
            f"freshness:{v.view}", f"view {v.view}", "freshness", age, sla, "above", None, at, 0, 0,
            OK if v.within_sla(at) else BREACH, detail))
    return results


def check(config: MonitoringConfig, at: datetime, *, store: Any = None, models: Models | None = None,
          log_folder: Path | None = None, outcomes: OutcomeSource | Path | str | None = None,
          max_delay: timedelta | None = timedelta(days=7)) -> list[CheckResult]:
    """Every rule of ``config`` and (with ``store``) every feature view's freshness at ``at``
    (``skew_rate`` rules need ``store``). Outcomes joined on key fields are matched among all the predictions read (every rule's
    window), then each rule's window is joined by prediction id."""
    results: list[CheckResult] = []
    if config.rules:
        models = models or repository_models()
        earliest = at - max(rule.span for rule in config.rules)
        predictions = read_predictions(log_folder, since=earliest, until=at)
        table = outcomes_to_join(outcomes, predictions)
        results += [evaluate_rule(rule, at, predictions, table, models, max_delay, store)
                    for rule in config.rules]
    if store is not None:
        results += freshness_results(store, config, at)
    return results


def checks_folder() -> Path:
    """Where ``fresco monitor check`` records its verdicts by default: ``<state dir>/monitoring/checks``."""
    from fresco.platform.state import state_dir

    return state_dir() / "monitoring" / "checks"


def recorded(folder: Path | None = None) -> pd.DataFrame:
    """Every verdict :func:`record` wrote into ``folder`` (default :func:`checks_folder`), the
    latest check first (the columns of :class:`CheckResult` and ``checked_at``; no rows when
    nothing was recorded)."""
    folder = checks_folder() if folder is None else folder
    files = sorted(folder.glob("check-*.parquet")) if folder.is_dir() else []
    if not files:
        return pd.DataFrame(columns=[*CheckResult.__dataclass_fields__, "checked_at"])
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return frame.sort_values("checked_at", ascending=False, kind="stable").reset_index(drop=True)


def record(results: list[CheckResult], folder: Path, at: datetime) -> Path:
    """Append the results to the checks table (``folder``: one Parquet file per check run)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([{**asdict(r), "checked_at": at} for r in results])
    path = folder / f"check-{at:%Y%m%dT%H%M%S%f}Z.parquet"
    frame.to_parquet(path, index=False)
    return path
