"""Partitioned models: one logical model over region -> city, trained, stored and answered with fallback."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from fresco.cli import main
from fresco.training import ConfigError, ModelRepository, load_model, train

PROGRAM = """\
distance = @req.distance_km
items    = @req.num_items
area     = categorical(@req.region)
town     = categorical(@req.city)
"""

#: city -> (region, orders, minutes per km): each city's own slope, so a model per city wins
CITIES = {"north_a": ("north", 900, 2.0), "north_b": ("north", 900, 7.0), "north_c": ("north", 40, 12.0),
          "south_d": ("south", 900, 4.0), "south_e": ("south", 30, 1.0), "east_f": ("east", 60, 9.0)}


def partitioned_orders(seed: int = 0) -> pd.DataFrame:
    """Orders in cities of three regions over 14 days; delivery minutes per km differ by city."""
    rng = np.random.default_rng(seed)
    frames = []
    for city, (region, n, slope) in CITIES.items():
        distance = rng.gamma(2.0, 1.3, n)
        items = rng.integers(1, 6, n)
        frames.append(pd.DataFrame({
            "placed_at": pd.Timestamp("2026-10-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 14 * 86400, n), unit="s"),
            "region": region, "city": city, "distance_km": distance, "num_items": items.astype("int64"),
            "minutes": 10 + slope * distance + 1.5 * items + rng.normal(0, 1.0, n)}))
    frame = pd.concat(frames).sort_values("placed_at", kind="stable").reset_index(drop=True)
    frame["placed_at"] = frame["placed_at"].astype("datetime64[us, UTC]")
    return frame


def write_config(folder: Path, *, partitioning: str, model_type: str = "linear", extra: str = "",
                 program: str = PROGRAM, hyperparameters: str = "{}") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    partitioned_orders().to_parquet(folder / "orders.parquet", index=False)
    body = "\n".join("    " + line for line in program.splitlines())
    path = folder / "by_city.yaml"
    path.write_text(f"""\
