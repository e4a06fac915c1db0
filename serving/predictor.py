"""The in-process predictor: route, look up online features, run the DSL program, predict.

This is the whole prediction path; the HTTP service (``fresco.serving.service``) is a thin adapter
over :class:`Predictor`, so a Python caller and an HTTP client get the same answers.

One request, one or many rows::

    route (tag / UUID / experiment arm per row)
      -> check entity keys and request fields against the model's program   (400 / 422)
      -> one batched get_online_features call per answering model           (503 if down)
      -> program.evaluate(row) per row (fitted statistics frozen at training)
      -> one model.predict(matrix) call per answering model

:meth:`Predictor.predict_async` is the same path for an event loop (the HTTP service): the
lookup is awaited (Fresco's Cassandra store reads asynchronously), so a request does not wait
for Cassandra in a worker thread.

Models are loaded once per UUID and kept; a request holds the model object it started with,
so moving a tag never pulls a model from under a running request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from fresco.dsl import feature_column
from fresco.training.features import matrix_from_rows
from fresco.serving.errors import (
    BadRequest,
    ExtensionUnavailable,
    InvalidValue,
    ModelUnavailable,
    ServingError,
    UnknownModel,
    quote,
    shorten,
)
from fresco.serving.online import EntityKey, OnlineFeatures
from fresco.serving.phases import RequestPhases
from fresco.serving.phases import current as current_phases
from fresco.platform.logs import PredictionRecord, new_prediction_id
from fresco.serving.prediction_log import AsyncLog
from fresco.serving.routing import Route, Router, canonical_key_value
from fresco.serving.values import field_problem

MAX_ROWS = 1000


class _FromEnvironment:
    def __repr__(self) -> str:
        return "FROM_ENVIRONMENT"


#: :class:`Predictor`'s default ``prediction_log``: the log the environment configures
#: (:func:`fresco.serving.prediction_log.prediction_log_from_env`), as the service's.
FROM_ENVIRONMENT: Any = _FromEnvironment()

log = logging.getLogger(__name__)


@dataclass
class RowPrediction:
    """The answer for one row."""

    prediction: float
    model_uuid: str
    features: dict[str, Any] | None = None  # online features used, by ``view:feature``
    inputs: dict[str, Any] | None = None  # model inputs (the program's outputs), by name
    prediction_id: str = field(default_factory=new_prediction_id)  # to report its outcome
    partition: str | None = None  # a partitioned model's partition that answered (None: not partitioned)


@dataclass
class PredictionResult:
    """The answer for one request: which name was asked, which tag it went through, per-row answers."""

    model: str
    tag: str | None
    experiment: str | None
    rows: list[RowPrediction] = field(default_factory=list)

    @property
    def predictions(self) -> list[float]:
        return [r.prediction for r in self.rows]

    @property
    def model_uuids(self) -> list[str]:
        return [r.model_uuid for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "tag": self.tag, "experiment": self.experiment,
            "predictions": [
                {k: v for k, v in r.__dict__.items() if v is not None or k == "prediction"}
                for r in self.rows
            ],
        }


class ServingModel:
    """A loaded model ready for requests: its program, inputs, entity keys and request fields."""

    def __init__(self, trained: Any, online: OnlineFeatures) -> None:
        self.trained = trained
        self.uuid: str = trained.uuid
        self.name: str = trained.name
        self.program = trained.program
        self.inputs: list[str] = list(trained.inputs)
        self.feature_refs: list[str] = list(self.program.feature_refs)
        self.columns = {ref: feature_column(ref) for ref in self.feature_refs}
        types = self.program.input_types
        self.request_fields: dict[str, str] = {
            f: str(getattr(types[f], "value", types[f])) for f in self.program.request_fields
        }
        self.entity_keys: list[EntityKey] = online.entity_keys(self.feature_refs)
        self._evaluate = self.program.evaluate

    # -- checking a request ------------------------------------------------------------------
    def check_rows(self, rows: Sequence[Mapping[str, Any]], positions: Sequence[int]) -> None:
        for row, i in zip(rows, positions):
            for key in self.entity_keys:
                if key.name not in row:
                    raise BadRequest(
                        f"row {i} is missing entity key {key.name!r} (model {self.name} "
                        f"{self.uuid} reads features keyed by {[k.name for k in self.entity_keys]})",
                        field=f"rows[{i}].{key.name}",
                    )
                problem = key.problem(row[key.name])
                if problem is not None:
                    raise InvalidValue(f"entity key {key.name!r} {problem}",
                                       field=f"rows[{i}].{key.name}")
            for name, dtype in self.request_fields.items():
                if name not in row:
                    raise BadRequest(
                        f"row {i} is missing request field {name!r} (the model's program reads "
                        f"{list(self.request_fields)})",
                        field=f"rows[{i}].{name}",
                    )
                problem = field_problem(dtype, row[name])
                if problem is not None:
                    raise InvalidValue(f"request field {name!r} {problem}",
                                       field=f"rows[{i}].{name}")

    # -- predicting --------------------------------------------------------------------------
    def predict(
        self,
        rows: Sequence[Mapping[str, Any]],
        positions: Sequence[int],
        online: OnlineFeatures,
        details: bool,
    ) -> list[RowPrediction]:
        self.check_rows(rows, positions)
        features = online.lookup(self.feature_refs, self.entity_rows(rows))
        return self.score(rows, features, positions, details)

    async def predict_async(
        self,
        rows: Sequence[Mapping[str, Any]],
        positions: Sequence[int],
        online: OnlineFeatures,
        details: bool,
        phases: RequestPhases | None = None,
    ) -> list[RowPrediction]:
        """:meth:`predict` with the feature lookup awaited (each phase added to ``phases``)."""
        t = time.perf_counter()
        self.check_rows(rows, positions)
        t = _lap(phases, "checks", t)
        features = await online.lookup_async(self.feature_refs, self.entity_rows(rows))
        _lap(phases, "lookup", t)
        return self.score(rows, features, positions, details, phases)

    def entity_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [{k.name: row[k.name] for k in self.entity_keys} for row in rows]

    def score(
        self,
        rows: Sequence[Mapping[str, Any]],
        features: Sequence[Mapping[str, Any]],
        positions: Sequence[int],
        details: bool,
        phases: RequestPhases | None = None,
    ) -> list[RowPrediction]:
        """Run the program on each row's request fields and features, then the model; with
        ``details``, each answer keeps the features and inputs used."""
        from fresco.dsl import DSLError

        t = time.perf_counter()
        outputs = []
        for row, feats, i in zip(rows, features, positions):
            values = {name: row[name] for name in self.request_fields}
            values.update(feats)
            try:
                outputs.append(self._evaluate(values))
            except DSLError as exc:
                raise InvalidValue(f"row {i}: {exc.message}", field=f"rows[{i}]") from None
        t = _lap(phases, "program", t)
        matrix = matrix_from_rows(outputs, self.inputs)
        predictions, answered = self.trained.predict_answered(matrix)
        partitions = answered or [None] * len(predictions)
        _lap(phases, "model", t)
        answers = []
        for r, feats in enumerate(features):
            answer = RowPrediction(float(predictions[r]), self.uuid, partition=partitions[r])
            if details:
                answer.features = {ref: feats[col] for ref, col in self.columns.items()}
                answer.inputs = {name: outputs[r][name] for name in self.inputs}
            answers.append(answer)
        return answers

    def log_records(self, rows: Sequence[Mapping[str, Any]], answers: Sequence[RowPrediction],
                    route: Route, predicted_at: datetime, latency_ms: float) -> list[PredictionRecord]:
        """The prediction log's records of ``answers`` (scored with their details)."""
        arms = {uuid: arm for arm, uuid in route.arms.items()}
        return [PredictionRecord(
            prediction_id=a.prediction_id, predicted_at=predicted_at, model_uuid=self.uuid,
            tag=route.tag, experiment=route.experiment.name if route.experiment else None,
            arm=arms.get(self.uuid), entity_keys={k.name: row[k.name] for k in self.entity_keys},
            request={name: row[name] for name in self.request_fields}, features=a.features or {},
            inputs=a.inputs or {}, prediction=a.prediction, latency_ms=latency_ms, partition=a.partition,
        ) for row, a in zip(rows, answers)]


