"""What the running service says about a client's mistake: a short message that gives away
nothing of the server (no paths, no echo of a huge value)."""

from __future__ import annotations

from tests.serving.sqlite_setup import VALID_ROW


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
