"""Per-request evaluator: the IR compiled once into a tree of Python closures.

Values are plain Python: int, float, bool, str, None for null; timestamps are int
microseconds since the epoch (UTC) inside, and aware UTC datetimes at the edges. Functions
whose bits depend on the math library (log, exp, pow, sin, ...) call numpy's ufuncs on scalars,
so they agree bit for bit with the vectorised pandas back end.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from .. import ir
from ..errors import DSLFitError, DSLRuntimeError
from ..library import (
    EARTH_RADIUS_KM,
    MICROS_PER_DAY,
    MICROS_PER_HOUR,
    MAX_STRING_CHARS,
    MICROS_PER_MINUTE,
    RADIANS_PER_DEGREE,
    TWO_TO_63,
)
from ..library import CALENDAR
from ..registry import FunctionRegistry
from ..timezones import local_micros
from ..types import INT64_MAX, INT64_MIN, DType

Fn = Callable[[dict[str, Any]], Any]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_US = timedelta(microseconds=1)
_np_log, _np_log1p, _np_exp, _np_power = np.log, np.log1p, np.exp, np.power
_np_sin, _np_cos, _np_arcsin = np.sin, np.cos, np.arcsin
_np_floor, _np_ceil = np.floor, np.ceil
_sqrt, _isfinite = math.sqrt, math.isfinite


# -- input and output conversion --------------------------------------------------------------
def _to_float(v: Any, col: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, (str, bytes)):
        try:
            f = float(v)
        except OverflowError:  # an int past float64's range (a 400-digit number)
            raise DSLRuntimeError(f"input {col!r} = an integer of {v.bit_length()} bits is too "
                                  "large for a float") from None
        return None if f != f else f
    raise DSLRuntimeError(f"input {col!r} must be a float, found {type(v).__name__} {v!r}")


def _to_int(v: Any, col: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, (int, np.integer)):
        i = int(v)
    elif isinstance(v, (float, np.floating)):
        if v != v:
            return None
        if not float(v).is_integer():
            raise DSLRuntimeError(f"input {col!r} must be an int, found {v!r}")
        i = int(v)
    else:
        raise DSLRuntimeError(f"input {col!r} must be an int, found {type(v).__name__} {v!r}")
    if not INT64_MIN <= i <= INT64_MAX:
        raise DSLRuntimeError(f"input {col!r} = {i} is outside the int64 range")
    return i


def _to_bool(v: Any, col: str) -> bool | None:
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, float) and v != v:
        return None
    raise DSLRuntimeError(f"input {col!r} must be a bool, found {type(v).__name__} {v!r}")


def _to_str(v: Any, col: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v != v:
        return None
    raise DSLRuntimeError(f"input {col!r} must be a string, found {type(v).__name__} {v!r}")


def timestamp_micros(v: Any, col: str) -> int | None:
    """An aware datetime (or ISO 8601 text with an offset) -> microseconds since the epoch."""
    if v is None:
        return None
    if isinstance(v, str):
        try:
            v = datetime.fromisoformat(v)
        except ValueError:
            raise DSLRuntimeError(f"input {col!r}: {v!r} is not an ISO 8601 timestamp") from None
    if isinstance(v, datetime):
        if v != v:  # pandas NaT
            return None
        if v.tzinfo is None or v.utcoffset() is None:
            raise DSLRuntimeError(
                f"input {col!r}: timestamp {v!s} has no time zone; give UTC explicitly "
                "(e.g. '2024-05-01T12:00:00+00:00')"
            )
        d = v - EPOCH
        return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds
    if isinstance(v, float) and v != v:
        return None
    raise DSLRuntimeError(f"input {col!r} must be a timestamp, found {type(v).__name__} {v!r}")


def micros_to_datetime(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + timedelta(microseconds=us)


INPUT_CONVERTERS: dict[DType, Callable[[Any, str], Any]] = {
    DType.FLOAT: _to_float,
    DType.INT: _to_int,
    DType.BOOL: _to_bool,
    DType.STRING: _to_str,
    DType.TIMESTAMP: timestamp_micros,
}


# -- scalar operations (shared by closures) ---------------------------------------------------
def _int_result(r: int) -> int | None:
    return r if INT64_MIN <= r <= INT64_MAX else None


def _float_result(r: float) -> float | None:
    return None if r != r else r


def _div(a: float, b: float) -> float | None:
    if b == 0:
        return None
    r = a / b
    return None if r != r else r


def _mod(a: Any, b: Any) -> Any:
    """Floored modulo (Python's ``%``: the sign of the divisor); null for a zero divisor.
    Never overflows on ints; on floats ``inf % b`` is NaN, i.e. null."""
    if b == 0:
        return None
    r = a % b
    return None if r != r else r


def _round(x: float) -> float:
    if x != x or x in (math.inf, -math.inf):
        return x
    t = math.copysign(float(int(x)), x)
    d = x - t
    if d >= 0.5 or d <= -0.5:
        return t + math.copysign(1.0, x)
    return t


def _log(x: float) -> float | None:
    return float(_np_log(x)) if x > 0 else None


def _log1p(x: float) -> float | None:
    return float(_np_log1p(x)) if x > -1 else None


def _exp(x: float) -> float:
    if x > 700.0:
        with np.errstate(over="ignore"):
            return float(_np_exp(x))
    return float(_np_exp(x))


def _pow(x: float, y: float) -> float | None:
    # one-element arrays, as the pandas back end's columns: numpy's power on two scalars takes
    # fast paths (x ** 0.5 as sqrt(x): NaN for -inf, where C's pow, the columns and Spark give inf)
    with np.errstate(all="ignore"):
        r = float(_np_power(np.array((x,)), np.array((y,)))[0]) + 0.0  # -0.0 -> 0.0 as in every back end
    return None if r != r else r


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float | None:
    if not (_isfinite(lat1) and _isfinite(lon1) and _isfinite(lat2) and _isfinite(lon2)):
        return None  # an infinite coordinate makes the formula NaN, i.e. null
    s1 = float(_np_sin((lat2 - lat1) * RADIANS_PER_DEGREE * 0.5))
    s2 = float(_np_sin((lon2 - lon1) * RADIANS_PER_DEGREE * 0.5))
    a = s1 * s1 + float(_np_cos(lat1 * RADIANS_PER_DEGREE)) * float(
        _np_cos(lat2 * RADIANS_PER_DEGREE)
    ) * (s2 * s2)
    if a > 1.0:
        a = 1.0
    if not a >= 0.0:  # NaN (overflowing input) or negative (|latitude| > 90)
        return None
    r = EARTH_RADIUS_KM * (2.0 * float(_np_arcsin(_sqrt(a))))
    return None if r != r else r


def _concat(*parts: str) -> str | None:
    """The parts joined; null if that would exceed MAX_STRING_CHARS (checked before joining)."""
    if sum(map(len, parts)) > MAX_STRING_CHARS:
        return None
    return "".join(parts)


def civil_date(us: int) -> tuple[int, int, int]:
    """(year, month, day) of the UTC day holding ``us``, proleptic Gregorian, for any year
    (local wall-clock times reach year 0 and year 10000, beyond ``datetime.date``)."""
    z = us // MICROS_PER_DAY + 719468  # days since 0000-03-01
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


def _float_to_int(x: float) -> int | None:
    """Truncate toward zero; null outside [-2^63, 2^63) (infinities)."""
    return int(x) if -TWO_TO_63 <= x < TWO_TO_63 else None


def _sin(x: float) -> float | None:
    return float(_np_sin(x)) if _isfinite(x) else None


def _cos(x: float) -> float | None:
    return float(_np_cos(x)) if _isfinite(x) else None


UNARY: dict[tuple[str, DType], Callable[[Any], Any]] = {
    ("abs", DType.INT): lambda x: None if x == INT64_MIN else abs(x),
    ("abs", DType.FLOAT): abs,
    ("log", DType.FLOAT): _log,
    ("log1p", DType.FLOAT): _log1p,
    ("exp", DType.FLOAT): _exp,
    ("sqrt", DType.FLOAT): lambda x: _sqrt(x) if x >= 0 else None,
    ("round", DType.FLOAT): _round,
    ("floor", DType.FLOAT): lambda x: _float_to_int(float(_np_floor(x))),
    ("ceil", DType.FLOAT): lambda x: _float_to_int(float(_np_ceil(x))),
    ("sin", DType.FLOAT): _sin,
    ("cos", DType.FLOAT): _cos,
    ("hour_of_day", DType.TIMESTAMP): lambda us: (us // MICROS_PER_HOUR) % 24,
    ("day_of_week", DType.TIMESTAMP): lambda us: (us // MICROS_PER_DAY + 3) % 7,
    ("day_of_month", DType.TIMESTAMP): lambda us: civil_date(us)[2],
    ("month", DType.TIMESTAMP): lambda us: civil_date(us)[1],
    ("year", DType.TIMESTAMP): lambda us: civil_date(us)[0],
    ("lower", DType.STRING): str.lower,
    ("length", DType.STRING): len,
}

CASTS: dict[tuple[DType, DType], Callable[[Any], Any]] = {
    (DType.INT, DType.FLOAT): float,
    (DType.BOOL, DType.FLOAT): lambda b: 1.0 if b else 0.0,
    (DType.FLOAT, DType.INT): _float_to_int,
    (DType.BOOL, DType.INT): lambda b: 1 if b else 0,
    (DType.INT, DType.STRING): str,
    (DType.BOOL, DType.STRING): lambda b: "true" if b else "false",
}


def _arith(op: str, dtype: DType) -> Callable[[Any, Any], Any]:
    if dtype is DType.INT:
        return {
            "+": lambda a, b: _int_result(a + b),
            "-": lambda a, b: _int_result(a - b),
            "*": lambda a, b: _int_result(a * b),
            "%": _mod,
        }[op]
    return {
        "+": lambda a, b: _float_result(a + b),
        "-": lambda a, b: _float_result(a - b),
        "*": lambda a, b: _float_result(a * b),
        "/": _div,
        "%": _mod,
    }[op]


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


# -- the compiler -----------------------------------------------------------------------------
class RowCompiler:
    """Compile IR nodes into closures ``f(env) -> value``; ``env`` maps columns and outputs."""

    def __init__(self, fitted: Mapping[str, Mapping[str, Any]], functions: FunctionRegistry | None):
        self.fitted = fitted
        self.functions = functions

    def compile(self, e: ir.Expr) -> Fn:
        if isinstance(e, ir.Literal):
            value = e.value
            return lambda env: value
        if isinstance(e, (ir.Input, ir.Ref)):
            key = e.column if isinstance(e, ir.Input) else e.name
            return lambda env: env[key]
        if isinstance(e, ir.Cast):
            return self._unary(CASTS[(e.arg.dtype, e.dtype)], self.compile(e.arg))
        if isinstance(e, ir.Unary):
            f = self.compile(e.arg)
            if e.op == "not":
                return lambda env: None if (v := f(env)) is None else not v
            if e.dtype is DType.INT:
                return lambda env: None if (v := f(env)) is None else _int_result(-v)
            return lambda env: None if (v := f(env)) is None else -v
        if isinstance(e, ir.Binary):
            return self._binary(e)
        if isinstance(e, ir.IfElse):
            c, t, o = self.compile(e.cond), self.compile(e.then), self.compile(e.other)

            def if_else(env: dict[str, Any]) -> Any:
                cond = c(env)
                if cond is None:
                    return None
                return t(env) if cond else o(env)

            return if_else
        if isinstance(e, ir.IsIn):
            f, values, negate = self.compile(e.arg), frozenset(e.values), e.negate
            if negate:
                return lambda env: None if (v := f(env)) is None else v not in values
            return lambda env: None if (v := f(env)) is None else v in values
        if isinstance(e, ir.Call):
            return self._call(e)
        if isinstance(e, ir.Fitted):
            return self._fitted(e)
        raise TypeError(f"unknown IR node {type(e).__name__}")

    @staticmethod
    def _unary(op: Callable[[Any], Any], f: Fn) -> Fn:
        return lambda env: None if (v := f(env)) is None else op(v)

    def _binary(self, e: ir.Binary) -> Fn:
        fa, fb = self.compile(e.left), self.compile(e.right)
        if e.op == "and":

            def and_(env: dict[str, Any]) -> bool | None:
                a, b = fa(env), fb(env)
                if a is False or b is False:
                    return False
                return None if a is None or b is None else True

            return and_
        if e.op == "or":

            def or_(env: dict[str, Any]) -> bool | None:
                a, b = fa(env), fb(env)
                if a is True or b is True:
                    return True
                return None if a is None or b is None else False

            return or_
        op = _COMPARE[e.op] if e.op in ir.COMPARE else _arith(e.op, e.dtype)

        def binary(env: dict[str, Any]) -> Any:
            a = fa(env)
            if a is None:
                return None
            b = fb(env)
            return None if b is None else op(a, b)

        return binary

    def _call(self, e: ir.Call) -> Fn:
        name = e.name
        fs = [self.compile(a) for a in e.args]
        if name in ("fill", "coalesce"):

            def coalesce(env: dict[str, Any]) -> Any:
                for f in fs:
                    v = f(env)
                    if v is not None:
                        return v
                return None

            return coalesce
        if name == "is_null":
            (f,) = fs
            return lambda env: f(env) is None
        if name in CALENDAR and e.consts:  # a zone: the UTC formula on the local wall time
            part, zone = UNARY[(name, DType.TIMESTAMP)], e.consts[0]
            return self._unary(lambda us: part(local_micros(us, zone)), fs[0])
        if len(fs) == 1 and (name, e.args[0].dtype) in UNARY:
            return self._unary(UNARY[(name, e.args[0].dtype)], fs[0])
        if name == "bucketize":
            edges = e.consts[0]
            return self._unary(lambda x: bisect_right(edges, x), fs[0])
        op = self._nary(e)

        def call(env: dict[str, Any]) -> Any:
            args = [f(env) for f in fs]
            return None if None in args else op(*args)

        return call

    def _nary(self, e: ir.Call) -> Callable[..., Any]:
        name = e.name
        if name == "pow":
            return _pow
        if name == "haversine":
            return _haversine
        if name == "clip":
            return lambda x, lo, hi: lo if x < lo else (hi if x > hi else x)
        if name == "min":

            def min_(*xs: Any) -> Any:
                m = xs[0]
                for x in xs[1:]:
                    if x < m:
                        m = x
                return m

            return min_
        if name == "max":

            def max_(*xs: Any) -> Any:
                m = xs[0]
                for x in xs[1:]:
                    if x > m:
                        m = x
                return m

            return max_
        if name == "minutes_between":
            return lambda a, b: (b - a) / float(MICROS_PER_MINUTE)
        if name == "contains":
            return lambda s, part: part in s
        if name == "concat":
            return _concat
        user = self.functions.get(name) if self.functions is not None else None
        if user is not None:
            return _user_scalar(user)
        raise DSLRuntimeError(f"function {name!r} is not available")

    def _fitted(self, e: ir.Fitted) -> Fn:
        params = self.fitted.get(e.key)
        if params is None:
            raise DSLFitError(f"{e.kind}() ({e.key}) is not fitted; call Program.fit() on "
                              "training data first")
        f = self.compile(e.arg)
        if e.kind == "standardize":
            mean, scale = params["mean"], params["scale"]
            return self._unary(lambda x: _float_result((x - mean) / scale), f)
        if e.kind == "minmax_scale":
            lo, scale = params["min"], params["scale"]
            return self._unary(lambda x: _float_result((x - lo) / scale), f)
        if e.kind == "quantile_bucketize":
            edges = tuple(params["edges"])
            return self._unary(lambda x: bisect_right(edges, x), f)
        index = {v: i for i, v in enumerate(params["vocabulary"])}
        oov = len(index)
        return self._unary(lambda x: index.get(x, oov), f)


_NP_DTYPES = {DType.INT: np.int64, DType.FLOAT: np.float64, DType.BOOL: np.bool_,
              DType.STRING: object}


def _user_scalar(fn: Any) -> Callable[..., Any]:
    dtypes = [_NP_DTYPES[t] for t in fn.arg_types]
    ret = fn.return_type
    impl = fn.impl

    def call(*args: Any) -> Any:
        arrays = []
        for a, dt in zip(args, dtypes):
            arr = np.empty(1, dtype=dt)
            arr[0] = a
            arrays.append(arr)
        out = np.asarray(impl(*arrays))
        if out.shape != (1,):
            raise DSLRuntimeError(f"user function {fn.name!r} returned shape {out.shape} for 1 row")
        v = out[0]
        if ret is DType.FLOAT:
            v = float(v)
            return None if v != v else v
        if ret is DType.INT:
            return int(v)
        if ret is DType.BOOL:
            return bool(v)
        return None if v is None else str(v)

    return call


class RowEvaluator:
    """Evaluates a checked program on one request dict at a time."""

    def __init__(
        self,
        outputs: list[tuple[str, ir.Expr]],
        inputs: list[ir.Input],
        fitted: Mapping[str, Mapping[str, Any]],
        functions: FunctionRegistry | None,
    ) -> None:
        compiler = RowCompiler(fitted, functions)
        self._inputs = [(i.column, INPUT_CONVERTERS[i.dtype]) for i in inputs]
        self._outputs = [(name, compiler.compile(expr)) for name, expr in outputs]
        self._timestamps = [name for name, expr in outputs if expr.dtype is DType.TIMESTAMP]

    def evaluate(self, row: Mapping[str, Any]) -> dict[str, Any]:
        env: dict[str, Any] = {}
        try:
            for col, convert in self._inputs:
                env[col] = convert(row[col], col)
        except KeyError:
            missing = [c for c, _ in self._inputs if c not in row]
            raise DSLRuntimeError(f"request is missing input(s) {missing}") from None
        out = {}
        for name, fn in self._outputs:
            out[name] = env[name] = fn(env)
        for name in self._timestamps:
            out[name] = micros_to_datetime(out[name])
        return out
