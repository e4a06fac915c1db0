"""Configs are validated before any work starts; every error names its file and field."""

from __future__ import annotations

from pathlib import Path

import subprocess
import sys

import pytest
import yaml

from tests.training.helpers import write_request_config
from fresco.training import ConfigError, plan_training, train


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return write_request_config(tmp_path, model_type="xgboost")


def _edit(path: Path, change) -> Path:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_valid_config_gets_defaults_and_absolute_paths(config_path: Path) -> None:
    config = plan_training(config_path).config
    assert config.data.source.parquet == config_path.parent / "orders.parquet"
    assert config.split.method == "time" and config.split.validation_fraction == 0.2
    assert config.split.test_fraction == 0.2
    assert config.evaluation.primary == "rmse" and config.evaluation.metrics == ["rmse", "mae", "r2", "rmsle"]
    assert config.model.hyperparameters["max_depth"] == 6  # the trainer's defaults are filled in


@pytest.mark.parametrize(
    "change, field, text",
    [
        (lambda d: d["model"].setdefault("hyperparameters", {}).update(max_depth="deep"), "model.hyperparameters.max_depth", "integer"),
        (lambda d: d["model"].setdefault("hyperparameters", {}).update(max_dept=3), "model.hyperparameters.max_dept", "Extra inputs"),
        (lambda d: d["model"].update(type="random_forest"), "model.type", "unknown model type 'random_forest'"),
        (lambda d: d["data"].pop("label"), "data.label", "Field required"),
        (lambda d: d["data"]["source"].update(parquet="nope.parquet"), "data.source.parquet", "file not found"),
        (lambda d: d.update(split={"validation_fraction": 1.5}), "split.validation_fraction", "less than 1"),
        (lambda d: d.update(split={"test_fraction": 0}), "split.test_fraction", "greater than 0"),
        (lambda d: d.update(split={"validation_fraction": 0.5, "test_fraction": 0.5}), "split.test_fraction",
         "validation_fraction + test_fraction is 1: it must be below 1"),
        (lambda d: d.update(split={"validation_fraction": 0.7, "test_fraction": 0.4}), "split.test_fraction",
         "no rows left to train on"),
        (lambda d: d.update(search={"trials": 3, "space": {"depth": {"type": "int", "low": 2, "high": 8}}}),
         "search.space.depth", "not a xgboost hyperparameter"),
        (lambda d: d.update(search={"space": {"max_depth": {"type": "int", "low": 8, "high": 2}}}),
         "search.space.max_depth", "'low' must be below 'high'"),
        (lambda d: d.update(evaluation={"primary": "auc"}), "", "evaluation.primary: 'auc' is not a regression metric"),
        (lambda d: d["features"].update(program="x = hour_of_day(@req.placed_at) +"), "features.program", "line 1"),
        (lambda d: d["features"].update(inputs=["hour", "speed"]), "features.inputs", "['speed'] are not outputs"),
        (lambda d: (d["model"].update(type="lightgbm", hyperparameters={}), d.update(resources={"engine": "spark"})),
         "resources.engine", "model.type lightgbm with resources.engine spark: LightGBM has no Spark trainer"),
        (lambda d: (d["model"].update(type="keras", hyperparameters={}), d.update(resources={"engine": "spark"})),
         "resources.engine", "model.type keras with resources.engine spark: Keras trains in one process"),
        (lambda d: d.update(resources={"engine": "spark", "spark_master": ""}), "resources.spark_master",
         "at least 1 character"),
    ],
)
def test_an_error_names_the_file_and_field(config_path: Path, change, field: str, text: str) -> None:
    _edit(config_path, change)
    with pytest.raises(ConfigError) as err:
        plan_training(config_path)
    message = str(err.value)
    assert str(config_path) in message
    assert f": {field}: " in message if field else True
    assert text in message


def test_a_bad_config_fails_before_any_work(config_path: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    _edit(config_path, lambda d: d["model"].setdefault("hyperparameters", {}).update(learning_rate=-1))
    with pytest.raises(ConfigError, match=r"model\.hyperparameters\.learning_rate: Input should be greater than 0"):
        train(config_path)
    assert not (tmp_path / "home" / "models").exists() and not (tmp_path / "home" / "reports").exists()


def test_overrides_are_validated_too(config_path: Path) -> None:
    config = plan_training(config_path, overrides={"model.hyperparameters.max_depth": 3}).config
    assert config.model.hyperparameters["max_depth"] == 3
    with pytest.raises(ConfigError, match="model.hyperparameters.max_depth"):
        plan_training(config_path, overrides={"model.hyperparameters.max_depth": 0})


def test_the_schema_alone_imports_no_feast_dsl_or_trainer(config_path: Path) -> None:
    """``load_config`` is the schema: reading a config opens no store and loads no trainer."""
    code = ("import sys; from fresco.training import load_config; c = load_config(sys.argv[1]); "
            "print(c.model.type, sorted(m for m in ('feast', 'fresco.dsl', 'xgboost', 'pyspark', "
            "'fresco.training.trainers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(config_path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["xgboost", "[]"], out.stdout + out.stderr


def test_a_run_checks_the_config_once_and_runs_what_was_checked(config_path: Path, tmp_path: Path,
                                                                 monkeypatch) -> None:
    """The program is compiled and the trainer resolved once per run: the plan is what runs."""
    import fresco.training.features as feats
    import fresco.training.trainers as trainers

    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    calls = {"compile": 0, "resolve": 0}
    compile_features, resolve_trainer = feats.compile_features, trainers.resolve_trainer

    def counting_compile(*args, **kwargs):
        calls["compile"] += 1
        return compile_features(*args, **kwargs)

    def counting_resolve(*args, **kwargs):
        calls["resolve"] += 1
        return resolve_trainer(*args, **kwargs)

    monkeypatch.setattr(feats, "compile_features", counting_compile)
    monkeypatch.setattr(trainers, "resolve_trainer", counting_resolve)
    plan = plan_training(config_path)
    assert plan.trainer.name == "xgboost" and plan.trainer_extension is None and plan.store is None
    result = train(plan)
    assert calls == {"compile": 1, "resolve": 1}
    assert result.record.program and result.record.config["model"]["hyperparameters"]["max_depth"] == 6


def test_entity_rows_may_be_a_folder_of_parquet_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a Spark job writes them: the folder's rows train the model the single file trains."""
    import pandas as pd

    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    config = write_request_config(tmp_path / "cfg", model_type="linear", n=900)
    orders = pd.read_parquet(config.parent / "orders.parquet")
    folder = tmp_path / "orders"
    folder.mkdir()
    orders.iloc[:400].to_parquet(folder / "part-00000.parquet", index=False)
    orders.iloc[400:].to_parquet(folder / "part-00001.parquet", index=False)

    from_file = train(config)
    from_folder = train(config, overrides={"data.source.parquet": str(folder)})
    counts = ("rows", "train_rows", "validation_rows", "test_rows")
    assert [from_folder.record.dataset[k] for k in counts] == [from_file.record.dataset[k] for k in counts]
    assert from_folder.record.dataset["content_hash"] == from_file.record.dataset["content_hash"]
    assert from_folder.record.metrics["test"] == from_file.record.metrics["test"]
