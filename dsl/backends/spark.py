"""Spark back end: the IR compiled to native Spark column expressions.

Built-ins never round-trip through Python (user functions run as pandas UDFs). Where an
operator needs a sub-expression more than once (null checks, clip, min/max...), the
sub-expression is first materialised as a temporary column, so expressions never grow
exponentially with nesting. Semantics follow the DSL, not Spark's defaults: integer overflow
and division by zero give null (``try_*``), NaN becomes null, and time functions work on
microseconds since the epoch, so the session time zone does not matter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .. import ir
from ..errors import DSLFitError, DSLRuntimeError
from ..library import (
    BUILTINS,
    CALENDAR,
    EARTH_RADIUS_KM,
    MAX_STRING_CHARS,
    MICROS_PER_MINUTE,
    RADIANS_PER_DEGREE,
    TWO_TO_63,
)
from ..registry import FunctionRegistry
from ..types import INT64_MIN, DType

SPARK_TYPES = {
    DType.INT: T.LongType(),
    DType.FLOAT: T.DoubleType(),
    DType.BOOL: T.BooleanType(),
    DType.STRING: T.StringType(),
    DType.TIMESTAMP: T.TimestampType(),
    DType.NULL: T.DoubleType(),
}
_TMP = "__dsl_tmp_"


def _null(dtype: DType) -> Column:
    return F.lit(None).cast(SPARK_TYPES[dtype])


def _lit(value: Any, dtype: DType) -> Column:
    if value is None:
        return _null(dtype)
    return F.lit(value).cast(SPARK_TYPES[dtype])


def _nan_to_null(c: Column) -> Column:
    return F.nanvl(c, _null(DType.FLOAT))


class SparkCompiler:
    def __init__(self, fitted: Mapping[str, Mapping[str, Any]], functions: FunctionRegistry | None,
                 inputs: Mapping[str, Column]) -> None:
        self.fitted = fitted
        self.functions = functions
        self.inputs = inputs
        self.bindings: list[tuple[str, Column]] = []
        self._count = 0

    def share(self, e: ir.Expr) -> Column:
        """The node's column, materialised first if it is not trivially cheap to repeat."""
        col = self.compile(e)
        if ir.is_simple(e):
            return col
        return self.bind(col)

    def bind(self, col: Column) -> Column:
        name = f"{_TMP}{self._count}"
        self._count += 1
        self.bindings.append((name, col))
        return F.col(name)

    def compile(self, e: ir.Expr) -> Column:
        if isinstance(e, ir.Literal):
            return _lit(e.value, e.dtype)
        if isinstance(e, ir.Input):
            return self.inputs[e.column]
        if isinstance(e, ir.Ref):
            return F.col(e.name)
        if isinstance(e, ir.Cast):
            return self._cast(e)
        if isinstance(e, ir.Unary):
            x = self.compile(e.arg)
            if e.op == "not":
                return ~x
            if e.dtype is DType.INT:
                return F.try_subtract(_lit(0, DType.INT), x)
            return -x
        if isinstance(e, ir.Binary):
            return self._binary(e)
        if isinstance(e, ir.IfElse):
            c = self.share(e.cond)
            return (F.when(c.isNull(), _null(e.dtype))
                    .when(c, self.compile(e.then)).otherwise(self.compile(e.other)))
        if isinstance(e, ir.IsIn):
            return self._isin(e)
        if isinstance(e, ir.Call):
            return self._call(e)
        if isinstance(e, ir.Fitted):
            return self._fitted(e)
        raise TypeError(f"unknown IR node {type(e).__name__}")

    def _cast(self, e: ir.Cast) -> Column:
        src, dst = e.arg.dtype, e.dtype
        if dst is DType.INT and src is DType.FLOAT:
            x = self.share(e.arg)
            return F.when(x < F.lit(TWO_TO_63), x).try_cast(T.LongType())
        return self.compile(e.arg).cast(SPARK_TYPES[dst])

    def _binary(self, e: ir.Binary) -> Column:
        op = e.op
        if op == "%":
            return self._mod(e)
        a, b = self.compile(e.left), self.compile(e.right)
        if op == "and":
            return a & b
        if op == "or":
            return a | b
        if op in ir.COMPARE:
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                    ">=": a >= b}[op]
        if e.dtype is DType.INT:
            return {"+": F.try_add, "-": F.try_subtract, "*": F.try_multiply}[op](a, b)
        if op == "/":
            return _nan_to_null(F.try_divide(a, b))
        return _nan_to_null({"+": a + b, "-": a - b, "*": a * b}[op])

    def _mod(self, e: ir.Binary) -> Column:
        """Floored modulo from Spark's truncated one: add the divisor when the signs differ;
        a float zero takes the divisor's sign, as Python's and numpy's."""
        b = self.share(e.right)
        r = F.try_mod(self.compile(e.left), b)  # null for a zero divisor
        if e.dtype is DType.FLOAT:
            r = _nan_to_null(r)  # inf % b
        r = self.bind(r)
        floored = F.when((r != F.lit(0)) & ((r < F.lit(0)) != (b < F.lit(0))), r + b)
        if e.dtype is DType.FLOAT:  # a zero remainder has the divisor's sign (fmod's has the dividend's)
            floored = floored.when(r == F.lit(0), F.lit(0.0) * F.signum(b))
        return floored.otherwise(r)

    def _isin(self, e: ir.IsIn) -> Column:
        if not e.values:
            result = F.when(self.compile(e.arg).isNotNull(), F.lit(False))
        elif e.arg.dtype is DType.FLOAT:  # explicit equality: -0.0 == 0.0, as everywhere else
            x = self.share(e.arg)
            result = None
            for v in e.values:
                term = x == F.lit(float(v))
                result = term if result is None else (result | term)
        else:
            result = self.compile(e.arg).isin([_lit(v, e.arg.dtype) for v in e.values])
        return ~result if e.negate else result

    def _call(self, e: ir.Call) -> Column:
        name = e.name
        if name not in BUILTINS:
            return self._user(e)
        if name in ("fill", "coalesce"):
            return F.coalesce(*(self.compile(a) for a in e.args))
        if name == "is_null":
            return self.compile(e.args[0]).isNull()
        dtype = e.args[0].dtype
        if name == "abs":
            if dtype is DType.INT:
                x = self.share(e.args[0])
                return F.when(x != F.lit(INT64_MIN), F.abs(x))
            return F.abs(self.compile(e.args[0]))
        if name in ("min", "max", "clip", "bucketize", "pow", "haversine"):
            xs = [self.share(a) for a in e.args]
            any_null = xs[0].isNull()
            for x in xs[1:]:
                any_null = any_null | x.isNull()
            if name == "clip":
                x, lo, hi = xs
                return (F.when(any_null, _null(e.dtype)).when(x < lo, lo).when(x > hi, hi)
                        .otherwise(x))
            if name in ("min", "max"):
                pick = F.least if name == "min" else F.greatest
                return F.when(any_null, _null(e.dtype)).otherwise(pick(*xs))
            if name == "bucketize":
                return _bucketize(xs[0], e.consts[0])
            if name == "pow":
                x, y = xs
                special = (F.abs(x) == F.lit(1.0)) & (F.abs(y) == F.lit(float("inf")))
                return _nan_to_null(F.when(special, F.lit(1.0)).otherwise(F.pow(x, y) + F.lit(0.0)))
            return _haversine(*xs)
        if name == "log":
            return F.log(self.compile(e.args[0]))  # null for x <= 0
        if name == "log1p":
            return F.log1p(self.compile(e.args[0]))  # null for x <= -1
        if name == "exp":
            return F.exp(self.compile(e.args[0]))
        if name == "sqrt":
            return _nan_to_null(F.sqrt(self.compile(e.args[0])))
        if name == "round":
            return F.round(self.compile(e.args[0]), 0)
        if name in ("floor", "ceil"):  # of a float (the checker drops them on ints)
            x = self.share(e.args[0])
            whole = F.floor(x) if name == "floor" else F.ceil(x)  # x in range iff whole is
            return F.when((x >= F.lit(-TWO_TO_63)) & (x < F.lit(TWO_TO_63)), whole)
        if name in ("sin", "cos"):
            fn = F.sin if name == "sin" else F.cos
            return _nan_to_null(fn(self.compile(e.args[0])))  # NaN for infinities
        if name in CALENDAR:
            ts = self.compile(e.args[0])
            if e.consts:  # the local wall-clock time, as a UTC instant (any session zone)
                ts = F.from_utc_timestamp(ts, _jvm_zone(e.consts[0]))
            seconds = F.unix_seconds(ts)  # floor of micros / 1e6
            if name == "hour_of_day":
                return F.floor(F.pmod(seconds, F.lit(86400)) / F.lit(3600)).cast(T.LongType())
            days = F.floor(seconds / F.lit(86400.0))  # exact: |seconds| < 2**53
            if name == "day_of_week":
                return F.pmod(days + F.lit(3), F.lit(7)).cast(T.LongType())
            date = F.date_from_unix_date(days.cast(T.IntegerType()))
            part = {"year": F.year, "month": F.month, "day_of_month": F.dayofmonth}[name]
            return part(date).cast(T.LongType())
        if name == "minutes_between":
            start, end = (F.unix_micros(self.compile(a)) for a in e.args)
            return (end - start).cast(T.DoubleType()) / F.lit(float(MICROS_PER_MINUTE))
        if name == "lower":
            return F.lower(self.compile(e.args[0]))
        if name == "length":
            return F.char_length(self.compile(e.args[0])).cast(T.LongType())
        if name == "contains":
            return F.contains(self.compile(e.args[0]), self.compile(e.args[1]))
        if name == "concat":  # null if any part is null; the length is checked before joining
            parts = [self.share(a) for a in e.args]
            total = sum((F.char_length(p) for p in parts[1:]), F.char_length(parts[0]))
            return F.when(total <= F.lit(MAX_STRING_CHARS), F.concat(*parts))
        raise DSLRuntimeError(f"function {name!r} has no Spark implementation")

    def _user(self, e: ir.Call) -> Column:
        fn = self.functions.get(e.name) if self.functions is not None else None
        if fn is None:
            raise DSLRuntimeError(f"function {e.name!r} is not available")
        udf = _pandas_udf(fn)
        col = udf(*(self.compile(a) for a in e.args))
        return _nan_to_null(col) if fn.return_type is DType.FLOAT else col

    def _fitted(self, e: ir.Fitted) -> Column:
        params = self.fitted.get(e.key)
        if params is None:
            raise DSLFitError(f"{e.kind}() ({e.key}) is not fitted")
        if e.kind == "standardize":
            return (self.compile(e.arg) - F.lit(params["mean"])) / F.lit(params["scale"])
        if e.kind == "minmax_scale":
            return (self.compile(e.arg) - F.lit(params["min"])) / F.lit(params["scale"])
        x = self.share(e.arg)
        if e.kind == "quantile_bucketize":
            return _bucketize(x, params["edges"])
        vocab = params["vocabulary"]
        oov = F.lit(len(vocab)).cast(T.LongType())
        if not vocab:
            return F.when(x.isNotNull(), oov)
        pairs: list[Column] = []
        for i, v in enumerate(vocab):
            pairs += [_lit(v, e.arg.dtype), F.lit(i).cast(T.LongType())]
        lookup = F.try_element_at(F.create_map(*pairs), x)
        return F.when(x.isNotNull(), F.coalesce(lookup, oov))


