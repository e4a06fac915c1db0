"""The documented semantics, as a table of expression -> expected value, run once per back end
(one program holding every case, so Spark needs a single job)."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from fresco.dsl import DType, compile_program

from .helpers import close

INF = math.inf
TYPES = {"x": DType.FLOAT, "z": DType.FLOAT, "inf": DType.FLOAT, "nf": DType.FLOAT,
         "n": DType.INT, "ni": DType.INT, "imin": DType.INT, "imax": DType.INT, "s": DType.STRING, "ns": DType.STRING,
         "t": DType.TIMESTAMP, "t2": DType.TIMESTAMP, "t_old": DType.TIMESTAMP, "nb": DType.BOOL}
ROW = {"x": 2.5, "z": 0.0, "inf": INF, "nf": None, "n": 7, "ni": None, "imin": -(2**63), "imax": 2**63 - 1, "s": "Hello", "ns": None,
       "t": datetime(2024, 3, 10, 13, 45, 30, tzinfo=timezone.utc),  # a Sunday
       "t2": datetime(2024, 3, 10, 15, 15, 30, tzinfo=timezone.utc),
       "t_old": datetime(1969, 12, 31, 23, 0, tzinfo=timezone.utc),  # a Wednesday
       "nb": None}

CASES = [
    # arithmetic: division by zero, NaN and integer overflow are null
    ("7 / 2", 3.5), ("7 - 2 * 3", 1), ("1 / 0", None), ("@req.x / @req.z", None),
    ("0.0 / 0", None), ("@req.inf - @req.inf", None), ("@req.inf * 0", None),
    ("@req.inf + 1", INF), ("9223372036854775807 + 1", None),
    # modulo: floored (the sign of the divisor, as Python); by zero is null
    ("7 % 3", 1), ("-7 % 3", 2), ("7 % -3", -2), ("-7 % -3", -1), ("6 % 3", 0), ("7 % 0", None),
    ("@req.ni % 3", None), ("7 % @req.ni", None), ("1 + 7 % 4 * 2", 7), ("7 * 5 % 4", 3),
    ("@req.imin % -1", 0), ("@req.imin % @req.imax", 9223372036854775806),
    ("@req.imax % @req.imin", -1), ("@req.imin % 3", 1), ("@req.imin % @req.imin", 0),
    ("7.5 % 2", 1.5), ("-7.5 % 2", 0.5), ("7.5 % -2", -0.5), ("7 % 2.5", 2.0), ("7.5 % 0", None),
    ("7.5 % -0.0", None), ("@req.x % @req.z", None), ("@req.inf % 2", None),
    ("5.0 % @req.inf", 5.0), ("-5.0 % @req.inf", INF), ("-1e-20 % 1.0", 1.0),
    ("(-1) % 0.1", 5.551115123125783e-17), ("@req.nf % 2", None),
    # a zero remainder takes the divisor's sign too, as in Python (pow(±0.0, -1) shows it)
    ("pow(8.0 % -4, -1)", -INF), ("pow(-8.0 % 4, -1)", INF), ("pow(-8.0 % -4, -1)", -INF),
    ("-9223372036854775808 * -1", None), ("-(-9223372036854775808)", None),
    ("abs(-9223372036854775808)", None), ("@req.nf + 1", None), ("@req.ni * 0", None),
    # math
    ("log(0)", None), ("log(-1)", None), ("log(@req.inf)", INF), ("log1p(-1)", None),
    ("log(1)", 0.0), ("sqrt(-4)", None), ("sqrt(16)", 4.0), ("exp(1000)", INF), ("exp(0)", 1.0),
    ("pow(-8, 1 / 3)", None), ("pow(2, 10)", 1024.0), ("pow(1, @req.inf)", 1.0),
    ("pow(0, -1)", INF), ("pow(-@req.inf, 0.5)", INF), ("pow(@req.inf, 0.5)", INF), ("round(2.5)", 3.0), ("round(-2.5)", -3.0),
    ("round(0.49999999999999994)", 0.0), ("round(@req.inf)", INF), ("clip(15, 0, 10)", 10),
    ("clip(@req.x, 0, @req.nf)", None), ("min(3, 1.5, 2)", 1.5), ("max(1, 2)", 2),
    ("min(1, @req.ni)", None), ("abs(-2.5)", 2.5),
    # floor and ceil give ints; null for infinities and outside the int64 range
    ("floor(2.5)", 2), ("floor(-2.5)", -3), ("ceil(2.5)", 3), ("ceil(-2.5)", -2),
    ("floor(-0.0)", 0), ("ceil(-0.5)", 0), ("floor(7)", 7), ("ceil(@req.imin)", -(2**63)),
    ("floor(@req.inf)", None), ("ceil(-@req.inf)", None), ("floor(@req.nf)", None),
    ("floor(-9223372036854775808.0)", -(2**63)), ("ceil(-9223372036854775808.0)", -(2**63)),
    ("floor(9223372036854775808.0)", None), ("ceil(9223372036854775807.0)", None),
    ("floor(9223372036854774784.0)", 9223372036854774784), ("ceil(1e300)", None),
    ("floor(4503599627370497.0)", 4503599627370497), ("ceil(0.1 + 0.2)", 1),
    ("floor(@req.ni)", None),
    # sin and cos, radians; pi()
    ("sin(0)", 0.0), ("cos(0)", 1.0), ("sin(pi() / 2)", 1.0), ("cos(pi())", -1.0),
    ("sin(@req.inf)", None), ("cos(-@req.inf)", None), ("sin(@req.nf)", None),
    ("pi()", 3.141592653589793), ("sin(2 * pi() * 6 / 24)", 1.0),
    ("cos(2 * pi() * 6 / 24)", 6.123233995736766e-17), ("sin(-0.5)", -0.479425538604203),
    # nulls
    ("fill(@req.nf, 1.5)", 1.5), ("coalesce(@req.ni, @req.n, 0)", 7), ("is_null(@req.ns)", True),
    ("is_null(@req.s)", False), ("fill(@req.ns, \"?\")", "?"),
    # time, UTC
    ("hour_of_day(@req.t)", 13), ("day_of_week(@req.t)", 6), ("day_of_month(@req.t)", 10),
    ("month(@req.t)", 3), ("year(@req.t)", 2024), ("year(@req.t_old)", 1969), ("minutes_between(@req.t, @req.t2)", 90.0),
    ("minutes_between(@req.t2, @req.t)", -90.0), ("hour_of_day(@req.t_old)", 23),
    ("day_of_week(@req.t_old)", 2), ("day_of_month(@req.t_old)", 31), ("month(@req.t_old)", 12),
    ("@req.t < @req.t2", True), ("fill(@req.t, @req.t2) == @req.t", True),
    # geography
    ("haversine(0, 0, 0, 1)", 111.19492664455873), ("haversine(1, 2, 1, 2)", 0.0),
    ("haversine(@req.inf, 0, 0, 0)", None), ("haversine(91, 0, 0, 0) >= 0", True),
    # strings
    ("lower(\"ÉcOLE\")", "école"), ("length(\"日本😀\")", 3), ("length(\"\")", 0),
    ("contains(\"hello\", \"ell\")", True), ("contains(@req.s, \"\")", True),
    ("contains(@req.ns, \"a\")", None),
    ("concat(\"a\", \"b\")", "ab"), ("concat(@req.s, \", \", \"日本😀\", \"\")", "Hello, 日本😀"),
    ("concat(\"\", \"\")", ""), ("concat(@req.s, @req.ns)", None),
    ("concat(@req.ns, \"a\", \"b\")", None), ("length(concat(@req.s, string(@req.n)))", 6), ("\"a\" < \"b\"", True), ("lower(@req.s) == \"hello\"", True),
    # bucketing: the number of edges <= x
    ("bucketize(@req.x, [0, 2.5, 10])", 2), ("bucketize(-1, [0])", 0),
    ("bucketize(@req.inf, [0, 1])", 2), ("bucketize(@req.nf, [0])", None),
    # conditionals and three-valued logic
    ("if @req.nb then 1 else 2", None), ("if @req.x > 1 then \"big\" else \"small\"", "big"),
    ("false and @req.nb", False), ("true or @req.nb", True), ("true and @req.nb", None),
    ("not @req.nb", None), ("@req.n in [1, 7]", True), ("@req.ni in [1]", None),
    ("2.0 in [2]", True), ("@req.n not in [1]", True), ("\"Hello\" in [\"Hello\"]", True),
    ("-0.0 in [0.0]", True),
    # casts
    ("int(2.9)", 2), ("int(-2.9)", -2), ("int(1e19)", None), ("int(-9223372036854775808.0)",
                                                              -9223372036854775808),
    ("int(9223372036854775808.0)", None), ("int(true)", 1), ("float(true)", 1.0),
    ("string(42)", "42"), ("string(false)", "false"), ("1 < 2.5", True),
    ("9007199254740993 == 9007199254740992.0", True),  # int compared as float
]


def _program():
    source = "\n".join(f"c{i} = {expr}" for i, (expr, _) in enumerate(CASES))
    return compile_program(source, TYPES)


def test_semantics_table(backend) -> None:
    name, run = backend
    program = _program()
    (got,) = run(program, [ROW])
    failures = []
    for i, (expr, want) in enumerate(CASES):
        have = got[f"c{i}"]
        if not (close(have, want, 1e-12) and type(have) is type(want)):
            failures.append(f"{expr}: {have!r} (expected {want!r})")
    assert not failures, f"{name}:\n" + "\n".join(failures)


def test_bucketize_edges_and_types() -> None:
    program = compile_program("b = bucketize(@req.n, [1, 2, 3])", {"n": DType.INT})
    assert [program.evaluate({"n": n})["b"] for n in (0, 1, 2, 3, 4)] == [0, 1, 2, 3, 3]
    assert program.outputs[0].dtype is DType.INT


@pytest.mark.parametrize("value", ["2024-03-10T13:45:30Z", "2024-03-10T15:45:30+02:00",
                                   datetime(2024, 3, 10, 13, 45, 30, tzinfo=timezone.utc)])
def test_request_timestamps_as_datetime_or_iso_text(value) -> None:
    program = compile_program("h = hour_of_day(@req.t)")
    assert program.evaluate({"t": value}) == {"h": 13}


def test_naive_timestamps_are_refused() -> None:
    from fresco.dsl import DSLRuntimeError

    program = compile_program("h = hour_of_day(@req.t)")
    with pytest.raises(DSLRuntimeError, match="no time zone"):
        program.evaluate({"t": "2024-03-10T13:45:30"})
    with pytest.raises(DSLRuntimeError, match="missing input"):
        program.evaluate({})


def test_concat_longer_than_the_limit_is_null(backend) -> None:
    from fresco.dsl.library import MAX_STRING_CHARS

    name, run = backend
    half = MAX_STRING_CHARS // 2
    program = compile_program("fits = length(concat(@req.a, @req.b))\n"
                              "over = is_null(concat(@req.a, @req.b, \"é\"))\n"
                              "big = length(concat(@req.a, @req.a, @req.a))", {"a": "string", "b": "string"})
    rows = [{"a": "x" * half, "b": "é" * (MAX_STRING_CHARS - half)}]
    assert run(program, rows) == [{"fits": MAX_STRING_CHARS, "over": True, "big": None}], name