model: {{name: eta_by_city, type: {model_type}, task: regression, hyperparameters: {hyperparameters}}}
data: {{source: {{parquet: orders.parquet}}, label: minutes, timestamp_column: placed_at}}
features:
  program: |
{body}
partitioning:
{partitioning}
{extra}""")
    return path


@pytest.fixture(scope="module")
def by_city(tmp_path_factory: pytest.TempPathFactory):
    """One partitioned model (area -> town, min_rows 100) in a repository of its own: the
    tests that only read it share it."""
    folder = tmp_path_factory.mktemp("by-city")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FRESCO_HOME", str(folder / "home"))
        patch.setenv("BENTOML_HOME", str(folder / "home" / "bentoml"))
        yield train(write_config(folder, partitioning="  columns: [area, town]\n  min_rows: 100"))


def _matrix(model, frame: pd.DataFrame) -> np.ndarray:
    return model.features(frame)


def test_each_city_with_enough_rows_gets_a_model_and_the_others_fall_back_to_their_region(by_city) -> None:
    result = by_city
    record = ModelRepository().get(result.uuid)
    assert record.inputs == ["distance", "items", "area", "town"]
    parts = {p["name"]: p for p in record.learnt_parameters["partitioning"]["partitions"]}
    assert {n for n, p in parts.items() if p["answered_by"] == n} == {
        "root", "area=north", "area=south", "area=north/town=north_a", "area=north/town=north_b",
        "area=south/town=south_d"}
    # east has 60 orders, 36 of them training rows: below min_rows, so east and its city use the root
    assert parts["area=east"]["answered_by"] == "root" and "fewer than min_rows 100" in parts["area=east"]["reason"]
    assert parts["area=east/town=east_f"]["answered_by"] == "root"
    assert parts["area=north/town=north_c"]["answered_by"] == "area=north"
    assert parts["area=south/town=south_e"]["parent"] == "area=south"

    model = load_model(result.uuid)
    rows = partitioned_orders(seed=1)
    X = _matrix(model, rows)
    answered = model.answered_by(X)
    expected = rows["city"].map({"north_a": "area=north/town=north_a", "north_b": "area=north/town=north_b",
                                 "north_c": "area=north", "south_d": "area=south/town=south_d",
                                 "south_e": "area=south", "east_f": "root"})
    assert answered == expected.tolist()
    # a fallen-back city's answers are its region's model's, to the last bit
    small = (rows["city"] == "north_c").to_numpy()
    north = model._model.models["area=north"]
    assert np.array_equal(model.predict(X[small]), model._trainer.base.predict(north, X[small, :2]))


def test_unknown_values_walk_up_the_hierarchy(by_city) -> None:
    result = by_city
    model = load_model(result.uuid)
    rows = pd.DataFrame({"placed_at": pd.Timestamp("2026-10-20", tz="UTC"), "distance_km": [3.0, 3.0, 3.0, 3.0],
                         "num_items": [2, 2, 2, 2], "region": ["north", "atlantis", None, "north"],
                         "city": ["springfield", "north_a", "north_a", None]})
    assert model.answered_by(_matrix(model, rows)) == ["area=north", "root", "root", "area=north"]
    # a large batch (array passes) and one row at a time (a dictionary walk) answer alike
    X = _matrix(model, pd.concat([partitioned_orders(seed=3).head(100), rows] * 2, ignore_index=True))
    assert model.answered_by(X) == [model.answered_by(X[i:i + 1])[0] for i in range(len(X))]


def test_the_partitioned_model_beats_the_global_one_where_cities_have_their_own(by_city) -> None:
    result = by_city
    report = __import__("json").loads(result.report_json.read_text())
    table = {row["partition"]: row for row in report["partitions"]["rows"]}
    for city in ("north_a", "north_b", "south_d"):
        row = table[f"area={CITIES[city][0]}/town={city}"]
        assert row["answered_by"] == row["partition"] and row["test_rows"] > 100
        assert row["model"] < row["root_model"], row
    # where the city's slope is far from the average one, by far
    assert table["area=north/town=north_b"]["model"] < 0.5 * table["area=north/town=north_b"]["root_model"]
    assert "Partitions (drawn from the test split" in result.report_html.read_text()


def test_only_if_better_drops_a_partition_model_that_does_not_beat_its_parent(home: Path, tmp_path: Path) -> None:
    # every city has the same slope here: a partition's model has little to win over its parent's
    config = write_config(tmp_path, partitioning="  columns: [area, town]\n  min_rows: 100\n  only_if_better: true")
    frame = pd.read_parquet(tmp_path / "orders.parquet")
    rng = np.random.default_rng(5)
    frame["minutes"] = 10 + 3.0 * frame["distance_km"] + 1.5 * frame["num_items"] + rng.normal(0, 1.0, len(frame))
    frame.to_parquet(tmp_path / "orders.parquet", index=False)
    said: list[str] = []
    result = train(config, progress=said.append)
    # a root trained in well under parallel_after_seconds (5 s): no worker processes to start
    assert any("the partitions train in this process" in line for line in said), said
    parts = {p["name"]: p for p in ModelRepository().get(result.uuid).learnt_parameters["partitioning"]["partitions"]}
    kept = [n for n, p in parts.items() if p["validation"] and p["answered_by"] == n]
    dropped = [n for n, p in parts.items() if p["validation"] and p["answered_by"] != n]
    assert dropped, parts
    for name in dropped:
        assert "does not beat" in parts[name]["reason"]
        assert parts[name]["validation"]["own"] >= parts[name]["validation"]["parent"]
    for name in kept:
        assert parts[name]["validation"]["own"] < parts[name]["validation"]["parent"]


def test_partitions_train_in_a_pool_of_processes_with_the_same_models(home: Path, tmp_path: Path) -> None:
    """Two workers (spawned processes) give the same partitions and predictions as one."""
    answers = {}
    for workers, where in ((1, "in this process"), (2, "in 2 processes")):
        config = write_config(tmp_path / str(workers), partitioning="  columns: [area, town]\n  min_rows: 100\n"
                                                                   "  parallel_after_seconds: 0",
                              model_type="xgboost", hyperparameters="{n_estimators: 40}",
                              extra=f"resources: {{workers: {workers}}}")
        said: list[str] = []
        result = train(config, progress=said.append)
        assert any(f"partitions per level: 3, 6; 5 with at least 100 training rows, trained {where}" in line
                   for line in said), said
        model = load_model(result.uuid)
        X = _matrix(model, partitioned_orders(seed=2))
        answers[workers] = (model.answered_by(X), model.predict(X))
    assert answers[1][0] == answers[2][0]
    assert np.allclose(answers[1][1], answers[2][1])


def test_models_show_lists_the_partitions_and_their_fallbacks(by_city) -> None:
    result = by_city
    out = CliRunner().invoke(main, ["models", "show", result.uuid])
    assert out.exit_code == 0, out.output
    assert re.search(r"partitions\s+area, town: 6 with their own model, 4 answered by an ancestor", out.output)
    assert re.search(r"area=north/town=north_c\s+\d+ train rows\s+-> area=north \(\d+ training rows, fewer than "
                     r"min_rows 100\)", out.output), out.output
    assert re.search(r"area=north/town=north_a\s+\d+ train rows\s+own model", out.output), out.output


@pytest.mark.parametrize("partitioning, extra, program, field, message", [
    ("  columns: [area, zone]", "", PROGRAM, "partitioning.columns", "'zone' is not an output of the program"),
    ("  columns: [area, distance]", "", PROGRAM, "partitioning.columns", "'distance' is not a categorical(...) output"),
    ("  columns: [area, area]", "", PROGRAM, "partitioning.columns", "['area'] named more than once"),
    ("  columns: [area]", "features_inputs", PROGRAM, "features.inputs", "['area'] are partitioning columns"),
    ("  columns: [area]", "search: {method: random, trials: 2, space: {alpha: {type: float, low: 0.1, high: 1.0}}}",
     PROGRAM, "search", "search is not supported with partitioning"),
    ("  columns: [area]\n  min_rows: 0", "", PROGRAM, "partitioning.min_rows", "greater than or equal to 1"),
])
def test_a_bad_partitioning_is_refused_naming_the_field(tmp_path: Path, partitioning: str, extra: str, program: str,
                                                        field: str, message: str) -> None:
    config = write_config(tmp_path, partitioning=partitioning, extra="" if extra == "features_inputs" else extra,
                          program=program)
    if extra == "features_inputs":
        config.write_text(config.read_text().replace("features:\n", "features:\n  inputs: [distance, area]\n"))
    with pytest.raises(ConfigError) as err:
        train(config)
    assert f"{field}: " in str(err.value) and message in str(err.value), str(err.value)


def test_predictor_and_predict_batch_answer_each_row_by_the_same_partition_and_log_it(
        by_city, spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Online (the in-process Predictor, as the HTTP service) == offline (predict-batch on Spark)
    for a partitioned model: the same predictions, the same partition per row, both in the log."""
    from fresco.monitoring import read_predictions
    from fresco.serving import Predictor, predict_batch

    rows = partitioned_orders(seed=4).head(200)
    rows["order"] = np.arange(len(rows))
    rows.loc[:2, "region"] = "north"
    rows.loc[:2, "city"] = ["springfield", None, "north_c"]  # unknown, missing, fallen back: north answers
    source, logged = tmp_path / "rows.parquet", tmp_path / "log"
    rows.drop(columns=["minutes"]).to_parquet(source, index=False)
    monkeypatch.setenv("FRESCO_PREDICTION_LOG_DIR", str(logged))
    result = predict_batch(source, by_city.uuid, tmp_path / "scored", spark=spark, store=object())
    assert result.rows == 200
    offline = pd.read_parquet(tmp_path / "scored").sort_values("order").reset_index(drop=True)

    predictor = Predictor(object(), prediction_log=None)
    requests = [{k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
                for r in offline[["placed_at", "distance_km", "num_items", "region", "city"]].to_dict("records")]
    online = predictor.predict(by_city.uuid, requests).to_dict()["predictions"]
    assert [a["partition"] for a in online] == offline["partition"].tolist()
    assert np.allclose([a["prediction"] for a in online], offline["prediction"].to_numpy(), rtol=1e-12)
    assert offline["partition"][:3].tolist() == ["area=north"] * 3
    assert set(offline["partition"]) >= {"area=north/town=north_a", "area=south/town=south_d", "root"}

    log = read_predictions(logged)
    assert sorted(log["partition"]) == sorted(offline["partition"])
    # monitoring's accuracy, per partition once outcomes are known
    from fresco.platform.logs import OutcomeRecord, OutcomeSink

    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    truth = dict(zip(offline["prediction_id"], rows.sort_values("order")["minutes"]))
    OutcomeSink(tmp_path / "outcomes").write([OutcomeRecord(pid, float(v), now, now) for pid, v in truth.items()])
    out = CliRunner().invoke(main, ["monitor", "metrics", "--log", str(logged), "--outcomes", str(tmp_path / "outcomes"),
                                    "--by-partition", "--window", "1D", "--output", str(tmp_path / "acc.parquet")])
    assert out.exit_code == 0, out.output
    table = pd.read_parquet(tmp_path / "acc.parquet")
    counts = table.groupby("partition")["outcomes"].sum()
    assert counts.to_dict() == offline["partition"].value_counts().to_dict()
    assert "PARTITION" in out.output and "area=north/town=north_a" in out.output


def test_training_on_spark_gives_the_local_partitions_and_models(home: Path, tmp_path: Path, spark) -> None:
    """On ``engine: spark`` (the root on one XGBoost worker, every partition below it a task of
    one Spark job, ``only_if_better``'s comparison another) the partitions, who answers whom and
    why are the local training's, and the models' answers agree within
    :data:`~fresco.training.spark_partitions.SPARK_PREDICTION_TOLERANCE`."""
    from fresco.training.spark_partitions import SPARK_PREDICTION_TOLERANCE

    results, said = {}, []
    for engine in ("local", "spark"):
        config = write_config(tmp_path / engine, partitioning="  columns: [area, town]\n  min_rows: 100\n"
                                                              "  only_if_better: true",
                              model_type="xgboost", hyperparameters="{n_estimators: 30}",
                              extra=f"resources: {{engine: {engine}, workers: 1}}")
        results[engine] = train(config, spark=spark, progress=said.append)
    assert any("trained as Spark tasks, one job for the hierarchy" in line for line in said), said
    local, on_spark = (ModelRepository().get(results[e].uuid) for e in ("local", "spark"))
    fields = ("name", "key", "parent", "train_rows", "validation_rows", "answered_by", "reason")
    partitions = {e: [{f: p[f] for f in fields} for p in r.learnt_parameters["partitioning"]["partitions"]]
                  for e, r in (("local", local), ("spark", on_spark))}
    assert partitions["spark"] == partitions["local"]
    assert any(p["answered_by"] == p["name"] for p in partitions["local"][1:])  # some partitions keep a model
    rows = partitioned_orders(seed=4)
    answers = {e: load_model(results[e].uuid) for e in results}
    X = _matrix(answers["local"], rows)
    assert answers["spark"].answered_by(X) == answers["local"].answered_by(X)
    assert np.allclose(answers["spark"].predict(X), answers["local"].predict(X), rtol=SPARK_PREDICTION_TOLERANCE)
    for metric in ("rmse", "mae"):
        assert on_spark.metrics["test"][metric] == pytest.approx(local.metrics["test"][metric],
                                                                rel=SPARK_PREDICTION_TOLERANCE)