class Predictor:
    """Predictions for Python callers; the HTTP service calls the same object.

    ``store`` is a Feast ``FeatureStore`` (default: :func:`fresco.platform.open_store`: the
    feature repository of ``$FRESCO_FEATURE_REPO`` or the current directory, with
    ``$FEAST_FS_YAML_FILE_PATH`` or its ``feature_store.yaml``); ``repository`` the model repository (default: the one under
    Fresco's state dir), which also holds the experiments that split tags between models
    (see :mod:`fresco.serving.routing`).

    ``prediction_log``: where answered rows are logged. By default (:data:`FROM_ENVIRONMENT`) the
    log the environment configures, as the service's (``FRESCO_PREDICTION_LOG``, ``..._DIR``,
    ``..._SAMPLE``: on, Parquet under the state folder); an :class:`AsyncLog` of your own; or
    ``None``: nothing logged. The log writes off the calling thread; what is still queued is
    written when the interpreter exits, or call :meth:`close` (or ``flush``) to have it written now.
    """

    def __init__(
        self,
        store: Any = None,
        repository: Any = None,
        *,
        refresh_seconds: float = 0.5,
        preload: Sequence[str] = (),
        prediction_log: AsyncLog | None = FROM_ENVIRONMENT,
    ) -> None:
        if store is None:
            from fresco.platform import open_store

            store = open_store()
        if repository is None:
            from fresco.training import ModelRepository

            repository = ModelRepository()
        if prediction_log is FROM_ENVIRONMENT:
            from fresco.serving.prediction_log import prediction_log_from_env

            prediction_log = prediction_log_from_env()
        self.online = OnlineFeatures(store)
        self.repository = repository
        self.prediction_log: AsyncLog | None = prediction_log
        self._models: dict[str, ServingModel] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.router = Router(repository, refresh_seconds=refresh_seconds, prepare=self.model)
        for ref in preload:
            self.route_models(self.router.route(ref))

    # -- models ------------------------------------------------------------------------------
    def model(self, uuid: str) -> ServingModel:
        """The loaded model of ``uuid`` (loaded once, then cached)."""
        found = self._models.get(uuid)
        if found is not None:
            return found
        with self._lock:
            lock = self._loading.setdefault(uuid, threading.Lock())
        with lock:
            found = self._models.get(uuid)
            if found is not None:
                return found
            from fresco.dsl import ExtensionError
            from fresco.training import ArtifactError, load_model

            try:
                trained = load_model(uuid, self.repository)
                found = ServingModel(trained, self.online)
            except ArtifactError as exc:  # in the repository, its files broken: not the client's
                log.error("model %s cannot be loaded: %s", uuid, exc)
                raise ModelUnavailable(f"model {uuid} is in the repository but its artifact is "
                                       "incomplete (the server log names what is missing)") from None
            except LookupError as exc:  # the cause names server paths: logged, not answered
                log.info("unknown model %s: %s", shorten(uuid), exc)
                raise UnknownModel(f"unknown model {shorten(uuid)!r}", field="model") from None
            except ServingError:
                raise
            except ExtensionError as exc:
                raise ExtensionUnavailable(f"model {uuid} cannot be served here: {exc}") from None
            except Exception as exc:
                raise ModelUnavailable(
                    f"model {uuid} is in the repository but cannot be loaded: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            self._models[uuid] = found
            return found

    def loaded(self) -> dict[str, ServingModel]:
        """Models loaded so far, by UUID."""
        return dict(self._models)

    def route_models(self, route: Route) -> list[ServingModel]:
        uuids = [route.uuid] if route.experiment is None else list(dict.fromkeys(route.arms.values()))
        return [self.model(u) for u in uuids if u is not None]

    # -- predicting --------------------------------------------------------------------------
    def predict(
        self, model: str, rows: Sequence[Mapping[str, Any]] | Mapping[str, Any], *,
        return_features: bool = False,
    ) -> PredictionResult:
        """Predict for ``rows`` (dicts of entity keys and request fields) with ``model`` (UUID or tag)."""
        started, t0 = datetime.now(timezone.utc), time.perf_counter()
        rows = _request_rows(rows)
        _check_return_features(return_features)
        route, groups = self._groups(model, rows)
        details = self._details(return_features)
        scored = []
        for uuid, positions in groups.items():
            served = self.model(uuid)
            scored.append((served, positions, served.predict(
                [rows[i] for i in positions], positions, self.online, details)))
        return self._answer(model, route, rows, scored, return_features, started, t0)

    async def predict_async(
        self, model: str, rows: Sequence[Mapping[str, Any]] | Mapping[str, Any], *,
        return_features: bool = False,
    ) -> PredictionResult:
        """:meth:`predict` for an event loop (the HTTP service): the same answers, with the
        online lookup awaited. Routing a name not seen before and loading a model run in a
        thread, so they never hold up the loop. In the service, each phase's time is added to
        the request's :mod:`fresco.serving.phases`."""
        phases = current_phases()
        started, t0 = datetime.now(timezone.utc), time.perf_counter()
        rows = _request_rows(rows)
        _check_return_features(return_features)
        t = _lap(phases, "checks", t0)
        if self.router.knows(model):
            route, groups = self._groups(model, rows)
        else:
            route, groups = await asyncio.to_thread(self._groups, model, rows)
        details = self._details(return_features)
        scored = []
        for uuid, positions in groups.items():
            served = self._models.get(uuid) or await asyncio.to_thread(self.model, uuid)
            _lap(phases, "routing", t)
            scored.append((served, positions, await served.predict_async(
                [rows[i] for i in positions], positions, self.online, details, phases)))
            t = time.perf_counter()
        return self._answer(model, route, rows, scored, return_features, started, t0, phases)

    def _details(self, return_features: bool) -> bool:
        """Whether answers keep their features and inputs: asked for, or for the log."""
        return return_features or self.prediction_log is not None

    def _answer(
        self, model: str, route: Route, rows: Sequence[Mapping[str, Any]],
        scored: Sequence[tuple[ServingModel, Sequence[int], list[RowPrediction]]],
        return_features: bool, started: datetime, t0: float, phases: RequestPhases | None = None,
    ) -> PredictionResult:
        """The request's result in row order; its rows logged (off the request path)."""
        answers: list[RowPrediction | None] = [None] * len(rows)
        for served, positions, group in scored:
            for i, answer in zip(positions, group):
                answers[i] = answer
        if self.prediction_log is not None:
            t = time.perf_counter()
            latency_ms = (t - t0) * 1000
            for served, positions, group in scored:
                self.prediction_log.log(served.log_records(
                    [rows[i] for i in positions], group, route, started, latency_ms))
            _lap(phases, "log", t)
        if not return_features:
            for answer in answers:
                answer.features = answer.inputs = None  # type: ignore[union-attr]
        return _result(model, route, answers)

    def _groups(
        self, model: str, rows: Sequence[Mapping[str, Any]]
    ) -> tuple[Route, dict[str, list[int]]]:
        """The route of ``model`` and, per answering UUID, the positions of its rows."""
        route = self.router.route(model)
        if route.experiment is None:
            return route, {route.uuid: list(range(len(rows)))}  # type: ignore[dict-item]
        groups: dict[str, list[int]] = {}
        key_fields = route.experiment.key or [
            k.name for k in self.model(next(iter(route.arms.values()))).entity_keys]
        for i, row in enumerate(rows):
            missing = [k for k in key_fields if k not in row]
            if missing:
                raise BadRequest(
                    f"row {i} is missing {missing[0]!r}, which experiment "
                    f"{route.experiment.name!r} splits traffic by", field=f"rows[{i}].{missing[0]}")
            for k in key_fields:
                try:
                    canonical_key_value(row[k])
                except TypeError as exc:
                    raise InvalidValue(f"row {i}: {k!r}, which experiment {route.experiment.name!r} splits "
                                       f"traffic by, is not usable: {exc}", field=f"rows[{i}].{k}") from None
            groups.setdefault(route.uuid_for([row[k] for k in key_fields]), []).append(i)
        return route, groups

    def flush(self) -> None:
        """Wait until every logged row is written (or dropped)."""
        if self.prediction_log is not None:
            self.prediction_log.flush()

    def close(self) -> None:
        """Write the logged rows still queued and stop the log's writer (also done at exit)."""
        if self.prediction_log is not None:
            self.prediction_log.close()

    def ping(self) -> None:
        """Raise :class:`~fresco.serving.errors.StoreUnavailable` when the online store is down."""
        self.online.ping()


def _lap(phases: RequestPhases | None, phase: str, since: float) -> float:
    """Now; with ``phases``, the time since ``since`` added to ``phase``."""
    now = time.perf_counter()
    if phases is not None:
        phases.add(phase, now - since)
    return now


def _request_rows(rows: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The request's rows (one object = one row), or :class:`BadRequest` naming what is wrong."""
    if isinstance(rows, Mapping):
        rows = [rows]
    if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)) or not rows:
        raise BadRequest("'rows' must be a non-empty list of objects", field="rows")
    if len(rows) > MAX_ROWS:
        raise BadRequest(f"at most {MAX_ROWS} rows per request, got {len(rows)}", field="rows")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise BadRequest(f"row {i} must be an object of entity keys and request fields",
                             field=f"rows[{i}]")
    return rows


