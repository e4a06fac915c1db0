"""``fresco monitor check``: alert rules on a real prediction log of a real model (written by
serving's writer), outcomes tables, real Evidently, a real catalog materialized by Fresco; the
command run as a scheduler runs it, with its exit code."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import copy_project, invoke_fresco, run_fresco
from tests.monitoring.models import T0, Trained, home, log_predictions, trained  # noqa: F401  (fixtures)

N = 400  # predictions per log, one every 5 s from T0
AT = T0 + timedelta(hours=1)  # after the last of them


def _rules(path: Path, uuid: str, *, min_count: int = 100) -> Path:
    path.write_text(f"""
rules:
  - name: eta-rmse
    model: "{uuid[:8]}"  # quoted: a prefix of digits alone would be a YAML number
    metric: rmse
    window: 2h
    above: 5.0
    min_count: {min_count}
  - name: eta-distance-nulls
    model: {uuid}
    metric: null_rate
    input: distance
    window: 2h
    above: 0.05
  - name: eta-drift
    model: {uuid}
    metric: drift_share
    window: 2h
    above: 0.3
  - name: eta-volume
    tag: eta:production
    metric: predictions
    window: 1h
    below: 150
freshness: none
""")
    return path


def _outcomes(records: list, path: Path, *, off_by: float, seed: int = 3) -> Path:
    """An outcome for every other prediction: the prediction plus ``off_by`` plus noise."""
    rng = np.random.default_rng(seed)
    rows = [(r.prediction_id, r.prediction + off_by + float(rng.normal(0, 1)), r.predicted_at + timedelta(minutes=40))
            for r in records[::2]]
    pd.DataFrame(rows, columns=["prediction_id", "outcome", "observed_at"]).to_parquet(path)
    return path


def _rmse(records: list, outcomes: Path) -> float:
    table = pd.read_parquet(outcomes).set_index("prediction_id")["outcome"]
    pairs = [(table[r.prediction_id], r.prediction) for r in records if r.prediction_id in table.index]
    return math.sqrt(sum((y - p) ** 2 for y, p in pairs) / len(pairs))


def _check(tmp_path: Path, home: Path, rules: Path, log: Path, outcomes: Path, record_to: Path, *,
           child: bool = False):
    """``fresco monitor check`` on these logs at AT: in this process, or (``child``) as a
    scheduler runs it."""
    run = run_fresco if child else invoke_fresco
    return run("monitor", "check", "--rules", str(rules), "--at", AT.isoformat(), "--log", str(log),
               "--outcomes", str(outcomes), "--record-to", str(record_to), cwd=tmp_path,
               env={"FRESCO_HOME": str(home)})


def test_rules_fire_for_a_degraded_model_and_not_for_a_good_one(trained: Trained, home: Path,
                                                                tmp_path: Path) -> None:
    rules = _rules(tmp_path / "monitoring.yaml", trained.uuid)
    good = log_predictions(trained.uuid, tmp_path / "good")
    good_outcomes = _outcomes(good, tmp_path / "good.parquet", off_by=0.0)
    done = _check(tmp_path, home, rules, tmp_path / "good", good_outcomes, tmp_path / "good-checks")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith(f"monitor check: 4 checked at {AT:%Y-%m-%dT%H:%M:%S}Z, 0 breached, "
                                "0 not judged (too little data)\n"), done.stdout
    assert f"{'OK':<12} eta-rmse: rmse {_rmse(good, good_outcomes):.6g} (above 5 breaches)" in done.stdout

    # degraded: 15 minutes off, one distance input in 8 not logged, the item counts shifted,
    # and a quarter of the traffic (100 predictions over the same half hour)
    bad = log_predictions(trained.uuid, tmp_path / "bad", n=N // 4, every=20.0, extra_items=3, null_every=8)
    bad_outcomes = _outcomes(bad, tmp_path / "bad.parquet", off_by=15.0)
    done = _check(tmp_path, home, rules, tmp_path / "bad", bad_outcomes, tmp_path / "bad-checks", child=True)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = {line.split(":")[0].split()[-1]: line for line in done.stdout.splitlines() if line.startswith(("OK", "BREACH", "INSUFF"))}
    assert lines["eta-rmse"].startswith("INSUFFICIENT")  # 50 outcomes < min_count 100: not judged
    assert "50 outcomes in" in lines["eta-rmse"] and "< min_count 100" in lines["eta-rmse"]
    assert lines["eta-distance-nulls"].startswith(f"{'BREACH':<12} eta-distance-nulls: null_rate {13 / 100:.6g} ")
    drift = lines["eta-drift"]
    assert drift.startswith("BREACH") and "items" in drift.split("drifted")[-1] and "size" in drift, drift
    assert lines["eta-volume"].startswith(f"{'BREACH':<12} eta-volume: predictions 100 (below 150 breaches)")
    assert "3 breached, 1 not judged" in done.stdout

    # with a lower min_count the accuracy rule judges the 50 outcomes, and breaches
    done = _check(tmp_path, home, _rules(tmp_path / "strict.yaml", trained.uuid, min_count=20), tmp_path / "bad",
                  bad_outcomes, tmp_path / "strict-checks")
    assert done.returncode == 1
    assert f"{'BREACH':<12} eta-rmse: rmse {_rmse(bad, bad_outcomes):.6g} (above 5 breaches)" in done.stdout

    # every verdict is recorded with its evidence
    table = pd.read_parquet(next((tmp_path / "strict-checks").glob("*.parquet")))
    row = table.set_index("rule").loc["eta-rmse"]
    assert row["status"] == "breach" and row["count"] == 50 and row["threshold"] == 5.0
    assert row["value"] == pytest.approx(_rmse(bad, bad_outcomes))
    assert row["window_start"] == pd.Timestamp(AT - timedelta(hours=2)) and row["window_end"] == pd.Timestamp(AT)
    assert row["subject"] == f"model eta_test {trained.uuid}"


def test_a_wrong_config_or_model_is_named_with_exit_code_2(trained: Trained, home: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("rules:\n  - name: a\n    model: x\n    metric: rmse\n    window: soon\n    above: 1\n"
                     "  - name: b\n    model: x\n    metric: nps\n    above: 1\n"
                     "  - name: c\n    model: x\n    metric: rmse\n    above: 1\n    below: 2\n")
    done = invoke_fresco("monitor", "check", "--rules", str(wrong), cwd=tmp_path, env={"FRESCO_HOME": str(home)})
    assert done.returncode == 2
    assert "invalid monitoring config" in done.stderr
    assert f"{wrong}: rules.0.window: 'soon' is not a duration such as 30min, 6h or 7d" in done.stderr
    assert f"{wrong}: rules.1.metric: Input should be 'rmse'" in done.stderr
    assert "rules.2: give exactly one threshold" in done.stderr

    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("rules:\n  - {name: a, model: 'nosuch:production', metric: rmse, above: 1}\nfreshness: none\n")
    log_predictions(trained.uuid, tmp_path / "log", n=10)
    done = invoke_fresco("monitor", "check", "--rules", str(unknown), "--log", str(tmp_path / "log"),
                         cwd=tmp_path, env={"FRESCO_HOME": str(home)})
    assert done.returncode == 2 and "nosuch:production" in done.stderr, done.stderr

    done = invoke_fresco("monitor", "check", cwd=tmp_path, env={"FRESCO_HOME": str(home)})
    assert done.returncode == 2 and "monitoring.yaml: file not found" in done.stderr


def test_a_feature_view_older_than_its_sla_is_reported(applied_project: Path, tmp_path: Path) -> None:
    project = copy_project(applied_project, tmp_path / "shop")
    rules = tmp_path / "monitoring.yaml"
    rules.write_text("freshness: all\n")
    env = {"FRESCO_HOME": str(tmp_path / "state")}

    def check(at: pd.Timestamp):
        return invoke_fresco("monitor", "check", "--rules", str(rules), "--at", at.isoformat(), "--repo", str(project),
                             cwd=tmp_path, env=env)

    end = pd.Timestamp("2026-12-01T00:00:00Z")
    done = check(end)
    assert done.returncode == 1, done.stdout + done.stderr
    views = [line for line in done.stdout.splitlines() if "freshness:" in line]
    assert views and all(line.startswith("BREACH") and "never written" in line for line in views), done.stdout

    done = invoke_fresco("materialize", "--start", (end - timedelta(days=30)).isoformat(), "--end", end.isoformat(),
                         "--repo", str(project), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    sla = {line.split(":")[1].split()[0]: line for line in check(end + timedelta(hours=1)).stdout.splitlines()
           if "freshness:" in line}
    assert sla and all(line.startswith("OK") for line in sla.values()), sla
    assert all("last written 2026-12-01T00:00:00Z by its materialization, 1:00:00 ago" in line for line in sla.values())

    done = check(end + timedelta(days=1, minutes=1))  # the template's views promise 1 day
    assert done.returncode == 1
    stale = [line for line in done.stdout.splitlines() if "freshness:" in line]
    assert stale and all(line.startswith("BREACH") and "1 day, 0:01:00 ago; SLA 1 day, 0:00:00" in line
                         for line in stale), stale
