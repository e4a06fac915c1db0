"""Fresco as a team adopts it: a wheel installed (not editable) into a fresh virtual environment,
used in an empty folder outside the checkout on a project ``fresco init`` created.

Nothing of the checkout is importable there: the test checks that every Fresco package is
imported from the new environment's site-packages, then runs ``fresco init``, ``feast apply``,
``fresco materialize``, ``fresco train`` and ``fresco serve``, and asks the service for a
prediction with the example request its OpenAPI document publishes ("try it").
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

CHECKOUT = Path(__file__).resolve().parents[2]
PACKAGES = ("fresco", "fresco.platform", "fresco.dsl", "fresco.training", "fresco.serving", "fresco.monitoring",
            "fresco.ui", "fresco.example")


def _run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fresco's wheel, built from the checkout."""
    wheels = tmp_path_factory.mktemp("wheels")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(wheels), str(CHECKOUT)], cwd=wheels, env=dict(os.environ))
    (built,) = wheels.glob("fresco-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh virtual environment with Fresco's wheel and its pinned dependencies."""
    root = tmp_path_factory.mktemp("installed")
    target = root / "venv"
    _run([sys.executable, "-m", "venv", str(target)], cwd=root, env=dict(os.environ))
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    _run([uv, "pip", "install", "--python", str(target / "bin" / "python"), "--constraint",
          str(CHECKOUT / "requirements.lock"), str(wheel)], cwd=root, env=dict(os.environ), timeout=1800)
    return target


def _clean_env(venv: Path) -> dict[str, str]:
    """The user's shell: the new environment first on PATH, no Fresco or Feast settings."""
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "BENTOML_HOME", "PYSPARK_PYTHON")
    env = {k: v for k, v in os.environ.items()
           if k not in drop and not k.startswith(("FRESCO_", "FEAST_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["FRESCO_CACHE"] = os.environ.get("FRESCO_CACHE", str(Path.home() / ".cache" / "fresco"))
    return env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    assert CHECKOUT not in folder.parents
    return folder


def test_the_wheel_installs_one_top_level_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        top_level = {n.split("/")[0] for n in names} - {dist_info}
        packaged = set(names)
    assert top_level == {"fresco"}, f"the wheel installs {sorted(top_level)} at the top of site-packages"
    # every package folder of the checkout is in the wheel, under its namespaced name
    for folder, name in {"dsl": "dsl", "training": "training", "serving": "serving",
                         "monitoring": "monitoring", "ui": "ui", "feature_repo": "example"}.items():
        for init in (CHECKOUT / folder).rglob("__init__.py"):
            inside = init.relative_to(CHECKOUT / folder).as_posix()
            assert f"fresco/{name}/{inside}" in packaged, f"{folder}/{inside} is not in the wheel"
    for data in ("fresco/dsl/grammar.lark", "fresco/serving/bentofile.yaml",
                 "fresco/platform/templates/project/feature_store.yaml", "fresco/example/feature_store.yaml", "fresco/ui/static/index.html"):
        assert data in packaged, f"{data} is not in the wheel"


def _team_project_with_own_packages(folder: Path) -> None:
    """A team's folder that holds its own ``training/``, ``dsl/`` and ``serving/`` packages."""
    for name in ("training", "dsl", "serving", "monitoring"):
        (folder / name).mkdir()
        (folder / name / "__init__.py").write_text(f"raise ImportError('the team\'s own {name} was imported')\n")


def test_a_team_folder_with_its_own_training_package_gets_frescos(venv: Path, workdir: Path) -> None:
    _team_project_with_own_packages(workdir)
    env = _clean_env(venv)
    code = ("import json, fresco.training, fresco.dsl; from fresco.training import build_training_frame; "
            "print(json.dumps([fresco.training.__file__, fresco.dsl.__file__]))")
    out = _run([str(venv / "bin" / "python"), "-c", code], cwd=workdir, env=env)
    for path in json.loads(out.strip().splitlines()[-1]):
        assert Path(path).is_relative_to(venv / "lib"), path
    # the command, from the same folder, imports Fresco's packages too
    out = _run([str(venv / "bin" / "fresco"), "init", "shop", "--no-sample"], cwd=workdir, env=env)
    assert "Created project shop" in out
    out = _run([str(venv / "bin" / "fresco"), "train", "--help"], cwd=workdir, env=env)
    assert "CONFIG" in out


def test_packages_come_from_the_installed_wheel(venv: Path, workdir: Path) -> None:
    code = "import importlib, json; print(json.dumps({p: importlib.import_module(p).__file__ for p in %r}))"
    out = _run([str(venv / "bin" / "python"), "-c", code % (PACKAGES,)], cwd=workdir, env=_clean_env(venv))
    files = json.loads(out.strip().splitlines()[-1])
    site = venv / "lib"
    for package, path in files.items():
        assert Path(path).is_relative_to(site), f"{package} imported from {path}, not the new environment"


@pytest.fixture
def served(venv: Path, workdir: Path) -> Iterator[tuple[str, str, Path]]:
    """A project made by `fresco init`, applied, materialized, trained, and served."""
    env = _clean_env(venv)
    bin_ = venv / "bin"
    out = _run([str(bin_ / "fresco"), "init", "shop"], cwd=workdir, env=env)
    assert "Created project shop" in out
    project = workdir / "shop"
    _run([str(bin_ / "feast"), "apply"], cwd=project, env=env)
    out = _run([str(bin_ / "fresco"), "materialize"], cwd=project, env=env)
    assert "customer_stats: first run" in out and "200 entities offline" in out, out
    out = _run([str(bin_ / "fresco"), "train", "models/basket_value.yaml", "--tag", "basket_value:production"],
               cwd=project, env=env, timeout=900)
    uuid = next(line.split()[2] for line in out.splitlines() if line.startswith("model "))
    assert (project / ".fresco" / "models").is_dir(), "the model repository lives in the project"
    port = free_port()
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen([str(bin_ / "fresco"), "serve", "--port", str(port), "--preload",
                               "basket_value:production"], cwd=project, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, (workdir / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("fresco serve was not ready after 180 s:\n" + (workdir / "serve.log").read_text()[-3000:])
        yield url, uuid, project
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        log.close()


def test_init_apply_materialize_train_serve_predict(served: tuple[str, str, Path]) -> None:
    import httpx

    url, uuid, _ = served
    spec = httpx.get(url + "/docs.json", timeout=10).json()
    properties = spec["components"]["schemas"]["predict__Input"]["properties"]
    model, rows = properties["model"]["examples"][0], properties["rows"]["examples"][0]
    # the "try it" example is this project's model: its entity key and request fields
    assert model == "basket_value:production"
    assert set(rows[0]) == {"customer_id", "ordered_at", "channel"}
    answer = httpx.post(url + "/predict", json={"model": model, "rows": rows}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = httpx.post(url + "/predict", timeout=30, json={
        "model": "basket_value:production", "return_features": True,
        "rows": [{"customer_id": 7, "ordered_at": "2026-01-01T19:00:00Z", "channel": "app"}]}).json()
    (prediction,) = body["predictions"]
    assert prediction["model_uuid"] == uuid
    assert prediction["prediction"] > 0
    # served on the features materialized online, not on nulls
    assert all(v is not None for v in prediction["features"].values()), prediction
