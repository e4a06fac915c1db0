"""``fresco monitor report``: a real model trained with its reference sample, a real prediction
log written by serving's writer with inputs from the model's own program (per request, as
serving evaluates it), real Evidently."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fresco.platform.logs import PredictionRecord, PredictionSink, new_prediction_id
from fresco.serving.prediction_log import AsyncLog
from tests.conftest import environment_restored, run_fresco
from tests.monitoring.models import (  # noqa: F401  (fixtures)
    PROGRAM, REFERENCE_ROWS, T0, Trained, home, log_predictions, trained, use_home,
)
from tests.training.helpers import REQUEST_PROGRAM, synthetic_orders, write_request_config


def test_training_keeps_a_seeded_sample_of_the_test_split(trained: Trained, home: Path) -> None:
    from fresco.training import ModelRepository, load_model
    from fresco.training.reference import read_reference

    repository = ModelRepository()
    record = repository.get(trained.uuid)
    sample = read_reference(repository.artifact_path(trained.uuid), trained.uuid)
    assert record.dataset["test_rows"] == 300 and len(sample.frame) == REFERENCE_ROWS
    assert (sample.test_rows, sample.seed, sample.model_uuid) == (300, 7, trained.uuid)
    assert sample.inputs == record.inputs == ["hour", "rush", "distance", "items", "dist_z", "size"]
    assert list(sample.frame.columns) == [*(f"input.{n}" for n in sample.inputs), "raw.placed_at",
                                          "raw.distance_km", "raw.num_items", "prediction", "label"]
    # the rows are test rows (from the test cutoff on), distinct, in time order
    cutoff = pd.Timestamp(record.dataset["split"]["cutoffs"]["test"])
    assert (sample.frame["raw.placed_at"] >= cutoff).all() and sample.frame["raw.placed_at"].is_monotonic_increasing
    # the rows drawn with the seed from the test split (the newest 300 orders), their labels
    drawn = np.sort(np.random.default_rng(7).choice(300, size=REFERENCE_ROWS, replace=False))
    expected = synthetic_orders(1500).iloc[1200:].iloc[drawn]
    assert sample.frame["raw.placed_at"].tolist() == expected["placed_at"].tolist()
    assert sample.frame["raw.num_items"].tolist() == expected["num_items"].tolist()
    assert sample.frame["label"].tolist() == expected["minutes"].tolist()
    # the stored predictions are the model's on the stored inputs
    model = load_model(trained.uuid)
    matrix = sample.frame[[f"input.{n}" for n in sample.inputs]].to_numpy()
    np.testing.assert_allclose(sample.frame["prediction"], model.predict(matrix))
    assert sorted(sample.vocabularies["size"]) == [1, 2, 3, 4, 5] and list(sample.vocabularies) == ["size"]
    assert sample.kinds == {**{n: "numerical" for n in sample.inputs}, "size": "categorical"}


def test_reference_rows_are_checked_in_the_config() -> None:
    from fresco.training.config import ConfigError, parse_config

    base = {"model": {"name": "m", "type": "linear"}, "data": {"source": {"parquet": "x.parquet"}, "label": "y"},
            "features": {"program": "x = @req.a"}}
    assert parse_config(base).monitoring.reference_rows == 5000
    with pytest.raises(ConfigError, match="monitoring.reference_rows: Input should be greater than or equal to 1"):
        parse_config({**base, "monitoring": {"reference_rows": 0}})


def test_drift_is_found_on_the_shifted_input_and_not_on_the_others(trained: Trained, home: Path,
                                                                   tmp_path: Path) -> None:
    from fresco.monitoring.report import report_from_logs

    log_predictions(trained.uuid, tmp_path / "same")
    log_predictions(trained.uuid, tmp_path / "shifted", extra_items=3)
    same = report_from_logs(trained.uuid[:8], log_folder=tmp_path / "same", out_dir=tmp_path / "r1").figures
    shifted = report_from_logs(trained.uuid, log_folder=tmp_path / "shifted",
                               out_dir=tmp_path / "r2").figures
    assert same["predictions"] == shifted["predictions"] == 400
    assert same["reference_rows"] == REFERENCE_ROWS
    assert same["drift"] == {"inputs": 6, "drifted": 0, "share": 0.0, "drifted_inputs": []}
    assert not same["prediction"]["drift"]["drifted"]
    assert shifted["drift"]["drifted_inputs"] == ["items", "size"]  # both read num_items
    for name in ("hour", "rush", "distance", "dist_z"):
        assert not shifted["inputs"][name]["drift"]["drifted"], name
    items = shifted["inputs"]["items"]
    assert items["drift"]["drifted"] and items["drift"]["score"] < items["drift"]["threshold"]  # a p-value
    assert items["drift"]["stattest"] == "K-S p_value"
    assert (items["min"], items["max"], items["null_rate"]) == (4.0, 8.0, 0.0)
    # out of vocabulary: item counts 6 to 8 were never seen in training
    expected_oov = float((synthetic_orders(400, seed=11)["num_items"] + 3 > 5).mean())
    assert shifted["inputs"]["size"]["oov_rate"] == pytest.approx(expected_oov) and expected_oov > 0.3
    assert same["inputs"]["size"]["oov_rate"] == 0.0 == same["inputs"]["size"]["reference_oov_rate"]
    assert "oov_rate" not in same["inputs"]["items"]
    # no outcomes anywhere: no quality figures, no quality page
    assert same["quality"] is None and same["quality_html"] is None
    assert not (tmp_path / "r1" / "quality.html").exists()
    assert json.loads((tmp_path / "r1" / "report.json").read_text())["drift"] == same["drift"]


def test_the_command_prints_the_summary_and_writes_html_and_json(trained: Trained, home: Path,
                                                                 tmp_path: Path) -> None:
    from fresco.training import ModelRepository

    ModelRepository().tag("eta:production", trained.uuid)
    records = log_predictions(trained.uuid, tmp_path / "log", extra_items=3)
    rng = np.random.default_rng(3)
    labelled = records[::2]  # outcomes for half the predictions
    outcomes = pd.DataFrame({"prediction_id": [r.prediction_id for r in labelled],
                             "outcome": [r.prediction + float(rng.normal(0, 2)) for r in labelled],
                             "observed_at": [r.predicted_at + timedelta(minutes=40) for r in labelled]})
    outcomes.to_parquet(tmp_path / "outcomes.parquet")
    env = {"FRESCO_HOME": str(home), "BENTOML_HOME": str(home / "bentoml")}
    done = run_fresco("monitor", "report", "eta:production", "--log", str(tmp_path / "log"),
                      "--outcomes", str(tmp_path / "outcomes.parquet"), "--since", T0.isoformat(),
                      "--out", str(tmp_path / "out"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"model eta_test {trained.uuid}: 400 predictions from {T0.isoformat()} to " in out
    assert "inputs drifted: 2 of 6 (items, size)" in out
    assert "quality on 200 outcomes: " in out
    for name in ("report.html", "quality.html", "report.json"):
        assert str(tmp_path / "out" / name) in out
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert "<html" in (tmp_path / "out" / "report.html").read_text()[:2000].lower()
    # accuracy over time on the outcomes, drawn and embedded in the report's page
    assert (tmp_path / "out" / "accuracy.png").stat().st_size > 0
    assert 'alt="Accuracy over time (1h windows' in (tmp_path / "out" / "report.html").read_text()
    assert "took " in done.stderr
    figures = json.loads((tmp_path / "out" / "report.json").read_text())
    assert figures["model"] == {"uuid": trained.uuid, "name": "eta_test", "task": "regression",
                                "asked_as": "eta:production"}
    assert figures["period"] == {"since": T0.isoformat(), "until": None}
    assert figures["outcomes"]["matched"] == 200
    errors = np.array([o - r.prediction for o, r in zip(outcomes["outcome"], labelled)])
    assert figures["quality"]["outcomes"] == 200
    assert figures["quality"]["metrics"]["RMSE"] == pytest.approx(math.sqrt(np.mean(errors ** 2)))
    assert figures["quality"]["metrics"]["MAE"] == pytest.approx(np.mean(np.abs(errors)))


def test_a_model_without_a_reference_sample_is_told_to_retrain(home: Path, tmp_path: Path) -> None:
    from tests.model_records import save_tiny_model
    from fresco.training import ModelRepository

    old = "0123abcd-0000-4000-8000-00000000000a"
    save_tiny_model(ModelRepository(), old)  # saved the way models were before reference samples
    PredictionSink(tmp_path / "log").write([PredictionRecord(
        new_prediction_id(), T0, old, None, None, None, {}, {}, {}, {"a": 1.0, "b": 2.0}, 3.0, 1.0)])
    env = {"FRESCO_HOME": str(home), "BENTOML_HOME": str(home / "bentoml")}
    done = run_fresco("monitor", "report", old[:8], "--log", str(tmp_path / "log"), cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert (f"Error: model tiny ({old}) was trained before reference samples were kept" in done.stderr
            and "retrain it to get drift reports" in done.stderr), done.stderr


def test_unknown_models_and_empty_periods_are_named(trained: Trained, home: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fresco.cli import main

    unknown = CliRunner().invoke(main, ["monitor", "report", "no-such:tag", "--log", str(tmp_path)])
    assert unknown.exit_code == 1 and "no model or tag 'no-such:tag' in the repository" in unknown.output
    log_predictions(trained.uuid, tmp_path / "log", n=20)
    empty = CliRunner().invoke(main, ["monitor", "report", trained.uuid, "--log", str(tmp_path / "log"),
                                      "--since", "2026-12-06T00:00:00Z", "--until", "2026-12-07"])
    assert empty.exit_code == 1
    assert (f"no logged predictions of model eta_test ({trained.uuid}) from 2026-12-06T00:00:00+00:00 "
            f"until 2026-12-07T00:00:00+00:00 in the prediction log {tmp_path / 'log'}") in empty.output


def test_a_binary_model_gets_classification_quality_on_its_outcomes(tmp_path: Path, monkeypatch) -> None:
    from fresco.monitoring.report import report_from_logs
    from fresco.training import train

    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    uuid = train(write_request_config(tmp_path, task="binary", n=1000), reports_dir=tmp_path / "reports").uuid
    records = log_predictions(uuid, tmp_path / "log", n=300)
    late = synthetic_orders(300, seed=11)["late"].to_numpy()  # the orders' own labels
    pd.DataFrame({"prediction_id": [r.prediction_id for r in records], "outcome": late.astype(float),
                  "observed_at": [r.predicted_at for r in records]}).to_parquet(tmp_path / "outcomes.parquet")
    figures = report_from_logs(uuid, log_folder=tmp_path / "log", outcomes=tmp_path / "outcomes.parquet",
                               out_dir=tmp_path / "out").figures
    assert figures["model"]["task"] == "binary" and figures["quality"]["outcomes"] == 300
    p = np.array([r.prediction for r in records])
    pos, neg = p[late == 1], p[late == 0]
    auc = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
    metrics = figures["quality"]["metrics"]
    assert metrics["RocAuc"] == pytest.approx(auc)
    assert metrics["Accuracy"] == pytest.approx(np.mean((p >= 0.5) == (late == 1)))
    assert (tmp_path / "out" / "quality.html").stat().st_size > 0
