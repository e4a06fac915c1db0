"""The model repository survives restarts, concurrent trainings and concurrent tag moves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.training.helpers import synthetic_orders, write_request_config
from fresco.training import ModelRepository, RepositoryError, compare_models, load_model, train

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return out


def test_two_concurrent_trainings_lose_nothing_and_survive_a_restart(home: Path, tmp_path: Path) -> None:
    config = write_request_config(tmp_path / "cfg", model_type="linear")
    env = {**os.environ, "FRESCO_HOME": str(home)}
    code = f"""
        from fresco.training import train
        r = train({str(config)!r}, overrides={{"model.hyperparameters.alpha": ALPHA}})
        print(r.uuid)
    """
    procs = [_python(code.replace("ALPHA", str(a)), {**env, "FRESCO_USER": f"user{a}"}) for a in (1, 2)]
    uuids = sorted(_finish(p).strip().splitlines()[-1] for p in procs)

    # a new process (a restart) sees both records, tags them and loads both models from BentoML
    out = _finish(_python("""
        import json
        from fresco.training import ModelRepository, load_model
        repo = ModelRepository()
        recs = repo.list()
        for r in recs:
            repo.tag("eta_test:" + r.author, r.uuid)
        print(json.dumps({r.uuid: [r.author, r.config["model"]["hyperparameters"]["alpha"],
                                   load_model(r.uuid).inputs] for r in recs}))
    """, env))
    seen = json.loads(out.strip().splitlines()[-1])
    assert sorted(seen) == uuids
    assert sorted((a, alpha) for a, alpha, _ in seen.values()) == [("user1", 1.0), ("user2", 2.0)]
    assert all(inputs == ["hour", "rush", "distance", "items", "dist_z"] for *_, inputs in seen.values())

    repo = ModelRepository()  # and this process, opened afterwards, sees the tags
    assert {repo.resolve("eta_test:user1"), repo.resolve("eta_test:user2")} == set(uuids)


def test_moving_a_tag_is_atomic_and_recorded(home: Path, tmp_path: Path) -> None:
    config = write_request_config(tmp_path / "cfg", model_type="linear", n=400)
    a, b = (train(config).uuid for _ in range(2))
    env = {**os.environ, "FRESCO_HOME": str(home)}
    mover = """
        from fresco.training import ModelRepository
        repo = ModelRepository()
        for i in range(40):
            repo.tag("eta_test:production", "{first}" if i % 2 else "{second}", by="{who}")
    """
    procs = [_python(mover.format(first=a, second=b, who="p1"), env),
             _python(mover.format(first=b, second=a, who="p2"), env)]
    for p in procs:
        _finish(p)
    repo = ModelRepository()
    history = repo.tag_history("eta_test:production")
    assert len(history) == 80
    # each move saw the previous one: the history is one unbroken chain
    assert history[0].old_uuid is None
    for before, after in zip(history, history[1:]):
        assert after.old_uuid == before.new_uuid
    assert repo.tags()["eta_test:production"] == history[-1].new_uuid
    assert {m.moved_by for m in history} == {"p1", "p2"}

    # the change counter moves when another process commits, and only then
    counter = repo.change_counter()
    seen = counter()
    assert counter() == seen and repo.tags() and counter() == seen  # reads change nothing
    _finish(_python(mover.format(first=a, second=b, who="p3").replace("range(40)", "range(1)"), env))
    assert counter() != seen


def test_records_hold_what_was_trained_and_compare_side_by_side(home: Path, tmp_path: Path) -> None:
    config = write_request_config(tmp_path / "cfg", model_type="xgboost", n=800)
    one = train(config, overrides={"model.hyperparameters.max_depth": 2, "model.hyperparameters.n_estimators": 40})
    two = train(config, overrides={"model.hyperparameters.max_depth": 4, "model.hyperparameters.n_estimators": 40})
    repo = ModelRepository()
    rec = repo.get(one.uuid[:8])  # a UUID prefix is enough
    assert rec.uuid == one.uuid and rec.bento_tag == f"eta_test:{one.uuid.replace('-', '')}"
    assert rec.started_at < rec.finished_at and rec.author
    assert rec.config["model"]["hyperparameters"]["max_depth"] == 2
    assert rec.dataset["rows"] == 800 and len(rec.dataset["content_hash"]) == 64
    assert rec.dataset["split"]["method"] == "time"
    assert list(rec.metrics) == ["test", "validation", "train"]
    assert set(rec.metrics["test"]) == set(rec.metrics["validation"]) == {"rmse", "mae", "r2", "rmsle"}
    assert rec.learnt_parameters["trees"] >= 1
    assert json.loads(rec.program)["fitted"], "the fitted DSL program is stored"
    assert Path(rec.report_html).exists() and Path(rec.report_json).exists()

    table = compare_models([repo.get(one.uuid), repo.get(two.uuid)])
    assert table["config.model.hyperparameters.max_depth"] == {one.uuid: 2, two.uuid: 4}
    assert set(table["metrics.validation.rmse"]) == set(table["metrics.test.rmse"]) == {one.uuid, two.uuid}
    assert table["baseline.test.rmse"][one.uuid] == rec.baseline["test"]["rmse"]
    assert table["dataset.content_hash"][one.uuid] == table["dataset.content_hash"][two.uuid]

    with pytest.raises(RepositoryError, match="no model or tag 'nope:production'"):
        repo.get("nope:production")
    with pytest.raises(RepositoryError):
        repo.tag("eta_test:production", "not-a-model")
    assert repo.tags() == {}, "a refused move changes nothing"


def test_the_stored_program_gives_the_training_features(home: Path, tmp_path: Path) -> None:
    config = write_request_config(tmp_path / "cfg", model_type="lightgbm", n=900)
    result = train(config, overrides={"model.hyperparameters.n_estimators": 30})
    model = load_model(result.uuid)
    assert model.model_type == "lightgbm" and model.label == "minutes"
    assert model.program.is_fitted

    # the same rows through the program fitted at training and the program loaded from the store
    from fresco.training import plan_training
    from fresco.training import features as feats

    orders = synthetic_orders(900)
    cutoffs = {k: pd.Timestamp(v) for k, v in result.record.dataset["split"]["cutoffs"].items()}
    train_rows = orders[orders["placed_at"] < cutoffs["validation"]]
    refitted = feats.fit_program(plan_training(config).program, train_rows)
    expected = feats.to_matrix(feats.apply_program(refitted, orders), model.inputs)
    np.testing.assert_array_equal(model.features(orders), expected)
    assert json.loads(model.program_json)["fitted"] == json.loads(refitted.to_json())["fitted"]
    # and per request, through the DSL's row evaluator, the same values
    row = orders.iloc[5].to_dict()
    one = model.program.evaluate(row)
    assert [float(one[n]) for n in model.inputs] == pytest.approx(expected[5].tolist())

    # predictions from the loaded model equal the recorded validation and test metrics
    from fresco.training.metrics import regression_metrics

    at = orders["placed_at"]
    for split, rows in (("validation", orders[(at >= cutoffs["validation"]) & (at < cutoffs["test"])]),
                        ("test", orders[at >= cutoffs["test"]])):
        got = regression_metrics(rows["minutes"].to_numpy(), model.predict_frame(rows))
        assert got["rmse"] == pytest.approx(result.record.metrics[split]["rmse"], rel=1e-6)


def test_experiments_are_recorded_validated_and_survive_a_restart(home: Path, tmp_path: Path) -> None:
    config = write_request_config(tmp_path / "cfg", model_type="linear", n=400)
    a, b = (train(config).uuid for _ in range(2))
    repo = ModelRepository()
    repo.tag("eta_test:challenger", b)

    started = repo.set_experiment("eta-ab", "eta_test:production", {a: 3, "eta_test:challenger": 1},
                                  key=["order_id"], by="ana")
    assert started.action == "start"
    changed = repo.set_experiment("eta-ab", "eta_test:production", {a: 1, "eta_test:challenger": 1}, by="ben")
    assert changed.action == "change"

    # Refused, and nothing stored: an arm naming no model, a weight that is not positive, a
    # second experiment on the same tag, an arm that is the split tag itself.
    for name, arms, match in [
        ("eta-ab", {a: 1, "eta_test:nowhere": 1}, "eta_test:nowhere"),
        ("eta-ab", {a: 0}, "positive"),
        ("other", {a: 1}, "already split by experiment 'eta-ab'"),
        ("eta-ab", {"eta_test:production": 1}, "cannot be that tag"),
    ]:
        with pytest.raises(RepositoryError, match=match):
            repo.set_experiment(name, "eta_test:production", arms)

    restarted = ModelRepository()  # a new process would open the same database
    [running] = restarted.experiments()
    assert (running.name, running.tag, running.arms, running.key) == (
        "eta-ab", "eta_test:production", {a: 1.0, "eta_test:challenger": 1.0}, ["order_id"])
    assert running.changed_by == "ben"

    restarted.stop_experiment("eta-ab", by="cy")
    assert restarted.experiments() == []
    with pytest.raises(RepositoryError, match="no running experiment"):
        restarted.stop_experiment("eta-ab")
    history = restarted.experiment_history("eta-ab")
    assert [(h.action, h.changed_by) for h in history] == [("start", "ana"), ("change", "ben"), ("stop", "cy")]
    assert history[0].arms == {a: 3.0, "eta_test:challenger": 1.0} and history[0].key == ["order_id"]


def test_a_portable_model_predicts_without_its_folder_and_ships_without_the_trainer(
        home: Path, tmp_path: Path) -> None:
    """What a Spark driver ships to its tasks: read without importing the trainer's library, and
    loaded where it predicts from its own bytes (the artifact folder need not be there), with the
    stored model's predictions."""
    import pickle

    config = write_request_config(tmp_path / "cfg", model_type="xgboost", n=600)
    uuid = train(config, overrides={"model.hyperparameters.n_estimators": 20}).uuid
    stored = load_model(uuid)
    matrix = stored.features(synthetic_orders(600))
    shipped = tmp_path / "shipped.pickle"
    _finish(_python(f"""
        import pickle, sys
        from fresco.training import portable_model
        model = portable_model({uuid!r})
        assert model.program.feature_refs == [] and model.inputs, model.inputs
        assert "xgboost" not in sys.modules, "the driver imported the trainer's library"
        open({str(shipped)!r}, "wb").write(pickle.dumps(model))
    """, env={**os.environ, "FRESCO_HOME": str(home)}))

    stored.path.rename(tmp_path / "moved")  # the model's folder is not where the task runs
    model = pickle.loads(shipped.read_bytes())
    assert "reference.parquet" not in model.files and model.inputs == stored.inputs
    np.testing.assert_array_equal(model.predict(matrix), stored.predict(matrix))
