"""The training/serving skew detector (``fresco monitor skew``).

A sample of a model's logged predictions is replayed offline, the way training would have seen
each request: its features are retrieved point in time at the moment it was served (through
:func:`fresco.training.build_training_frame`, the retrieval training uses, so the feature
views' TTLs apply the same way), the model's fitted program runs on them with the training
back end (pandas), and the model predicts again. What serving logged is compared with that,
per feature, per model input and for the prediction, and each difference gets the cause a team
must tell apart:

``not_materialized``  offline has a value for that moment, written before the request, that
                      online did not have yet: online had none, or an older one while the
                      offline value is stamped after the view's last materialization before the
                      request (a late or failed materialization, a stream job behind)
``missing_offline``   online served a value the offline store has none for at that moment (rows
                      deleted or rewritten offline, a view's TTL or time zone differing)
``changed_after_serving``  offline now holds a row for that key and moment that was written
                      after the request (its source's ``created_timestamp_column`` later than
                      the prediction): late or corrected data the online store could not have
                      had; told apart only for sources that declare a created timestamp
``value_differs``     both have a value and they differ otherwise: the online store was written
                      outside materialization, or the offline data changed after it was loaded
                      online (without a created timestamp, the two cannot be told apart)
``transformation``    the row's features agree but a model input differs: the program served is
                      not the one trained (a bug, or a changed function)
``model``             the inputs agree but the prediction differs: another model answered

Nothing here writes to the log or the stores; the report is a JSON of the figures and an HTML
page of the same tables.
"""

from __future__ import annotations

import html as htmllib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fresco.monitoring.log import read_predictions
from fresco.monitoring.report import NoPredictions, period_text
from fresco.platform.logs import prediction_log_folder

NOT_MATERIALIZED = "not_materialized"
MISSING_OFFLINE = "missing_offline"
CHANGED_AFTER_SERVING = "changed_after_serving"
VALUE_DIFFERS = "value_differs"
TRANSFORMATION = "transformation"
MODEL = "model"
#: the causes of a feature's difference, then of an input's and of the prediction's
FEATURE_CAUSES = (NOT_MATERIALIZED, MISSING_OFFLINE, CHANGED_AFTER_SERVING, VALUE_DIFFERS)
CAUSES = (*FEATURE_CAUSES, TRANSFORMATION, MODEL)

#: the column of the replayed rows holding when each prediction was served
SERVED_AT = "__fresco_served_at"
EXAMPLES = 5  # the largest differences kept per feature and per input


@dataclass
class SkewReport:
    """The figures (the JSON's content) and where the files are."""

    figures: dict[str, Any]
    html: Path
    json: Path

    @property
    def checked(self) -> int:
        return int(self.figures["checked"])

    @property
    def with_mismatch(self) -> int:
        return int(self.figures["with_mismatch"])

    def line(self) -> str:
        """The command's last line."""
        return f"skew: {self.checked:,} predictions checked, {self.with_mismatch:,} with a mismatch"


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _number(value: Any) -> float | None:
    """``value`` as a float when it is a number or a boolean (numpy's too), else None."""
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return float(value)
    return None


def difference(served: Any, replayed: Any, tolerance: float) -> tuple[bool, float | None]:
    """Whether ``served`` and ``replayed`` are the same value (both null counts as the same;
    numbers within ``tolerance``, relative or absolute; times as instants) and, for numbers,
    the absolute difference."""
    if _missing(served) or _missing(replayed):
        return _missing(served) and _missing(replayed), None
    a, b = _number(served), _number(replayed)
    if a is not None and b is not None:
        return math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance), abs(a - b)
    if isinstance(served, str) and isinstance(replayed, (pd.Timestamp, datetime)):
        try:
            return pd.Timestamp(served) == pd.Timestamp(replayed), None
        except ValueError:
            return False, None
    return served == replayed, None


def _typed(values: pd.Series, dtype: str) -> pd.Series:
    """Request values read back from the log's JSON in the type the program declares."""
    if dtype == "timestamp":
        return pd.to_datetime(values, utc=True, format="ISO8601")
    if dtype == "int":
        return pd.to_numeric(values).astype("Int64")
    if dtype == "float":
        return pd.to_numeric(values).astype("float64")
    if dtype == "bool":
        return values.astype("boolean")
    return values.astype(object)


