"""Fitting on Spark (``Program.fit_spark``): the same constants as the pandas fit of the same
rows, computed by Spark aggregates, and the same errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fresco.dsl import DSLFitError, compile_program

SOURCE = """\
a = standardize(@req.x)
b = minmax_scale(@req.x)
q = quantile_bucketize(@req.x, 5)
cat = categorical(@req.s)
k = categorical(@req.i, 3)
chained = minmax_scale(a * 2 + standardize(@req.i))
later = quantile_bucketize(chained + @req.i, 7)
"""
TYPES = {"x": "float", "i": "int", "s": "string"}


def _rows(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(10, 3, n).round(rng.integers(0, 3))  # rounded: ties and repeated quantiles
    x[rng.random(n) < 0.1] = np.nan
    x[:2] = [np.inf, -np.inf]  # not finite: left out of the statistics
    i = pd.array(rng.integers(0, 6, n), dtype="Int64")
    i[rng.random(n) < 0.1] = pd.NA
    s = rng.choice(["a", "b", "c", "d", None], n, p=[0.3, 0.3, 0.2, 0.1, 0.1])  # ties likely at top k
    return pd.DataFrame({"x": x, "i": i, "s": s})


def _spark_frame(spark, rows: pd.DataFrame):
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField("x", T.DoubleType()), T.StructField("i", T.LongType()),
                           T.StructField("s", T.StringType())])
    records = [(None if pd.isna(x) and not np.isinf(x) else float(x), None if pd.isna(i) else int(i), s)
               for x, i, s in zip(rows["x"], rows["i"], rows["s"])]
    return spark.createDataFrame(records, schema)


@pytest.mark.parametrize("seed", range(4))
def test_fit_on_spark_gives_the_pandas_constants(spark, seed: int) -> None:
    program = compile_program(SOURCE, TYPES)
    rows = _rows(seed)
    local = program.fit(rows)
    on_spark = program.fit_spark(_spark_frame(spark, rows))
    assert set(on_spark.fitted) == set(local.fitted) == {"a#0", "b#0", "q#0", "cat#0", "k#0", "chained#0",
                                                         "chained#1", "later#0"}
    for key, constants in local.fitted.items():
        got = on_spark.fitted[key]
        assert set(got) == set(constants), key
        for name, value in constants.items():
            if name == "vocabulary":
                assert got[name] == value, key  # counts and ties decided alike, exactly
            else:
                np.testing.assert_allclose(got[name], value, rtol=1e-12, atol=1e-12, err_msg=key)
    # and the fitted programs answer alike
    for name, column in local.to_pandas(rows).items():
        np.testing.assert_allclose(on_spark.to_pandas(rows)[name].to_numpy(dtype=float),
                                   column.to_numpy(dtype=float), rtol=1e-9, equal_nan=True, err_msg=name)


def test_fit_on_spark_fails_as_the_pandas_fit_naming_the_output(spark) -> None:
    program = compile_program("fine = standardize(@req.x)\nempty = minmax_scale(@req.x * 0 + @req.y)\n",
                              {"x": "float", "y": "float"})
    rows = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [np.nan, np.nan, np.nan]})
    with pytest.raises(DSLFitError) as local:
        program.fit(rows)
    with pytest.raises(DSLFitError) as on_spark:
        program.fit_spark(spark.createDataFrame([(1.0, None), (2.0, None), (3.0, None)], "x double, y double"))
    assert str(on_spark.value) == str(local.value)
    assert "cannot fit output 'empty'" in str(on_spark.value) and "line 2" in str(on_spark.value)
