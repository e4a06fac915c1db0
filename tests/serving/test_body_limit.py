"""The request body limit (``FRESCO_SERVING_MAX_BODY_BYTES``) of the running service: a body
over it is a 413 in the documented shape before anything parses it, whether it announces its
length (``Content-Length``) or comes in chunks without one; a body under it is answered.

The default limit (4 MiB) against a 50 MB body is a case of ``tests/serving/bad_input``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.serving.conftest import Server, serve
from tests.serving.sqlite_setup import TAG, VALID_ROW

LIMIT = 20_000


@pytest.fixture(scope="module")
def server(sqlite_env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(sqlite_env.env(), TAG, tmp_path_factory.mktemp("body-limit-server"),
               FRESCO_SERVING_MAX_BODY_BYTES=str(LIMIT)) as running:
        yield running


def body_of(size: int) -> bytes:
    """A valid request of exactly ``size`` bytes (a padding field in its row)."""
    empty = json.dumps({"model": TAG, "rows": [{**VALID_ROW, "padding": ""}]}).encode()
    body = json.dumps({"model": TAG, "rows": [{**VALID_ROW,
                                               "padding": "x" * (size - len(empty))}]}).encode()
    assert len(body) == size
    return body


def in_chunks(body: bytes, size: int = 4096) -> Iterator[bytes]:
    """``body`` as a generator: httpx sends it chunked, without a Content-Length."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def post(server: Server, content, **headers: str) -> httpx.Response:
    return httpx.post(server.url + "/predict", content=content, timeout=30,
                      headers={"content-type": "application/json", **headers})


def check_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    body = response.json()
    assert set(body) <= {"error", "message", "field"} and body["error"] == "payload_too_large", body
    assert str(LIMIT) in body["message"] and "FRESCO_SERVING_MAX_BODY_BYTES" in body["message"], body


def test_a_body_up_to_the_limit_is_answered(server) -> None:
    assert post(server, body_of(LIMIT)).status_code == 200
    response = post(server, in_chunks(body_of(LIMIT)))
    assert response.status_code == 200, response.text[:300]
    assert response.request.headers.get("transfer-encoding") == "chunked"


def test_a_body_over_the_limit_with_its_length_is_a_413(server) -> None:
    check_413(post(server, body_of(LIMIT + 1)))


def test_a_chunked_body_over_the_limit_is_a_413(server) -> None:
    response = post(server, in_chunks(body_of(LIMIT + 1)))
    assert response.request.headers.get("transfer-encoding") == "chunked"
    check_413(response)


def test_a_huge_chunked_body_is_refused_without_reading_it_all(server) -> None:
    sent = 0

    def endless() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"model": "' + TAG.encode() + b'", "rows": [{"padding": "'
        while sent < 200 * 2**20:  # 200 MB, unless the server stops the upload first
            sent += 65536
            yield b"x" * 65536

    started = time.monotonic()
    try:
        response = post(server, endless())
    except httpx.HTTPError:  # the server closed the connection under the upload
        response = None
    assert time.monotonic() - started < 20
    if response is not None:
        check_413(response)
    assert sent < 200 * 2**20
    assert post(server, body_of(1000)).status_code == 200  # the service stays up


def test_the_limit_is_a_positive_number_of_bytes() -> None:
    from fresco.serving.body_limit import DEFAULT_MAX_BODY_BYTES, ENV, max_body_bytes

    assert max_body_bytes({}) == DEFAULT_MAX_BODY_BYTES == 4 * 2**20
    assert max_body_bytes({ENV: " 1000 "}) == 1000
    for wrong in ("4MB", "0", "-1", "1.5"):
        with pytest.raises(ValueError, match=ENV):
            max_body_bytes({ENV: wrong})
