"""Bad input never gets a 500: the known cases, then arbitrary JSON in every position of a real
request, against the in-process ``Predictor`` and the real HTTP service (SQLite store)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.serving.bad_input.cases import CASES, BadInput
from tests.serving.bad_input.strategies import bad_outcomes, bad_requests
from tests.serving.sqlite_setup import TAG, VALID_ROW

ERROR_KEYS = {"error", "message", "field"}


@pytest.fixture(scope="module")
def predictor(sqlite_env):
    from fresco.platform import open_store
    from fresco.serving import Predictor
    from fresco.training import ModelRepository
    from tests.serving.conftest import active

    with active(sqlite_env):  # its prediction log (on by default) in the environment's state folder
        return Predictor(open_store(sqlite_env.project),
                         ModelRepository(sqlite_env.root / "home" / "models"))


def _predict(predictor: Any, body: Any) -> int:
    """The status the in-process predictor gives ``body`` (200, or its error's), as the service
    would: ``predict_async`` with the body's members."""
    from fresco.serving import ServingError

    if not isinstance(body, dict) or "model" not in body or "rows" not in body:
        return 400
    try:
        asyncio.run(predictor.predict_async(body["model"], body["rows"],
                                            return_features=body.get("return_features", False)))
    except ServingError as exc:
        return exc.status
    return 200


def _check_error_shape(response: Any) -> dict[str, Any]:
    payload = response.json()
    assert isinstance(payload, dict) and set(payload) <= ERROR_KEYS, payload
    assert isinstance(payload.get("error"), str) and isinstance(payload.get("message"), str), payload
    assert "Traceback" not in response.text
    return payload


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_known_bad_input_gets_its_status_and_field(sqlite_server, predictor, case: BadInput) -> None:
    response = sqlite_server.post(case.path, case.body(), content_type=case.content_type)
    assert response.status_code == case.status, response.text[:500]
    payload = _check_error_shape(response)
    if case.kind is not None:
        assert payload["error"] == case.kind, payload
    if case.field is not None:
        assert payload.get("field") == case.field, payload
    if case.path == "/predict" and case.predictor_call:
        assert _predict(predictor, case.body()) == case.status
    # the service stays up
    assert sqlite_server.post("/predict", {"model": TAG, "rows": [VALID_ROW]}).status_code == 200


@given(body=bad_requests())
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_predictor_never_fails_on_any_json(predictor, body: Any) -> None:
    assert _predict(predictor, body) < 500, body


@given(body=bad_requests())
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_http_service_never_answers_500_to_any_json(sqlite_server, body: Any) -> None:
    response = sqlite_server.post("/predict", body)
    assert response.status_code < 500, (body, response.text[:500])


@given(body=bad_outcomes())
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_outcome_endpoint_never_answers_500_to_any_json(sqlite_server, body: Any) -> None:
    response = sqlite_server.post("/outcome", body)
    assert response.status_code < 500, (body, response.text[:500])
    if response.status_code != 200:
        _check_error_shape(response)
