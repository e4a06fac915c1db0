"""Fresco's processes skip Feast's typeguard instrumentation (fresco.platform.feast_startup);
this test fails when Feast stops using typeguard (the module can then go) or when the skip no
longer takes effect."""

from __future__ import annotations

import subprocess
import sys

import pytest

INSTRUMENTED = ("import feast.feature_view as fv, feast.entity as e; "
                "print(all('typeguard' in f.__code__.co_names for f in (fv.FeatureView.__init__, e.Entity.__init__)))")


def _run(prelude: str) -> str:
    done = subprocess.run([sys.executable, "-c", f"{prelude}; {INSTRUMENTED}"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_feast_instruments_its_classes_with_typeguard_on_its_own() -> None:
    assert _run("pass") == "True"


@pytest.mark.parametrize("entry", ["fresco.cli", "fresco.serving.service"])
def test_frescos_entry_points_import_feast_uninstrumented(entry: str) -> None:
    assert _run(f"import {entry}") == "False"


def test_the_skip_changes_nothing_once_feast_is_imported() -> None:
    assert _run("import feast; from fresco.platform.feast_startup import skip_feast_type_checks; "
                "assert skip_feast_type_checks() is False") == "True"
