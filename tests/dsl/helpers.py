"""Build inputs for every back end from plain rows, and read outputs back as plain rows.

Canonical row values: int, float (never NaN), bool, str, aware UTC datetime, None for null.
"""

from __future__ import annotations

import math
import struct
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from fresco.dsl import DType, Program

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def micros(v: datetime) -> int:
    d = v - EPOCH
    return (d.days * 86400 + d.seconds) * 1_000_000 + d.microseconds


def pandas_frame(rows: list[dict[str, Any]], types: dict[str, DType]) -> pd.DataFrame:
    """A frame with the dtypes training gets from Feast (nullable where needed)."""
    data: dict[str, Any] = {}
    for col, dtype in types.items():
        values = [r[col] for r in rows]
        if dtype is DType.FLOAT:
            data[col] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        elif dtype is DType.INT:
            data[col] = pd.Series(values, dtype="Int64")
        elif dtype is DType.BOOL:
            data[col] = pd.Series(values, dtype="boolean")
        elif dtype is DType.STRING:
            data[col] = pd.Series(values, dtype=object)
        else:
            us = np.array([0 if v is None else micros(v) for v in values], dtype=np.int64)
            dt = us.astype("datetime64[us]")
            dt[[v is None for v in values]] = np.datetime64("NaT")
            data[col] = pd.Series(pd.DatetimeIndex(dt).tz_localize("UTC"))
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def pandas_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = {}
    for name in frame.columns:
        s = frame[name]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            cols[name] = [None if pd.isna(v) else v.to_pydatetime() for v in s]
        elif s.dtype == np.float64:
            cols[name] = [None if math.isnan(v) else float(v) for v in s.to_numpy()]
        elif str(s.dtype) == "Int64":
            cols[name] = [None if v is pd.NA else int(v) for v in s.array]
        elif str(s.dtype) == "boolean":
            cols[name] = [None if v is pd.NA else bool(v) for v in s.array]
        else:
            cols[name] = [None if v is None else str(v) for v in s.tolist()]
    return [{k: cols[k][i] for k in frame.columns} for i in range(len(frame))]


def spark_frame(spark: Any, rows: list[dict[str, Any]], types: dict[str, DType]) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark_type = {DType.FLOAT: T.DoubleType(), DType.INT: T.LongType(), DType.BOOL: T.BooleanType(),
                  DType.STRING: T.StringType(), DType.TIMESTAMP: T.LongType()}
    schema = T.StructType([T.StructField("__row", T.LongType())] + [
        T.StructField(c, spark_type[t]) for c, t in types.items()])
    data = []
    for i, r in enumerate(rows):
        vals: list[Any] = [i]
        for c, t in types.items():
            v = r[c]
            vals.append(micros(v) if (t is DType.TIMESTAMP and v is not None) else v)
        data.append(tuple(vals))
    df = spark.createDataFrame(data, schema)
    for c, t in types.items():
        if t is DType.TIMESTAMP:
            df = df.withColumn(c, F.timestamp_micros(F.col(c)))
    return df


def spark_records(df: Any, program: Program) -> list[dict[str, Any]]:
    from pyspark.sql import functions as F

    cols = [F.col("__row")]
    for o in program.outputs:
        c = F.col(o.name)
        cols.append(F.unix_micros(c).alias(o.name) if o.dtype is DType.TIMESTAMP else c)
    rows = sorted(df.select(*cols).collect(), key=lambda r: r["__row"])
    out = []
    from datetime import timedelta

    for r in rows:
        rec = {}
        for o in program.outputs:
            v = r[o.name]
            if o.dtype is DType.TIMESTAMP and v is not None:
                v = EPOCH + timedelta(microseconds=v)
            if isinstance(v, float) and math.isnan(v):
                v = float("nan")  # a NaN escaping Spark is a bug; keep it visible
            rec[o.name] = v
        out.append(rec)
    return out


def row_inputs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


def same(a: Any, b: Any) -> bool:
    """Bit-for-bit equality (floats by their bits, so -0.0 != 0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    return type(a) is type(b) and a == b if a is not None and b is not None else a is b


def close(a: Any, b: Any, rel: float) -> bool:
    """Equality, with floats compared by value within ``rel`` (0.0 == -0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isinf(a) or math.isinf(b):
            return a == b
        return a == b or abs(a - b) <= rel * max(abs(a), abs(b))
    if isinstance(a, float) and isinstance(b, int) and not isinstance(b, bool):
        return False
    return a == b and (a is None) == (b is None)


def run(program: Program, backend: str, rows: list[dict[str, Any]], spark: Any = None
        ) -> list[dict[str, Any]]:
    """Run ``program`` on ``rows`` with one back end; canonical output rows."""
    types = {program.column_for(ref): t for ref, t in program.input_types.items()}
    if backend == "rowwise":
        return program.evaluate_many(row_inputs(rows))
    if backend == "pandas":
        return pandas_records(program.to_pandas(pandas_frame(rows, types)))
    return spark_records(program.to_spark(spark_frame(spark, rows, types)), program)
