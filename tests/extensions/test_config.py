"""Config validation names the extension that breaks it, under the config field it concerns."""

from __future__ import annotations

from pathlib import Path

import pytest

from fresco.dsl.registry import FUNCTIONS_GROUP
from tests.extensions.distributions import TRAINER_SOURCE
from tests.training.helpers import write_request_config
from fresco.training import ConfigError, plan_training
from fresco.training.trainers import TRAINERS_GROUP


def test_a_broken_function_entry_point_fails_the_config_under_features_functions(
        installed, tmp_path: Path) -> None:
    config = write_request_config(tmp_path / "cfg", n=50)
    installed("bad-ext", "1.2", {"bad_ext.py": "raise ImportError('numpy 3 is required')"},
              {FUNCTIONS_GROUP: {"broken": "bad_ext:register"}})
    with pytest.raises(ConfigError, match=r"features\.functions: cannot load user functions from entry "
                                          r"point 'broken' \(group fresco.dsl_functions, bad_ext:register\) "
                                          r"of bad-ext 1\.2: ImportError: numpy 3 is required"):
        plan_training(config)


def test_function_modules_are_checked(tmp_path: Path) -> None:
    config = write_request_config(tmp_path / "cfg", n=50)
    with pytest.raises(ConfigError, match=r"features\.functions: .*'package\.module'.*\['my-funcs'\]"):
        plan_training(config, overrides={"features.functions": ["my-funcs"]})
    with pytest.raises(ConfigError, match=r"features\.functions: cannot load user functions from module "
                                          r"'absent_mod:register': ModuleNotFoundError"):
        plan_training(config, overrides={"features.functions": ["absent_mod"]})


def test_custom_model_types_are_validated_like_built_ins(installed, tmp_path: Path) -> None:
    config = write_request_config(tmp_path / "cfg", n=50)
    installed("ls-ext", "0.3", {"ls_ext/__init__.py": "", "ls_ext/trainer.py": TRAINER_SOURCE},
              {TRAINERS_GROUP: {"least_squares": "ls_ext.trainer:TRAINER"}})
    for model_type in ("least_squares", "ls_ext.trainer:TRAINER"):
        loaded = plan_training(config, overrides={"model.type": model_type}).config
        assert loaded.model.hyperparameters == {"ridge": 0.0}  # the trainer's Params, with defaults
        with pytest.raises(ConfigError, match=r"model\.hyperparameters\.ridge: Input should be greater"):
            plan_training(config, overrides={"model.type": model_type, "model.hyperparameters.ridge": -1})
        with pytest.raises(ConfigError, match=rf"model\.task: {model_type} does not support 'binary'"):
            plan_training(config, overrides={"model.type": model_type, "model.task": "binary",
                                             "data.label": "late"})
    with pytest.raises(ConfigError, match=r"model\.type: cannot load a trainer from module "
                                          r"'ls_ext\.nothing:TRAINER': ModuleNotFoundError"):
        plan_training(config, overrides={"model.type": "ls_ext.nothing:TRAINER"})
