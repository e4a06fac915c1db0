"""Fresco's transformation DSL: one Lark-parsed program, run identically for training and
serving. See dsl/README.md for the language."""

from .errors import (
    DSLError,
    DSLFitError,
    DSLRuntimeError,
    DSLSyntaxError,
    DSLTypeError,
    DSLVersionError,
)
from .checker import feature_column
from .program import LANGUAGE_VERSION, Output, Program, compile_program
from .references import accessors, feature_lineage
from .registry import ExtensionError, FunctionRegistry, Provider, load_functions
from .types import DType

__all__ = [
    "DSLError",
    "DSLFitError",
    "DSLRuntimeError",
    "DSLSyntaxError",
    "DSLTypeError",
    "DSLVersionError",
    "DType",
    "ExtensionError",
    "FunctionRegistry",
    "LANGUAGE_VERSION",
    "Output",
    "Program",
    "Provider",
    "accessors",
    "compile_program",
    "feature_column",
    "feature_lineage",
    "load_functions",
]
