"""The DSL's value types."""

from __future__ import annotations

from enum import Enum


class DType(str, Enum):
    """A DSL value type. Every value may also be null."""

    INT = "int"  # 64-bit signed integer
    FLOAT = "float"  # IEEE double; NaN is never a value (it is null)
    BOOL = "bool"
    STRING = "string"
    TIMESTAMP = "timestamp"  # UTC instant, microsecond precision
    NULL = "null"  # type of the literal `null` only; never an output type

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: "DType | str") -> "DType":
        """Accept a DType or its name (``"float"``); refuse anything else."""
        if isinstance(value, DType):
            return value
        try:
            dtype = cls(str(value).lower())
        except ValueError:
            raise ValueError(
                f"unknown type {value!r}; expected one of int, float, bool, string, timestamp"
            ) from None
        if dtype is DType.NULL:
            raise ValueError("'null' is not a declarable type")
        return dtype

    @property
    def is_numeric(self) -> bool:
        return self in (DType.INT, DType.FLOAT)


NUMERIC = frozenset({DType.INT, DType.FLOAT})
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def common_type(a: DType, b: DType) -> DType | None:
    """The type two values are brought to when combined, or None when incompatible."""
    if a is DType.NULL:
        return b
    if b is DType.NULL or a is b:
        return a
    if a.is_numeric and b.is_numeric:
        return DType.FLOAT
    return None
