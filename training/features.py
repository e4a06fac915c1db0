"""The one seam between training and the DSL: program source -> fitted program -> model inputs.

Everything in ``training`` that touches the DSL goes through these functions, so the DSL's
API is used in one place: compile a program, fit it on the training split, apply it to a
frame (pandas or Spark) and turn its outputs into the float matrix a trainer sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fresco.platform.views import feature_views

if TYPE_CHECKING:  # pandas is imported where a frame is handled: serving's per-request path needs none
    import pandas as pd


class FeatureError(ValueError):
    """A DSL program's outputs cannot be used as model inputs."""


def _dsl():
    from fresco import dsl

    if not hasattr(dsl, "compile_program"):
        raise ImportError("the DSL package does not expose compile_program yet")
    return dsl


def load_user_functions(modules: list[str] | tuple[str, ...] = ()) -> Any:
    """The user DSL functions a training run may call: every installed ``fresco.dsl_functions``
    entry point and the config's ``features.functions`` modules (``fresco.dsl.load_functions``)."""
    return _dsl().load_functions(list(modules))


def compile_features(source: str, input_types: dict[str, str] | None = None, functions: Any = None) -> Any:
    """Compile a DSL program (raises the DSL's ``DSLError`` naming line and column).

    ``input_types`` maps request fields and ``view:feature`` references to DSL types; see
    :func:`known_input_types` for where training finds them. ``functions`` is the
    ``FunctionRegistry`` of user functions (:func:`load_user_functions`).
    """
    return _dsl().compile_program(source, input_types or None, functions)


def output_names(program: Any) -> list[str]:
    return [o.name for o in program.outputs]


_ARROW_TO_DSL = (("bool", "bool"), ("int", "int"), ("uint", "int"), ("float", "float"), ("double", "float"),
                 ("decimal", "float"), ("string", "string"), ("large_string", "string"), ("timestamp", "timestamp"))
_FEAST_TO_DSL = {"Float32": "float", "Float64": "float", "Int32": "int", "Int64": "int", "String": "string",
                 "Bool": "bool", "UnixTimestamp": "timestamp"}


def parquet_schema(path: Any) -> Any:
    """The Arrow schema of a Parquet file, or of a folder of them (as Spark writes; partition
    folders' columns included), without reading the data."""
    import pyarrow.parquet as pq

    return pq.ParquetDataset(path).schema


def parquet_input_types(path: Any) -> dict[str, str]:
    """DSL types of a Parquet file's or folder's columns (from its schema, without reading the data)."""
    types: dict[str, str] = {}
    for field in parquet_schema(path):
        text = str(field.type)
        for prefix, dtype in _ARROW_TO_DSL:
            if text.startswith(prefix):
                types[field.name] = dtype
                break
    return types


def feast_input_types(store: Any) -> dict[str, str]:
    """DSL types of every registered feature, keyed ``view:feature`` (from the Feast registry)."""
    types: dict[str, str] = {}
    for view in feature_views(store):
        for field in view.features:
            dtype = _FEAST_TO_DSL.get(str(field.dtype))
            if dtype:
                types[f"{view.name}:{field.name}"] = dtype
    return types


def program_from_json(text: str, functions: Any = None) -> Any:
    """A fitted program back from its stored JSON (``functions``: its user functions, see
    :func:`functions_for_artifact`)."""
    return _dsl().Program.from_json(text, functions)


def function_manifest(program_json: str, functions: Any) -> dict[str, dict[str, Any]]:
    """What a model artifact records of the user functions its program calls: signature and
    provider (entry point or module, distribution, version), by name."""
    import json

    names = sorted(json.loads(program_json).get("user_functions") or {})
    return functions.manifest(names) if names else {}


def functions_for_artifact(manifest: dict[str, dict[str, Any]]) -> Any:
    """The registry a stored model needs (``fresco.dsl.registry.functions_for``); raises
    ``dsl.ExtensionError`` naming a missing function and the distribution to install."""
    from fresco.dsl.registry import functions_for

    return functions_for(manifest)


def feature_refs(program: Any) -> list[str]:
    """The ``view:feature`` references the program reads (what retrieval must fetch)."""
    return list(program.feature_refs)


def input_columns(program: Any) -> dict[str, str]:
    """The program's inputs: each reference (a request field, or ``view:feature``) -> the column
    that holds it in a training frame."""
    return dict(program.input_columns)


def boolean_outputs(program: Any) -> set[str]:
    """The names of the program's boolean outputs."""
    return {o.name for o in program.outputs if str(o.dtype) == "bool"}


def categorical_outputs(program: Any) -> dict[str, str]:
    """The outputs that are a ``categorical(...)``, fitted or not: name -> its fitted constants' key."""
    from fresco.dsl.ir import Fitted

    return {name: expr.key for name, expr in program.ir() if isinstance(expr, Fitted) and expr.kind == "categorical"}