def replay_rows(predictions: pd.DataFrame, program: Any) -> pd.DataFrame:
    """The entity rows of logged ``predictions``: entity keys, the request fields the program
    reads (typed as it declares them) and :data:`SERVED_AT`."""
    keys = pd.DataFrame.from_records([json.loads(t or "{}") for t in predictions["entity_keys_json"]])
    request = pd.DataFrame.from_records([json.loads(t or "{}") for t in predictions["request_json"]])
    rows = pd.concat([keys.reset_index(drop=True), request.drop(columns=[c for c in request.columns
                                                                         if c in keys.columns])], axis=1)
    types = program.input_types
    for name in program.request_fields:
        if name not in rows.columns:
            raise ValueError(f"the logged requests lack request field {name!r}, which the model's "
                             "program reads: were they logged by another model?")
        rows[name] = _typed(rows[name], str(getattr(types[name], "value", types[name])))
    rows[SERVED_AT] = pd.to_datetime(predictions["predicted_at"], utc=True).to_numpy()
    return rows


def _history(store: Any, view: Any, rows: pd.DataFrame, created: str | None) -> pd.DataFrame:
    """``rows``' positions (``__position``), keys and :data:`SERVED_AT` joined with every offline
    row of ``view``'s source for those keys over the period (the view's TTL before the first
    request to the last), through the offline store's ``pull_all_from_table_or_query``."""
    from feast.infra.offline_stores.offline_utils import get_offline_store_from_config

    source = view.batch_source
    keys = list(view.join_keys)
    served = pd.to_datetime(rows[SERVED_AT], utc=True)
    ttl = view.ttl if view.ttl else None
    start = (served.min() - ttl).to_pydatetime() if ttl else None
    history = get_offline_store_from_config(store.config.offline_store).pull_all_from_table_or_query(
        config=store.config, data_source=source, join_key_columns=keys, feature_name_columns=[],
        timestamp_field=source.timestamp_field, created_timestamp_column=created,
        start_date=start, end_date=served.max().to_pydatetime()).to_df()
    asked = rows[keys].assign(**{SERVED_AT: served}).reset_index(drop=True)
    asked["__position"] = range(len(asked))
    joined = asked.merge(history, on=keys, how="inner")
    joined["__stamped"] = pd.to_datetime(joined[source.timestamp_field], utc=True)
    joined["__inside"] = (joined["__stamped"] <= joined[SERVED_AT]) & (
        (joined["__stamped"] >= joined[SERVED_AT] - ttl) if ttl else True)
    return joined


def _created_after_serving(joined: pd.DataFrame, created: str) -> set[int]:
    """Positions whose offline row, stamped inside the TTL before the moment served, was
    created after it."""
    late = pd.to_datetime(joined[created], utc=True) > joined[SERVED_AT]
    return set(joined.loc[late & joined["__inside"], "__position"].tolist())


def _stamped_after_loaded(joined: pd.DataFrame, view: Any) -> set[int]:
    """Positions whose offline row, stamped inside the TTL before the moment served, is stamped
    after the end of the view's last materialization before that moment."""
    from fresco.platform.times import utc_timestamp

    ends = pd.Series(sorted(utc_timestamp(end) for _, end in view.materialization_intervals))
    at = ends.searchsorted(joined[SERVED_AT], side="right") - 1
    loaded = pd.Series([ends.iloc[i] if i >= 0 else pd.NaT for i in at], index=joined.index,
                       dtype="datetime64[ns, UTC]")
    unloaded = loaded.isna() | (joined["__stamped"] > loaded)
    return set(joined.loc[unloaded & joined["__inside"], "__position"].tolist())


