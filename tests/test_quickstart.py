"""The quickstart end to end on a small generated set, in a private copy of the repository."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.conftest import fresco_serve

from fresco.platform import list_catalog, open_store


def test_quickstart_builds_catalog_online_store_and_dataset(
    feast_repo: Path, spark, kafka: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fresco.quickstart import FEATURE_SERVICE, LABEL, run_quickstart

    # no FRESCO_HOME: the quickstart's state goes where its suggested commands look (the repository's)
    monkeypatch.delenv("FRESCO_HOME", raising=False)
    monkeypatch.delenv("FRESCO_FEATURE_REPO", raising=False)
    lines: list[str] = []
    report = run_quickstart(feast_repo, orders=4_000, restaurants=25, days=10, echo=lines.append)
    assert report.model_report.is_relative_to(feast_repo / ".fresco"), report.model_report
    _run_the_suggested_commands(lines[-1], report)
    monkeypatch.setenv("FRESCO_FEATURE_REPO", str(feast_repo))  # below, read it as those commands do

    assert report.dataset_rows == report.orders == 4_000
    dataset = pd.read_parquet(report.dataset_path)
    assert len(dataset) == 4_000 and LABEL in dataset.columns
    assert dataset["restaurant_profile__cuisine"].notna().all()
    assert dataset["restaurant_stats_7d__avg_prep_time_7d"].notna().mean() > 0.7
    assert "Fresco quickstart finished" in lines[-1] and str(report.dataset_path) in lines[-1]
    # it ends by serving the model over HTTP (300 orders of the held-out period) and printing
    # real predictions
    assert len(report.predictions) == 300
    assert all(p["model_uuid"] == report.model_uuid and p["prediction"] > 0 for p in report.predictions)
    assert f"({report.model_uuid[:8]})" in lines[-1] and "... and 297 more" in lines[-1]
    # ... logs them, reports the orders' real delivery times as their outcomes, and monitors them
    assert len({p["prediction_id"] for p in report.predictions}) == 300
    orders = pd.read_parquet(report.raw_dir / "orders.parquet")
    served = pd.DataFrame(report.predictions).assign(placed_at=lambda f: pd.to_datetime(f["placed_at"], utc=True))
    known = orders.assign(placed_at=pd.to_datetime(orders["placed_at"], utc=True))[["restaurant_id", "placed_at", LABEL]]
    assert len(served.merge(known, on=["restaurant_id", "placed_at", LABEL])) >= 300  # real orders, their real labels
    assert served["placed_at"].min() >= known["placed_at"].quantile(0.79)  # from the held-out period
    assert report.monitored["logged"] == 300 and report.monitored["with_outcome"] == 300
    expected_mae = (served[LABEL] - served["prediction"]).abs().mean()
    assert report.monitored["mae"] == pytest.approx(expected_mae)
    assert report.accuracy_path.is_file() and str(report.accuracy_path) in lines[-1]
    # ... the drift report against the model's reference sample, and the example's alert rules
    assert report.monitoring_report.is_file() and str(report.monitoring_report) in lines[-1]
    assert "DataDriftPreset" in report.monitoring_report.read_text() or "Drift" in report.monitoring_report.read_text()
    rules = [line for line in report.checks if not line.split()[1].startswith("freshness:")]
    assert [line.split()[1] for line in rules] == ["eta-rmse:", "eta-drift:", "eta-nulls:", "eta-skew:",
                                                   "eta-volume:"]
    # the served predictions, replayed offline, are what training would have computed; the only
    # difference allowed: a realtime window that closed after the materialization (null online)
    skew = next(line for line in rules if line.split()[1] == "eta-skew:")
    assert skew.startswith("OK           eta-skew: skew_rate "), skew
    found = re.search(r"(\d+) of 300 replayed predictions of delivery_eta \w+ differ(?: \((.*)\))?$", skew)
    assert found, skew
    assert int(found.group(1)) == 0 or found.group(2) == f"not_materialized {found.group(1)}", skew
    views = {line.split()[1] for line in report.checks} - set(line.split()[1] for line in rules)
    assert views == {f"freshness:{e.feature.split(':')[0]}:" for e in list_catalog(open_store(feast_repo))}
    assert all(line.split()[0] in ("OK", "BREACH", "INSUFFICIENT") for line in report.checks)
    assert report.checks_breached == sum(line.startswith("BREACH") for line in report.checks)
    assert f"{report.checks_breached} breached" in lines[-1] and all(line in lines[-1] for line in report.checks)

    # the example model was trained on the quickstart's data and tagged
    from fresco.training import ModelRepository, load_model

    assert report.model_uuid in lines[-1] and str(report.model_report) in lines[-1]
    assert report.model_metrics["rmse"] < 0.6 * report.model_baseline["rmse"]
    assert ModelRepository().resolve("delivery_eta:production") == report.model_uuid
    assert load_model("delivery_eta:production").inputs[:3] == ["hour", "weekend", "rush"]

    store = open_store(feast_repo)
    entries = list_catalog(store)
    assert {e.feature_services for e in entries} == {(FEATURE_SERVICE,)}
    assert all(e.last_materialized is not None for e in entries)

    # the online store holds each restaurant's latest offline 7-day snapshot
    offline = pd.read_parquet(report.features_dir / "restaurant_stats_7d")
    offline = offline[offline["event_timestamp"] <= report.end]  # materialized up to `end` (again to the moment served: no daily snapshot between)
    latest = offline.sort_values("event_timestamp").groupby("restaurant_id").tail(1)
    fresh = latest[latest["event_timestamp"] >= report.end - pd.Timedelta(days=2)]
    assert len(fresh) > 0
    online = store.get_online_features(
        features=["restaurant_stats_7d:avg_prep_time_7d"],
        entity_rows=[{"restaurant_id": int(r)} for r in fresh["restaurant_id"]],
    ).to_df()
    assert online["avg_prep_time_7d"].tolist() == pytest.approx(fresh["avg_prep_time_7d"].tolist())

    # every restaurant's profile is online, however old it is (the profile never expires)
    profiles = store.get_online_features(
        features=["restaurant_profile:cuisine"],
        entity_rows=[{"restaurant_id": r} for r in range(1, report.restaurants + 1)],
    ).to_df()
    assert profiles["cuisine"].notna().all(), profiles[profiles["cuisine"].isna()]

    # `fresco features` lists the same catalog for people
    from click.testing import CliRunner

    from fresco.cli import main

    listing = CliRunner().invoke(main, ["features", "--repo", str(feast_repo)])
    assert listing.exit_code == 0, listing.output
    row = next(line for line in listing.output.splitlines() if "avg_prep_time_7d" in line)
    assert row.split()[:5] == [
        "restaurant_stats_7d:avg_prep_time_7d",
        "Float64",
        "eats-delivery-ml@fresco.dev",
        "1d",
        FEATURE_SERVICE,
    ]
    assert "never" not in listing.output

    # --streaming's last step on this run: live events for one restaurant through Kafka and the
    # stream job change its served features and prediction, each within seconds
    import uuid

    from fresco.quickstart import stream_live

    monkeypatch.setenv("FRESCO_KAFKA_TOPIC_PREFIX", f"test-{uuid.uuid4().hex[:8]}.")
    streamed_lines: list[str] = []
    streamed = stream_live(feast_repo, report, streamed_lines.append, preparation_minutes=(35.0, 42.0, 50.0))
    assert [r["orders_1h"] for r in streamed] == [1, 2, 3]  # the job starts at the topic's end
    assert [r["avg_prep_time_1h"] for r in streamed] == pytest.approx([35.0, 38.5, 42.333333])
    assert all(r["prediction"] > 0 for r in streamed)
    restaurant = report.predictions[0]["restaurant_id"]
    assert any(line.startswith(f"    restaurant {restaurant} before: ") for line in streamed_lines)
    assert any("event 3: an order ready after 50 min -> online in " in line and "orders_1h=3" in line
               for line in streamed_lines), streamed_lines


def _run_the_suggested_commands(printed: str, report) -> None:
    """Every command the quickstart's closing lines suggest, run exactly as printed (in a clean
    environment, from where the first line goes), finds its catalog, models and logs."""
    block = printed.split("Next, from the example's repository")[1].splitlines()[1:]
    commands = [line.strip() for line in block if line.startswith("  ") and not line.strip().startswith("(")]
    assert commands[0].startswith("cd ") and commands[-1] == "fresco serve", commands
    cwd = Path.cwd() / commands[0].removeprefix("cd ")
    assert cwd.resolve() == report.repo
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRESCO_", "FEAST_", "BENTOML_"))}
    fresco = str(Path(sys.executable).with_name("fresco"))
    expected = {"fresco features": "restaurant_stats_7d:avg_prep_time_7d",
                "fresco models list": report.model_uuid,
                "fresco models show delivery_eta:production": report.model_uuid,
                "fresco monitor metrics": "300 predictions, 300 with an outcome",
                "fresco monitor report delivery_eta:production": "300 predictions from"}
    for command in commands[1:-1]:
        args = shlex.split(command)
        done = subprocess.run([fresco, *args[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
        assert expected[command] in done.stdout, f"{command}:\n{done.stdout}"
    # `fresco serve` as printed answers the quickstart's tag (on a free port: $FRESCO_SERVE_PORT)
    with fresco_serve([fresco, *shlex.split(commands[-1])[1:]], cwd=cwd, env=env, timeout=180) as url:
        rows = [{k: p[k] for k in ("restaurant_id", "placed_at", "customer_lat", "customer_lon", "num_items")}
                for p in report.predictions]
        answer = httpx.post(f"{url}/predict", timeout=60, json={"model": "delivery_eta:production", "rows": rows})
        assert answer.status_code == 200, answer.text
        assert [p["model_uuid"] for p in answer.json()["predictions"]] == [report.model_uuid] * len(rows)


def test_the_quickstart_prepares_a_new_folder_and_refuses_someone_elses(tmp_path: Path) -> None:
    from fresco.example import REPO_DIR, REPO_FILES
    from fresco.quickstart import QuickstartFolderError, example_folder

    new = example_folder(tmp_path / "new")
    assert sorted(p.name for p in new.iterdir()) == sorted(REPO_FILES)
    assert (new / "definitions.py").read_text() == (REPO_DIR / "definitions.py").read_text()
    (tmp_path / "empty").mkdir()
    assert (example_folder(tmp_path / "empty") / "feature_store.yaml").is_file()
    # a repository is used as it is: its own definitions stay
    (new / "definitions.py").write_text("# edited\n")
    assert example_folder(new) == new and (new / "definitions.py").read_text() == "# edited\n"
    # a folder with someone's files and no feature_store.yaml is refused, and left untouched
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(QuickstartFolderError, match="is not empty and holds no feature_store.yaml"):
        example_folder(tmp_path / "mine")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
