"""Hyperparameter search: Bayesian (optuna TPE) and random, on small generated orders.

Each test trains for real (XGBoost, a few dozen trees) and reads back what the model
repository recorded: every trial, the chosen one, the stored model and its hyperparameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.training.helpers import write_request_config
from fresco.training import ConfigError, load_model, plan_training, train
from fresco.training.evaluation import compute_metrics
from fresco.training.pipeline import STARTUP_TRIALS, build_dataset

TRIALS = STARTUP_TRIALS + 3

SPACE = {
    "max_depth": {"type": "int", "low": 2, "high": 6},
    "learning_rate": {"type": "float", "low": 0.03, "high": 0.5, "log": True},
    "subsample": {"type": "categorical", "choices": [0.6, 0.8, 1.0]},
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    return tmp_path / "home"


def _config(folder: Path, *, task: str = "regression", method: str = "bayesian", seed: int = 7,
            space: dict[str, Any] | None = None, trials: int = TRIALS) -> Path:
    search = {"method": method, "trials": trials, "seed": seed, "space": space or SPACE}
    path = write_request_config(folder, model_type="xgboost", task=task, n=1200)
    data = yaml.safe_load(path.read_text())
    data["model"]["hyperparameters"] = {"n_estimators": 40, "early_stopping_rounds": 10}
    data["search"] = search
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _within(value: Any, space: dict[str, Any]) -> bool:
    if space["type"] == "categorical":
        return value in space["choices"]
    if space["type"] == "int" and not isinstance(value, int):
        return False
    return space["low"] <= value <= space["high"]


def _check_best_is_chosen(result, config_path: Path, primary: str, pick) -> dict[str, Any]:
    """The record's trials, chosen model, metrics and hyperparameters agree with the best trial."""
    record = result.record
    trials = record.trials
    assert [t["number"] for t in trials] == list(range(TRIALS))
    for t in trials:
        assert set(t["params"]) == set(SPACE)
        assert all(_within(t["params"][k], SPACE[k]) for k in SPACE), t["params"]
        assert set(t["metrics"]) >= set(record.config["evaluation"]["metrics"])
    assert len({tuple(sorted(t["params"].items())) for t in trials}) > 1  # it really searched
    best = pick(trials, key=lambda t: t["metrics"][primary])
    assert [t["best"] for t in trials] == [t["number"] == best["number"] for t in trials]
    assert record.metrics["validation"][primary] == pytest.approx(best["metrics"][primary], rel=1e-9)
    hyper = record.config["model"]["hyperparameters"]
    assert {k: hyper[k] for k in SPACE} == best["params"]
    assert hyper["n_estimators"] == 40  # the fixed hyperparameters stay as configured

    # the stored artifact is the best trial's model: it reproduces the trial's validation metric
    config = plan_training(config_path).config
    dataset = build_dataset(config, load_model(result.uuid).program)
    model = load_model(result.uuid)
    y_val = dataset.validation[config.data.label].to_numpy(dtype=float)
    again = compute_metrics(config.model.task, y_val, model.predict_frame(dataset.validation))
    assert again[primary] == pytest.approx(best["metrics"][primary], rel=1e-9)
    # and the held-out figure is that model's on the test split, which no trial was scored on
    y_test = dataset.test[config.data.label].to_numpy(dtype=float)
    on_test = compute_metrics(config.model.task, y_test, model.predict_frame(dataset.test))
    assert record.metrics["test"][primary] == pytest.approx(on_test[primary], rel=1e-9)
    assert all(t["split"] == "validation" for t in trials)
    return best


def test_bayesian_search_records_every_trial_and_keeps_the_lowest_error(tmp_path: Path, home: Path) -> None:
    path = _config(tmp_path / "reg")
    messages: list[str] = []
    result = train(path, progress=messages.append)
    assert result.record.config["search"]["method"] == "bayesian"
    _check_best_is_chosen(result, path, "rmse", min)
    trials = result.record.trials
    assert {t["sampler"] for t in trials} == {"TPESampler"}
    assert {t["direction"] for t in trials} == {"minimize"}
    assert [t["guided"] for t in trials] == [n >= STARTUP_TRIALS for n in range(TRIALS)]
    assert sum(m.startswith("trial ") for m in messages) == TRIALS
    assert any(m.startswith("[3/5] bayesian search") for m in messages)


