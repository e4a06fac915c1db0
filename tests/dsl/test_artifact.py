"""Artifacts: serialise, load, same program and same outputs; version and tamper checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fresco.dsl import (
    LANGUAGE_VERSION,
    DSLError,
    DSLFitError,
    DSLVersionError,
    FunctionRegistry,
    Program,
    compile_program,
)

from .test_example import fitted_example


def test_round_trip_gives_an_identical_program_and_outputs() -> None:
    program, rows = fitted_example()
    text = program.to_json()
    assert len(text) < 4000
    loaded = Program.from_json(text)
    assert loaded == program
    assert loaded.fitted == program.fitted
    assert loaded.outputs == program.outputs
    assert loaded.feature_refs == program.feature_refs
    assert loaded.to_json() == text
    assert loaded.evaluate_many(rows) == program.evaluate_many(rows)


def test_artifact_records_source_constants_and_version() -> None:
    program, _ = fitted_example()
    doc = json.loads(program.to_json())
    assert doc["language_version"] == 1  # it uses nothing newer, so older code can load it
    assert doc["source"] == program.source
    assert doc["fitted"]["prep_z#0"]["mean"] == program.fitted["prep_z#0"]["mean"]
    assert doc["input_types"]["placed_at"] == "timestamp"


@pytest.mark.parametrize("expr", ["@req.n % 2", "floor(@req.x)", "ceil(@req.x)", "sin(@req.x)",
                                  "cos(@req.x)", "pi()", "concat(@req.s, @req.s)",
                                  "year(@req.t)", 'hour_of_day(@req.t, "Europe/Paris")'])
def test_artifact_records_the_version_its_source_needs(expr: str) -> None:
    types = {"n": "int", "x": "float", "s": "string", "t": "timestamp"}
    assert LANGUAGE_VERSION == 2
    old = compile_program("a = hour_of_day(@req.t) + @req.n * 2", types)
    assert json.loads(old.to_json())["language_version"] == 1
    assert old.language_version == 1
    program = compile_program(f"a = @req.n + 1\nb = {expr}", types)
    assert json.loads(program.to_json())["language_version"] == 2
    assert Program.from_json(program.to_json()).language_version == 2


def test_newer_language_version_is_refused() -> None:
    program, _ = fitted_example()
    doc = json.loads(program.to_json())
    doc["language_version"] = LANGUAGE_VERSION + 1
    with pytest.raises(DSLVersionError, match=f"(?s)version {LANGUAGE_VERSION + 1}.*upgrade"):
        Program.from_json(json.dumps(doc))


@pytest.mark.parametrize("mutate, error", [
    (lambda d: d.update(fitted={**d["fitted"], "nope#0": {"mean": 1.0, "scale": 1.0}}), DSLFitError),
    (lambda d: d["fitted"]["prep_z#0"].update(scale=0.0), DSLFitError),
    (lambda d: d["fitted"]["cuisine#0"].update(vocabulary=["a", "a"]), DSLFitError),
    (lambda d: d.update(format="something-else"), DSLError),
    (lambda d: d.update(source="x = = 1"), DSLError),
])
def test_tampered_artifacts_are_refused(mutate, error) -> None:
    program, _ = fitted_example()
    doc = json.loads(program.to_json())
    mutate(doc)
    with pytest.raises(error):
        Program.from_json(json.dumps(doc))


def test_not_json_is_a_dsl_error() -> None:
    with pytest.raises(DSLError):
        Program.from_json("{not json")


def test_user_functions_must_be_registered_again_with_the_same_signature() -> None:
    registry = FunctionRegistry()
    registry.register("twice", ["float"], "float", lambda x: x * 2)
    program = compile_program("y = twice(@req.x)", {"x": "float"}, registry)
    text = program.to_json()
    with pytest.raises(DSLError, match="register it"):
        Program.from_json(text)
    other = FunctionRegistry()
    other.register("twice", ["int"], "float", lambda x: x * 2.0)
    with pytest.raises(DSLError, match="compiled against"):
        Program.from_json(text, other)
    loaded = Program.from_json(text, registry)
    assert loaded.evaluate({"x": 1.5}) == {"y": 3.0}


def test_unfitted_program_round_trips_unfitted() -> None:
    program = compile_program("z = standardize(@req.x)", {"x": "float"})
    loaded = Program.from_json(program.to_json())
    assert loaded.needs_fit and not loaded.is_fitted
    with pytest.raises(DSLFitError):
        loaded.evaluate({"x": 1.0})


def test_fitted_floats_survive_exactly() -> None:
    import pandas as pd

    program = compile_program("z = standardize(@req.x)", {"x": "float"})
    fitted = program.fit(pd.DataFrame({"x": np.random.default_rng(1).normal(size=101)}))
    loaded = Program.from_json(fitted.to_json())
    assert loaded.fitted == fitted.fitted
