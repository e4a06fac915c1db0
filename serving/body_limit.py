"""The request body limit: a body over ``FRESCO_SERVING_MAX_BODY_BYTES`` (default 4 MiB) is a
413 before anything reads it as JSON.

A body that announces its size (``Content-Length``) is refused from its headers alone. One that
does not (``Transfer-Encoding: chunked``) is read here, counted as it comes, and refused the
moment it passes the limit; under the limit, it is handed on to the service as read (BentoML
reads a whole body before parsing it anyway, so this buffers nothing more). The 413 closes the
connection (``Connection: close``), so a client still sending learns at once instead of
uploading the rest to be thrown away.

It is an ASGI middleware added through BentoML's public ``add_asgi_middleware``; the limit is
read when the worker builds its app, from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any


from fresco.serving.errors import PayloadTooLarge, error_response

ENV = "FRESCO_SERVING_MAX_BODY_BYTES"
#: A request of 1000 rows (the most per request) is some 200 kB of JSON: 4 MiB leaves room.
DEFAULT_MAX_BODY_BYTES = 4 * 2**20


def max_body_bytes(environ: Mapping[str, str] = os.environ) -> int:
    """The limit from ``environ`` (:data:`ENV`, a positive integer of bytes) or the default."""
    text = environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BODY_BYTES
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise ValueError(f"{ENV} must be a positive number of bytes, got {text!r}")
    return limit


def _content_length(scope: Mapping[str, Any]) -> int | None:
    """The request's ``Content-Length``, or None without one (the server has checked its form)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Answers 413 to a request whose body is over ``limit`` bytes (default: :func:`max_body_bytes`)."""

    def __init__(self, app: Any, limit: int | None = None) -> None:
        self.app = app
        self.limit = max_body_bytes() if limit is None else limit
        self.setting = f" ({ENV})" if limit is None else ""  #: where the limit comes from, for the message

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None:
            if length > self.limit:
                await self._refuse(scope, receive, send, f"{length} bytes")
                return
            await self.app(scope, receive, send)  # the server holds the body to its length
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._refuse(scope, receive, send, f"more than {self.limit} bytes")
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, replay(bytes(body), receive), send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any, size: str) -> None:
        error = PayloadTooLarge(f"the request body ({size}) is over the limit of {self.limit} "
                                f"bytes{self.setting}")
        await error_response(error, headers={"connection": "close"})(scope, receive, send)


def replay(body: bytes, receive: Any) -> Any:
    """An ASGI ``receive`` that gives ``body`` (already read) as the whole request, then defers
    to ``receive`` (for the client's disconnect)."""
    sent = False

    async def receive_body() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_body