def categorical_vocabularies(program: Any) -> dict[str, list[Any]]:
    """The fitted vocabulary of every output that is a ``categorical(...)`` (its value is the
    index in the vocabulary, ``len(vocabulary)`` out of it), by output name."""
    fitted = program.fitted
    return {name: list(fitted[key]["vocabulary"]) for name, key in categorical_outputs(program).items()
            if key in fitted}


def model_inputs(program: Any, chosen: Sequence[str] | None = None, partition_columns: Sequence[str] = ()) -> list[str]:
    """**The** columns of a model's input matrix, in order: ``chosen`` (a config's
    ``features.inputs``) or every output of the program but the partition columns, then the
    partition columns (a partitioned model reads each row's partition from them)."""
    base = list(chosen or [name for name in output_names(program) if name not in partition_columns])
    return base + list(partition_columns)


def fit_program(program: Any, train_frame: pd.DataFrame) -> Any:
    """The program with its statistics (means, vocabularies, quantiles) fitted on ``train_frame``."""
    return program.fit(train_frame)


def apply_program(program: Any, frame: pd.DataFrame, engine: str = "local", spark: Any = None) -> pd.DataFrame:
    """The program's outputs on ``frame``: pandas locally, Spark column expressions for ``spark``."""
    if engine == "spark":
        if spark is None:
            from fresco.platform.spark import spark_session

            spark = spark_session("fresco-training")
        sdf = spark.createDataFrame(_spark_ready(frame, program))
        out = program.to_spark(sdf).toPandas()
        return out[output_names(program)].reset_index(drop=True)
    return program.to_pandas(frame)[output_names(program)].reset_index(drop=True)


def _spark_ready(frame: pd.DataFrame, program: Any) -> pd.DataFrame:
    """Only the program's inputs, each in the type it declares (pandas turns an int column
    with nulls into floats on a join; Spark must see it as a nullable long)."""
    import pandas as pd

    columns = input_columns(program)
    frame = frame[[c for c in dict.fromkeys(columns.values()) if c in frame.columns]].copy()
    for ref, dtype in program.input_types.items():
        col = columns[ref]
        if col not in frame.columns:
            continue
        if str(dtype) == "int" and not pd.api.types.is_integer_dtype(frame[col]):
            frame[col] = frame[col].astype("Int64")
        elif isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].astype("datetime64[us, UTC]")
    return frame


def fit_program_spark(program: Any, train_frame: Any) -> Any:
    """:func:`fit_program` on a Spark DataFrame (Spark aggregates; only the statistics reach the driver)."""
    return program.fit_spark(train_frame)


def _not_an_input(name: str, dtype: Any) -> FeatureError:
    return FeatureError(
        f"model input {name!r} has type {dtype}; model inputs are numbers or booleans "
        "(encode strings with categorical(...) in the program)"
    )


def spark_input_columns(outputs: Any, inputs: list[str]) -> list[Any]:
    """:func:`to_matrix` in Spark: the model inputs as double columns (null and NaN kept as
    missing), in ``inputs`` order, from a Spark frame holding the program's outputs."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    columns = []
    for name in inputs:
        if name not in outputs.columns:
            raise FeatureError(f"model input {name!r} is not an output of the program {list(outputs.columns)}")
        dtype = outputs.schema[name].dataType
        if not isinstance(dtype, (T.NumericType, T.BooleanType)):
            raise _not_an_input(name, dtype.simpleString())
        columns.append(F.col(name).cast("double").alias(name))
    return columns


def to_matrix(outputs: pd.DataFrame, inputs: list[str]) -> np.ndarray:
    """The model-input matrix (float64, NaN = null) from the program's outputs, in ``inputs`` order.

    Numbers and booleans are model inputs; a string or timestamp output must be turned into a
    number in the program first (for example with ``categorical``).
    """
    import pandas as pd

    columns = []
    for name in inputs:
        if name not in outputs.columns:
            raise FeatureError(f"model input {name!r} is not an output of the program {list(outputs.columns)}")
        col = outputs[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
            columns.append(pd.to_numeric(col, errors="coerce").astype("float64").to_numpy(na_value=np.nan))
        else:
            raise _not_an_input(name, col.dtype)
    if not columns:
        return np.zeros((len(outputs), 0))
    return np.column_stack(columns)


def matrix_from_rows(outputs: Sequence[Mapping[str, Any]], inputs: Sequence[str]) -> np.ndarray:
    """The model-input matrix of per-request program outputs (one mapping per row, the
    per-request evaluator's): the same float64 matrix :func:`to_matrix` gives, null as NaN."""
    matrix = np.empty((len(outputs), len(inputs)), dtype=np.float64)
    for r, out in enumerate(outputs):
        for c, name in enumerate(inputs):
            value = out[name]
            matrix[r, c] = np.nan if value is None else float(value)
    return matrix
