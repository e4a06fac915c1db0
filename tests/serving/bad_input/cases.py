"""Known bad requests to ``POST /predict`` of the SQLite environment's model, with the answer
each must get. A case's body is a JSON value (sent as JSON) or bytes (sent as they are), with
``content_type`` (``application/json`` unless the case says otherwise)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.serving.sqlite_setup import TAG, VALID_ROW


@dataclass(frozen=True)
class BadInput:
    """One bad request and its answer: ``status``, and ``kind`` / ``field`` when given."""

    name: str
    body: Callable[[], Any]
    status: int
    field: str | None = None
    kind: str | None = None
    path: str = "/predict"
    content_type: str = "application/json"

    @property
    def predictor_call(self) -> bool:
        """Whether the body is a request the in-process ``Predictor`` can be called with (the
        HTTP layer's refusals, such as a body's size or media type, are not the predictor's)."""
        body = self.body()
        return (isinstance(body, dict) and {"model", "rows"} <= set(body)
                and self.content_type == "application/json" and self.status != 413)


def request(model: str = TAG, **row: Any) -> dict[str, Any]:
    """A request for one row: :data:`VALID_ROW` with ``row``'s changes."""
    return {"model": model, "rows": [{**VALID_ROW, **row}]}


def raw(text: str) -> bytes:
    """A body sent as it is: ``text`` with ``ROW`` replaced by :data:`VALID_ROW`'s members."""
    return text.replace("ROW", json.dumps(VALID_ROW)[1:-1]).encode()


CASES: list[BadInput] = [
    BadInput("key-2**63", lambda: request(customer_id=2**63), 422, "rows[0].customer_id",
             "invalid_value"),
    BadInput("key-10**30", lambda: request(customer_id=10**30), 422, "rows[0].customer_id",
             "invalid_value"),
    BadInput("key-below-int64", lambda: request(customer_id=-(2**63) - 1), 422,
             "rows[0].customer_id", "invalid_value"),
    BadInput("float-400-digits", lambda: request(basket_size=10**400), 422, "rows[0].basket_size",
             "invalid_value"),
    BadInput("int-2**63", lambda: request(items=2**63), 422, "rows[0].items", "invalid_value"),
    BadInput("model-percent-wildcards", lambda: request(model="%%%%%%"), 404, "model",
             "unknown_model"),
    BadInput("model-underscore-wildcards", lambda: request(model="______"), 404, "model",
             "unknown_model"),
    BadInput("model-10000-chars", lambda: request(model="m" * 10_000), 404, "model",
             "unknown_model"),
    # the schema (pydantic's field path, dotted)
    BadInput("no-model", lambda: {"rows": [VALID_ROW]}, 400, "model", "bad_request"),
    BadInput("model-a-number", lambda: {"model": 7, "rows": [VALID_ROW]}, 400, "model",
             "bad_request"),
    BadInput("no-rows", lambda: {"model": TAG}, 400, "rows", "bad_request"),
    BadInput("rows-a-string", lambda: {"model": TAG, "rows": "x"}, 400, "rows", "bad_request"),
    BadInput("rows-empty", lambda: {"model": TAG, "rows": []}, 400, "rows", "bad_request"),
    BadInput("row-a-number", lambda: {"model": TAG, "rows": [VALID_ROW, 1]}, 400, "rows.1",
             "bad_request"),
    BadInput("rows-1001", lambda: {"model": TAG, "rows": [VALID_ROW] * 1001}, 400, "rows",
             "bad_request"),
    BadInput("return-features-yes", lambda: {**request(), "return_features": "yes"}, 400,
             "return_features", "bad_request"),
    BadInput("return-features-1", lambda: {**request(), "return_features": 1}, 400,
             "return_features", "bad_request"),
    # the JSON itself
    BadInput("json-cut-short", lambda: b'{"model": "basket', 400, None, "bad_request"),
    BadInput("json-not-utf8", lambda: b'{"model": "\xff"}', 400, None, "bad_request"),
    BadInput("json-nan", lambda: raw('{"model": "%s", "rows": [{ROW, "x": NaN}]}' % TAG), 400,
             None, "bad_request"),
    BadInput("json-infinity", lambda: raw('{"model": "%s", "rows": [{ROW, "basket_size": '
                                          '-Infinity}]}' % TAG), 400, None, "bad_request"),
    # POST /outcome: labels by prediction id
    BadInput("outcome-no-outcomes", lambda: {}, 400, "outcomes", "bad_request", path="/outcome"),
    BadInput("outcome-empty-list", lambda: {"outcomes": []}, 400, "outcomes", "bad_request",
             path="/outcome"),
    BadInput("outcome-id-not-hex", lambda: {"outcomes": [{"prediction_id": "x" * 32, "outcome": 1.0}]},
             400, "outcomes.0.prediction_id", "bad_request", path="/outcome"),
    BadInput("outcome-not-a-number", lambda: {"outcomes": [{"prediction_id": "a" * 32, "outcome": "late"}]},
             400, "outcomes.0.outcome", "bad_request", path="/outcome"),
    BadInput("outcome-overflows", lambda: raw('{"outcomes": [{"prediction_id": "' + "a" * 32 + '", "outcome": 1e400}]}'),
             400, "outcomes.0.outcome", "bad_request", path="/outcome"),
    BadInput("outcome-nan", lambda: raw('{"outcomes": [{"prediction_id": "' + "a" * 32 + '", "outcome": NaN}]}'),
             400, None, "bad_request", path="/outcome"),
    BadInput("outcome-bad-time", lambda: {"outcomes": [{"prediction_id": "a" * 32, "outcome": 1.0,
                                                        "observed_at": "yesterday"}]},
             400, "outcomes.0.observed_at", "bad_request", path="/outcome"),
    # an HTTP request's time carries its zone (README, "Times"): a naive one is refused, not guessed
    BadInput("outcome-time-without-zone", lambda: {"outcomes": [{"prediction_id": "a" * 32, "outcome": 1.0,
                                                                 "observed_at": "2026-12-03T10:00:00"}]},
             400, "outcomes.0.observed_at", "bad_request", path="/outcome"),
    BadInput("outcome-1001", lambda: {"outcomes": [{"prediction_id": "a" * 32, "outcome": 1.0}] * 1001},
             400, "outcomes", "bad_request", path="/outcome"),
    BadInput("outcome-text-plain", lambda: {"outcomes": [{"prediction_id": "a" * 32, "outcome": 1.0}]},
             415, None, path="/outcome", content_type="text/plain"),
    # the other endpoints and paths
    BadInput("models-body-not-json", lambda: b"garbage", 400, None, "bad_request", path="/models"),
    BadInput("unknown-path", request, 404, None, "not_found", path="/predictions"),
    # the transport: media type and size
    BadInput("text-plain", request, 415, None, "unsupported_media_type", content_type="text/plain"),
    BadInput("form-urlencoded", request, 415, None, "unsupported_media_type",
             content_type="application/x-www-form-urlencoded"),
    BadInput("body-50mb", lambda: request(padding="x" * 50 * 2**20), 413, None,
             "payload_too_large"),
]
