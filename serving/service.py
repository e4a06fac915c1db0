"""The BentoML service: ``POST /predict`` over :class:`serving.Predictor`.

Run it with ``bentoml serve fresco.serving.service:FrescoService`` (or ``fresco serve``); it is
configured by the environment (see :func:`fresco.serving.predictor.default_predictor`). The HTTP
surface is declared once, here, with pydantic types, so ``/docs.json`` (OpenAPI) and the UI at ``/``
describe it.

Errors are JSON ``{"error": kind, "message": ..., "field": path}`` with the status of
:mod:`fresco.serving.errors`: 400 malformed request (JSON, schema: checked before BentoML parses the
body, :mod:`fresco.serving.request_checks`, ``field`` the dotted pydantic location) or missing
key/field, 404 unknown model or tag (or path), 405 wrong method, 413 body too large, 415 not JSON, 422 a value of the wrong
type, 503 online store or model artifact unavailable. Bad input never gets a 500.
A body over ``FRESCO_SERVING_MAX_BODY_BYTES`` (4 MiB) gets a 413 before it is parsed
(:mod:`fresco.serving.body_limit`). A request whose answer has not started within ``traffic.timeout``
(30 s) gets a 504.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from datetime import datetime, timezone
from typing import Annotated, Any

from fresco.platform.feast_startup import skip_feast_type_checks

skip_feast_type_checks()  # a worker process imports Feast below: see fresco.platform.feast_startup

import bentoml  # noqa: E402
from pydantic import AwareDatetime, BaseModel, Field  # noqa: E402
from starlette.responses import Response  # noqa: E402

from fresco.serving.body_limit import BodyLimitMiddleware
from fresco.serving.errors import ServingError, error_response
from fresco.platform.logs import OutcomeRecord
from fresco.serving.outcomes import outcome_log_from_env
from fresco.serving.json_errors import JSONErrorsMiddleware
from fresco.serving.monitor_gauges import gauges_from_env
from fresco.serving.openapi_example import OpenAPIExampleMiddleware
from fresco.serving.phases import PhaseTimingMiddleware, phase_histogram
from fresco.serving.phases import current as current_phases
from fresco.serving.predictor import MAX_ROWS, default_predictor
from fresco.serving.request_checks import RequestChecksMiddleware
from fresco.serving.request_timeout import install as install_request_timeout

# BentoML's request timeout keeps each request alive for `traffic.timeout` after its answer:
# use the one that cancels its timer (fresco.serving.request_timeout), before BentoML builds the app.
install_request_timeout()

log = logging.getLogger("fresco.serving")


class RowAnswer(BaseModel):
    prediction: float = Field(description="The model's prediction (regression value or P(class 1)).")
    model_uuid: str = Field(description="UUID of the model that answered this row.")
    features: dict[str, Any] | None = Field(
        None, description="Online features used, by 'view:feature' (null = no value online).")
    inputs: dict[str, Any] | None = Field(
        None, description="Model inputs: the DSL program's outputs for this row.")
    prediction_id: str = Field(description="This prediction's id, to report its outcome with.")
    partition: str | None = Field(None, description=(
        "A partitioned model's partition that answered this row (e.g. 'region=west/city=sf', or "
        "'root'); absent for other models."))


class PredictResponse(BaseModel):
    model: str = Field(description="The model name as requested (UUID or tag).")
    tag: str | None = Field(None, description="The tag the request went through, if any.")
    experiment: str | None = Field(None, description="The experiment that split this tag, if any.")
    predictions: list[RowAnswer]


class OutcomeIn(BaseModel):
    prediction_id: str = Field(pattern=r"^[0-9a-f]{32}$",
                               description="The prediction_id its answer carried.")
    outcome: float = Field(allow_inf_nan=False,
                           description="The observed label (a value; 0 or 1 for a binary model).")
    observed_at: AwareDatetime | None = Field(
        None, description="When it was observed (ISO time with a zone; default: when received).")


class OutcomeResponse(BaseModel):
    accepted: int = Field(description="Outcomes queued for the outcome log.")


def json_answer(answer: BaseModel) -> Response:
    """``answer`` as the HTTP response BentoML would make of it (the same bytes: pydantic's JSON
    of the model and its ``Content-Length``), sent as one body. BentoML's own response is an
    iterable one (the body, then an empty last chunk): three ASGI messages through every
    middleware's ``send`` instead of two; returning this instead took 0.3-0.45 ms off a one-row
    request's p50 (benchmarks/README.md, serving)."""
    return Response(answer.model_dump_json().encode(), media_type="application/json")


def _log_counter(name: str, what: str) -> Any:
    """``observe`` for a log: BentoML's ``/metrics`` (Prometheus) counts its records as
    ``<name>_total{outcome=...}`` (written, dropped_queue_full, ...). Made in the worker,
    after BentoML set up Prometheus' multiprocess folder."""
    import prometheus_client

    counter = prometheus_client.Counter(name, f"{what} records by outcome.", ["outcome"])
    return lambda outcome, n: counter.labels(outcome).inc(n)


