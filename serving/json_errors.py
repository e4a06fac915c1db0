"""Starlette's own 4xx answers in the documented shape: an unknown path (404) and a method an
endpoint does not take (405, ``GET /predict``) come back as plain text from Starlette's router;
here they become ``{"error": "not_found" | "method_not_allowed", "message", ...}`` with the
same status and headers (``Allow`` kept).

Only a plain-text 404 or 405 is rewritten: the service's own JSON answers (an unknown model's
404) pass untouched. It is an ASGI middleware added through BentoML's public
``add_asgi_middleware``.
"""

from __future__ import annotations

from typing import Any

from fresco.serving.errors import MethodNotAllowed, NotFound, ServingError, error_response, shorten

REWRITTEN = (404, 405)


def _header(message: dict[str, Any], name: bytes) -> str:
    for key, value in message.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def error_for(status: int, scope: dict[str, Any], allow: str, docs: str = "/docs.json") -> ServingError:
    """The documented error for Starlette's ``status`` on this request (``docs``: where the
    service's OpenAPI document lists its endpoints)."""
    path = repr(shorten(scope.get("path", "")))
    if status == 404:
        return NotFound(f"no endpoint at {path}; the endpoints are listed at {docs}")
    return MethodNotAllowed(f"{shorten(scope.get('method', ''), 20)} is not allowed on {path}"
                            + (f"; use {allow}" if allow else ""))


class JSONErrorsMiddleware:
    """Turns Starlette's plain-text 404 and 405 answers into the documented JSON shape."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] | None = None  # the start of a response being rewritten

        async def send_json(message: dict[str, Any]) -> None:
            nonlocal held
            if (message["type"] == "http.response.start" and message["status"] in REWRITTEN
                    and _header(message, b"content-type").startswith("text/plain")):
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            if message.get("more_body", False):
                return  # the plain text is dropped
            error = error_for(held["status"], scope, _header(held, b"allow"))
            body = error_response(error).body  # the one rendering of an error (serving.errors)
            headers = [(k, v) for k, v in held.get("headers", ())
                       if k.lower() not in (b"content-type", b"content-length")]
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]
            await send({**held, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_json)
