"""Event schemas: a ``KafkaSource``'s JSON format, written as Spark DDL, read without Spark.

``"order_id BIGINT, restaurant_id BIGINT, ready_at TIMESTAMP, prep_time_min DOUBLE"`` is both
the schema Spark's ``from_json`` decodes with and the one the producer checks an event against
before it publishes it, so the two cannot disagree. Events travel as JSON objects; timestamps
as ISO-8601 strings in UTC (``2026-11-01T12:00:00.000000Z``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fresco.platform.times import utc

#: Spark DDL type name -> its canonical name
_TYPES: dict[str, str] = {
    "BIGINT": "BIGINT", "LONG": "BIGINT", "INT": "INT", "INTEGER": "INT", "DOUBLE": "DOUBLE",
    "FLOAT": "FLOAT", "STRING": "STRING", "BOOLEAN": "BOOLEAN", "TIMESTAMP": "TIMESTAMP",
}
_FIELD = re.compile(r"^\s*`?([A-Za-z_][A-Za-z0-9_]*)`?\s+([A-Za-z]+)\s*$")


class EventSchemaError(ValueError):
    """A schema that is not the flat Spark DDL Fresco reads; the message names the part."""


class InvalidEvent(ValueError):
    """An event that does not match its schema; ``problems`` lists every mismatch."""

    def __init__(self, topic: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"event for topic {topic!r} is invalid: {'; '.join(problems)}")


@dataclasses.dataclass(frozen=True)
class EventSchema:
    """The fields of an event in order, each with its canonical Spark type."""

    fields: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, ddl: str, where: str = "schema") -> EventSchema:
        """Parse flat DDL (``name TYPE, ...``); nested types are refused, naming the field."""
        fields: list[tuple[str, str]] = []
        for i, part in enumerate(ddl.split(",")):
            m = _FIELD.match(part)
            if not m:
                raise EventSchemaError(f"{where}: field {i + 1} ({part.strip()!r}) is not 'name TYPE'")
            name, kind = m.group(1), m.group(2).upper()
            if kind not in _TYPES:
                raise EventSchemaError(f"{where}: field {name!r} has type {m.group(2)!r}; Fresco reads "
                                       f"{', '.join(sorted(set(_TYPES.values())))}")
            if any(name == f for f, _ in fields):
                raise EventSchemaError(f"{where}: field {name!r} appears twice")
            fields.append((name, _TYPES[kind]))
        return cls(tuple(fields))

    @property
    def names(self) -> list[str]:
        return [f for f, _ in self.fields]

    def type_of(self, name: str) -> str | None:
        return dict(self.fields).get(name)

    def ddl(self) -> str:
        return ", ".join(f"{n} {t}" for n, t in self.fields)

    def problems(self, event: Mapping[str, Any], required: tuple[str, ...] = ()) -> list[str]:
        """Every way ``event`` differs from the schema (unknown fields, wrong types, missing
        ``required`` fields); empty when it matches."""
        event = normalized(event)
        out = [f"unknown field {k!r}" for k in event if self.type_of(k) is None]
        for name in required:
            if event.get(name) is None:
                out.append(f"required field {name!r} is missing")
        for name, kind in self.fields:
            value = event.get(name)
            if value is not None and not _fits(value, kind):
                out.append(f"field {name!r} is not a {kind}: {value!r}"[:200])
        return out

    def encode(self, event: Mapping[str, Any]) -> bytes:
        """The event as the JSON object the stream job reads (timestamps ISO-8601 UTC)."""
        event = normalized(event)
        return json.dumps({k: _json_value(event.get(k), t) for k, t in self.fields if k in event},
                          separators=(",", ":"), allow_nan=False).encode()


def normalized(event: Mapping[str, Any]) -> dict[str, Any]:
    """``event`` with numpy and pandas scalars as Python values, and NaN / NaT as missing."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        if hasattr(value, "to_pydatetime"):
            value = None if value != value else value.to_pydatetime()  # NaT != NaT
        elif hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[key] = value
    return out


def _fits(value: Any, kind: str) -> bool:
    if kind in ("BIGINT", "INT"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("DOUBLE", "FLOAT"):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "STRING":
        return isinstance(value, str)
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if isinstance(value, datetime):
        return True
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return True
        except ValueError:
            return False
    return False


def timestamp_text(value: datetime) -> str:
    """``value`` as the ISO-8601 UTC text events carry (an API argument: naive means UTC)."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "TIMESTAMP" and isinstance(value, datetime):
        return timestamp_text(value)
    return value
