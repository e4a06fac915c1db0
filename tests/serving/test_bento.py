"""A Bento that holds its models: built and exported here, imported into an empty BentoML home
(a new machine), served over real HTTP with no model repository, against the Cassandra store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fresco.serving.server import ServerProcess
from tests.serving.conftest import Server, active
from tests.serving.setup import ServingEnvironment
from tests.serving.test_http import rows


EXPERIMENT_TAG = "delivery_eta:bento-experiment"


@pytest.fixture(scope="module")
def built(serving_env: ServingEnvironment, tmp_path_factory):
    """A Bento of the production tag and of an experiment (tag arm + UUID arm), exported; the
    experiment is stopped in the repository right after the build: the Bento keeps its copy."""
    from fresco.serving.bundle import build_bento
    from fresco.training import ModelRepository

    folder = tmp_path_factory.mktemp("bento")
    with active(serving_env):
        repo = ModelRepository()
        repo.set_experiment("bento-ab", EXPERIMENT_TAG, {serving_env.tag: 1.0, serving_env.model_b: 1.0})
        try:
            return build_bento([serving_env.tag, EXPERIMENT_TAG], export=folder / "fresco.bento")
        finally:
            repo.stop_experiment("bento-ab")


def test_bundle_names_the_models_tags_and_experiments(built, serving_env: ServingEnvironment) -> None:
    from fresco.training import ModelRepository

    repo = ModelRepository()
    production = repo.resolve(serving_env.tag)
    assert built.bundle["tags"] == {serving_env.tag: production}
    assert built.bundle["models"] == {
        production: repo.get(production).bento_tag,
        serving_env.model_b: repo.get(serving_env.model_b).bento_tag,
    }
    [experiment] = built.bundle["experiments"]
    assert (experiment["name"], experiment["tag"]) == ("bento-ab", EXPERIMENT_TAG)
    assert experiment["arms"] == {production: 1.0, serving_env.model_b: 1.0}  # arms frozen as UUIDs
    assert built.exported is not None and built.exported.stat().st_size > 0


def test_a_model_not_in_the_repository_is_refused_before_building(serving_env, tmp_path) -> None:
    from fresco.serving.bundle import build_bento

    with pytest.raises(LookupError, match="delivery_eta:nowhere"):
        build_bento(["delivery_eta:nowhere"], export=tmp_path / "never.bento")
    assert not (tmp_path / "never.bento").exists()


def test_imported_bento_serves_its_models_without_the_repository(
    built, serving_env: ServingEnvironment, tmp_path: Path
) -> None:
    from fresco.platform import open_store
    from fresco.serving import Predictor

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
    production = built.bundle["tags"][serving_env.tag]
    expected = Predictor(open_store(serving_env.repo, serving_env.yaml_path)).predict(production, batch)
    handle = ServerProcess(env, target=built.tag, log=tmp_path / "bento.log")
    with handle:
        server = Server(handle)
        answer = server.post("/predict", {"model": serving_env.tag, "rows": batch})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["tag"] == serving_env.tag
        assert [p["model_uuid"] for p in body["predictions"]] == [production] * len(batch)
        assert [p["prediction"] for p in body["predictions"]] == pytest.approx(expected.predictions, rel=1e-6)

        by_uuid = server.post("/predict", {"model": serving_env.model_b, "rows": batch[:2]})
        assert by_uuid.status_code == 200, by_uuid.text
        assert {p["model_uuid"] for p in by_uuid.json()["predictions"]} == {serving_env.model_b}

        unknown = server.post("/predict", {"model": "delivery_eta:staging", "rows": batch[:1]})
        assert unknown.status_code == 404, unknown.text
        assert "delivery_eta:staging" in unknown.json()["message"]
        assert serving_env.tag in unknown.json()["message"]  # says what the Bento holds

        split = server.post("/predict", {"model": EXPERIMENT_TAG, "rows": rows(60)})
        assert split.status_code == 200, split.text
        assert split.json()["experiment"] == "bento-ab"
        assert {p["model_uuid"] for p in split.json()["predictions"]} == {production, serving_env.model_b}

        loaded = server.post("/models", {}).json()
        assert set(loaded["loaded"]) == {production, serving_env.model_b}
        assert loaded["tags"] == {serving_env.tag: production}
    assert not (fresh / "home" / "models" / "repository.db").exists()
