"""``fresco features suggest`` on the example with a new label, late delivery, and three planted
views: per-order noise (drives nothing), a per-order copy of the label stamped at delivery (it
leaks the label from the future: point in time, no row may see it), and a courier's view (an
entity the orders do not carry)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import copy_project, invoke_fresco, run_feast

PLANTED = '''

from feast import FileSource as _PlantedSource
from feast.types import Float64 as _Float64

order = Entity(name="order", join_keys=["order_id"], value_type=ValueType.INT64, description="An order.", owner=OWNER)
courier = Entity(name="courier", join_keys=["courier_id"], value_type=ValueType.INT64, description="A courier.",
                 owner=OWNER)


def _planted(name, entity, field, description):
    return FeatureView(
        name=name, entities=[entity], ttl=timedelta(days=30),
        schema=[Field(name=field, dtype=_Float64, description=description)],
        source=_PlantedSource(name=f"{name}_source", path=f"data/planted/{name}.parquet",
                              timestamp_field="event_timestamp"),
        online=False, owner="planted@fresco.dev", description=description, tags={"freshness_sla": "1d"},
    )


order_noise = _planted("order_noise", order, "noise", "Random numbers, one per order, known at placement.")
order_outcome = _planted("order_outcome", order, "was_late", "Whether the order was late, known at delivery.")
courier_stats = _planted("courier_stats", courier, "speed_kmh", "A courier's mean speed.")
'''

LATE_QUANTILE = 0.7


@pytest.fixture(scope="module")
def late_orders(small_repo: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example's orders labelled late (delivery time above its 70th percentile), and the
    planted views written and applied to the repository."""
    shared = Path(small_repo["features.repo"])
    repo = copy_project(shared, tmp_path_factory.mktemp("suggest") / "feature_repo")
    orders = pd.read_parquet(repo / Path(small_repo["data.source.parquet"]).relative_to(shared))
    late = orders["delivery_duration_min"] > orders["delivery_duration_min"].quantile(LATE_QUANTILE)
    planted = repo / "data" / "planted"
    planted.mkdir(parents=True)
    rng = np.random.default_rng(11)
    pd.DataFrame({"order_id": orders["order_id"], "noise": rng.normal(size=len(orders)),
                  "event_timestamp": orders["placed_at"] - pd.Timedelta(minutes=1)}
                 ).to_parquet(planted / "order_noise.parquet")
    pd.DataFrame({"order_id": orders["order_id"], "was_late": late.astype("float64"),
                  "event_timestamp": orders["delivered_at"]}).to_parquet(planted / "order_outcome.parquet")
    pd.DataFrame({"courier_id": [1, 2], "speed_kmh": [20.0, 24.0],
                  "event_timestamp": [orders["placed_at"].min()] * 2}).to_parquet(planted / "courier_stats.parquet")
    with (repo / "definitions.py").open("a") as definitions:
        definitions.write(PLANTED)
    applied = run_feast(repo, "apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    labels = tmp_path_factory.mktemp("labels") / "late.parquet"
    orders[["order_id", "restaurant_id", "placed_at"]].assign(late=late).to_parquet(labels)
    return {"repo": repo, "labels": labels}


@pytest.fixture(scope="module")
def suggested(late_orders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """``fresco features suggest`` run once, its draft written."""
    out = tmp_path_factory.mktemp("suggestion")
    home = out / "home"
    result = invoke_fresco("features", "suggest", str(late_orders["labels"]), "--label", "late", "--top", "5",
                           "--repo", str(late_orders["repo"]), "--output", str(out / "report"),
                           "--write-config", str(out / "draft"), cwd=out, env={"FRESCO_HOME": str(home)})
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "report" / "suggestion.json").read_text())
    return {"output": result.stdout, "report": report, "out": out, "home": home}


def _by_ref(report: dict) -> dict[str, dict]:
    return {f["score"]["ref"]: f for f in report["features"]}


def test_the_features_that_drive_lateness_rank_above_noise(suggested: dict) -> None:
    report = suggested["report"]
    assert report["task"] == "binary"
    ranks = {ref: f["rank"] for ref, f in _by_ref(report).items()}
    noise = ranks["order_noise:noise"]
    # in the generator, a late order is a slow kitchen (cuisine -> prep time) or a slow city's roads
    for driver in ("restaurant_stats_7d:avg_delivery_time_7d", "restaurant_stats_7d:avg_prep_time_7d"):
        assert ranks[driver] < noise, (driver, ranks)
    assert "order_noise:noise" not in report["top"]
    ranking = report["ranking"]
    assert ranking["model_metrics"]["auc"] > ranking["baseline_metrics"]["auc"] + 0.1


def test_a_feature_stamped_after_the_rows_time_is_never_seen(suggested: dict) -> None:
    leak = _by_ref(suggested["report"])["order_outcome:was_late"]["score"]
    assert leak["coverage"] == 0.0
    assert leak["in_model"] is False and leak["permutation"] == 0.0
    assert "order_outcome:was_late" not in suggested["report"]["top"]


def test_another_entitys_feature_is_listed_as_not_applicable_with_the_key_it_needs(suggested: dict) -> None:
    excluded = {e["ref"]: e for e in suggested["report"]["excluded"]}
    assert excluded["courier_stats:speed_kmh"]["needs"] == ["courier_id"]
    assert "courier_stats:speed_kmh" not in _by_ref(suggested["report"])
    assert "left out courier_stats:speed_kmh: not applicable" in suggested["output"]


def test_the_report_says_which_rows_and_period_each_figure_used(suggested: dict) -> None:
    ranking = suggested["report"]["ranking"]
    assert ranking["ranked_on"]["end"] < ranking["holdout"]["start"]
    assert ranking["ranked_on"]["rows"] + ranking["holdout"]["rows"] == suggested["report"]["rows"]
    html = (suggested["out"] / "report" / "suggestion.html").read_text()
    assert f"Hold-out, later in time: {ranking['holdout']['rows']:,} rows" in html
    assert "<svg" in html and "restaurant_stats_7d:avg_delivery_time_7d" in html


def test_the_drafted_config_trains_as_written(suggested: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from fresco.training import plan_training, train

    config = suggested["out"] / "draft" / "late_suggested.yaml"
    program = (suggested["out"] / "draft" / "late_suggested.dsl").read_text()
    for ref in suggested["report"]["top"]:
        view, feature = ref.split(":")
        assert f"@fs.{view}.{feature}" in program
    monkeypatch.setenv("FRESCO_HOME", str(suggested["home"]))
    result = train(plan_training(config))
    assert result.record.task == "binary"
    assert set(result.record.dataset["feature_refs"]) == set(suggested["report"]["top"])
    assert result.record.metrics["test"]["auc"] > 0.6
