"""The management API's errors, in the prediction service's JSON shape
``{"error": <kind>, "message": ..., "field": ...}``, each answer made by the same function
(:func:`fresco.serving.errors.error_response`).

FastAPI's own answers are rewritten into that shape: a query or body it refuses is a 400 naming
the field (serving's :func:`~fresco.serving.request_checks.first_problem`), a body that is not
declared as JSON a 415 (:func:`~fresco.serving.request_checks.media_type_problem`), an unknown path or
method a 404 or 405 (serving's :func:`~fresco.serving.json_errors.error_for`), anything
unexpected a 500 whose details stay in the server's log.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from fresco.serving.errors import BadRequest, ServingError, UnknownModel, error_response, shorten
from fresco.serving.json_errors import error_for
from fresco.serving.request_checks import first_problem, media_type_problem

#: Where the API's OpenAPI document is served.
OPENAPI_PATH = "/api/openapi.json"

__all__ = ["BadRequest", "OPENAPI_PATH", "ServingError", "Unauthorized", "UnknownFeature", "UnknownModel",
           "UnknownName",
           "install_error_handlers", "shorten"]


class Unauthorized(ServingError):
    """A mutation without the server's bearer token (or on a server that has none)."""

    status = 401
    kind = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class UnknownFeature(ServingError):
    """No feature view or feature of that name in the catalog."""

    status = 404
    kind = "unknown_feature"


def _located(errors: list[Any]) -> list[dict[str, Any]]:
    """FastAPI's errors with their location's first part (``query``, ``body``, ``path``) dropped,
    unless it is all there is (a missing body) or the body is no JSON (its location is then a
    character's position)."""
    return [{**e, "loc": ("body",) if e["type"] == "json_invalid" else tuple(e["loc"][1:]) or tuple(e["loc"])}
            for e in errors]


def install_error_handlers(app: FastAPI) -> None:
    """Every error answer of ``app`` in the documented shape."""

    @app.exception_handler(ServingError)
    async def served(_: Request, error: ServingError) -> Any:
        return error_response(error, getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Any:
        about_body = any(e["loc"][:1] == ("body",) for e in error.errors())
        return error_response((about_body and media_type_problem(request.scope))
                              or first_problem(_located(list(error.errors()))))

    @app.exception_handler(HTTPException)
    async def starlette(request: Request, error: HTTPException) -> Any:
        headers = dict(error.headers or {})
        if error.status_code in (404, 405):
            return error_response(error_for(error.status_code, request.scope, headers.get("Allow", ""),
                                            OPENAPI_PATH), headers)
        other = ServingError(str(error.detail))
        other.status = error.status_code
        return error_response(other, headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> Any:
        return error_response(ServingError(f"internal error ({type(error).__name__}); the server's log has "
                                           "the details"))


def without_validation_answers(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's OpenAPI ``document`` without the 422 answers it lists for every endpoint with
    parameters: a refused query or body is a 400 here (documented with each endpoint)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


class UnknownName(ServingError):
    """No model config, training job or experiment of that name."""

    status = 404
    kind = "not_found"
