"""Signatures of the built-in functions (their implementations live in each back end)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .types import NUMERIC, DType

ANY = frozenset(DType) - {DType.NULL}
NUM = NUMERIC
TS = frozenset({DType.TIMESTAMP})
STR = frozenset({DType.STRING})


@dataclass(frozen=True)
class Signature:
    """How a built-in is typed.

    ``params`` lists the types each positional argument accepts (the last one repeats when
    ``variadic``). ``returns`` is a type, or ``"common"`` for the common type of the arguments
    (which are then all cast to it). ``cast_args`` casts every argument to one type first.
    ``consts`` names trailing literal parameters: ``"edges"`` (a list of increasing numbers),
    ``"int"`` or ``"zone"`` (an IANA time zone name); ``optional_consts`` of them may be left
    out. ``null_safe`` functions see
    nulls; every other function returns null when any argument is null. ``since`` is the
    language version that introduced the function.
    """

    name: str
    params: tuple[frozenset[DType], ...]
    returns: DType | str
    doc: str
    cast_args: DType | None = None
    variadic: bool = False
    min_args: int | None = None
    consts: tuple[str, ...] = ()
    optional_consts: int = 0
    null_safe: bool = False
    fitted: bool = False
    since: int = 1  # the language version that introduced it


def _sig(*args, **kwargs) -> Signature:  # type: ignore[no-untyped-def]
    return Signature(*args, **kwargs)


F = DType.FLOAT
BUILTINS: dict[str, Signature] = {
    s.name: s
    for s in [
        # math
        _sig("abs", (NUM,), "common", "absolute value; abs of the smallest int is null (overflow)"),
        _sig("log", (NUM,), F, "natural logarithm; null for x <= 0", cast_args=F),
        _sig("log1p", (NUM,), F, "log(1 + x); null for x <= -1", cast_args=F),
        _sig("exp", (NUM,), F, "e ** x; +inf on overflow", cast_args=F),
        _sig("sqrt", (NUM,), F, "square root; null for x < 0", cast_args=F),
        _sig("pow", (NUM, NUM), F, "x ** y; null where the result is undefined (NaN)", cast_args=F),
        _sig("clip", (NUM, NUM, NUM), "common", "clip(x, lo, hi): lo if x < lo, hi if x > hi, else x"),
        _sig("round", (NUM,), F, "nearest integer, halves away from zero (as a float)", cast_args=F),
        _sig("floor", (NUM,), DType.INT,
             "largest int <= x; null for infinities and outside the int64 range", since=2),
        _sig("ceil", (NUM,), DType.INT,
             "smallest int >= x; null for infinities and outside the int64 range", since=2),
        _sig("sin", (NUM,), F, "sine of x radians; null for infinities", cast_args=F, since=2),
        _sig("cos", (NUM,), F, "cosine of x radians; null for infinities", cast_args=F, since=2),
        _sig("pi", (), F, "the constant 3.141592653589793 (a double's pi)", since=2),
        _sig("min", (NUM, NUM), "common", "smallest argument (2 or more); null if any is null",
             variadic=True, min_args=2),
        _sig("max", (NUM, NUM), "common", "largest argument (2 or more); null if any is null",
             variadic=True, min_args=2),
        # nulls
        _sig("fill", (ANY, ANY), "common", "fill(x, v): v where x is null", null_safe=True),
        _sig("coalesce", (ANY,), "common", "first non-null argument", variadic=True, min_args=1,
             null_safe=True),
        _sig("is_null", (ANY,), DType.BOOL, "true where x is null (never null itself)",
             null_safe=True),
        # time: UTC, or local time in the IANA zone given as a literal string
        _sig("hour_of_day", (TS,), DType.INT, "0..23", consts=("zone",), optional_consts=1),
        _sig("day_of_week", (TS,), DType.INT, "0 = Monday .. 6 = Sunday", consts=("zone",),
             optional_consts=1),
        _sig("day_of_month", (TS,), DType.INT, "1..31", consts=("zone",), optional_consts=1),
        _sig("month", (TS,), DType.INT, "1..12", consts=("zone",), optional_consts=1),
        _sig("year", (TS,), DType.INT, "the (proleptic Gregorian) year, e.g. 2024",
             consts=("zone",), optional_consts=1, since=2),
        _sig("minutes_between", (TS, TS), F, "minutes_between(start, end) = (end - start) in minutes"),
        # geography
        _sig("haversine", (NUM, NUM, NUM, NUM), F,
             "haversine(lat1, lon1, lat2, lon2): great-circle distance in km (R = 6371.0)",
             cast_args=F),
        # strings
        _sig("lower", (STR,), DType.STRING, "lower case (Unicode)"),
        _sig("length", (STR,), DType.INT, "number of Unicode code points"),
        _sig("contains", (STR, STR), DType.BOOL, "contains(s, part): part occurs in s"),
        _sig("concat", (STR, STR), DType.STRING,
             "concat(a, b, ...): the strings joined (2 or more); null if any is null or the "
             "result would be longer than 1,000,000 code points", variadic=True, min_args=2,
             since=2),
        # bucketing
        _sig("bucketize", (NUM,), DType.INT,
             "bucketize(x, [e1, .., en]): number of edges <= x (0..n); edges strictly increasing",
             cast_args=F, consts=("edges",)),
        # casts
        _sig("int", (frozenset({DType.INT, DType.FLOAT, DType.BOOL}),), DType.INT,
             "to int: floats truncate toward zero, null outside the int64 range; true = 1"),
        _sig("float", (frozenset({DType.INT, DType.FLOAT, DType.BOOL}),), F,
             "to float; true = 1.0"),
        _sig("string", (frozenset({DType.INT, DType.BOOL, DType.STRING}),), DType.STRING,
             "to string: ints in decimal, bools as 'true'/'false'"),
        # fitted transforms
        _sig("standardize", (NUM,), F, "(x - mean) / std, mean and std fitted on training data",
             cast_args=F, fitted=True),
        _sig("minmax_scale", (NUM,), F, "(x - min) / (max - min), fitted on training data",
             cast_args=F, fitted=True),
        _sig("quantile_bucketize", (NUM,), DType.INT,
             "quantile_bucketize(x, n): bucket 0..n-1 by n-quantile edges fitted on training data",
             cast_args=F, consts=("int",), fitted=True),
        _sig("categorical", (frozenset({DType.STRING, DType.INT}),), DType.INT,
             "categorical(x[, top_k]): index in the fitted vocabulary (most frequent first); "
             "values outside it get the out-of-vocabulary index len(vocabulary)",
             consts=("int",), optional_consts=1, fitted=True),
    ]
}

CAST_FUNCTIONS = frozenset({"int", "float", "string"})
CALENDAR = frozenset({"hour_of_day", "day_of_week", "day_of_month", "month", "year"})
ZONE_SINCE = 2  # the language version that introduced time zone arguments
OPERATOR_SINCE = {"%": 2}  # operators newer than version 1
INT_IDENTITY = frozenset({"floor", "ceil"})  # the identity on ints
CONSTANTS = {"pi": math.pi}  # functions without arguments: folded to literals
FITTED = frozenset(name for name, sig in BUILTINS.items() if sig.fitted)

# Constants every back end shares, so they compute the same bits.
EARTH_RADIUS_KM = 6371.0
RADIANS_PER_DEGREE = 0.017453292519943295  # pi / 180
MICROS_PER_SECOND = 1_000_000
MICROS_PER_MINUTE = 60_000_000
MICROS_PER_HOUR = 3_600_000_000
MICROS_PER_DAY = 86_400_000_000
TWO_TO_63 = 9223372036854775808.0  # 2.0 ** 63, first float outside int64
MAX_STRING_CHARS = 1_000_000  # longest concat result (code points); longer is null