def test_bayesian_search_maximises_auc_for_a_binary_model(tmp_path: Path, home: Path) -> None:
    path = _config(tmp_path / "bin", task="binary")
    result = train(path)
    assert result.record.config["evaluation"]["primary"] == "auc"
    best = _check_best_is_chosen(result, path, "auc", max)
    assert {t["direction"] for t in result.record.trials} == {"maximize"}
    # maximising: the chosen AUC is the highest, strictly above the worst trial's
    assert best["metrics"]["auc"] > min(t["metrics"]["auc"] for t in result.record.trials)


def test_bayesian_proposals_depend_on_the_results_random_ones_do_not(tmp_path: Path, home: Path) -> None:
    """With one seed, TPE's random start-up trials are the random sampler's; after them TPE
    proposes from its model of the results, so the two searches part ways."""
    bayes = train(_config(tmp_path / "b", method="bayesian", seed=3)).record.trials
    random = train(_config(tmp_path / "r", method="random", seed=3)).record.trials
    assert {t["sampler"] for t in random} == {"RandomSampler"} and not any(t["guided"] for t in random)
    startup = slice(0, STARTUP_TRIALS)
    assert [t["params"] for t in bayes[startup]] == [t["params"] for t in random[startup]]
    assert [t["params"] for t in bayes[STARTUP_TRIALS:]] != [t["params"] for t in random[STARTUP_TRIALS:]]
    # the same seed gives the same search again
    again = train(_config(tmp_path / "b2", method="bayesian", seed=3)).record.trials
    assert [t["params"] for t in again] == [t["params"] for t in bayes]


@pytest.mark.parametrize(
    ("space", "path", "message"),
    [
        ({"max_depth": {"type": "int", "low": 8, "high": 2}}, "search.space.max_depth", "'low' must be below 'high'"),
        ({"max_depth": {"type": "integer", "low": 2, "high": 8}}, "search.space.max_depth.type",
         "'int', 'float' or 'categorical'"),
        ({"max_depth": {"type": "int", "low": 2}}, "search.space.max_depth", "needs 'low' and 'high'"),
        ({"max_depth": {"type": "int", "low": 0, "high": 8}}, "search.space.max_depth.low",
         "greater than or equal to 1"),
        ({"max_depth": {"type": "int", "low": 2, "high": 2.5}}, "search.space.max_depth", "whole-number"),
        ({"max_depth": {"type": "float", "low": 2, "high": 8}}, "search.space.max_depth.type",
         "an integer hyperparameter: use type int"),
        ({"subsample": {"type": "categorical", "choices": [0.5, 1.5]}}, "search.space.subsample.choices",
         "1.5: Input should be less than or equal to 1"),
        ({"learning_rate": {"type": "float", "low": 0, "high": 0.3, "log": True}},
         "search.space.learning_rate", "a log range needs 'low' > 0"),
        ({"depth": {"type": "int", "low": 2, "high": 8}}, "search.space.depth", "not a xgboost hyperparameter"),
    ],
)
def test_a_bad_search_space_names_its_field(tmp_path: Path, space: dict[str, Any], path: str, message: str) -> None:
    config = _config(tmp_path, space=space)
    with pytest.raises(ConfigError) as err:
        plan_training(config)
    text = str(err.value)
    assert f"{config}: {path}: " in text and message in text, text


def test_a_bad_search_method_names_its_field(tmp_path: Path) -> None:
    config = _config(tmp_path, method="grid")
    with pytest.raises(ConfigError, match=r"search\.method: Input should be 'random' or 'bayesian'"):
        plan_training(config)
