"""The request checks of the HTTP endpoints, before BentoML reads a body: a client's mistake
gets the documented ``{"error", "message", "field"}`` answer and leaves no traceback in the
server's log.

BentoML's own answer to a body its pydantic model refuses is ``{"error": "1 validation error
for Input", "detail": [...]}``, logged with a traceback, and it reads any media type as JSON.
So for each endpoint with an input, this middleware checks, in order:

1. the media type: ``application/json`` (parameters such as ``charset`` allowed) or none
   (BentoML's default); anything else is a 415 asking for JSON;
2. JSON as the standard has it: Python's ``NaN``, ``Infinity`` and ``-Infinity``, which
   pydantic's parser accepts, are a 400 naming the constant;
3. the endpoint's own input model (the one BentoML validates with): the first problem is a
   400 whose ``field`` is pydantic's location as a dotted path (``rows.0``,
   ``return_features``), with how many more there are.

A body that passes is handed on unchanged and BentoML parses it again (its validation now
always succeeds): a few µs more for a one-row request, under 1 ms for 1000 rows. The body's
size is checked before (:mod:`fresco.serving.body_limit`, the middleware outside this one). It is an
ASGI middleware added through BentoML's public ``add_asgi_middleware``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from fresco.serving.body_limit import replay
from fresco.serving.errors import BadRequest, ServingError, UnsupportedMediaType, error_response, quote, shorten

JSON_MEDIA_TYPE = "application/json"
#: The non-standard constants Python's and pydantic's JSON parsers accept.
NON_STANDARD_CONSTANTS = ("NaN", "Infinity", "-Infinity")


def media_type(scope: Mapping[str, Any]) -> str | None:
    """The request's media type, lower case, without parameters (None without a header)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return None


def media_type_problem(scope: Mapping[str, Any]) -> UnsupportedMediaType | None:
    """The 415 for a request whose body is declared as anything but JSON (None: JSON or undeclared)."""
    kind = media_type(scope)
    if kind is None or kind == JSON_MEDIA_TYPE:
        return None
    return UnsupportedMediaType(f"the body must be JSON: send it with content-type {JSON_MEDIA_TYPE}, not "
                                f"{shorten(kind)!r}")


def _number(text: str) -> int:
    """A JSON number not converted (only the constants matter to the search)."""
    return 0


def non_standard_constant(body: bytes) -> str | None:
    """The first of :data:`NON_STANDARD_CONSTANTS` that ``body`` uses as a value, or None.

    A cheap search first (no ``NaN``/``Infinity`` bytes at all: None); only a body holding
    them (perhaps inside a string) is parsed to tell."""
    if b"NaN" not in body and b"Infinity" not in body:
        return None
    found: list[str] = []

    def refuse(constant: str) -> None:
        found.append(constant)
        raise ValueError(constant)

    try:  # numbers are not converted: a 5000-digit integer must not stop the search
        json.loads(body, parse_constant=refuse, parse_int=_number, parse_float=_number)
    except (ValueError, RecursionError):  # bad JSON (or nested too deep): the model says what
        pass
    return found[0] if found else None


def validation_problem(exc: ValidationError) -> BadRequest:
    """pydantic's first error as a 400: its location, dotted, as ``field``."""
    return first_problem(exc.errors(include_url=False, include_context=False))


def first_problem(errors: Sequence[Mapping[str, Any]]) -> BadRequest:
    """The first of pydantic's ``errors`` (each with ``loc``, ``msg``, ``type``, ``input``) as a
    400 naming its location, dotted, as ``field``, and how many more there are."""
    first = errors[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    message = first["msg"]
    value = first.get("input")
    if first["type"] != "missing" and first["loc"] and (
            value is None or isinstance(value, (str, int, float, bool))):
        message += f", got {quote(value)}"
    if field is not None:
        message = f"{field}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return BadRequest(message, field=field)


def check_body(body: bytes, model: type[BaseModel]) -> ServingError | None:
    """What is wrong with ``body`` as a JSON request for ``model`` (None: nothing)."""
    constant = non_standard_constant(body)
    if constant is not None:
        return BadRequest(f"the body is not standard JSON: {constant} is no JSON value "
                          "(send a finite number, or null)")
    try:
        model.model_validate_json(body or b"{}")  # what BentoML does with it
    except ValidationError as exc:
        return validation_problem(exc)
    return None


class RequestChecksMiddleware:
    """Checks the requests to ``inputs`` (path -> the endpoint's input model) before BentoML."""

    def __init__(self, app: Any, inputs: Mapping[str, type[BaseModel]]) -> None:
        self.app = app
        self.inputs = dict(inputs)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        model = self.inputs.get(scope.get("path", "")) if scope.get("type") == "http" else None
        if model is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        problem = media_type_problem(scope)
        if problem is not None:
            await _answer(problem, scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = check_body(body, model)
        if problem is not None:
            await _answer(problem, scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)


async def _answer(error: ServingError, scope: Any, receive: Any, send: Any) -> None:
    await error_response(error)(scope, receive, send)