def _jvm_zone(zone: str) -> str:
    """``zone``, after checking that the JVM resolves it as Spark does (its tz database may
    be older than Python's)."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None and not _jvm_knows(session, zone):
        raise DSLRuntimeError(f"time zone {zone!r} is not known to Spark's JVM (its tz "
                              "database is older than Python's); update the JDK's tzdata")
    return zone


_JVM_ZONES: dict[str, bool] = {}


def _jvm_knows(session: Any, zone: str) -> bool:
    if zone not in _JVM_ZONES:
        zone_id = session.sparkContext._jvm.java.time.ZoneId
        try:  # as Spark's DateTimeUtils.getZoneId resolves it
            zone_id.of(zone, zone_id.SHORT_IDS)
            _JVM_ZONES[zone] = True
        except Exception:  # a DateTimeException, as raised through py4j/PySpark
            _JVM_ZONES[zone] = False
    return _JVM_ZONES[zone]


def _bucketize(x: Column, edges: Any) -> Column:
    result = F.when(x.isNull(), _null(DType.INT))
    for i, edge in enumerate(edges):
        result = result.when(x < F.lit(float(edge)), F.lit(i).cast(T.LongType()))
    return result.otherwise(F.lit(len(edges)).cast(T.LongType()))


def _haversine(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    rad = F.lit(RADIANS_PER_DEGREE)
    s1 = F.sin((lat2 - lat1) * rad * F.lit(0.5))
    s2 = F.sin((lon2 - lon1) * rad * F.lit(0.5))
    # NaN (from an infinite coordinate) must become null first: Spark orders NaN above 1.0
    a = _nan_to_null(s1 * s1 + F.cos(lat1 * rad) * F.cos(lat2 * rad) * (s2 * s2))
    a = F.when(a > F.lit(1.0), F.lit(1.0)).otherwise(a)
    return _nan_to_null(F.lit(EARTH_RADIUS_KM) * (F.lit(2.0) * F.asin(F.sqrt(a))))


def _pandas_udf(fn: Any) -> Any:
    """A registered user function as a vectorised (Arrow) pandas UDF with null handling."""
    from pyspark.sql.functions import pandas_udf

    from .pandas import _FILL, _NP

    arg_types, ret = fn.arg_types, fn.return_type

    def run(*cols: pd.Series) -> pd.Series:
        mask = np.zeros(len(cols[0]) if cols else 0, dtype=bool)
        for c in cols:
            mask |= c.isna().to_numpy()
        keep = ~mask
        arrays = [c[keep].to_numpy(dtype=_NP[t]) for c, t in zip(cols, arg_types)]
        out = np.asarray(fn.impl(*arrays))
        if ret is DType.FLOAT:
            values = np.full(len(mask), np.nan)
            values[keep] = out
            return pd.Series(values)
        values = np.full(len(mask), _FILL[ret], dtype=_NP[ret])
        values[keep] = out
        if ret is DType.INT:
            return pd.Series(pd.arrays.IntegerArray(values, mask))
        if ret is DType.BOOL:
            return pd.Series(pd.arrays.BooleanArray(values, mask))
        values[mask] = None
        return pd.Series(values, dtype=object)

    return pandas_udf(run, returnType=SPARK_TYPES[ret])  # type: ignore[call-overload]


def _read_input(df: DataFrame, inp: ir.Input) -> Column:
    if inp.column not in df.columns:
        raise DSLRuntimeError(f"DataFrame is missing input column {inp.column!r}")
    field = df.schema[inp.column].dataType
    col = F.col(inp.column)
    want = inp.dtype
    if want is DType.FLOAT and isinstance(field, T.NumericType):
        return _nan_to_null(col.cast(T.DoubleType()))
    if want is DType.INT and isinstance(field, T.IntegralType):
        return col.cast(T.LongType())
    if want is DType.TIMESTAMP and isinstance(field, T.TimestampNTZType):
        raise DSLRuntimeError(f"column {inp.column!r} holds timestamps without a time zone "
                              "(TIMESTAMP_NTZ); convert them to TimestampType (UTC)")
    if field == SPARK_TYPES[want]:
        return col
    raise DSLRuntimeError(f"column {inp.column!r} has Spark type {field.simpleString()}, "
                          f"which cannot be read as {want}")


def apply(
    df: DataFrame,
    outputs: list[tuple[str, ir.Expr]],
    inputs: list[ir.Input],
    fitted: Mapping[str, Mapping[str, Any]],
    functions: FunctionRegistry | None,
) -> DataFrame:
    """``df`` with one column per output added (replacing same-named columns)."""
    compiler = SparkCompiler(fitted, functions, {i.column: _read_input(df, i) for i in inputs})
    for name, expr in outputs:
        col = compiler.compile(expr).cast(SPARK_TYPES[expr.dtype])
        for tmp, bound in compiler.bindings:
            df = df.withColumn(tmp, bound)
        compiler.bindings.clear()
        df = df.withColumn(name, col)
    temps = [c for c in df.columns if c.startswith(_TMP)]
    return df.drop(*temps) if temps else df


def fit(
    df: DataFrame,
    outputs: list[tuple[str, ir.Expr]],
    inputs: list[ir.Input],
    functions: FunctionRegistry | None,
) -> dict[str, dict[str, Any]]:
    """Fitted constants of every fitted transform, from training rows ``df``, computed by Spark
    aggregates (nothing but the statistics reaches the driver): the same rules as the pandas
    back end's fit (``fitting``), over the same values (finite, non-null), outputs in order so
    that a later output may use an earlier one. Float statistics (mean, standard deviation,
    interpolated quantiles) may differ from numpy's in the last bits: Spark sums in another
    order. A mean and deviation are combined from per-partition figures in partition order, so
    they are the same bits on every run over the same partitions (sort them, as the training
    dataset does, for runs on any cluster). Raises ``DSLFitError`` (the transform's output named
    by the caller)."""
    fitted: dict[str, dict[str, Any]] = {}
    compiler = SparkCompiler(fitted, functions, {i.column: _read_input(df, i) for i in inputs})
    work = df

    def bound(col: Column) -> DataFrame:
        frame = work
        for tmp, bound_col in compiler.bindings:
            frame = frame.withColumn(tmp, bound_col)
        compiler.bindings.clear()
        return frame.withColumn("__dsl_fit_arg", col)

    for name, expr in outputs:
        try:
            _fit_output(expr, fitted, compiler, bound)
        except DSLFitError as exc:
            exc.output = name  # type: ignore[attr-defined]  # the caller names the output
            raise
        col = compiler.compile(expr).cast(SPARK_TYPES[expr.dtype])
        for tmp, bound_col in compiler.bindings:
            work = work.withColumn(tmp, bound_col)
        compiler.bindings.clear()
        work = work.withColumn(name, col)
    return fitted


def _combine_moments(parts: list[tuple[int, float, float]]) -> tuple[float, float]:
    """The mean and population variance of the union of parts, each (count, mean, population
    variance), combined in the order given (Chan et al.'s pairwise update)."""
    n, mean, m2 = 0, 0.0, 0.0
    for count, part_mean, part_var in parts:
        if not count:
            continue
        total = n + count
        delta = part_mean - mean
        mean += delta * count / total
        m2 += part_var * count + delta * delta * n * count / total
        n = total
    return mean, m2 / n


def _fit_output(expr: ir.Expr, fitted: dict[str, dict[str, Any]], compiler: SparkCompiler, bound: Any) -> None:
    """The constants of ``expr``'s fitted transforms (inner ones first) into ``fitted``;
    ``bound(col)`` is the rows so far with the transform's argument as ``__dsl_fit_arg``."""
    from ..fitting import (
        categorical_constants,
        minmax_constants,
        no_finite_values,
        quantile_constants,
        quantile_levels,
        standardize_constants,
    )

    arg_column = "__dsl_fit_arg"
    for node in ir.walk(expr):
        if not isinstance(node, ir.Fitted) or node.key in fitted:
            continue
        frame = bound(compiler.compile(node.arg))
        x = F.col(arg_column)
        if node.kind == "categorical":
            rows = frame.where(x.isNotNull()).groupBy(x).count().collect()
            kind = int if node.arg.dtype is DType.INT else str
            fitted[node.key] = categorical_constants(node, {kind(r[0]): int(r[1]) for r in rows})
            continue
        finite = frame.where(x.isNotNull() & ~F.isnan(x) & (F.abs(x) != F.lit(float("inf"))))
        if node.kind == "quantile_bucketize":
            row = finite.agg(F.count(x), F.percentile(x, F.array(*map(F.lit, quantile_levels(node))))).first()
            if not row[0]:
                raise no_finite_values(node)
            fitted[node.key] = quantile_constants(list(row[1]))
        elif node.kind == "standardize":
            # per partition, combined here in partition order: the same bits whichever order the
            # partitions' results arrive in (Spark's own merge follows that order)
            parts = (finite.groupBy(F.spark_partition_id().alias("p"))
                     .agg(F.count(x), F.avg(x), F.var_pop(x)).orderBy("p").collect())
            if not parts:
                raise no_finite_values(node)
            mean, variance = _combine_moments([(int(r[1]), float(r[2]), float(r[3])) for r in parts])
            fitted[node.key] = standardize_constants(mean, math.sqrt(variance))
        elif node.kind == "minmax_scale":
            row = finite.agg(F.count(x), F.min(x), F.max(x)).first()
            if not row[0]:
                raise no_finite_values(node)
            fitted[node.key] = minmax_constants(float(row[1]), float(row[2]))
        else:
            raise DSLFitError(f"unknown fitted transform {node.kind!r}")