def offline_history_causes(store: Any, view_names: list[str], rows: pd.DataFrame
                           ) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """By feature view, the positions of ``rows`` (entity keys and :data:`SERVED_AT`) whose
    offline value (the row stamped inside the view's TTL before the moment served) was

    - created after the moment served (only for sources that declare a
      ``created_timestamp_column``): ``changed_after_serving``;
    - stamped after the view's last materialization before that moment (only for views
      materialized at all; a view written online by a stream job alone is not asked):
      ``not_materialized`` though online served an older value.

    Each view's history is read once (:func:`_history`)."""
    from fresco.platform.views import feature_view

    rewritten: dict[str, set[int]] = {}
    unloaded: dict[str, set[int]] = {}
    for name in view_names:
        view = feature_view(store, name)
        created = view.batch_source.created_timestamp_column or None
        if rows.empty or not (created or view.materialization_intervals):
            continue
        joined = _history(store, view, rows, created)
        if created:
            rewritten[name] = _created_after_serving(joined, created)
        if view.materialization_intervals:
            unloaded[name] = _stamped_after_loaded(joined, view)
    return rewritten, unloaded


def _largest(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The :data:`EXAMPLES` largest differences (numbers first, by size; then the others)."""
    return sorted(found, key=lambda f: -(f["difference"] if f["difference"] is not None else -1.0))[:EXAMPLES]


def _jsonable(value: Any) -> Any:
    if _missing(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def compare(predictions: pd.DataFrame, replayed: pd.DataFrame, outputs: pd.DataFrame,
            predicted: np.ndarray, trained: Any, *, tolerance: float,
            rewritten: dict[str, set[int]] | None = None,
            unloaded: dict[str, set[int]] | None = None) -> dict[str, Any]:
    """The figures of served against replayed: per feature, per input, the prediction and per
    row (see the module doc for the causes); ``rewritten``: by view, the rows whose offline
    history was written after they were served; ``unloaded``: by view, the rows whose offline
    value was stamped after the online store was last loaded (both :func:`offline_history_causes`)."""
    rewritten, unloaded = rewritten or {}, unloaded or {}
    from fresco.dsl import feature_column

    refs = list(trained.program.feature_refs)
    features = {ref: {"checked": 0, "mismatches": 0, "causes": dict.fromkeys(FEATURE_CAUSES, 0), "found": []}
                for ref in refs}
    inputs = {name: {"checked": 0, "mismatches": 0, TRANSFORMATION: 0, "found": []} for name in trained.inputs}
    prediction = {"mismatches": 0, "max_difference": 0.0, "found": []}
    rows = {cause: 0 for cause in CAUSES}
    with_mismatch, not_logged, mismatched_ids = 0, 0, []
    for r, record in enumerate(predictions.itertuples(index=False)):
        base = {"prediction_id": record.prediction_id, "predicted_at": record.predicted_at.isoformat()}
        served_features = json.loads(record.features_json or "{}")
        causes: set[str] = set()
        if refs and not served_features:
            not_logged += 1
        else:
            for ref in refs:
                online, offline = served_features.get(ref), replayed.at[r, feature_column(ref)]
                same, diff = difference(online, offline, tolerance)
                figures = features[ref]
                figures["checked"] += 1
                if same:
                    continue
                view = ref.split(":")[0]
                cause = (MISSING_OFFLINE if _missing(offline) else
                         CHANGED_AFTER_SERVING if r in rewritten.get(view, ()) else
                         NOT_MATERIALIZED if _missing(online) or r in unloaded.get(view, ()) else
                         VALUE_DIFFERS)
                figures["mismatches"] += 1
                figures["causes"][cause] += 1
                figures["found"].append({**base, "entity_keys": json.loads(record.entity_keys_json or "{}"),
                                         "online": _jsonable(online), "offline": _jsonable(offline),
                                         "difference": diff, "cause": cause})
                causes.add(cause)
        served_inputs = json.loads(record.inputs_json or "{}")
        inputs_differ = False
        for name in trained.inputs:
            same, diff = difference(served_inputs.get(name), outputs.at[r, name], tolerance)
            figures = inputs[name]
            figures["checked"] += 1
            if same:
                continue
            inputs_differ = True
            figures["mismatches"] += 1
            if not causes:  # the row's features agree: the transformation differs
                figures[TRANSFORMATION] += 1
            figures["found"].append({**base, "served": _jsonable(served_inputs.get(name)),
                                     "replayed": _jsonable(outputs.at[r, name]), "difference": diff})
        if inputs_differ and not causes:
            causes.add(TRANSFORMATION)
        same, diff = difference(float(record.prediction), float(predicted[r]), tolerance)
        if not same:
            prediction["mismatches"] += 1
            prediction["max_difference"] = max(prediction["max_difference"], diff or 0.0)
            prediction["found"].append({**base, "served": float(record.prediction),
                                        "replayed": float(predicted[r]), "difference": diff})
            if not inputs_differ and not causes:
                causes.add(MODEL)
        for cause in causes:
            rows[cause] += 1
        if causes or not same:
            with_mismatch += 1
            if len(mismatched_ids) < 20:
                mismatched_ids.append({**base, "causes": sorted(causes)})
    checked = len(predictions)

    def table(parts: dict[str, dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [{key: name, **{k: v for k, v in f.items() if k != "found"},
                 "rate": f["mismatches"] / f["checked"] if f["checked"] else None,
                 "largest": _largest(f["found"])} for name, f in parts.items()]

    return {
        "checked": checked, "with_mismatch": with_mismatch,
        "mismatch_rate": with_mismatch / checked if checked else 0.0,
        "rows_by_cause": rows, "features_not_logged": not_logged,
        "features": table(features, "feature"), "inputs": table(inputs, "input"),
        "prediction": {"mismatches": prediction["mismatches"],
                       "rate": prediction["mismatches"] / checked if checked else 0.0,
                       "max_difference": prediction["max_difference"],
                       "largest": _largest(prediction["found"])},
        "mismatched_predictions": mismatched_ids,
    }


def _html(figures: dict[str, Any]) -> str:
    """The report's page: the same tables as the JSON."""
    e = htmllib.escape

    def cells(values: list[Any], tag: str = "td") -> str:
        return "<tr>" + "".join(f"<{tag}>{e(str(v))}</{tag}>" for v in values) + "</tr>"

    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value:.2%}"

    model = figures["model"]
    parts = [f"<h1>Training/serving skew of {e(model['name'])} {e(model['uuid'])}</h1>",
             f"<p>{figures['checked']:,} of {figures['predictions_in_period']:,} logged predictions "
             f"({e(figures['period_text'])}) replayed offline at the moment each was served; "
             f"<b>{figures['with_mismatch']:,} with a mismatch</b> ({rate(figures['mismatch_rate'])}, "
             f"threshold {rate(figures['threshold'])}: {'passed' if figures['passed'] else 'FAILED'}). "
             f"Tolerance {figures['tolerance']:g}.</p>",
             "<h2>Rows by cause</h2><table>", cells(["cause", "predictions"], "th"),
             *(cells([c, n]) for c, n in figures["rows_by_cause"].items()), "</table>",
             "<h2>Features (online as served against offline at that moment)</h2><table>",
             cells(["feature", "checked", "mismatches", "rate", *FEATURE_CAUSES, "largest differences"], "th")]
    for f in figures["features"]:
        examples = "; ".join(f"{x['prediction_id'][:12]} {x['entity_keys']}: online {x['online']} offline "
                             f"{x['offline']}" for x in f["largest"])
        parts.append(cells([f["feature"], f["checked"], f["mismatches"], rate(f["rate"]),
                            *f["causes"].values(), examples]))
    parts += ["</table><h2>Model inputs (served against the program on the offline features)</h2><table>",
              cells(["input", "checked", "mismatches", "rate", "transformation", "largest differences"], "th")]
    for f in figures["inputs"]:
        examples = "; ".join(f"{x['prediction_id'][:12]}: served {x['served']} replayed {x['replayed']}"
                             for x in f["largest"])
        parts.append(cells([f["input"], f["checked"], f["mismatches"], rate(f["rate"]), f[TRANSFORMATION],
                            examples]))
    p = figures["prediction"]
    parts += ["</table><h2>Prediction</h2>",
              f"<p>{p['mismatches']:,} recomputed predictions differ ({rate(p['rate'])}), the largest by "
              f"{p['max_difference']:.6g}.</p>"]
    style = "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}</style>"
    return f"<!doctype html><html><head><meta charset='utf-8'>{style}</head><body>{''.join(parts)}</body></html>"


