"""User functions: explicit registration with types, vectorised body, same result everywhere."""

from __future__ import annotations

import numpy as np
import pytest

from fresco.dsl import DSLTypeError, DType, FunctionRegistry, compile_program

from .helpers import close


def registry() -> FunctionRegistry:
    r = FunctionRegistry()

    @r.function(["float", "int"], "float")
    def scaled(x: np.ndarray, k: np.ndarray) -> np.ndarray:
        return x * k + 0.5

    r.register("initial", ["string"], "string", lambda s: np.array([v[:1] for v in s], dtype=object))
    r.register("is_even", ["int"], "bool", lambda n: n % 2 == 0)
    r.register("nan_if_neg", ["float"], "float", lambda x: np.where(x < 0, np.nan, x))
    return r


SOURCE = """
a = scaled(@req.x, @req.n)
b = initial(@req.s)
c = is_even(@req.n)
d = nan_if_neg(@req.x)
e = scaled(@req.n, 2)
"""
TYPES = {"x": DType.FLOAT, "n": DType.INT, "s": DType.STRING}


def test_user_functions_on_all_backends(backend) -> None:
    name, run = backend
    program = compile_program(SOURCE, TYPES, registry())
    rows = [{"x": 1.5, "n": 3, "s": "Fresco"}, {"x": None, "n": 4, "s": None},
            {"x": -2.0, "n": None, "s": ""}]
    want = [
        {"a": 5.0, "b": "F", "c": False, "d": 1.5, "e": 6.5},
        {"a": None, "b": None, "c": True, "d": None, "e": 8.5},
        {"a": None, "b": "", "c": None, "d": None, "e": None},
    ]
    got = run(program, rows)
    assert all(close(g[k], w[k], 0.0) for g, w in zip(got, want) for k in w), got


def test_registration_rules() -> None:
    r = FunctionRegistry()
    with pytest.raises(ValueError, match="built-in"):
        r.register("log", ["float"], "float", np.log)
    with pytest.raises(ValueError):
        r.register("_private", ["float"], "float", np.log)
    with pytest.raises(ValueError, match="int, float, bool or string"):
        r.register("when", ["timestamp"], "int", lambda t: t)
    r.register("f", ["float"], "float", np.log)
    with pytest.raises(ValueError, match="already registered"):
        r.register("f", ["float"], "float", np.log)


def test_user_function_arguments_are_type_checked() -> None:
    with pytest.raises(DSLTypeError, match="argument 1 of is_even\\(\\) must be int, found string"):
        compile_program('y = is_even("a")', functions=registry())
    with pytest.raises(DSLTypeError, match="takes 2 arguments"):
        compile_program("y = scaled(1.0)", functions=registry())
