"""The training tests' shared set-up: a small generated example repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_feature_repo, run_feast

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "delivery_eta.yaml"


@pytest.fixture(scope="session")
def small_repo(spark, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Generated orders, their feature groups (Spark) and the catalog, applied to a repo shared by
    the test process's modules; the config overrides that point the example's config at them.

    Shared and read-only: a test may add a file of its own there (another yaml), a test that
    changes the catalog or data works on a copy (``tests.conftest.copy_project``)."""
    from fresco.example.pipelines import generate_raw, run_feature_groups

    repo = copy_feature_repo(tmp_path_factory.mktemp("training-e2e") / "feature_repo")
    raw = generate_raw(repo / "data" / "raw", restaurants=20, orders=3_000, days=8, seed=3)
    run_feature_groups(spark, raw.out_dir, repo / "data" / "features")
    result = run_feast(repo, "apply")
    assert result.returncode == 0, result.stdout + result.stderr
    return {"data.source.parquet": str(raw.orders_path), "features.repo": str(repo)}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state folder (the model repository) for the test."""
    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    return tmp_path / "home"


def training_sets(overrides: dict[str, object]) -> list[str]:
    """``fresco train``'s ``--set`` arguments for ``overrides``."""
    return [arg for k, v in overrides.items() for arg in ("--set", f"{k}={v}")]
