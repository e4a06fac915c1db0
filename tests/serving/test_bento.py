"""A Bento that holds its models: built and exported here, imported into an empty BentoML home
(a new machine), served over real HTTP with no model repository, against the Cassandra store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from serving.server import ServerProcess
from tests.serving.conftest import Server
from tests.serving.setup import ServingEnvironment
from tests.serving.test_http import rows


@pytest.fixture(scope="module")
def built(serving_env: ServingEnvironment, tmp_path_factory):
    from serving.bundle import build_bento

    folder = tmp_path_factory.mktemp("bento")
    return build_bento([serving_env.tag, serving_env.model_b], export=folder / "fresco.bento")


def test_bundle_names_the_models_and_frozen_tags(built, serving_env: ServingEnvironment) -> None:
    from training import ModelRepository

    repo = ModelRepository()
    assert built.bundle["tags"] == {serving_env.tag: serving_env.model_a}
    assert built.bundle["models"] == {
        serving_env.model_a: repo.get(serving_env.model_a).bento_tag,
        serving_env.model_b: repo.get(serving_env.model_b).bento_tag,
    }
    assert built.exported is not None and built.exported.stat().st_size > 0


def test_imported_bento_serves_its_models_without_the_repository(
    built, serving_env: ServingEnvironment, tmp_path: Path
) -> None:
    from feature_repo import open_store
    from serving import Predictor

    fresh = tmp_path / "new-machine"
    env = {
        "BENTOML_HOME": str(fresh / "bentoml"), "FRESCO_HOME": str(fresh / "home"),
        "BENTOML_DO_NOT_TRACK": "True",
        "FRESCO_FEATURE_REPO": str(serving_env.repo), "FEAST_FS_YAML_FILE_PATH": str(serving_env.yaml_path),
    }
    bentoml_cli = str(Path(sys.executable).with_name("bentoml"))
    imported = subprocess.run([bentoml_cli, "import", str(built.exported)], env={**os.environ, **env},
                              capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    for bento_tag in built.bundle["models"].values():
        name, version = bento_tag.split(":")
        assert (fresh / "bentoml" / "models" / name / version / "fresco.json").is_file()

    batch = rows(12)
    expected = Predictor(open_store(serving_env.repo, serving_env.yaml_path)).predict(serving_env.tag, batch)
    handle = ServerProcess(env, target=built.tag, log=tmp_path / "bento.log")
    with handle:
        server = Server(handle)
        answer = server.post("/predict", {"model": serving_env.tag, "rows": batch})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["tag"] == serving_env.tag
        assert [p["model_uuid"] for p in body["predictions"]] == [serving_env.model_a] * len(batch)
        assert [p["prediction"] for p in body["predictions"]] == pytest.approx(expected.predictions, rel=1e-6)

        by_uuid = server.post("/predict", {"model": serving_env.model_b, "rows": batch[:2]})
        assert by_uuid.status_code == 200, by_uuid.text
        assert {p["model_uuid"] for p in by_uuid.json()["predictions"]} == {serving_env.model_b}

        unknown = server.post("/predict", {"model": "delivery_eta:staging", "rows": batch[:1]})
        assert unknown.status_code == 404, unknown.text
        assert "delivery_eta:staging" in unknown.json()["message"]
        assert serving_env.tag in unknown.json()["message"]  # says what the Bento holds

        loaded = server.post("/models", {}).json()
        assert set(loaded["loaded"]) == {serving_env.model_a, serving_env.model_b}
        assert loaded["tags"] == {serving_env.tag: serving_env.model_a}
    assert not (fresh / "home" / "models" / "repository.db").exists()
