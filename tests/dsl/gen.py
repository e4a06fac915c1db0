"""Hypothesis strategies: random well-typed programs and random rows (nulls, infinities,
empty strings, extreme timestamps)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from fresco.dsl import DType

I, F, B, S, T = DType.INT, DType.FLOAT, DType.BOOL, DType.STRING, DType.TIMESTAMP
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
TS_MIN = -62135596800000000  # 0001-01-01T00:00:00Z in microseconds
TS_MAX = 253402300799999999  # 9999-12-31T23:59:59.999999Z

# input reference -> (accessor text, type)
INPUTS: dict[str, tuple[str, DType]] = {
    "i1": ("@req.i1", I), "i2": ("@req.i2", I), "f1": ("@req.f1", F), "f2": ("@req.f2", F),
    "b1": ("@req.b1", B), "s1": ("@req.s1", S), "s2": ("@req.s2", S), "t1": ("@req.t1", T),
    "t2": ("@req.t2", T), "v:x": ("@fs.v.x", F), "v:n": ("@fs.v.n", I),
}
INPUT_TYPES = {ref: t for ref, (_, t) in INPUTS.items()}
COLUMNS = {ref: ref.replace(":", "__") for ref in INPUTS}
ALPHABET = "aAzZ 0é É ßΣ中😀"
# Zones with daylight saving, half- and quarter-hour offsets, +14:00, and southern summers;
# their rules agree between Python's tz database and the JVM's over years 1..9999.
ZONES = ["UTC", "America/New_York", "Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu",
         "Australia/Lord_Howe", "America/St_Johns", "Pacific/Chatham", "Pacific/Kiritimati",
         "America/Santiago"]
CALENDAR = ["hour_of_day", "day_of_week", "day_of_month", "month", "year"]


def _str_lit(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _float_lit(x: float) -> str:
    text = repr(x)
    return f"({text})" if text.startswith("-") else text


def _int_lit(i: int) -> str:
    return f"({i})" if i < 0 else str(i)


INT_VALUES = st.one_of(st.integers(-1000, 1000), st.integers(INT_MIN, INT_MAX),
                       st.sampled_from([0, 1, -1, INT_MIN, INT_MAX, 2**53 + 1]))
FLOAT_VALUES = st.one_of(st.floats(-1e3, 1e3), st.floats(allow_nan=False),
                         st.sampled_from([0.0, -0.0, 0.5, -0.5, 1.5, 2.5, 1e308, 5e-324]))
STR_VALUES = st.text(alphabet=ALPHABET, max_size=4)
TS_VALUES = st.one_of(st.integers(TS_MIN, TS_MAX), st.integers(1_500_000_000_000_000,
                      1_800_000_000_000_000), st.sampled_from([TS_MIN, TS_MAX, 0, -1]))

LITERALS = {
    I: INT_VALUES.map(_int_lit),
    F: st.one_of(FLOAT_VALUES.filter(lambda x: abs(x) != float("inf")).map(_float_lit)),
    B: st.sampled_from(["true", "false"]),
    S: STR_VALUES.map(_str_lit),
}
NULLS = {I: "int(null)", F: "float(null)", S: "string(null)", B: "(null == 1)"}


class Gen:
    """Expressions of a given type over the inputs and earlier outputs."""

    def __init__(self, names: dict[str, DType], transcendental: bool, fitted: bool = False):
        self.names = names
        self.transcendental = transcendental
        self.fitted = fitted
        self._cache: dict[tuple[DType, int], st.SearchStrategy[str]] = {}

    def leaf(self, t: DType) -> st.SearchStrategy[str]:
        options = [st.sampled_from([a for a, tt in INPUTS.values() if tt is t])]
        refs = [n for n, tt in self.names.items() if tt is t]
        if refs:
            options.append(st.sampled_from(refs))
        if t in LITERALS:
            options.append(LITERALS[t])
        if t in NULLS:
            options.append(st.just(NULLS[t]))
        return st.one_of(options)

    def expr(self, t: DType, depth: int) -> st.SearchStrategy[str]:
        key = (t, depth)
        if key not in self._cache:
            self._cache[key] = st.deferred(lambda: self._build(t, depth))
        return self._cache[key]

    def _build(self, t: DType, depth: int) -> st.SearchStrategy[str]:
        if depth <= 0:
            return self.leaf(t)
        e = lambda tt: self.expr(tt, depth - 1)  # noqa: E731

        def call(name: str, *args: st.SearchStrategy[str], extra: str = "") -> st.SearchStrategy[str]:
            return st.tuples(*args).map(lambda xs: f"{name}({', '.join(xs)}{extra})")

        def binop(ops: list[str], a: DType, b: DType) -> st.SearchStrategy[str]:
            return st.tuples(e(a), st.sampled_from(ops), e(b)).map(lambda x: f"({x[0]} {x[1]} {x[2]})")

        def local(name: str) -> st.SearchStrategy[str]:
            return st.tuples(e(T), st.sampled_from(ZONES)).map(
                lambda x: f'{name}({x[0]}, "{x[1]}")')

        num = st.sampled_from([I, F])
        options: list[st.SearchStrategy[str]] = [self.leaf(t)]
        options.append(st.tuples(e(B), e(t), e(t)).map(lambda x: f"(if {x[0]} then {x[1]} else {x[2]})"))
        options.append(call("fill", e(t), e(t)))
        options.append(call("coalesce", e(t), e(t), e(t)))
        if t is I:
            options += [
                binop(["+", "-", "*", "%"], I, I), binop(["%"], I, I), call("abs", e(I)), e(I).map(lambda x: f"(-{x})"),
                call("hour_of_day", e(T)), call("day_of_week", e(T)), call("day_of_month", e(T)),
                call("month", e(T)), call("int", e(F)), call("int", e(B)), call("length", e(S)),
                call("bucketize", e(F), extra=", [-10, -0.5, 0, 1.5, 100]"),
                call("min", e(I), e(I)), call("max", e(I), e(I), e(I)), call("clip", e(I), e(I), e(I)),
                call("floor", e(F)), call("ceil", e(F)), call("floor", e(I)), call("year", e(T)),
                *(local(name) for name in CALENDAR),
            ]
        elif t is F:
            options += [
                num.flatmap(lambda a: num.flatmap(lambda b: binop(["+", "-", "*", "/", "%"], a, b))),
                num.flatmap(lambda a: binop(["%"], a, F)),
                call("abs", e(F)), e(F).map(lambda x: f"(-{x})"), call("sqrt", e(F)),
                call("round", e(F)), call("float", e(I)), call("float", e(B)),
                call("minutes_between", e(T), e(T)), call("min", e(F), e(I)),
                call("max", e(F), e(F)), call("clip", e(F), e(F), e(F)), st.just("pi()"),
            ]
            if self.transcendental:
                options += [call("log", e(F)), call("log1p", e(F)), call("exp", e(F)),
                            call("pow", e(F), e(F)), call("haversine", e(F), e(F), e(F), e(F)),
                            call("sin", e(F)), call("cos", e(F))]
        elif t is B:
            options += [
                num.flatmap(lambda a: binop(["==", "!=", "<", "<=", ">", ">="], a, F)),
                binop(["==", "!=", "<", ">="], S, S), binop(["<", "==", ">"], T, T),
                binop(["and", "or"], B, B), binop(["==", "!="], B, B), e(B).map(lambda x: f"(not {x})"),
                call("is_null", e(F)), call("is_null", e(S)), call("contains", e(S), e(S)),
                st.tuples(e(I), st.lists(INT_VALUES.map(_int_lit), max_size=4)).map(
                    lambda x: f"({x[0]} in [{', '.join(x[1])}])"),
                st.tuples(e(F), st.lists(LITERALS[F], max_size=3)).map(
                    lambda x: f"({x[0]} not in [{', '.join(x[1])}])"),
                st.tuples(e(S), st.lists(LITERALS[S], max_size=3)).map(
                    lambda x: f"({x[0]} in [{', '.join(x[1])}])"),
            ]
        elif t is S:
            options += [call("lower", e(S)), call("string", e(I)), call("string", e(B)),
                        call("concat", e(S), e(S)), call("concat", e(S), e(S), e(S))]
        return st.one_of(options)


@st.composite
def programs(draw: Any, min_outputs: int = 1, max_outputs: int = 5, depth: int = 3,
             transcendental: bool = True) -> str:
    names: dict[str, DType] = {}
    lines = []
    n = draw(st.integers(min_outputs, max_outputs))
    for k in range(n):
        t = draw(st.sampled_from([I, F, F, B, S, T]))
        text = draw(Gen(dict(names), transcendental).expr(t, draw(st.integers(1, depth))))
        name = f"o{k}"
        lines.append(f"{name} = {text}")
        names[name] = t
    return "\n".join(lines)


def _ts(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values, values)


ROW = st.fixed_dictionaries({
    COLUMNS[ref]: _maybe({I: INT_VALUES, F: FLOAT_VALUES, B: st.booleans(), S: STR_VALUES,
                          T: TS_VALUES.map(_ts)}[t])
    for ref, t in INPUT_TYPES.items()
})


def rows(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(ROW, min_size=min_size, max_size=max_size)
