"""Serving's errors: each one carries the HTTP status it maps to and a message for the caller.

=========================  ======  ==================================================================
error                      status  when
=========================  ======  ==================================================================
:class:`BadRequest`        400     malformed request, a missing entity key or request field
                                   (``field`` holds its path, e.g. ``rows[2].customer_id``; for
                                   the JSON schema, pydantic's dotted ``rows.2``)
:class:`UnknownModel`      404     no model or tag of that name in the model repository
:class:`NotFound`          404     no endpoint at that path (HTTP only)
:class:`MethodNotAllowed`  405     an endpoint asked with another method than its own (HTTP only)
:class:`PayloadTooLarge`   413     a request body over ``FRESCO_SERVING_MAX_BODY_BYTES``
:class:`UnsupportedMediaType` 415  a body that is not ``application/json``
:class:`InvalidValue`      422     a value of the wrong type for the model's program
:class:`ModelUnavailable`  503     the model exists but its artifact cannot be loaded
:class:`ExtensionUnavailable` 503  the model needs a user DSL function or trainer (an extension
                                   package) that this server lacks, or has in another version;
                                   the message names it and the package to install
:class:`StoreUnavailable`  503     the online feature store does not answer (names the hosts)
:class:`RequestTimeout`    504     no answer had started within ``traffic.timeout`` (HTTP only)
=========================  ======  ==================================================================

The HTTP service turns them into ``{"error": <kind>, "message": ..., "field": ...}`` bodies
(:func:`error_response`, the one place);
library callers catch :class:`ServingError`. A message quotes a client's value with
:func:`quote`: at most :data:`QUOTE_CHARS` characters, whatever was sent.
"""

from __future__ import annotations

from typing import Any

#: The most characters of a client's value a message quotes.
QUOTE_CHARS = 80


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """A client's value for a message: its type and a short repr (a huge integer by its size)."""
    kind = "null" if value is None else type(value).__name__
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"int of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = repr(value)
    except ValueError:  # an integer past Python's digit limit, inside a list or object
        return kind
    return text if value is None else f"{kind} {shorten(text, limit)}"


class ServingError(Exception):
    """Base of serving's errors; ``status`` is the HTTP status the service answers with."""

    status = 500
    kind = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.kind, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


def error_response(error: ServingError, headers: dict[str, str] | None = None) -> Any:
    """The HTTP answer for ``error``: its status and the documented JSON body (a Starlette
    ``JSONResponse``, also an ASGI app). Every answer the service builds from an error is made here."""
    from starlette.responses import JSONResponse

    return JSONResponse(error.to_dict(), status_code=error.status, headers=headers)


class BadRequest(ServingError):
    status = 400
    kind = "bad_request"


class UnknownModel(ServingError):
    status = 404
    kind = "unknown_model"


class NotFound(ServingError):
    status = 404
    kind = "not_found"


class MethodNotAllowed(ServingError):
    status = 405
    kind = "method_not_allowed"


class PayloadTooLarge(ServingError):
    status = 413
    kind = "payload_too_large"


class UnsupportedMediaType(ServingError):
    status = 415
    kind = "unsupported_media_type"


class InvalidValue(ServingError):
    status = 422
    kind = "invalid_value"


class ModelUnavailable(ServingError):
    status = 503
    kind = "model_unavailable"


class ExtensionUnavailable(ModelUnavailable):
    """503, not 4xx: the request is right and the model exists; this server was deployed
    without a package the model needs (a replica that has it answers)."""

    kind = "extension_unavailable"


class StoreUnavailable(ServingError):
    status = 503
    kind = "online_store_unavailable"


class RequestTimeout(ServingError):
    """No answer had started within the service's ``traffic.timeout``; the work was cancelled."""

    status = 504
    kind = "timeout"
