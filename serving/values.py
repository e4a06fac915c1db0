"""What a value in a request must be: one function per rule, each returning what is wrong
with the value (``None``: nothing), so the caller can name the field in a 422.

Entity keys are checked against their Feast type: what Feast can serialise into a key (an
``Int64`` key is an integer in the int64 range; Feast raises ``ValueError: Value out of range``
on anything larger). Request fields are checked against the DSL type the model's program reads
them as (a ``float`` field is a number a float64 can hold; an ``int`` one fits in an int64).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fresco.serving.errors import quote

#: Integer Feast key types and the range of each.
INT_KEY_RANGES: dict[str, tuple[int, int]] = {
    "Int64": (-(2**63), 2**63 - 1),
    "Int32": (-(2**31), 2**31 - 1),
}
INT64_MIN, INT64_MAX = INT_KEY_RANGES["Int64"]


def is_integer(value: Any) -> bool:
    """An int and not a bool (JSON's ``true`` is no number)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_float64(value: Any) -> bool:
    """A number (not a bool) that a float64 can hold: a 400-digit integer cannot."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def is_utf8_text(value: Any) -> bool:
    """A string that can be encoded (JSON can carry a lone surrogate, ``"\\ud800"``; UTF-8 cannot)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def key_problem(feast_type: str, value: Any) -> str | None:
    """What is wrong with ``value`` as an entity key of Feast type ``feast_type``, or None."""
    if value is None:
        return f"must be a value of type {feast_type}, got null"
    if feast_type in INT_KEY_RANGES:
        low, high = INT_KEY_RANGES[feast_type]
        if not is_integer(value):
            return f"must be a value of type {feast_type} (an integer), got {quote(value)}"
        if not low <= value <= high:
            return f"must be a value of type {feast_type} (an integer from {low} to {high}), got {quote(value)}"
        return None
    if feast_type in ("Float64", "Float32"):
        return None if is_float64(value) else f"must be a value of type {feast_type} (a number), got {quote(value)}"
    if feast_type == "String":
        return None if is_utf8_text(value) else f"must be a String value, got {quote(value)}"
    if feast_type == "Bool":
        return None if isinstance(value, bool) else f"must be true or false, got {quote(value)}"
    if feast_type == "Bytes":
        return None if is_utf8_text(value) else f"must be a Bytes value (a string), got {quote(value)}"
    return None


def field_problem(dtype: str, value: Any) -> str | None:
    """What is wrong with ``value`` as a request field of DSL type ``dtype``, or None (null is
    always allowed: the program decides what a missing value means)."""
    if value is None:
        return None
    if dtype == "float" and not is_float64(value):
        return f"must be a number (float), got {quote(value)}"
    if dtype == "int" and not (is_integer(value) and INT64_MIN <= value <= INT64_MAX):
        return f"must be an integer from {INT64_MIN} to {INT64_MAX} (int), got {quote(value)}"
    if dtype == "bool" and not isinstance(value, bool):
        return f"must be true or false (bool), got {quote(value)}"
    if dtype == "string" and not is_utf8_text(value):
        return f"must be a string (string), got {quote(value)}"
    if dtype == "timestamp" and not (is_utf8_text(value) or isinstance(value, datetime)):
        return f"must be an ISO 8601 timestamp with a UTC offset (timestamp), got {quote(value)}"
    return None
