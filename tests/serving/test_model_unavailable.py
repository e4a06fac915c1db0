"""A model the repository has but cannot load is the server's problem (503), not the client's (404)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fresco.serving.errors import ModelUnavailable


def test_a_model_with_a_broken_artifact_is_a_503_naming_no_path(
    sqlite_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fresco.platform import open_store
    from fresco.serving import Predictor
    from fresco.training import ModelRepository

    home = tmp_path / "home"
    shutil.copytree(sqlite_env.root / "home", home)  # a copy: the shared environment stays intact
    monkeypatch.setenv("FRESCO_HOME", str(home))
    monkeypatch.setenv("BENTOML_HOME", str(home / "bentoml"))
    repository = ModelRepository(home / "models")
    (repository.artifact_path(sqlite_env.model) / "program.json").unlink()
    predictor = Predictor(open_store(sqlite_env.project), repository)
    with pytest.raises(ModelUnavailable) as err:
        predictor.predict(sqlite_env.tag, [sqlite_env.row()])
    assert err.value.status == 503
    assert sqlite_env.model in err.value.message and str(tmp_path) not in err.value.message
