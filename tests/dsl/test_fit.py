"""Fitted transforms: fitted once on training data, frozen, used as-is everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fresco.dsl import DSLFitError, DType, compile_program

from .helpers import close

SOURCE = """
z     = standardize(@req.x)
m     = minmax_scale(@req.x)
q     = quantile_bucketize(@req.x, 4)
c     = categorical(@req.city)
top   = categorical(@req.city, 2)
code_ix = categorical(@req.code)
zz    = standardize(z * 2)
"""
TYPES = {"x": DType.FLOAT, "city": DType.STRING, "code": DType.INT}


def training() -> pd.DataFrame:
    return pd.DataFrame({
        "x": [1.0, 2.0, 3.0, 4.0, np.nan, np.inf, 5.0, 6.0, 7.0, 8.0],
        "city": ["b", "a", "b", "c", None, "a", "b", "d", "d", "d"],
        "code": pd.array([3, 3, 1, None, 2, 2, 2, 7, 7, 3], dtype="Int64"),
    })


def test_fitted_constants() -> None:
    program = compile_program(SOURCE, TYPES).fit(training())
    f = program.fitted
    finite = np.array([1, 2, 3, 4, 5, 6, 7, 8.0])
    assert f["z#0"] == {"mean": finite.mean(), "scale": finite.std()}
    assert f["m#0"] == {"min": 1.0, "scale": 7.0}
    assert f["q#0"] == {"edges": list(np.quantile(finite, [0.25, 0.5, 0.75]))}
    assert f["c#0"] == {"vocabulary": ["b", "d", "a", "c"]}  # by count, then value
    assert f["top#0"] == {"vocabulary": ["b", "d"]}
    assert f["code_ix#0"] == {"vocabulary": [2, 3, 7, 1]}
    assert set(f) == {"z#0", "m#0", "q#0", "c#0", "top#0", "code_ix#0", "zz#0"}


def test_serving_uses_frozen_constants_and_out_of_vocabulary_bucket() -> None:
    program = compile_program(SOURCE, TYPES).fit(training())
    out = program.evaluate({"x": 1.0, "city": "zürich", "code": None})
    assert out["c"] == 4 and out["top"] == 2  # out of vocabulary = len(vocabulary)
    assert out["code_ix"] is None  # null stays null
    assert out["m"] == 0.0 and out["q"] == 0
    again = program.evaluate({"x": 1.0, "city": "b", "code": 7})
    assert again["c"] == 0 and again["code_ix"] == 2
    # nested fitted transforms see the fitted inner value
    z = program.fitted["z#0"]
    assert close(out["z"], (1.0 - z["mean"]) / z["scale"], 0.0)


def test_degenerate_data() -> None:
    program = compile_program("z = standardize(@req.x)\nm = minmax_scale(@req.x)", TYPES)
    fitted = program.fit(pd.DataFrame({"x": [3.0, 3.0]}))
    assert fitted.evaluate({"x": 4.0}) == {"z": 1.0, "m": 1.0}  # zero spread: scale 1
    with pytest.raises(DSLFitError, match="no finite non-null training values") as err:
        program.fit(pd.DataFrame({"x": [np.nan, np.inf]}))
    assert err.value.line == 1


def test_fit_returns_a_new_program() -> None:
    program = compile_program(SOURCE, TYPES)
    fitted = program.fit(training())
    assert program.needs_fit and not program.is_fitted
    assert fitted.is_fitted and fitted != program


def test_fitted_program_on_all_backends(backend) -> None:
    name, run = backend
    program = compile_program(SOURCE, TYPES).fit(training())
    rows = [{"x": x, "city": c, "code": k} for x, c, k in [
        (1.0, "a", 1), (None, None, None), (9.5, "zz", 99), (-np.inf, "d", 3), (4.5, "b", 7)]]
    want = [_by_hand(program.fitted, **row) for row in rows]
    got = run(program, rows)
    assert all(close(g[k], w[k], 0.0) for g, w in zip(got, want) for k in w), (got, want)


def _by_hand(fitted: dict, x: float | None, city: str | None, code: int | None) -> dict:
    """SOURCE's outputs worked out with plain Python from the fitted constants (pinned by
    test_fitted_constants): the oracle every back end is compared with."""
    def index(vocabulary: list, value):  # out of vocabulary = len(vocabulary); null stays null
        return None if value is None else (vocabulary.index(value) if value in vocabulary else len(vocabulary))

    z = None if x is None else (x - fitted["z#0"]["mean"]) / fitted["z#0"]["scale"]
    edges = fitted["q#0"]["edges"]
    return {
        "z": z,
        "m": None if x is None else (x - fitted["m#0"]["min"]) / fitted["m#0"]["scale"],
        "q": None if x is None else next((i for i, e in enumerate(edges) if x < e), len(edges)),
        "c": index(fitted["c#0"]["vocabulary"], city),
        "top": index(fitted["top#0"]["vocabulary"], city),
        "code_ix": index(fitted["code_ix#0"]["vocabulary"], code),
        "zz": None if z is None else (z * 2 - fitted["zz#0"]["mean"]) / fitted["zz#0"]["scale"],
    }
