"""End to end on a small generated set: Feast retrieval, the DSL, training, the report, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fresco.cli import main
from fresco.training import ModelRepository, load_model, train
from tests.training.conftest import EXAMPLE, training_sets
from tests.training.helpers import rows_reaching_the_driver


def test_the_example_configs_are_valid(small_repo) -> None:
    """The shipped configs validate against a real catalog and orders (as after the quickstart)."""
    from fresco.training import load_config

    root = Path(__file__).resolve().parents[2] / "examples"
    for name in ("delivery_eta.yaml", "delivery_eta_search.yaml"):
        config = load_config(root / name, overrides=small_repo)
        assert config.model.name == "delivery_eta" and config.split.method == "time"
        assert config.features.program_file.name == "delivery_eta.dsl"


def test_fresco_train_and_models_commands(small_repo, home: Path) -> None:
    runner = CliRunner()
    fast = {**small_repo, "model.hyperparameters.n_estimators": 150}
    out = runner.invoke(main, ["train", str(EXAMPLE), *training_sets(fast), "--tag", "delivery_eta:staging"])
    assert out.exit_code == 0, out.output
    uuid = re.search(r"model\s+delivery_eta ([0-9a-f-]{36})", out.output).group(1)
    report = Path(re.search(r"report\s+(\S+)", out.output).group(1))
    assert "[1/5] building the training dataset" in out.output  # progress (stderr, mixed in here)

    record = ModelRepository().get("delivery_eta:staging")
    assert record.uuid == uuid and record.dataset["rows"] == 3_000
    assert record.dataset["feature_service"] == "delivery_eta_v1"
    assert "restaurant_realtime:orders_1h" in record.dataset["feature_refs"]
    test, base = record.metrics["test"], record.baseline["test"]  # the headline: the held-out split
    assert test["rmse"] < 0.6 * base["rmse"] and test["r2"] > 0.6 and test["mae"] < base["mae"]
    assert record.dataset["train_rows"] + record.dataset["validation_rows"] + record.dataset["test_rows"] == 3_000
    assert max(record.feature_importance, key=record.feature_importance.get) in {"distance_km", "prep_7d"}

    # the reference sample kept for monitoring: the whole (small) test split, Feast features as
    # raw values, the categorical inputs' kinds and the fitted vocabulary
    from fresco.training.reference import read_reference

    sample = read_reference(ModelRepository().artifact_path(uuid), uuid)
    assert len(sample.frame) == record.dataset["test_rows"] and sample.inputs == record.inputs
    assert {"raw.restaurant_profile:cuisine", "raw.restaurant_realtime:orders_1h", "raw.placed_at",
            "input.cuisine", "prediction", "label"} <= set(sample.frame.columns)
    assert list(sample.vocabularies) == ["cuisine"] and sample.vocabularies["cuisine"]
    assert sample.kinds["cuisine"] == sample.kinds["weekend"] == "categorical" != sample.kinds["load"]

    # the report: self-contained HTML, and JSON with the same numbers
    html, data = report.read_text(), json.loads((report.parent / "report.json").read_text())
    assert "<script src" not in html and "http" not in html.split("<body>")[1]
    assert html.count("data:image/png;base64,") >= 4
    for name, value in data["metrics"]["test"].items():
        assert f"<td>{name}</td><td>{value:.4f}</td>" in html
    assert set(data["partial_dependence"]["features"]) and data["figures"]["residual_histogram"]["counts"]

    # a second model, then list / show / compare / tag
    out2 = runner.invoke(main, ["train", str(EXAMPLE), *training_sets({**fast, "model.type": "linear",
                                                               "model.hyperparameters": "{}"})])
    assert out2.exit_code == 0, out2.output
    other = re.search(r"model\s+delivery_eta ([0-9a-f-]{36})", out2.output).group(1)
    listing = runner.invoke(main, ["models", "list"])
    assert listing.exit_code == 0 and uuid in listing.output and other in listing.output
    assert "delivery_eta:staging" in listing.output
    show = runner.invoke(main, ["models", "show", "delivery_eta:staging"])
    assert show.exit_code == 0 and "validation  rmse=" in show.output and "baseline    test: rmse=" in show.output
    assert show.output.index("  test        rmse=") < show.output.index("validation  rmse=")
    compare = runner.invoke(main, ["models", "compare", uuid, other])
    assert compare.exit_code == 0, compare.output
    row = next(line for line in compare.output.splitlines() if line.startswith("config.model.type"))
    assert row.split()[1:] == ["xgboost", "linear"]
    assert any(line.startswith("metrics.validation.rmse") for line in compare.output.splitlines())
    assert any(line.startswith("metrics.test.rmse") for line in compare.output.splitlines())
    moved = runner.invoke(main, ["models", "tag", "delivery_eta:staging", other])
    assert moved.exit_code == 0 and f"(was {uuid})" in moved.output
    history = runner.invoke(main, ["models", "tag", "delivery_eta:staging", "--history"])
    assert [line.split()[-3:] for line in history.output.splitlines()] == [["-", "->", uuid], [uuid, "->", other]]
    bad = runner.invoke(main, ["train", str(EXAMPLE), "--set", "model.hyperparameters.max_depth=-2"])
    assert bad.exit_code != 0 and "delivery_eta.yaml: model.hyperparameters.max_depth" in bad.output


def test_spark_engine_runs_the_dsl_and_xgboost_on_spark(small_repo, home: Path, spark) -> None:
    from fresco.training.trainers.xgboost_spark import DISTRIBUTED_METRIC_TOLERANCE

    settings = {**small_repo, "model.hyperparameters.n_estimators": 60}
    local = train(EXAMPLE, overrides=settings)
    spark.sparkContext.setJobGroup("fresco-engine-test", "the Spark engine's DSL")
    said: list[str] = []
    try:
        on_spark = train(EXAMPLE, overrides={**settings, "resources.engine": "spark",
                                             "resources.workers": 2},
                         spark=spark, progress=said.append)
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)  # later jobs: no group
    assert "[1/5] building the training dataset (spark, kept in Spark)" in said
    # the dataset, the DSL's fit and the training ran as Spark jobs, XGBoost on two workers ...
    assert any(line.startswith("dataset (in Spark): ") for line in said), said
    assert any("(Spark aggregates)" in line for line in said), said
    assert on_spark.record.dataset["content_hash_method"].startswith("spark")
    for key in ("rows", "train_rows", "validation_rows", "test_rows", "split"):  # the same rows in each split
        assert on_spark.record.dataset[key] == local.record.dataset[key], key
    assert spark.sparkContext.statusTracker().getJobIdsForGroup("fresco-engine-test")
    assert any(line.startswith("xgboost.spark: 2 workers") for line in said), said
    # ... and the model is as good as the local one, within the documented tolerance
    for metric in ("rmse", "mae"):
        assert on_spark.record.metrics["test"][metric] == pytest.approx(
            local.record.metrics["test"][metric], rel=DISTRIBUTED_METRIC_TOLERANCE)
    assert load_model(on_spark.uuid).model_type == "xgboost"  # the artifact serving loads


def test_training_on_spark_brings_the_driver_a_bounded_number_of_rows_and_searches_there(
        small_repo, home: Path, spark, monkeypatch: pytest.MonkeyPatch) -> None:
    """On engine: spark the driver receives figures and a fixed-size sample, never a split: every
    DataFrame result that reaches Python is counted (the real calls, observed). The search's
    trials run one after another on the Spark dataset and the best one is kept."""
    from fresco.training import spark_training

    received = rows_reaching_the_driver(spark, monkeypatch)
    monkeypatch.setattr(spark_training, "TEST_SAMPLE_ROWS", 100)
    messages: list[str] = []
    result = train(EXAMPLE, overrides={
        **small_repo, "model.hyperparameters": {"n_estimators": 20}, "resources.engine": "spark",
        "resources.workers": 1, "monitoring.reference_rows": 50,
        "search": {"method": "random", "trials": 2, "seed": 3,
                   "space": {"max_depth": {"type": "int", "low": 2, "high": 6}}}},
        spark=spark, progress=messages.append)
    dataset = result.record.dataset
    smallest = min(dataset["train_rows"], dataset["validation_rows"], dataset["test_rows"])
    # the largest results: the test sample (100 rows) and the time split's two cutoff brackets
    # (about 4% of the rows each here, a few thousand at most on any size): never a split
    assert received and max(received) <= smallest // 2, (max(received), smallest)
    # the metrics are every row's, the figures say they come from a sample
    report = json.loads(Path(result.record.report_json).read_text())
    assert report["rows"]["test"] == dataset["test_rows"] and report["figures"]["sample_rows"] == 100
    assert "drawn from a sample of 100 of the test split" in Path(result.record.report_html).read_text()

    trials = result.record.trials
    assert len(trials) == 2 and sum(t["best"] for t in trials) == 1
    assert any("one after another on Spark, each on 1 workers" in m for m in messages), messages
    best = min(trials, key=lambda t: t["metrics"]["rmse"])
    # the validation metrics the search ranked by are the stored model's
    assert best["best"] and result.record.metrics["validation"]["rmse"] == pytest.approx(best["metrics"]["rmse"])
    assert result.record.config["model"]["hyperparameters"]["max_depth"] == best["params"]["max_depth"]


def test_search_records_every_trial_and_keeps_the_best(small_repo, home: Path) -> None:
    overrides = {**small_repo, "model.type": "lightgbm", "model.hyperparameters": {"n_estimators": 60},
                 "search": {"method": "random", "trials": 3, "seed": 1,
                            "space": {"num_leaves": {"type": "int", "low": 4, "high": 32},
                                      "learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True}}}}
    messages: list[str] = []
    result = train(EXAMPLE, overrides=overrides, progress=messages.append)
    trials = result.record.trials
    assert len(trials) == 3 and sum(t["best"] for t in trials) == 1
    best = min(trials, key=lambda t: t["metrics"]["rmse"])
    assert best["best"] and result.record.metrics["validation"]["rmse"] == pytest.approx(best["metrics"]["rmse"])
    assert result.record.config["model"]["hyperparameters"]["num_leaves"] == best["params"]["num_leaves"]
    assert len({t["params"]["num_leaves"] for t in trials}) > 1
    assert sum("trial " in m for m in messages) == 3
    # the stored model is the best trial's model
    assert load_model(result.uuid).model_type == "lightgbm"


def test_the_examples_partitioned_model_beats_its_root_in_the_cities_with_a_model(small_repo, home: Path) -> None:
    """The quickstart's suggested command trains the example by region and city; in each city with
    its own model, that model beats the root (the global model) on the city's own test rows."""
    import shlex

    from fresco.quickstart import partitioned_command

    repo, orders = small_repo["features.repo"], small_repo["data.source.parquet"]
    args = shlex.split(partitioned_command(Path(repo), Path(orders)))[1:]
    out = CliRunner().invoke(main, [*args, "--set", "partitioning.min_rows=150", "--set",
                                    "model.hyperparameters.n_estimators=80"])
    assert out.exit_code == 0, out.output
    assert "partitions per level: 3, " in out.output  # 3 regions, then their cities
    report = json.loads(Path(re.search(r"report\s+(\S+)", out.output).group(1)).with_suffix(".json").read_text())
    cities = [row for row in report["partitions"]["rows"]
              if "/city=" in row["partition"] and row["answered_by"] == row["partition"]]
    assert len(cities) >= 2, report["partitions"]["rows"]
    for row in cities:
        assert row["model"] < row["root_model"], row