def _check_return_features(value: Any) -> None:
    """:class:`BadRequest` unless ``value`` is a boolean (as the HTTP service requires: no
    ``"yes"`` or ``1`` read as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise BadRequest(f"'return_features' must be true or false, got {quote(value)}",
                         field="return_features")


def _result(model: str, route: Route, answers: list[RowPrediction | None]) -> PredictionResult:
    return PredictionResult(
        model=model, tag=route.tag,
        experiment=route.experiment.name if route.experiment else None,
        rows=answers,  # type: ignore[arg-type]
    )


def default_predictor() -> Predictor:
    """A predictor configured by the environment (what ``bentoml serve`` and the Bento use).

    ``FRESCO_FEATURE_REPO``   the Feast repository (default: the current directory, when it
                              holds a ``feature_store.yaml``)
    ``FEAST_FS_YAML_FILE_PATH`` its ``feature_store.yaml`` (Feast's own variable; default: the
                              repository's)
    ``FRESCO_HOME``           the state dir holding the model repository (and BentoML's store);
                              unused by a Bento built with models (``fresco.serving.bundle``), which
                              routes to the models it holds
    ``FRESCO_SERVING_PRELOAD`` comma-separated model names (tags, UUIDs) to load at start
    ``FRESCO_SERVING_REFRESH_SECONDS`` how often the repository is checked for moved tags and
                              changed experiments (default 0.5)
    ``FRESCO_PREDICTION_LOG``, ``..._DIR``, ``..._SAMPLE``, ``..._TOPIC`` the prediction log
                              (:func:`fresco.serving.prediction_log.prediction_log_from_env`; on by
                              default, Parquet under the state dir, or a Kafka topic)
    """
    import os

    from fresco.platform import open_store
    from fresco.serving.bundle import BundledModels

    store = open_store()
    preload = [p for p in os.environ.get("FRESCO_SERVING_PRELOAD", "").split(",") if p.strip()]
    refresh = float(os.environ.get("FRESCO_SERVING_REFRESH_SECONDS", "0.5"))
    bundled = BundledModels.from_arguments()
    if bundled is not None:
        preload = preload or bundled.names()
    return Predictor(store, bundled, refresh_seconds=refresh, preload=preload)
