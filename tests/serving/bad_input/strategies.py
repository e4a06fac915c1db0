"""Hypothesis strategies: arbitrary JSON values in every position of a real request."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from tests.serving.sqlite_setup import TAG, VALID_ROW

#: Text that means something somewhere: wildcards, timestamps at the edges, the model's words.
_TEXTS = st.sampled_from([
    "", " ", "%", "%%%%%%", "______", "\\", "app", "web", TAG, TAG.split(":")[0] + ":%",
    "2026-11-20T18:30:00+00:00", "2026-11-20T18:30:00", "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59", "yesterday", "NaN", "1e400", "\x00", "x" * 3000,
])
_INTS = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.integers(min_value=-(2**64), max_value=-(2**63) + 2),
    st.integers(min_value=19, max_value=400).map(lambda digits: int("9" * digits)),
    st.integers(min_value=19, max_value=400).map(lambda digits: -int("9" * digits)),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), _INTS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12), _TEXTS,
)
#: Any JSON value: scalars, and lists and objects of them (nested).
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)

#: Where a value can go: the body itself, its members, a row, each field of a row.
POSITIONS: list[tuple[Any, ...]] = [
    (), ("model",), ("rows",), ("return_features",), ("extra",), ("rows", 0), ("rows", 1),
    *(("rows", 0, name) for name in VALID_ROW), ("rows", 0, "unknown_field"),
]


def valid_request(rows: int = 2) -> dict[str, Any]:
    return {"model": TAG, "rows": [dict(VALID_ROW) for _ in range(rows)], "return_features": False}


def _put(body: Any, position: tuple[Any, ...], value: Any) -> Any:
    """``body`` with ``value`` at ``position`` (as far as the body still has that shape)."""
    if not position:
        return value
    target = body
    for step in position[:-1]:
        if isinstance(target, dict) and step in target:
            target = target[step]
        elif isinstance(target, list) and isinstance(step, int) and step < len(target):
            target = target[step]
        else:
            return body
    last = position[-1]
    if isinstance(target, dict) and isinstance(last, str):
        target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        target[last] = value
    return body


def _drop(body: Any, position: tuple[Any, ...]) -> Any:
    """``body`` without the member at ``position`` (a key deleted), when it has it."""
    target = body
    for step in position[:-1]:
        try:
            target = target[step]
        except (KeyError, IndexError, TypeError):
            return body
    if position and isinstance(target, dict):
        target.pop(position[-1], None)
    return body


def _mutated(draw: st.DrawFn, body: Any, positions: list[tuple[Any, ...]]) -> Any:
    """``body`` with one to three of ``positions`` replaced by arbitrary JSON, or dropped."""
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        position = draw(st.sampled_from(positions))
        if position and draw(st.integers(0, 9)) == 0:
            body = _drop(body, position)
        else:
            body = _put(body, position, draw(JSON_VALUES))
    return body


@st.composite
def bad_requests(draw: st.DrawFn) -> Any:
    """A valid ``/predict`` request with one to three positions replaced by arbitrary JSON, or dropped."""
    return _mutated(draw, copy.deepcopy(valid_request(draw(st.integers(min_value=1, max_value=2)))),
                    POSITIONS)


#: Where a value can go in a ``/outcome`` body.
OUTCOME_POSITIONS: list[tuple[Any, ...]] = [
    (), ("outcomes",), ("extra",), ("outcomes", 0), ("outcomes", 1),
    *(("outcomes", 0, name) for name in ("prediction_id", "outcome", "observed_at", "unknown")),
]


def valid_outcomes(n: int = 2) -> dict[str, Any]:
    return {"outcomes": [{"prediction_id": f"{i:032x}", "outcome": 1.0 + i,
                          "observed_at": "2026-12-03T10:00:00+00:00"} for i in range(n)]}


@st.composite
def bad_outcomes(draw: st.DrawFn) -> Any:
    """A valid ``/outcome`` body with one to three positions replaced by arbitrary JSON, or dropped."""
    return _mutated(draw, valid_outcomes(draw(st.integers(min_value=1, max_value=2))), OUTCOME_POSITIONS)
