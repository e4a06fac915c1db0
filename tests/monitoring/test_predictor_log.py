"""The in-process predictor logs as the service does, by default, and writes its tail at exit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fresco.monitoring import read_predictions
from tests.monitoring.models import home, trained  # noqa: F401 - fixtures


def test_the_in_process_predictor_logs_by_default_and_at_exit(trained, home, tmp_path: Path,  # noqa: F811
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from fresco.serving import Predictor

    row = {"placed_at": datetime(2026, 12, 5, 12, 30, tzinfo=timezone.utc), "distance_km": 2.5, "num_items": 3}
    monkeypatch.setenv("FRESCO_PREDICTION_LOG_DIR", str(tmp_path / "log"))
    # a model on request fields alone reads no feature store
    quiet = Predictor(object(), prediction_log=None)
    quiet.predict(trained.uuid, [row])
    predictor = Predictor(object())
    answer = predictor.predict(trained.uuid, [row, {**row, "num_items": 5}])
    predictor.close()
    logged = read_predictions(tmp_path / "log")
    assert logged["prediction_id"].tolist() == [r.prediction_id for r in answer.rows]
    assert logged["prediction"].tolist() == answer.predictions
    assert set(logged["model_uuid"]) == {trained.uuid}

    # a process that predicts and exits without closing still writes what it logged
    code = ("import datetime, sys; from fresco.serving import Predictor; "
            "row = {'placed_at': datetime.datetime(2026, 12, 5, 13, tzinfo=datetime.timezone.utc), "
            "'distance_km': 1.0, 'num_items': 2}; "
            "print(Predictor(object()).predict(sys.argv[1], [row] * 3).rows[0].prediction_id)")
    env = {**os.environ, "FRESCO_PREDICTION_LOG_DIR": str(tmp_path / "exit")}
    done = subprocess.run([sys.executable, "-c", code, trained.uuid], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    exited = read_predictions(tmp_path / "exit")
    assert len(exited) == 3 and done.stdout.split()[-1] in set(exited["prediction_id"])
