"""What the running service says about a client's mistake: the documented shape, a short
message that gives away nothing of the server (no paths, no echo of a huge value), and no
traceback in the server's log."""

from __future__ import annotations

import time

from tests.serving.bad_input.cases import CASES
from tests.serving.sqlite_setup import TAG, VALID_ROW

ERROR_KEYS = {"error", "message", "field"}


def test_a_404_names_no_path_and_shortens_the_name(sqlite_server, sqlite_env) -> None:
    for name in ("m" * 10_000, "shop:nowhere", "0123456789abcdef"):
        response = sqlite_server.post("/predict", {"model": name, "rows": [VALID_ROW]})
        assert response.status_code == 404, response.text[:300]
        body = response.json()
        assert body["error"] == "unknown_model" and body["field"] == "model", str(body)[:300]
        message = body["message"]
        assert str(sqlite_env.root) not in message and "/" not in message, message[-300:]
        assert len(message) < 200, message[-300:]
        assert name[:79] in message  # the start of the name, to recognise it
    long_message = sqlite_server.post("/predict", {"model": "m" * 10_000,
                                                   "rows": [VALID_ROW]}).json()["message"]
    assert "m" * 81 not in long_message and "…" in long_message, long_message[-300:]


def test_client_mistakes_get_the_shape_and_log_no_traceback(sqlite_server) -> None:
    start = sqlite_server.log_size()
    for case in CASES:
        response = sqlite_server.post(case.path, case.body(), content_type=case.content_type)
        assert 400 <= response.status_code < 500, (case.name, response.text[:300])
        body = response.json()
        assert set(body) <= ERROR_KEYS and {"error", "message"} <= set(body), (case.name, str(body)[:300])
        assert all(isinstance(body[k], str) for k in body), (case.name, str(body)[:300])
    assert sqlite_server.post("/predict", {"model": TAG, "rows": [VALID_ROW]}).status_code == 200
    time.sleep(0.5)  # the worker's log lines reach the file
    logged = sqlite_server.log_since(start)
    assert "Traceback" not in logged, logged[-4000:]
    assert "ValidationError" not in logged, logged[-4000:]


def test_a_wrong_method_is_a_405_in_the_shape(sqlite_server) -> None:
    import httpx

    for method in ("GET", "PUT", "DELETE"):
        response = httpx.request(method, sqlite_server.url + "/predict", timeout=30)
        assert response.status_code == 405, response.text[:300]
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) <= ERROR_KEYS and body["error"] == "method_not_allowed", body
        assert "POST" in body["message"] and method in body["message"], body
        assert "POST" in response.headers["allow"]
