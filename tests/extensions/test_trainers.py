"""Trainers from entry points (``fresco.trainers``) and from ``model.type: package.module:attr``."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fresco.dsl import ExtensionError
from tests.extensions.distributions import TRAINER_SOURCE
from fresco.training.trainers import (
    TRAINERS_GROUP,
    Trainer,
    get_trainer,
    resolve_trainer,
    trainer_for,
    trainer_manifest,
    trainer_names,
)

MODULES = {"ls_ext/__init__.py": "", "ls_ext/trainer.py": TRAINER_SOURCE}


def test_an_entry_point_trainer_is_a_model_type(installed) -> None:
    installed("ls-ext", "0.3", MODULES, {TRAINERS_GROUP: {"least_squares": "ls_ext.trainer:TRAINER"}})
    assert "least_squares" in trainer_names() and "linear" in trainer_names()
    trainer, provider = resolve_trainer("least_squares")
    assert isinstance(trainer, Trainer) and get_trainer("least_squares") is trainer
    assert (provider.entry_point, provider.distribution, provider.version, provider.module) == (
        "least_squares", "ls-ext", "0.3", "ls_ext.trainer:TRAINER")
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = trainer.fit(X, 2 * X[:, 0] + 1, X, 2 * X[:, 0] + 1, {}, task="regression", feature_names=["x"])
    assert trainer.predict(model, np.array([[10.0]]))[0] == pytest.approx(21.0)
    assert resolve_trainer("linear")[1] is None  # built-ins have no provider


def test_a_module_path_is_a_model_type(installed) -> None:
    installed("ls-ext", "0.3", MODULES, {})
    assert "least_squares" not in trainer_names()
    trainer, provider = resolve_trainer("ls_ext.trainer:TRAINER")
    assert type(trainer).__name__ == "LeastSquaresTrainer"
    assert provider.entry_point is None and provider.distribution == "ls-ext"
    with pytest.raises(ExtensionError, match=r"cannot load a trainer from module 'ls_ext.trainer:NOPE': "
                                             r"AttributeError"):
        resolve_trainer("ls_ext.trainer:NOPE")


def test_an_unknown_type_names_the_installed_ones(installed) -> None:
    installed("ls-ext", "0.3", MODULES, {TRAINERS_GROUP: {"least_squares": "ls_ext.trainer:TRAINER"}})
    with pytest.raises(KeyError, match=r"unknown model type 'forest'; known: \['keras', 'least_squares', "
                                       r"'lightgbm', 'linear', 'xgboost'\]"):
        resolve_trainer("forest")


@pytest.mark.parametrize("source, text", [
    ("raise ImportError('needs torch')", "ImportError: needs torch"),
    ("TRAINER = object()", "loads object, not a fresco.training.trainers.Trainer instance"),
])
def test_a_broken_trainer_entry_point_is_named(installed, source: str, text: str) -> None:
    installed("bad-trainer", "0.9", {"bad_trainer.py": source},
              {TRAINERS_GROUP: {"shaky": "bad_trainer:TRAINER"}})
    with pytest.raises(ExtensionError) as err:
        resolve_trainer("shaky")
    message = str(err.value)
    assert "entry point 'shaky'" in message and "bad-trainer 0.9" in message
    assert "bad_trainer:TRAINER" in message and text in message
    assert get_trainer("linear").name == "linear"  # other types are unaffected


def test_a_trainer_shadowing_a_built_in_is_refused(installed) -> None:
    installed("ls-ext", "0.3", MODULES, {TRAINERS_GROUP: {"xgboost": "ls_ext.trainer:TRAINER"}})
    with pytest.raises(ExtensionError, match=r"entry point 'xgboost' .* of ls-ext 0\.3 is named like the "
                                             r"built-in trainer 'xgboost'"):
        resolve_trainer("xgboost")


def test_two_distributions_giving_one_trainer_are_refused(installed) -> None:
    installed("ls-ext", "0.3", MODULES, {TRAINERS_GROUP: {"least_squares": "ls_ext.trainer:TRAINER"}})
    installed("ls-fork", "1.0", {"ls_fork.py": TRAINER_SOURCE},
              {TRAINERS_GROUP: {"least_squares": "ls_fork:TRAINER"}})
    with pytest.raises(ExtensionError,
                       match="model type 'least_squares' is provided by 2 entry points") as err:
        resolve_trainer("least_squares")
    assert "ls-ext 0.3" in str(err.value) and "ls-fork 1.0" in str(err.value)


def test_a_stored_model_s_missing_trainer_names_its_package(installed) -> None:
    root = installed("ls-ext", "0.3", MODULES, {})
    recorded = trainer_manifest("ls_ext.trainer:TRAINER", resolve_trainer("ls_ext.trainer:TRAINER")[1])
    assert trainer_for("ls_ext.trainer:TRAINER", recorded) is resolve_trainer("ls_ext.trainer:TRAINER")[0]
    sys.path.remove(str(root))
    for mod in [m for m in sys.modules if m.startswith("ls_ext")]:
        del sys.modules[mod]
    with pytest.raises(ExtensionError) as err:
        trainer_for("ls_ext.trainer:TRAINER", recorded)
    assert str(err.value) == (
        "the model was trained with trainer 'ls_ext.trainer:TRAINER' from module "
        "ls_ext.trainer:TRAINER of ls-ext 0.3, and it cannot be loaded here: cannot load a trainer "
        "from module 'ls_ext.trainer:TRAINER': ModuleNotFoundError: No module named 'ls_ext'; "
        "install ls-ext==0.3 where the model is loaded")
    assert trainer_manifest("linear", resolve_trainer("linear")[1]) is None and trainer_for("linear", None).name == "linear"
