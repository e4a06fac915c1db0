"""Vectorised back end: the IR compiled to numpy operations over pandas columns.

Inside, a column is ``(values, mask)``: ``mask`` is a bool array marking nulls, or None when
there are none. Float columns never carry a mask: NaN is their null (NaN is never a value in
the DSL). Timestamps are int64 microseconds since the epoch (UTC); strings are object arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

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
from ..library import BUILTINS
from ..registry import FunctionRegistry
from ..timezones import local_micros_array
from ..types import INT64_MIN, DType

Mask = np.ndarray | None
Vec = tuple[np.ndarray, Mask]
NAN = np.nan


def _or(*masks: Mask) -> Mask:
    out: Mask = None
    for m in masks:
        if m is not None:
            out = m if out is None else (out | m)
    return out


def null_mask(v: Vec, dtype: DType) -> Mask:
    if dtype is DType.FLOAT or dtype is DType.NULL:
        m = np.isnan(v[0])
        return m if m.any() else None
    return v[1]


def _with_mask(values: np.ndarray, mask: Mask, dtype: DType) -> Vec:
    """Normalise: floats fold the mask into NaN; others keep it."""
    if dtype is DType.FLOAT:
        if mask is not None and mask.any():
            values = np.where(mask, NAN, values)
        return values, None
    if mask is not None and not mask.any():
        mask = None
    return values, mask


_FILL = {DType.INT: 0, DType.BOOL: False, DType.STRING: "", DType.TIMESTAMP: 0, DType.FLOAT: NAN,
         DType.NULL: NAN}
_NP = {DType.INT: np.int64, DType.BOOL: np.bool_, DType.STRING: object, DType.TIMESTAMP: np.int64,
       DType.FLOAT: np.float64, DType.NULL: np.float64}


def _full(n: int, value: Any, dtype: DType) -> Vec:
    if value is None:
        mask = None if dtype in (DType.FLOAT, DType.NULL) else np.ones(n, dtype=bool)
        return np.full(n, _FILL[dtype], dtype=_NP[dtype]), mask
    return np.full(n, value, dtype=_NP[dtype]), None


# -- input conversion ------------------------------------------------------------------------
def _input(series: pd.Series, dtype: DType, col: str) -> Vec:
    try:
        return _convert_input(series, dtype, col)
    except DSLRuntimeError:
        raise
    except (TypeError, ValueError) as exc:
        raise DSLRuntimeError(f"column {col!r} cannot be read as {dtype}: {exc}") from None


def _convert_input(s: pd.Series, dtype: DType, col: str) -> Vec:
    if dtype is DType.FLOAT:
        if s.dtype == object:
            s = pd.to_numeric(s)
        return s.to_numpy(dtype=np.float64, na_value=NAN), None
    if dtype is DType.TIMESTAMP:
        return _timestamps(s, col)
    mask = s.isna().to_numpy()
    if not mask.any():
        mask = None
    if dtype is DType.INT:
        if s.dtype == object:
            s = s.astype("Int64")
        if s.dtype.kind == "f":
            f = s.to_numpy(dtype=np.float64, na_value=0.0)
            if not np.all(np.trunc(f) == f) or np.any(np.abs(f) >= TWO_TO_63):
                raise DSLRuntimeError(f"column {col!r} must hold int64 integers")
            return f.astype(np.int64), mask
        if s.dtype.kind not in "iub":
            raise DSLRuntimeError(f"column {col!r} must hold integers, found dtype {s.dtype}")
        return s.to_numpy(dtype=np.int64, na_value=0), mask
    if dtype is DType.BOOL:
        if s.dtype.kind != "b" and str(s.dtype) != "boolean":
            kinds = pd.api.types.infer_dtype(s, skipna=True)
            if kinds not in ("boolean", "empty"):
                raise DSLRuntimeError(f"column {col!r} must hold bools, found {kinds}")
        return s.to_numpy(dtype=np.bool_, na_value=False), mask
    # string
    kinds = pd.api.types.infer_dtype(s, skipna=True)
    if kinds not in ("string", "empty"):
        raise DSLRuntimeError(f"column {col!r} must hold strings, found {kinds}")
    return s.to_numpy(dtype=object, na_value=""), mask


def _timestamps(s: pd.Series, col: str) -> Vec:
    if s.dtype == object:  # datetimes or ISO strings: the per-request rules, row by row
        from .rowwise import timestamp_micros

        micros = [timestamp_micros(None if v is pd.NaT else v, col) for v in s.tolist()]
        mask = np.array([m is None for m in micros], dtype=bool)
        values = np.array([0 if m is None else m for m in micros], dtype=np.int64)
        return values, (mask if mask.any() else None)
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        if s.dtype.kind == "M":
            raise DSLRuntimeError(
                f"column {col!r} holds timestamps without a time zone; localise them to UTC "
                "(series.dt.tz_localize('UTC'))"
            )
        raise DSLRuntimeError(f"column {col!r} must hold timestamps, found dtype {s.dtype}")
    mask = s.isna().to_numpy()
    unit = s.dtype.unit
    raw = s.array.asi8 if hasattr(s.array, "asi8") else s.to_numpy().view(np.int64)
    raw = np.asarray(raw, dtype=np.int64)
    if unit == "ns":
        values = raw // 1000
    elif unit == "us":
        values = raw.copy()
    elif unit == "ms":
        values = raw * 1000
    else:
        values = raw * 1_000_000
    if mask.any():
        values[mask] = 0
        return values, mask
    return values, None


# -- output conversion -----------------------------------------------------------------------
def to_series(v: Vec, dtype: DType, index: pd.Index, name: str) -> pd.Series:
    values, mask = v
    if dtype is DType.FLOAT:
        return pd.Series(values, index=index, name=name, dtype=np.float64, copy=False)
    m = mask if mask is not None else np.zeros(len(values), dtype=bool)
    if dtype is DType.INT:
        arr: Any = pd.arrays.IntegerArray(values.astype(np.int64, copy=False), m)
    elif dtype is DType.BOOL:
        arr = pd.arrays.BooleanArray(values.astype(np.bool_, copy=False), m)
    elif dtype is DType.STRING:
        arr = values.copy() if mask is not None else values
        if mask is not None:
            arr[mask] = None
    else:
        dt = values.astype("datetime64[us]")
        if mask is not None:
            dt[mask] = np.datetime64("NaT")
        arr = pd.DatetimeIndex(dt).tz_localize("UTC")
        return pd.Series(arr, index=index, name=name)
    return pd.Series(arr, index=index, name=name, copy=False)


# -- the compiler ----------------------------------------------------------------------------
def _int_arith(op: str, a: np.ndarray, b: np.ndarray) -> Vec:
    if op == "+":
        r = a + b
        ovf = ((a ^ r) & (b ^ r)) < 0
    elif op == "-":
        r = a - b
        ovf = ((a ^ b) & (a ^ r)) < 0
    elif op == "%":  # floored: the sign of the divisor; by zero is null (never overflows)
        zero = b == 0
        return np.remainder(a, np.where(zero, 1, b)), (zero if zero.any() else None)
    else:
        r = a * b
        safe = np.where(a == 0, 1, a)
        ovf = (a != 0) & ((r // safe) != b)
        ovf |= ((a == -1) & (b == INT64_MIN)) | ((b == -1) & (a == INT64_MIN))
    return r, (ovf if ovf.any() else None)


_CMP = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
        ">": np.greater, ">=": np.greater_equal}


def _whole_to_int(w: np.ndarray) -> Vec:
    """Integer-valued floats -> int64; null outside [-2^63, 2^63) (infinities, NaN)."""
    ok = (w >= -TWO_TO_63) & (w < TWO_TO_63)
    return np.where(ok, w, 0.0).astype(np.int64), (None if ok.all() else ~ok)


def _bucketize(x: np.ndarray, edges: Any) -> Vec:
    nan = np.isnan(x)
    b = np.searchsorted(np.asarray(edges, dtype=np.float64), np.where(nan, 0.0, x), side="right")
    return b.astype(np.int64), (nan if nan.any() else None)


def _concat(xs: list[np.ndarray], mask: Mask) -> Vec:
    """Join string columns row by row; null where the result would exceed MAX_STRING_CHARS
    (measured first, so an over-long result is never built)."""
    n = len(xs[0])
    total = np.zeros(n, dtype=np.int64)
    for x in xs:
        total += np.fromiter((len(v) for v in x), dtype=np.int64, count=n)
    fits = total <= MAX_STRING_CHARS
    values = np.empty(n, dtype=object)
    values[:] = ["".join(parts) if ok else "" for parts, ok in zip(zip(*xs), fits)]
    return _with_mask(values, _or(mask, None if fits.all() else ~fits), DType.STRING)


def _round(x: np.ndarray) -> np.ndarray:
    t = np.trunc(x)
    d = x - t
    return np.where((d >= 0.5) | (d <= -0.5), t + np.copysign(1.0, x), t)


def _haversine(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    s1 = np.sin((lat2 - lat1) * RADIANS_PER_DEGREE * 0.5)
    s2 = np.sin((lon2 - lon1) * RADIANS_PER_DEGREE * 0.5)
    a = s1 * s1 + np.cos(lat1 * RADIANS_PER_DEGREE) * np.cos(lat2 * RADIANS_PER_DEGREE) * (s2 * s2)
    a = np.where(a > 1.0, 1.0, a)
    return EARTH_RADIUS_KM * (2.0 * np.arcsin(np.sqrt(a)))


class PandasCompiler:
    """Evaluates IR over columns of ``n`` rows; outputs are computed in program order."""

    def __init__(
        self,
        n: int,
        env: dict[str, Vec],
        fitted: Mapping[str, Mapping[str, Any]],
        functions: FunctionRegistry | None,
    ) -> None:
        self.n = n
        self.env = env
        self.fitted = fitted
        self.functions = functions

    def compute(self, e: ir.Expr) -> Vec:
        if isinstance(e, ir.Literal):
            return _full(self.n, e.value, e.dtype)
        if isinstance(e, ir.Input):
            return self.env[e.column]
        if isinstance(e, ir.Ref):
            return self.env[e.name]
        if isinstance(e, ir.Cast):
            return self._cast(e)
        if isinstance(e, ir.Unary):
            x, m = self.compute(e.arg)
            if e.op == "not":
                return ~x, m
            if e.dtype is DType.INT:
                ovf = x == INT64_MIN
                return -x, _or(m, ovf if ovf.any() else None)
            return -x, None
        if isinstance(e, ir.Binary):
            return self._binary(e)
        if isinstance(e, ir.IfElse):
            c, cm = self.compute(e.cond)
            t, tm = self.compute(e.then)
            o, om = self.compute(e.other)
            values = np.where(c, t, o)
            mask = _or(cm, None if tm is None and om is None else np.where(
                c, tm if tm is not None else False, om if om is not None else False))
            return _with_mask(values, mask, e.dtype)
        if isinstance(e, ir.IsIn):
            x, m = self.compute(e.arg)
            if e.arg.dtype is DType.STRING:
                values = pd.Index(x).isin(list(e.values))
            else:
                values = np.isin(x, np.array(e.values, dtype=_NP[e.arg.dtype]))
            if e.negate:
                values = ~values
            return values, null_mask((x, m), e.arg.dtype)
        if isinstance(e, ir.Call):
            return self._call(e)
        if isinstance(e, ir.Fitted):
            return self._fitted(e)
        raise TypeError(f"unknown IR node {type(e).__name__}")

    def _cast(self, e: ir.Cast) -> Vec:
        x, m = self.compute(e.arg)
        src, dst = e.arg.dtype, e.dtype
        if dst is DType.FLOAT:
            return _with_mask(x.astype(np.float64), m, dst)
        if dst is DType.INT:
            if src is DType.FLOAT:
                return _whole_to_int(np.trunc(x))
            return x.astype(np.int64), m
        # to string
        if src is DType.BOOL:
            values = np.where(x, "true", "false").astype(object)
        else:
            values = x.astype(str).astype(object)
        return _with_mask(values, m, dst)

    def _binary(self, e: ir.Binary) -> Vec:
        a, am = self.compute(e.left)
        b, bm = self.compute(e.right)
        if e.op == "and" or e.op == "or":
            mask = _or(am, bm)
            if e.op == "and":  # false wins over null
                decided = (~a if am is None else ~a & ~am) | (~b if bm is None else ~b & ~bm)
                values = ~decided
            else:  # true wins over null
                decided = (a if am is None else a & ~am) | (b if bm is None else b & ~bm)
                values = decided
            return _with_mask(values, None if mask is None else mask & ~decided, DType.BOOL)
        if e.op in _CMP:
            dtype = e.left.dtype
            mask = _or(null_mask((a, am), dtype), null_mask((b, bm), dtype))
            return _CMP[e.op](a, b), mask
        if e.dtype is DType.INT:
            r, ovf = _int_arith(e.op, a, b)
            return _with_mask(r, _or(am, bm, ovf), DType.INT)
        if e.op == "+":
            return a + b, None
        if e.op == "-":
            return a - b, None
        if e.op == "*":
            return a * b, None
        if e.op == "%":  # numpy's float remainder is Python's (floored, fmod-exact)
            return np.where(b == 0, NAN, np.remainder(a, np.where(b == 0, 1.0, b))), None
        return np.where(b == 0, NAN, a / np.where(b == 0, 1.0, b)), None

    def _call(self, e: ir.Call) -> Vec:
        name = e.name
        args = [self.compute(a) for a in e.args]
        dtype = e.args[0].dtype if e.args else e.dtype
        if name in ("fill", "coalesce"):
            values, mask = args[0]
            mask = null_mask((values, mask), e.dtype)
            for v, m in args[1:]:
                if mask is None:
                    break
                values = np.where(mask, v, values)
                vm = null_mask((v, m), e.dtype)
                mask = None if vm is None else mask & vm
            return _with_mask(values, mask, e.dtype)
        if name == "is_null":
            m = null_mask(args[0], dtype)
            return (np.zeros(self.n, dtype=bool) if m is None else m), None
        if name not in BUILTINS:
            return self._user(e, args)
        masks = _or(*(a[1] for a in args))
        xs = [a[0] for a in args]
        if name == "abs":
            if dtype is DType.INT:
                ovf = xs[0] == INT64_MIN
                return np.abs(xs[0]), _or(masks, ovf if ovf.any() else None)
            return np.abs(xs[0]), None
        if name in ("min", "max", "clip"):
            if name == "clip":
                x, lo, hi = xs
                values = np.where(x < lo, lo, np.where(x > hi, hi, x))
            else:
                values = xs[0]
                better = np.less if name == "min" else np.greater
                for x in xs[1:]:
                    values = np.where(better(x, values), x, values)
            if e.dtype is DType.FLOAT:
                nan = np.zeros(self.n, dtype=bool)
                for x in xs:
                    nan |= np.isnan(x)
                return np.where(nan, NAN, values), None
            return values, masks
        if name in ("floor", "ceil"):  # of a float (the checker drops them on ints)
            return _whole_to_int(np.floor(xs[0]) if name == "floor" else np.ceil(xs[0]))
        if e.dtype is DType.FLOAT and dtype is DType.FLOAT:
            return self._float_fn(name, xs, e), None
        if dtype is DType.TIMESTAMP:
            return _with_mask(self._time_fn(name, xs, e.consts), masks, e.dtype)
        if name == "concat":
            return _concat(xs, masks)
        if dtype is DType.STRING:
            return _with_mask(self._string_fn(name, xs, masks), masks, e.dtype)
        if name == "bucketize":
            return _bucketize(xs[0], e.consts[0])
        raise DSLRuntimeError(f"function {name!r} is not available")

    @staticmethod
    def _float_fn(name: str, xs: list[np.ndarray], e: ir.Call) -> np.ndarray:
        x = xs[0]
        if name == "log":
            return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), NAN)
        if name == "log1p":
            return np.where(x > -1, np.log1p(np.where(x > -1, x, 0.0)), NAN)
        if name == "exp":
            return np.exp(x)
        if name == "sqrt":
            return np.where(x >= 0, np.sqrt(np.where(x >= 0, x, 0.0)), NAN)
        if name == "round":
            return _round(x)
        if name == "sin":
            return np.sin(x)  # NaN (null) for infinities
        if name == "cos":
            return np.cos(x)
        if name == "pow":
            y = xs[1]  # pow(x, 0) and pow(1, y) are 1 even for NaN: propagate null first
            # + 0.0: a zero result is +0.0 in every backend (numpy's paths differ on -0.0's sign)
            return np.where(np.isnan(x) | np.isnan(y), NAN, np.power(x, y) + 0.0)
        if name == "haversine":
            return _haversine(*xs)
        raise DSLRuntimeError(f"function {name!r} is not available")

    @staticmethod
    def _time_fn(name: str, xs: list[np.ndarray], consts: tuple[Any, ...]) -> np.ndarray:
        us = xs[0]
        if name == "minutes_between":
            return (xs[1] - us).astype(np.float64) / float(MICROS_PER_MINUTE)
        if consts:  # a zone: the same formulas on the local wall-clock time
            us = local_micros_array(us, consts[0])
        if name == "hour_of_day":
            return (us // MICROS_PER_HOUR) % 24
        days = us // MICROS_PER_DAY
        if name == "day_of_week":
            return (days + 3) % 7
        d = days.astype("datetime64[D]")
        if name == "year":
            return d.astype("datetime64[Y]").astype(np.int64) + 1970
        months = d.astype("datetime64[M]")
        if name == "month":
            return months.astype(np.int64) % 12 + 1
        return (d - months.astype("datetime64[D]")).astype(np.int64) + 1

    @staticmethod
    def _string_fn(name: str, xs: list[np.ndarray], mask: Mask) -> np.ndarray:
        s = xs[0]
        if name == "lower":
            return np.array([v.lower() for v in s], dtype=object) if len(s) else s
        if name == "length":
            return np.fromiter((len(v) for v in s), dtype=np.int64, count=len(s))
        parts = xs[1]
        return np.fromiter((p in v for v, p in zip(s, parts)), dtype=bool, count=len(s))

    def _user(self, e: ir.Call, args: list[Vec]) -> Vec:
        fn = self.functions.get(e.name) if self.functions is not None else None
        if fn is None:
            raise DSLRuntimeError(f"function {e.name!r} is not available")
        mask = _or(*(null_mask(a, t) for a, t in zip(args, fn.arg_types)))
        keep = None if mask is None else ~mask
        inputs = [a[0] if keep is None else a[0][keep] for a in args]
        out = np.asarray(fn.impl(*inputs))
        expected = len(inputs[0]) if inputs else self.n
        if out.shape != (expected,):
            raise DSLRuntimeError(f"user function {e.name!r} returned shape {out.shape} for "
                                  f"{expected} rows")
        dtype = fn.return_type
        values = np.full(self.n, _FILL[dtype], dtype=_NP[dtype])
        if keep is None:
            values[:] = out
        else:
            values[keep] = out
        return _with_mask(values, mask, dtype)

    def _fitted(self, e: ir.Fitted) -> Vec:
        params = self.fitted.get(e.key)
        if params is None:
            raise DSLFitError(f"{e.kind}() ({e.key}) is not fitted; call Program.fit() on "
                              "training data first")
        x, m = self.compute(e.arg)
        if e.kind == "standardize":
            return (x - params["mean"]) / params["scale"], None
        if e.kind == "minmax_scale":
            return (x - params["min"]) / params["scale"], None
        if e.kind == "quantile_bucketize":
            return _bucketize(x, params["edges"])
        vocab = params["vocabulary"]
        if vocab:
            idx = pd.Index(vocab).get_indexer(x)
            idx = np.where(idx < 0, len(vocab), idx).astype(np.int64)
        else:
            idx = np.zeros(self.n, dtype=np.int64)
        return idx, m


def read_inputs(df: pd.DataFrame, inputs: list[ir.Input]) -> dict[str, Vec]:
    missing = [i.column for i in inputs if i.column not in df.columns]
    if missing:
        raise DSLRuntimeError(f"DataFrame is missing input column(s) {missing}")
    return {i.column: _input(df[i.column], i.dtype, i.column) for i in inputs}


def run(
    df: pd.DataFrame,
    outputs: list[tuple[str, ir.Expr]],
    inputs: list[ir.Input],
    fitted: Mapping[str, Mapping[str, Any]],
    functions: FunctionRegistry | None,
) -> pd.DataFrame:
    """Evaluate ``outputs`` over ``df``; returns a frame of the outputs on ``df``'s index."""
    with np.errstate(all="ignore"):
        env = read_inputs(df, inputs)
        compiler = PandasCompiler(len(df), env, fitted, functions)
        for name, expr in outputs:
            env[name] = compiler.compute(expr)
    return pd.DataFrame(
        {name: to_series(env[name], expr.dtype, df.index, name) for name, expr in outputs},
        index=df.index,
    )
