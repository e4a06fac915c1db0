"""Errors people can act on: line, column, the source line with a caret, what was expected."""

from __future__ import annotations

import pytest

from fresco.dsl import DSLSyntaxError, DSLTypeError, DType, compile_program

T = {"t": DType.TIMESTAMP, "x": DType.FLOAT, "n": DType.INT, "s": DType.STRING, "v:f": DType.FLOAT}


def error(cls, source: str, types=T):
    with pytest.raises(cls) as err:
        compile_program(source, types)
    return err.value


def test_syntax_error_shows_line_column_caret_and_expectation() -> None:
    e = error(DSLSyntaxError, "a = 1\nb = (2 +\nc = 3")
    assert (e.line, e.column) == (3, 3)
    assert "   3 | c = 3" in str(e)
    assert str(e).splitlines()[2].endswith("  ^")
    assert "expected" in str(e)


def test_unexpected_character() -> None:
    e = error(DSLSyntaxError, "a = 1 $ 2")
    assert (e.line, e.column) == (1, 7) and "'$'" in e.message


def test_unterminated_input() -> None:
    e = error(DSLSyntaxError, "a = if @req.x > 1 then 2")
    assert "end of program" in e.message and '"else"' in str(e)


@pytest.mark.parametrize("source, message, hint", [
    ("a = hour_of_dya(@req.t)", "unknown function 'hour_of_dya'", "did you mean 'hour_of_day'?"),
    ("a = 1\nb = aa + 1", "unknown name 'aa'", "did you mean 'a'?"),
    ("b = a + 1\na = 1", "'a' is defined later (line 2)", None),
    ("a = @req.x + \"s\"", "`+` needs numbers, found string", None),
    ("a = @req.t + 1", "`+` needs numbers, found timestamp", "minutes_between"),
    ("a = if @req.x then 1 else 2", "condition of `if` must be a bool, found float", None),
    ("a = if true then 1 else \"s\"", "different types: int and string", None),
    ("a = log(@req.s)", "argument 1 of log() must be float or int, found string", None),
    ("a = fill(@req.x)", "fill() takes 2 arguments, found 1", None),
    ("a = is_null(@req.unknown_field)", "cannot infer the type of @req.unknown_field", "declare it"),
    ("a = null", "cannot be inferred", "float(null)"),
    ("a = 1\na = 2", "defined twice", None),
    ("a = 99999999999999999999", "outside the int64 range", None),
    ("a = true < false", "bools can only be compared with == and !=", None),
    ("a = bucketize(@req.x, [3, 1])", "strictly increasing", None),
    ("a = bucketize(@req.x, @req.x)", "must be a list of numbers", None),
    ("a = @req.x in [1, \"a\"]", "mixes int and string", None),
    ("a = @req.x in [@req.x]", "must be a literal constant", None),
    ("a = [1, 2]", "a list can only follow `in`", None),
    ("x = @req.x", "name of the input column", None),
    ("a = 10 % @req.s", "`%` needs numbers, found string", None),
    ("a = pi(1)", "pi() takes 0 arguments, found 1", None),
    ("a = floor(@req.s)", "argument 1 of floor() must be float or int, found string", None),
    ("a = concat(@req.s)", "concat() takes 2 or more arguments, found 1", None),
    ("a = concat(@req.s, @req.n)", "argument 2 of concat() must be string, found int",
     "convert it with string(...)"),
    ("a = concat(@req.x, \"km\")", "argument 1 of concat() must be string, found float",
     "string(int(x))"),
    ("a = lower(true)", "argument 1 of lower() must be string, found bool", "string(...)"),
    ("a = sin(@req.t)", "argument 1 of sin() must be float or int, found timestamp", None),
])
def test_type_errors(source: str, message: str, hint: str | None) -> None:
    e = error(DSLTypeError, source)
    assert message in e.message
    if hint:
        assert hint in str(e)
    assert e.line is not None and e.column is not None
    assert "^" in str(e)


def test_type_error_points_at_the_operand() -> None:
    e = error(DSLTypeError, "a = 1\nb = @req.x + lower(@req.s)")
    assert (e.line, e.column) == (2, 14)


def test_inference_from_use() -> None:
    p = compile_program("h = hour_of_day(@req.when)\nd = haversine(@req.a, @req.b, 1, 2)\n"
                        "c = lower(@fs.v.name)\nk = @req.count + 1\ns = @req.score * 2.5")
    assert p.input_types == {"when": DType.TIMESTAMP, "a": DType.FLOAT, "b": DType.FLOAT,
                             "v:name": DType.STRING, "count": DType.INT, "score": DType.FLOAT}


def test_declared_types_win_over_use() -> None:
    p = compile_program("k = @req.count + 1", {"@req.count": "float"})
    assert p.outputs[0].dtype is DType.FLOAT


def test_comments_and_layout() -> None:
    p = compile_program("# leading comment\n\n  a = 1 # trailing\n\tb = (a +\n   2)  # spans lines\n")
    assert [o.name for o in p.outputs] == ["a", "b"]
    assert p.evaluate({}) == {"a": 1, "b": 3}


def test_keywords_are_not_names() -> None:
    e = error(DSLSyntaxError, "if = 1")
    assert "keyword" in e.message


def test_a_float_input_past_float64_is_an_error_naming_it() -> None:
    """A 400-digit integer for a float input raises the DSL's error, not OverflowError."""
    from fresco.dsl import DSLError

    program = compile_program("y = @req.x * 1.0", {"x": DType.FLOAT})
    assert program.evaluate({"x": 2})["y"] == 2.0
    with pytest.raises(DSLError, match="'x'.*too large for a float"):
        program.evaluate({"x": 10**400})
