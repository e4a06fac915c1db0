"""Honest evaluation: train / validation / test, and the test split seen once, by the final model.

Early stopping, Keras's best-weight restore and the search see train and validation only; the
headline metrics (record, report, CLI) are the test split's, computed once the model is final.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from fresco.cli import main
from tests.training.helpers import RecordingTrainer, row_keys, synthetic_orders, write_request_config
from fresco.training import ModelRepository, build_dataset, load_config, load_model, plan_training, train
from fresco.training import trainers
from fresco.training.metrics import compute_metrics
from fresco.training.trainers import resolve_trainer


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    return tmp_path / "home"


def _config(folder: Path, *, model_type: str = "xgboost", n: int = 1500, **sections: Any) -> Path:
    """A request-fields config (no feature store), with ``sections`` merged in."""
    path = write_request_config(folder, model_type=model_type, n=n)
    data = yaml.safe_load(path.read_text())
    for name, value in sections.items():
        data.setdefault(name, {}).update(value)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[RecordingTrainer]:
    """Have training use recording (real) trainers; returns the list they are appended to."""
    made: list[RecordingTrainer] = []

    def recording_trainer(model_type: str) -> tuple[RecordingTrainer, Any]:
        trainer, provider = resolve_trainer(model_type)
        made.append(RecordingTrainer(trainer))
        return made[-1], provider

    monkeypatch.setattr(trainers, "resolve_trainer", recording_trainer)  # what the plan resolves
    return made


def _split_matrices(path: Path, uuid: str) -> dict[str, np.ndarray]:
    """The model-input matrices of the three splits, rebuilt from the config and the stored program."""
    model = load_model(uuid)
    dataset = build_dataset(load_config(path), model.program)
    return {name: model.features(getattr(dataset, name)) for name in ("train", "validation", "test")}


# -- the split ---------------------------------------------------------------------------------

def test_a_time_split_orders_train_validation_test_and_keeps_ties_together(tmp_path: Path) -> None:
    path = _config(tmp_path)
    orders = synthetic_orders(1500)
    # many orders share a timestamp (to the hour), so every cutoff falls inside a group of ties
    orders["placed_at"] = orders["placed_at"].dt.floor("h")
    orders.to_parquet(tmp_path / "orders.parquet", index=False)
    config = load_config(path)
    dataset = build_dataset(config, plan_training(config).program)
    train_t, val_t, test_t = (dataset.train["placed_at"], dataset.validation["placed_at"], dataset.test["placed_at"])

    assert train_t.max() < val_t.min() and val_t.max() < test_t.min()  # no timestamp in two splits
    assert sorted([*dataset.train["order_id"], *dataset.validation["order_id"], *dataset.test["order_id"]]) \
        == list(range(1500))
    largest_tie = int(orders["placed_at"].value_counts().max())
    assert abs(len(dataset.test) - 300) <= largest_tie and abs(len(dataset.validation) - 300) <= 2 * largest_tie

    ref = dataset.reference
    assert (ref["train_rows"], ref["validation_rows"], ref["test_rows"]) == (
        len(dataset.train), len(dataset.validation), len(dataset.test))
    split = ref["split"]
    assert (split["method"], split["validation_fraction"], split["test_fraction"]) == ("time", 0.2, 0.2)
    assert split["cutoffs"] == {"validation": val_t.min().isoformat(), "test": test_t.min().isoformat()}
    assert split["ranges"]["test"] == {"min": test_t.min().isoformat(), "max": test_t.max().isoformat()}


def test_a_random_split_is_seeded_disjoint_and_sized_by_the_fractions(tmp_path: Path) -> None:
    split = {"method": "random", "validation_fraction": 0.25, "test_fraction": 0.15, "seed": 4}
    config = load_config(_config(tmp_path, n=2000, split=split))
    program = plan_training(config).program
    one, again = build_dataset(config, program), build_dataset(config, program)
    other = build_dataset(load_config(_config(tmp_path / "b", n=2000, split={**split, "seed": 5})), program)

    ids = {name: set(getattr(one, name)["order_id"]) for name in ("train", "validation", "test")}
    assert not (ids["train"] & ids["validation"] or ids["train"] & ids["test"] or ids["validation"] & ids["test"])
    assert len(ids["train"] | ids["validation"] | ids["test"]) == 2000
    assert abs(len(ids["test"]) - 300) < 60 and abs(len(ids["validation"]) - 500) < 70
    assert set(again.test["order_id"]) == ids["test"] and set(again.validation["order_id"]) == ids["validation"]
    assert set(other.test["order_id"]) != ids["test"]
    assert one.reference["split"]["test_fraction"] == 0.15 and one.reference["test_rows"] == len(ids["test"])


# -- what the trainers and the search see -------------------------------------------------------

@pytest.mark.parametrize(
    ("model_type", "settings"),
    [
        ("xgboost", {"model": {"hyperparameters": {"n_estimators": 60, "early_stopping_rounds": 5}}}),
        ("keras", {"model": {"hyperparameters": {"hidden_units": [8], "epochs": 4, "patience": 2}}}),
        ("lightgbm", {"model": {"hyperparameters": {"n_estimators": 40, "early_stopping_rounds": 5}},
                      "search": {"method": "random", "trials": 3, "seed": 2,
                                 "space": {"num_leaves": {"type": "int", "low": 4, "high": 32}}}}),
    ],
)
def test_the_test_split_never_reaches_fit_and_is_predicted_once_by_the_final_model(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, model_type: str,
        settings: dict[str, Any]) -> None:
    path = _config(tmp_path, model_type=model_type, n=1200, **settings)
    made = _recording(monkeypatch)
    result = train(path)
    [trainer] = made
    rows = {name: row_keys(m) for name, m in _split_matrices(path, result.uuid).items()}
    assert len(rows["test"]) > 200 and not rows["test"] & (rows["train"] | rows["validation"])

    fits = [(i, seen) for i, (kind, seen) in enumerate(trainer.calls) if kind == "fit"]
    assert len(fits) == (settings["search"]["trials"] if "search" in settings else 1)
    for _, seen in fits:  # every fit: the training rows, early stopping on the validation rows
        assert row_keys(seen["X"]) == rows["train"] and row_keys(seen["X_val"]) == rows["validation"]
    predicts = [(i, row_keys(seen["X"])) for i, (kind, seen) in enumerate(trainer.calls) if kind == "predict"]
    # the final model scores the test rows exactly once; any other prediction touching a test
    # row (partial dependence: test rows with one input varied) comes after the last fit too
    assert [i for i, keys in predicts if keys == rows["test"]] != []
    assert len([i for i, keys in predicts if keys == rows["test"]]) == 1
    assert min(i for i, keys in predicts if keys & rows["test"]) > fits[-1][0]


def _curves(model_type: str, model: Any, X: np.ndarray, y: np.ndarray) -> list[float]:
    """RMSE after each boosting round, 1 .. all rounds trained."""
    if model_type == "xgboost":
        rounds = model.num_boosted_rounds()
        preds = [model.inplace_predict(X, iteration_range=(0, k), missing=np.nan) for k in range(1, rounds + 1)]
    else:
        preds = [model.predict(X, num_iteration=k) for k in range(1, model.current_iteration() + 1)]
    return [compute_metrics("regression", y, p)["rmse"] for p in preds]


@pytest.mark.parametrize("model_type", ["xgboost", "lightgbm"])
def test_early_stopping_picks_the_best_round_on_validation_not_on_test(
        tmp_path: Path, home: Path, model_type: str) -> None:
    """The round training kept is the one best on validation. The reference: the same model
    (deterministic, same rows) trained without early stopping, scored after every round."""
    hyper = {"n_estimators": 300, "learning_rate": 0.3, "early_stopping_rounds": 25}
    hyper |= {"max_depth": 8} if model_type == "xgboost" else {"num_leaves": 16, "min_child_samples": 2}
    path = _config(tmp_path, model_type=model_type, n=1200, model={"hyperparameters": hyper})
    result = train(path)
    X = _split_matrices(path, result.uuid)
    model = load_model(result.uuid)
    dataset = build_dataset(load_config(path), model.program)
    y = {name: getattr(dataset, name)["minutes"].to_numpy(dtype=float) for name in X}
    trainer = resolve_trainer(model_type)[0]
    every_round = trainer.fit(X["train"], y["train"], X["validation"], y["validation"],
                              {**hyper, "early_stopping_rounds": None}, task="regression", feature_names=model.inputs)
    val, test = (_curves(model_type, every_round, X[name], y[name]) for name in ("validation", "test"))
    best_val, best_test = int(np.argmin(val)) + 1, int(np.argmin(test)) + 1
    assert best_val != best_test, "the data tells the two splits apart"

    kept = result.record.learnt_parameters["best_iteration"] + (1 if model_type == "xgboost" else 0)
    assert result.record.learnt_parameters["trees"] < 300, "early stopping stopped the run"
    assert kept == best_val
    assert result.record.metrics["test"]["rmse"] == pytest.approx(test[kept - 1], rel=1e-9)


def test_the_search_ranks_trials_on_validation_and_reports_test_once(
        tmp_path: Path, home: Path) -> None:
    search = {"method": "random", "trials": 4, "seed": 1,
              "space": {"max_depth": {"type": "int", "low": 1, "high": 8}}}
    path = _config(tmp_path, n=1200, model={"hyperparameters": {"n_estimators": 40}}, search=search)
    record = train(path).record
    best = min(record.trials, key=lambda t: t["metrics"]["rmse"])
    assert [t["best"] for t in record.trials] == [t is best for t in record.trials]
    assert record.metrics["validation"]["rmse"] == pytest.approx(best["metrics"]["rmse"], rel=1e-9)
    assert record.metrics["test"]["rmse"] != pytest.approx(best["metrics"]["rmse"], rel=1e-6)
    assert all(set(t["metrics"]) == set(record.metrics["validation"]) for t in record.trials)
    assert all(t["split"] == "validation" for t in record.trials)


# -- what is published ---------------------------------------------------------------------------

def test_the_headline_is_the_test_split_everywhere_and_says_so(tmp_path: Path, home: Path) -> None:
    path = _config(tmp_path, n=1200, model={"hyperparameters": {"n_estimators": 60}})
    runner = CliRunner()
    out = runner.invoke(main, ["train", str(path)])
    assert out.exit_code == 0, out.output
    uuid = re.search(r"model\s+eta_test ([0-9a-f-]{36})", out.output).group(1)
    model = load_model(uuid)
    record = ModelRepository().get(uuid)
    dataset = build_dataset(load_config(path), model.program)
    y_train = dataset.train["minutes"].to_numpy(dtype=float)
    y_test = dataset.test["minutes"].to_numpy(dtype=float)
    y_val = dataset.validation["minutes"].to_numpy(dtype=float)

    # the record: metrics computed independently on the test rows, the baseline from the training mean
    assert list(record.metrics) == ["test", "validation", "train"]
    assert record.metrics["test"] == pytest.approx(compute_metrics("regression", y_test, model.predict_frame(dataset.test)))
    assert record.metrics["validation"] == pytest.approx(
        compute_metrics("regression", y_val, model.predict_frame(dataset.validation)))
    assert record.baseline["test"] == pytest.approx(
        compute_metrics("regression", y_test, np.full(len(y_test), y_train.mean())))
    assert record.baseline["validation"] == pytest.approx(
        compute_metrics("regression", y_val, np.full(len(y_val), y_train.mean())))
    assert record.dataset["test_rows"] == len(y_test)

    # the report: every figure names its split; the plots are drawn from the test rows
    report = json.loads(Path(record.report_json).read_text())
    label = (f"test (held out, {len(y_test):,} rows, {dataset.test['placed_at'].min():%Y-%m-%d}.."
             f"{dataset.test['placed_at'].max():%Y-%m-%d})")
    assert report["headline"] == "test" and report["splits"]["test"]["label"] == label
    assert report["splits"]["validation"]["label"].startswith(f"validation (early stopping and search, "
                                                              f"{len(y_val):,} rows, ")
    assert report["figures"]["split"] == report["partial_dependence"]["split"] == "test"
    assert sum(report["figures"]["residual_histogram"]["counts"]) == len(y_test)
    html = Path(record.report_html).read_text()
    assert f"Headline metrics: {label}" in html
    for name, value in record.metrics["test"].items():
        assert f"<td>{name}</td><td>{value:.4f}</td><td>{record.baseline['test'][name]:.4f}</td>" in html
    assert html.count("drawn from the test split") >= 3

    # the CLI: `fresco train`, `models list` and `models show` lead with the test split
    rmse = f"rmse={record.metrics['test']['rmse']:.4f}"
    assert re.search(rf"^metrics test \(held out, {len(y_test):,} rows, .*\): {rmse} ", out.output, re.M)
    listing = runner.invoke(main, ["models", "list"])
    assert listing.exit_code == 0 and "TEST (HELD OUT)" in listing.output
    assert f"rmse={record.metrics['test']['rmse']:.3f}" in listing.output
    show = runner.invoke(main, ["models", "show", uuid]).output.splitlines()
    first = next(line for line in show if "rmse=" in line)
    assert first.split()[0] == "test" and rmse in first
    assert f"{len(y_test):,} test" in next(line for line in show if line.strip().startswith("dataset"))