@bentoml.service(
    name="fresco_predictions",
    workers=int(os.environ.get("FRESCO_SERVING_WORKERS", "1")),
    threads=int(os.environ.get("FRESCO_SERVING_THREADS", "8")),
    traffic={"timeout": 30},
    logging={"access": {"enabled": os.environ.get("FRESCO_SERVING_ACCESS_LOG", "0") == "1"}},
)
class FrescoService:
    """Predictions from Fresco's model repository with online features from Feast."""

    def __init__(self) -> None:
        self.predictor = default_predictor()
        if self.predictor.prediction_log is not None:
            self.predictor.prediction_log.observe = _log_counter(
                "fresco_prediction_log_records", "Prediction log")
        self.outcome_log = outcome_log_from_env()
        self.outcome_log.observe = _log_counter("fresco_outcome_log_records", "Outcome log")
        self.monitor = gauges_from_env(self.predictor)  # accuracy and drift on /metrics, off the request path
        OpenAPIExampleMiddleware.predictor = self.predictor  # the "try it" example: a loaded model
        PhaseTimingMiddleware.observe = phase_histogram()  # where /predict's time goes, on /metrics
        # Everything loaded so far (libraries, registry, models) lives as long as the process:
        # keep it out of the collector's full passes, which otherwise pause a request for
        # ~200 ms now and then (benchmarks/README.md, serving).
        gc.collect()
        gc.freeze()

    @bentoml.on_shutdown
    def _close_logs(self) -> None:
        """Write what the prediction and outcome logs still hold before the worker exits."""
        if self.monitor is not None:
            self.monitor.stop()
        for found in (self.predictor.prediction_log, self.outcome_log):
            if found is not None:
                found.close()

    @bentoml.api
    async def predict(
        self,
        model: Annotated[str, Field(description="Model UUID (or unique prefix) or tag, e.g. "
                                                "churn:production.")],
        rows: Annotated[list[dict[str, Any]], Field(
            min_length=1, max_length=MAX_ROWS,
            description="One object per prediction: the entity keys and the request fields "
                        "the model's program reads.")],
        return_features: Annotated[bool, Field(
            strict=True,  # JSON true or false: "yes", 1 or "false" are refused, not read as bools
            description="Also return the online features and model inputs used.")] = False,
    ) -> PredictResponse:
        """Predict with a model named by UUID or tag; features are looked up online."""
        phases = current_phases()
        if phases is not None:
            phases.api_started = time.perf_counter()
        try:
            result = await self.predictor.predict_async(model, rows,
                                                        return_features=return_features)
        except ServingError as exc:
            return error_response(exc)  # type: ignore[return-value]
        if phases is not None:
            phases.api_ended = time.perf_counter()
        return json_answer(PredictResponse.model_validate(result.to_dict()))  # type: ignore[return-value]

    @bentoml.api
    def outcome(
        self,
        outcomes: Annotated[list[OutcomeIn], Field(
            min_length=1, max_length=MAX_ROWS,
            description="Observed labels of earlier predictions, by their prediction_id.")],
    ) -> OutcomeResponse:
        """Report what happened after predictions (their labels), for monitoring."""
        received = datetime.now(timezone.utc)
        self.outcome_log.log([OutcomeRecord(
            o.prediction_id, o.outcome,
            received if o.observed_at is None else o.observed_at.astimezone(timezone.utc), received) for o in outcomes])
        return OutcomeResponse(accepted=len(outcomes))

    @bentoml.api
    def models(self) -> dict[str, Any]:
        """Models loaded in this service (by UUID) and the tags it currently routes."""
        loaded = self.predictor.loaded()
        return {
            "loaded": {u: {"name": m.name, "inputs": m.inputs, "features": m.feature_refs,
                           "request_fields": m.request_fields,
                           "entity_keys": [k.name for k in m.entity_keys]}
                       for u, m in loaded.items()},
            "tags": self.predictor.router.tags(),
            "experiments": {e.name: e.model_dump() for e in self.predictor.router.experiments.values()},
        }


# Added in this order, outermost first: /predict's phases are timed from its arrival; the size of
# a body is checked before anything reads it, then its media type, JSON and schema, so that
# BentoML only ever parses a valid request; Starlette's plain-text 404 and 405 (unknown path,
# wrong method) are turned into JSON.
FrescoService.add_asgi_middleware(PhaseTimingMiddleware)
FrescoService.add_asgi_middleware(BodyLimitMiddleware)
FrescoService.add_asgi_middleware(JSONErrorsMiddleware)
FrescoService.add_asgi_middleware(RequestChecksMiddleware, inputs={
    api.route: api.input_spec for api in FrescoService.apis.values()})
FrescoService.add_asgi_middleware(OpenAPIExampleMiddleware)
