"""Known bad requests to ``POST /predict`` of the SQLite environment's model, with the answer
each must get. A case's body is a JSON value (sent as JSON) or bytes (sent as they are)."""

from __future__ import annotations

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

    @property
    def predictor_call(self) -> bool:
        """Whether the body is a request the in-process ``Predictor`` can be called with."""
        body = self.body()
        return isinstance(body, dict) and {"model", "rows"} <= set(body)


def request(model: str = TAG, **row: Any) -> dict[str, Any]:
    """A request for one row: :data:`VALID_ROW` with ``row``'s changes."""
    return {"model": model, "rows": [{**VALID_ROW, **row}]}


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
]