def skew_figures(logged: pd.DataFrame, trained: Any, store: Any, *, sample: int = 1000, seed: int = 0,
                 tolerance: float = 1e-6, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Up to ``sample`` of ``logged`` (one model's logged predictions, drawn with ``seed``)
    replayed offline through ``store`` for ``trained`` (a loaded model) and compared with what
    was served: :func:`compare`'s figures."""
    from fresco.training import build_training_frame
    from fresco.training.features import apply_program, to_matrix

    if sample < 1:
        raise ValueError(f"the sample must be at least 1 prediction, got {sample}")
    say = progress or (lambda line: None)
    chosen = logged.sample(n=min(sample, len(logged)), random_state=seed).sort_values("predicted_at", kind="stable")
    chosen = chosen.reset_index(drop=True)
    say(f"replaying {len(chosen):,} of {len(logged):,} logged predictions of {trained.name} ({trained.uuid[:8]})")
    rows = replay_rows(chosen, trained.program)
    refs = list(trained.program.feature_refs)
    replayed = (build_training_frame(rows, refs, store, timestamp_column=SERVED_AT, progress=say)
                if refs else rows).reset_index(drop=True)
    outputs = apply_program(trained.program, replayed)
    predicted = trained.predict(to_matrix(outputs, trained.inputs))
    views = list(dict.fromkeys(ref.split(":")[0] for ref in refs))
    rewritten, unloaded = offline_history_causes(store, views, rows)
    return compare(chosen, replayed, outputs, predicted, trained, tolerance=tolerance,
                   rewritten=rewritten, unloaded=unloaded)


def check_skew(
    model: str, *, store: Any, repository: Any = None, log_folder: Path | None = None,
    since: datetime | None = None, until: datetime | None = None, sample: int = 1000, seed: int = 0,
    tolerance: float = 1e-6, threshold: float = 0.0, out_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SkewReport:
    """Replay up to ``sample`` of ``model``'s logged predictions in ``[since, until)`` (drawn with
    ``seed``) offline through ``store`` (a Feast ``FeatureStore``) and compare (module doc); the
    report goes under ``out_dir`` (default ``<state dir>/monitoring/skew/<uuid>/<UTC time>/``).
    ``figures["passed"]``: whether the share of predictions with a mismatch is at most
    ``threshold``. ``LookupError`` for an unknown model or no predictions in the period."""
    from fresco.platform.state import state_dir
    from fresco.training import ModelRepository, load_model

    started = time.perf_counter()
    repository = repository or ModelRepository()
    uuid = repository.resolve(model)
    trained = load_model(uuid, repository)
    folder = Path(log_folder) if log_folder is not None else prediction_log_folder()
    logged = read_predictions(folder, since=since, until=until, model=uuid)
    if logged.empty:
        raise NoPredictions(f"no logged predictions of model {trained.name} ({uuid}) "
                            f"{period_text(since, until)} in the prediction log {folder}")
    figures = skew_figures(logged, trained, store, sample=sample, seed=seed, tolerance=tolerance,
                           progress=progress)
    figures = {"model": {"uuid": uuid, "name": trained.name, "asked_as": model},
               "period": {"since": since.isoformat() if since else None,
                          "until": until.isoformat() if until else None},
               "period_text": period_text(since, until), "predictions_in_period": len(logged),
               "sample": sample, "seed": seed, "tolerance": tolerance, "threshold": threshold,
               "passed": figures["mismatch_rate"] <= threshold, **figures}
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out_dir) if out_dir is not None else state_dir() / "monitoring" / "skew" / uuid / stamp
    out.mkdir(parents=True, exist_ok=True)
    figures["seconds"] = round(time.perf_counter() - started, 3)
    (out / "skew.html").write_text(_html(figures))
    (out / "skew.json").write_text(json.dumps(figures, indent=2, default=str))
    return SkewReport(figures, out / "skew.html", out / "skew.json")
