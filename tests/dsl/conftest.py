"""DSL test fixtures: the back ends, run through one interface (ibis-style)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fresco.dsl import Program

from .helpers import run

Runner = Callable[[Program, list[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture(params=["pandas", "rowwise", "spark"])
def backend(request: pytest.FixtureRequest) -> tuple[str, Runner]:
    """Each back end as (name, run(program, rows) -> canonical rows). Spark uses the shared
    session fixture; request it only in tests that batch many cases per Spark job."""
    name = request.param
    spark = request.getfixturevalue("spark") if name == "spark" else None
    return name, lambda program, rows: run(program, name, rows, spark)


@pytest.fixture(params=["pandas", "rowwise"])
def local_backend(request: pytest.FixtureRequest) -> tuple[str, Runner]:
    """The in-process back ends (cheap enough for one call per case)."""
    name = request.param
    return name, lambda program, rows: run(program, name, rows)
