"""Accuracy over time from a real prediction log (written by serving's writer) and an outcome
table, against figures computed independently from the generated data."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fresco.monitoring import accuracy_over_time, join_outcomes, read_outcomes, read_predictions
from fresco.platform.logs import PredictionRecord, PredictionSink, new_prediction_id
from fresco.serving.prediction_log import AsyncLog

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
A, B = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"


def _world(tmp_path: Path):
    """Three hours of predictions by A (regression) and B (binary, an experiment's arm), and
    outcomes: most on time, some corrected twice, some late, some for unknown predictions."""
    rng = np.random.default_rng(7)
    records, truth = [], []  # truth: (hour, model, label that counts, prediction)
    outcomes = []
    for i in range(600):
        model = A if i % 3 else B
        at = T0 + timedelta(seconds=int(rng.integers(0, 3 * 3600)))
        pred = float(rng.uniform(10, 50)) if model == A else float(rng.uniform(0, 1))
        pid = new_prediction_id()
        records.append(PredictionRecord(
            pid, at, model, "eta:production" if model == A else "eta:challenger",
            None if model == A else "eta-ab", None if model == A else "arm-b",
            {"restaurant_id": i}, {}, {}, {}, pred, 1.0))
        label = pred + float(rng.normal(0, 3)) if model == A else float(rng.random() < pred)
        kind = i % 10
        if kind == 0:
            continue  # no outcome yet
        if kind == 1:  # late: observed 3 days later
            outcomes.append((pid, label, at + timedelta(days=3)))
            continue
        if kind == 2:  # a wrong first report, corrected later: the correction counts
            outcomes.append((pid, label + 100, at + timedelta(minutes=5)))
        outcomes.append((pid, label, at + timedelta(minutes=30)))
        truth.append(((at - T0) // timedelta(hours=1), model, label, pred))
    for _ in range(7):
        outcomes.append((new_prediction_id(), 1.0, T0))  # predictions never logged
    log = AsyncLog(PredictionSink(tmp_path / "log"), flush_seconds=0.05)
    log.log(records)
    log.close()
    table = tmp_path / "outcomes.parquet"
    pd.DataFrame(outcomes, columns=["prediction_id", "outcome", "observed_at"]).to_parquet(table)
    return records, truth, table


def test_metrics_over_time_equal_an_independent_computation(tmp_path: Path) -> None:
    records, truth, table = _world(tmp_path)
    predictions = read_predictions(tmp_path / "log")
    assert len(predictions) == 600
    joined = join_outcomes(predictions, read_outcomes(table), max_delay=timedelta(days=1))
    assert joined.counts() == {"predictions": 600, "outcomes": 540 + 60 + 7,  # one per answered row, corrections twice, 7 strays
                               "matched": len(truth), "duplicates": 60, "late": 60, "unmatched": 7}
    report = accuracy_over_time(joined.frame, {A: "regression", B: "binary"}, window="1h")
    assert len(report) == 6  # 3 hours x 2 models
    for hour in range(3):
        for model in (A, B):
            row = report[(report["window_start"] == pd.Timestamp(T0 + timedelta(hours=hour)))
                         & (report["model_uuid"] == model)].iloc[0]
            mine = [(y, p) for h, m, y, p in truth if h == hour and m == model]
            y, p = np.array([t[0] for t in mine]), np.array([t[1] for t in mine])
            n_pred = sum(1 for r in records if r.model_uuid == model
                         and (r.predicted_at - T0) // timedelta(hours=1) == hour)
            assert (row["predictions"], row["outcomes"]) == (n_pred, len(mine))
            assert row["join_rate"] == pytest.approx(len(mine) / n_pred)
            if model == A:
                assert row["rmse"] == pytest.approx(math.sqrt(np.mean((p - y) ** 2)))
                assert row["mae"] == pytest.approx(np.mean(np.abs(p - y)))
                assert row["tag"] == "eta:production" and row["arm"] is None
            else:
                pos, neg = p[y == 1], p[y == 0]
                pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
                assert row["auc"] == pytest.approx(pairs / (len(pos) * len(neg)))
                expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
                assert row["logloss"] == pytest.approx(expected)
                assert (row["experiment"], row["arm"]) == ("eta-ab", "arm-b")


def test_the_log_is_read_by_time_range_and_model(tmp_path: Path) -> None:
    records, _, _ = _world(tmp_path)
    since, until = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    got = read_predictions(tmp_path / "log", since=since, until=until, model=B)
    expected = sorted(r.prediction_id for r in records
                      if r.model_uuid == B and since <= r.predicted_at < until)
    assert sorted(got["prediction_id"]) == expected
    assert got["predicted_at"].is_monotonic_increasing
    assert len(read_predictions(tmp_path / "nothing-yet")) == 0


def test_bad_outcome_tables_and_windows_are_named(tmp_path: Path) -> None:
    pd.DataFrame({"prediction_id": ["x"], "value": [1.0]}).to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['outcome', 'observed_at'\]"):
        read_outcomes(tmp_path / "bad.parquet")
    pd.DataFrame({"prediction_id": ["x"], "outcome": ["late"], "observed_at": [T0]}).to_parquet(tmp_path / "text.parquet")
    with pytest.raises(ValueError, match="column 'outcome' must be numeric"):
        read_outcomes(tmp_path / "text.parquet")
    with pytest.raises(FileNotFoundError, match="no outcome table"):
        read_outcomes(tmp_path / "missing.parquet")
    frame = pd.DataFrame({"predicted_at": [T0], "model_uuid": [A], "tag": [None], "experiment": [None],
                          "arm": [None], "outcome": [1.0], "prediction": [1.0]})
    with pytest.raises(ValueError, match="window 'fortnightly' is not a time span"):
        accuracy_over_time(frame, {A: "regression"}, window="fortnightly")
    with pytest.raises(ValueError, match="no task known"):
        accuracy_over_time(frame, {}, window="1h")


def _repository_and_world(tmp_path: Path, monkeypatch) -> Path:
    """A model repository of A and B under a private state folder, and :func:`_world`'s log;
    the outcome table's path."""
    from fresco.training import ModelRepository
    from tests.model_records import save_tiny_model

    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    repository = ModelRepository()
    save_tiny_model(repository, A, "regression")
    save_tiny_model(repository, B, "binary")
    return _world(tmp_path)[2]


def test_fresco_monitor_metrics_prints_and_writes_the_table(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from fresco.cli import main

    table = _repository_and_world(tmp_path, monkeypatch)
    args = ["monitor", "metrics", "--outcomes", str(table), "--log", str(tmp_path / "log"),
            "--window", "1h", "--max-delay", "1d"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "600 predictions, 480 with an outcome (60 corrected, 60 late, 7 outcomes" in result.output
    written = pd.read_parquet(tmp_path / "home" / "monitoring" / "accuracy.parquet")
    expected = accuracy_over_time(join_outcomes(read_predictions(tmp_path / "log"), read_outcomes(table),
                                                max_delay=timedelta(days=1)).frame,
                                  {A: "regression", B: "binary"}, window="1h")
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    only_b = CliRunner().invoke(main, [*args, "--model", B[:8], "--output", str(tmp_path / "b.parquet")])
    assert only_b.exit_code == 0, only_b.output
    assert set(pd.read_parquet(tmp_path / "b.parquet")["model_uuid"]) == {B}
    bad = CliRunner().invoke(main, [*args, "--max-delay", "soon"])
    assert bad.exit_code != 0 and "expected a duration such as 30min" in bad.output


def test_fresco_monitor_metrics_draws_the_metric_and_join_rate_per_window(tmp_path: Path, monkeypatch) -> None:
    import matplotlib.image
    from click.testing import CliRunner

    from fresco.cli import main

    table = _repository_and_world(tmp_path, monkeypatch)
    args = ["monitor", "metrics", "--outcomes", str(table), "--log", str(tmp_path / "log"), "--window", "1h",
            "--model", A, "--plot", str(tmp_path / "plots" / "rmse.png")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.endswith(f"plot: {tmp_path / 'plots' / 'rmse.png'}\n")
    image = matplotlib.image.imread(tmp_path / "plots" / "rmse.png")
    assert image.shape[0] > 300 and image.shape[1] > 500 and image.std() > 0  # drawn, not blank
    wrong = CliRunner().invoke(main, [*args, "--plot-metric", "auc"])  # a regression model's table
    assert wrong.exit_code == 1 and "no metric 'auc' in the accuracy table (its metrics: rmse, mae, r2, rmsle)" in wrong.output


def test_monitoring_reads_the_logs_without_importing_serving_or_feast(tmp_path: Path) -> None:
    """The logs' records and schemas are shared through fresco.platform.logs: reading them
    for accuracy imports neither the HTTP service nor Feast."""
    from fresco.platform.logs import OutcomeRecord, OutcomeSink

    at = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    PredictionSink(tmp_path / "log").write([PredictionRecord(
        "p1", at, "m1", None, None, None, {"id": 1}, {}, {}, {"x": 1.0}, 2.0, 1.5)])
    OutcomeSink(tmp_path / "outcomes").write([OutcomeRecord("p1", 3.0, at, at)])
    code = ("import sys; from fresco.monitoring import read_predictions, read_outcomes, join_outcomes; "
            "joined = join_outcomes(read_predictions(sys.argv[1]), read_outcomes(sys.argv[2])); "
            "print(len(joined.frame), sorted(m for m in ('feast', 'bentoml', 'fresco.serving') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "log"), str(tmp_path / "outcomes")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "[]"], out.stdout
