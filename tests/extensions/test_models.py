"""Models trained with extensions: the artifact names them; serving refuses clearly without them.

Three models are trained for real (small generated orders, request fields only, so no feature
store data is needed), each with the extension on ``sys.path`` as an installed distribution:

* ``functions``: a user DSL function from the ``fresco.dsl_functions`` entry point of eta-ext;
* ``trainer``: model type ``least_squares``, the ``fresco.trainers`` entry point of ls-ext;
* ``modules``: a function from a module the config names (``features.functions``) and the
  trainer ``cfg_ext.trainer:TRAINER`` (a module path), both of cfg-ext (no entry points).

Serving is a :class:`serving.Predictor` in a fresh process whose ``PYTHONPATH`` holds the
worktree and, or not, the extensions' folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from fresco.dsl.registry import FUNCTIONS_GROUP
from tests.conftest import copy_feature_repo, environment_restored
from tests.extensions.distributions import (
    FUNCTIONS_SOURCE,
    FUNCTIONS_SOURCE_V2,
    TRAINER_SOURCE,
    write_distribution,
)
from tests.training.helpers import write_request_config
from fresco.training import ModelRepository, train
from fresco.training.trainers import TRAINERS_GROUP

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_PROGRAM = """\
    hour   = hour_of_day(@req.placed_at)
    miles  = km_to_miles(@req.distance_km)
    items2 = items_squared(@req.num_items)"""
ROWS = [{"placed_at": "2026-10-03T12:30:00+00:00", "distance_km": 3.0, "num_items": 2},
        {"placed_at": "2026-10-03T16:00:00+00:00", "distance_km": 7.5, "num_items": 4}]


def _config(folder: Path, model_type: str, program: str | None = None, extra: str = "") -> Path:
    path = write_request_config(folder, model_type=model_type, n=600, extra=extra)
    if program is not None:
        text = path.read_text()
        head, _, _ = text.partition("  program: |\n")
        path.write_text(f"{head}  program: |\n{textwrap.indent(textwrap.dedent(program), '    ')}\n{extra}")
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("extensions")
    sites = {
        "eta": write_distribution(root / "eta", "eta-ext", "0.1",
                                  {"eta_ext/__init__.py": "", "eta_ext/funcs.py": FUNCTIONS_SOURCE},
                                  {FUNCTIONS_GROUP: {"eta": "eta_ext.funcs:register"}}),
        "ls": write_distribution(root / "ls", "ls-ext", "0.3",
                                 {"ls_ext/__init__.py": "", "ls_ext/trainer.py": TRAINER_SOURCE},
                                 {TRAINERS_GROUP: {"least_squares": "ls_ext.trainer:TRAINER"}}),
        "cfg": write_distribution(root / "cfg", "cfg-ext", "1.0",
                                  {"cfg_ext/__init__.py": "", "cfg_ext/funcs.py": FUNCTIONS_SOURCE,
                                   "cfg_ext/trainer.py": TRAINER_SOURCE}, {}),
    }
    eta_v2 = write_distribution(root / "eta2", "eta-ext", "0.2",
                                {"eta_ext/__init__.py": "", "eta_ext/funcs.py": FUNCTIONS_SOURCE_V2},
                                {FUNCTIONS_GROUP: {"eta": "eta_ext.funcs:register"}})
    saved_path = list(sys.path)
    configs = {
        "functions": _config(root / "functions", "linear", FUNCTION_PROGRAM),
        "trainer": _config(root / "trainer", "least_squares"),
        "modules": _config(root / "modules", "cfg_ext.trainer:TRAINER", FUNCTION_PROGRAM,
                           "  functions: [cfg_ext.funcs]\n"),
    }
    # eta-ext's entry point and cfg-ext's module both define km_to_miles: one at a time
    paths = {"functions": ("eta", "ls"), "trainer": ("eta", "ls"), "modules": ("ls", "cfg")}
    # the models' BentoML store where the serving process (no BENTOML_HOME) will look for them
    with environment_restored("FRESCO_HOME", "BENTOML_HOME"):
        os.environ["FRESCO_HOME"] = str(root / "home")
        os.environ["BENTOML_HOME"] = str(root / "home" / "bentoml")
        try:
            repo = ModelRepository()
            uuids = {}
            for name, path in configs.items():
                sys.path[:] = [*(str(sites[s]) for s in paths[name]), *saved_path]
                uuids[name] = train(path, repository=repo, reports_dir=root / "reports").uuid
            yield {"uuids": uuids, "sites": sites, "eta_v2": eta_v2, "home": root / "home",
                   "repository": repo, "feature_repo": copy_feature_repo(root / "feature_repo")}
        finally:
            sys.path[:] = saved_path
            for mod in [m for m in sys.modules if m.split(".")[0] in ("eta_ext", "ls_ext", "cfg_ext")]:
                del sys.modules[mod]


def _serve(models: dict, extra_path: list[Path]) -> subprocess.Popen:
    """Start a new process that predicts ``ROWS`` with every model and prints, per model, the
    predictions or the serving error (status, kind, message)."""
    code = textwrap.dedent(f"""
        import json
        from pathlib import Path
        from fresco.platform import open_store
        from fresco.serving import Predictor
        from fresco.serving.errors import ServingError
        from fresco.training import ModelRepository

        predictor = Predictor(open_store(Path({str(models["feature_repo"])!r})), ModelRepository())
        out = {{}}
        for name, uuid in {models["uuids"]!r}.items():
            try:
                out[name] = {{"predictions": predictor.predict(uuid, {ROWS!r}).predictions}}
            except ServingError as exc:
                out[name] = {{"status": exc.status, "kind": exc.kind, "message": exc.message}}
        print(json.dumps(out))
    """)
    env = {**os.environ, "FRESCO_HOME": str(models["home"]),
           "PYTHONPATH": os.pathsep.join([str(ROOT), *map(str, extra_path)])}
    env.pop("BENTOML_HOME", None)
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def served(models: dict) -> dict[str, dict[str, dict]]:
    """The answers of three serving processes, run at once: ``without`` the extensions on
    their path, ``with`` all of them, and with eta-ext 0.2 (``changed``) instead of 0.1."""
    sites = models["sites"]
    procs = {"without": _serve(models, []), "with": _serve(models, list(sites.values())),
             "changed": _serve(models, [models["eta_v2"], sites["ls"], sites["cfg"]])}
    answers = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        answers[name] = json.loads(out.strip().splitlines()[-1])
    return answers


def test_the_artifact_names_the_extensions_it_needs(models: dict) -> None:
    repo: ModelRepository = models["repository"]
    uuids = models["uuids"]
    functions = repo.get(uuids["functions"]).extensions
    assert functions == {"functions": {
        "items_squared": {"args": ["int"], "returns": "float", "provider": {
            "module": "eta_ext.funcs:register", "entry_point": "eta", "group": "fresco.dsl_functions",
            "distribution": "eta-ext", "version": "0.1"}},
        "km_to_miles": {"args": ["float"], "returns": "float", "provider": {
            "module": "eta_ext.funcs:register", "entry_point": "eta", "group": "fresco.dsl_functions",
            "distribution": "eta-ext", "version": "0.1"}}}}
    trainer = repo.get(uuids["trainer"])
    assert trainer.model_type == "least_squares"
    assert trainer.extensions == {"functions": {}, "trainer": {"type": "least_squares", "provider": {
        "module": "ls_ext.trainer:TRAINER", "entry_point": "least_squares", "group": "fresco.trainers",
        "distribution": "ls-ext", "version": "0.3"}}}
    modules = repo.get(uuids["modules"]).extensions
    assert modules["trainer"]["provider"] == {"module": "cfg_ext.trainer:TRAINER", "entry_point": None,
                                              "group": None, "distribution": "cfg-ext", "version": "1.0"}
    assert {f["provider"]["module"] for f in modules["functions"].values()} == {"cfg_ext.funcs:register"}
    for uuid in uuids.values():  # the artifact folder alone (a Bento) says the same
        meta = json.loads((repo.artifact_path(uuid) / "fresco.json").read_text())
        assert meta["extensions"] == repo.get(uuid).extensions


def test_serving_without_the_extensions_refuses_naming_what_to_install(served: dict) -> None:
    got = served["without"]
    assert {r.get("status") for r in got.values()} == {503}
    assert {r.get("kind") for r in got.values()} == {"extension_unavailable"}
    assert "DSL function items_squared(int) -> float from entry point 'eta'" in got["functions"]["message"]
    assert "install eta-ext==0.1 where the model is loaded" in got["functions"]["message"]
    assert got["trainer"]["message"].endswith(
        "the model was trained with trainer 'least_squares' from entry point 'least_squares' (group "
        "fresco.trainers, ls_ext.trainer:TRAINER) of ls-ext 0.3, and it is not installed here; "
        "install ls-ext==0.3 where the model is loaded")
    assert "from module cfg_ext.funcs:register of cfg-ext 1.0, which is not installed here: " \
           "install cfg-ext==1.0" in got["modules"]["message"]


def test_serving_with_the_extensions_predicts_as_in_training(models: dict, served: dict) -> None:
    from fresco.serving import Predictor

    got = served["with"]
    sys.path[:0] = [str(p) for p in models["sites"].values()]
    try:
        here = Predictor(__import__("importlib").import_module("fresco.platform").open_store(models["feature_repo"]), models["repository"])
        want = {name: here.predict(uuid, ROWS).predictions for name, uuid in models["uuids"].items()}
    finally:
        for p in models["sites"].values():
            sys.path.remove(str(p))
    assert got == {name: {"predictions": p} for name, p in want.items()}
    assert all(5 < p < 80 for ps in want.values() for p in ps)  # minutes, as the label


def test_serving_with_another_signature_of_a_function_refuses(served: dict) -> None:
    got = served["changed"]
    assert "predictions" in got["trainer"] and "predictions" in got["modules"]
    assert got["functions"]["status"] == 503
    assert got["functions"]["message"].endswith(
        "DSL function km_to_miles is km_to_miles(float, float) -> float here (entry point 'eta' (group "
        "fresco.dsl_functions, eta_ext.funcs:register) of eta-ext 0.2), but the model was trained with "
        "km_to_miles(float) -> float (entry point 'eta' (group fresco.dsl_functions, "
        "eta_ext.funcs:register) of eta-ext 0.1): install eta-ext==0.1 where the model is loaded")
