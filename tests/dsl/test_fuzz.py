"""Arbitrary text never crashes the compiler with anything but DSLError, and nothing outside
the function registry is ever reachable."""

from __future__ import annotations

import builtins

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fresco.dsl import DSLError, DSLTypeError, FunctionRegistry, compile_program, ir

from .gen import INPUT_TYPES

TOKENS = ["x", "=", "(", ")", "[", "]", ",", "+", "-", "*", "/", "%", "==", "<", ">=", "if", "then",
          "else", "and", "or", "not", "in", "null", "true", "1", "2.5", "1e309", '"s"', "'",
          "@req.f1", "@fs.v.x", "@fs.", "@", "log", "fill", "categorical", "__import__", "os",
          ".", "#", "\n", " ", "\\", "9" * 30, "\x00", "é"]
FUZZ = settings(deadline=None, max_examples=400, suppress_health_check=list(HealthCheck))


def _compile(text: str) -> None:
    try:
        program = compile_program(text, INPUT_TYPES)
    except DSLError:
        return
    for _, expr in program.ir():  # whatever compiled only calls known functions
        for node in ir.walk(expr):
            if isinstance(node, ir.Call):
                from fresco.dsl.library import BUILTINS

                assert node.name in BUILTINS


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    _compile(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join))
def test_token_soup(text: str) -> None:
    _compile(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map(lambda ts: "y = " + "".join(ts)))
def test_statement_soup(text: str) -> None:
    _compile(text)


def test_redundant_parentheses_do_not_nest() -> None:
    # The LALR parser is iterative and parentheses make no tree nodes: harmless at any depth.
    program = compile_program("x = " + "(" * 5000 + "1" + ")" * 5000)
    assert program.evaluate({}) == {"x": 1}


@pytest.mark.parametrize("text", [
    "x = " + "-" * 5000 + "1",
    "x = " + "not " * 5000 + "true",
    "x = " + " + ".join(["1"] * 5000),
    "x = f(" * 3000,
    "x = [" * 3000,
    "x = 1\n" * 2000,
    "x = " + "9" * 100000,
])
def test_pathological_input_is_refused_cleanly(text: str) -> None:
    with pytest.raises(DSLError):
        compile_program(text)


@pytest.mark.parametrize("text", [
    'x = __import__("os")',
    'x = eval("1")',
    'x = exec("1")',
    'x = open("/etc/passwd")',
    'x = getattr(1, "real")',
    "x = os.system",
    "x = __builtins__",
    "x = print(1)",
])
def test_python_is_not_reachable(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    called = []
    for name in ("eval", "exec", "open", "__import__", "getattr", "print"):
        original = getattr(builtins, name)
        monkeypatch.setattr(builtins, name, lambda *a, _o=original, _n=name, **k: (
            called.append(_n) if _n in ("eval", "exec", "open", "print") else None) or _o(*a, **k))
    with pytest.raises(DSLError):
        compile_program(text)
    assert not called


def test_user_functions_are_the_only_extension() -> None:
    registry = FunctionRegistry()
    with pytest.raises(DSLTypeError, match="unknown function 'system'"):
        compile_program("x = system(1)", functions=registry)
