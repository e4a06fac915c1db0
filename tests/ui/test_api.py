"""The management API over real HTTP: ``fresco ui`` as its own process over a real project and
model repository (tests/ui/conftest.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.conftest import run_feast, run_fresco
from tests.ui.conftest import (CRM_OWNER, HOLDER, OWNER, TOKEN, Service, fresco_ui, reported_and_checked, suggested,
                              served_and_observed)

TAG = "basket_value:production"


def _get(service: Service, path: str, **params: object) -> httpx.Response:
    return httpx.get(service.url + path, params=params, timeout=30)


def _features(service: Service, **params: object) -> dict[str, dict]:
    answer = _get(service, "/api/catalog/features", **params)
    assert answer.status_code == 200, answer.text
    return {f["ref"]: f for f in answer.json()["features"]}


def _move(service: Service, tag: str, body: object, authorization: str | None = f"Bearer {TOKEN}") -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.put(f"{service.url}/api/tags/{tag}", json=body, headers=headers, timeout=30)


def _error(answer: httpx.Response, status: int, kind: str, field: str | None = None) -> str:
    """The JSON error's message, after checking its status, kind and field."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["error"] == kind and body.get("field") == field, body
    assert set(body) <= {"error", "message", "field"}, body  # the prediction service's shape
    return body["message"]


def test_a_feature_is_found_by_name_with_its_facts_and_users(service: Service) -> None:
    found = _features(service, q="ORDER_VALUE")
    assert list(found) == ["customer_stats:avg_order_value_30d"]
    feature = found["customer_stats:avg_order_value_30d"]
    assert feature["type"] == "Float64" and feature["owner"] == OWNER
    assert feature["description"] == "Mean order value, same window."
    assert feature["ttl_seconds"] == 2 * 86400 and feature["freshness_sla"] == "1d"
    assert feature["source"] == "customer_stats_source" and not feature["deprecated"]
    assert feature["last_written"] is not None and feature["within_sla"] is True  # materialized just now
    assert feature["feature_services"] == ["basket_value_v1"]
    assert {m["uuid"] for m in feature["models"]} == service.regressors | {service.binary}


def test_features_are_found_by_owner_and_by_tag(service: Service) -> None:
    crm = _features(service, owner=CRM_OWNER.upper())
    assert list(crm) == ["customer_segments:segment"]
    segment = crm["customer_segments:segment"]
    assert segment["deprecated"] and segment["within_sla"] is False and segment["last_written"] is None
    assert segment["feature_services"] == [] and segment["models"] == []
    assert set(_features(service, owner=OWNER)) == {
        "customer_stats:avg_order_value_30d", "customer_stats:orders_30d", "customer_stats:segment"}
    assert list(_features(service, tag="domain=crm")) == ["customer_segments:segment"]
    assert _features(service, tag="domain=sales") == {}
    assert len(_features(service)) == 4


def test_a_view_and_a_feature_have_their_pages(service: Service) -> None:
    view = _get(service, "/api/catalog/views/customer_stats").json()
    assert view["owner"] == OWNER and view["entities"] == ["customer"] and view["within_sla"] is True
    assert [f["name"] for f in view["features"]] == ["avg_order_value_30d", "orders_30d", "segment"]
    feature = _get(service, "/api/catalog/features/customer_segments/segment").json()
    assert feature["owner"] == CRM_OWNER and feature["tags"]["domain"] == "crm"


def test_a_features_distribution_is_sampled_from_its_offline_source(service: Service) -> None:
    import numpy as np
    import pandas as pd

    data = pd.read_parquet(service.project / "data" / "customer_stats.parquet")
    base = "/api/catalog/features/customer_stats"
    whole = _get(service, f"{base}/avg_order_value_30d/distribution", rows=len(data)).json()
    assert whole["source"] == "customer_stats_source" and whole["source_rows"] == whole["sampled"] == len(data)
    values = data["avg_order_value_30d"]
    assert whole["kind"] == "number" and whole["nulls"] == int(values.isna().sum())
    assert (whole["min"], whole["max"]) == (values.min(), values.max())
    assert whole["mean"] == pytest.approx(values.mean())
    counts, edges = np.histogram(values.dropna(), bins=len(whole["bins"]))
    assert [b["count"] for b in whole["bins"]] == counts.tolist()
    assert [b["low"] for b in whole["bins"]] == pytest.approx(edges[:-1].tolist())
    sample = _get(service, f"{base}/avg_order_value_30d/distribution", rows=50).json()  # a bounded sample
    assert sample["sampled"] == 50 and sample["source_rows"] == len(data)
    assert sum(b["count"] for b in sample["bins"]) + sample["nulls"] == 50
    assert values.min() <= sample["min"] <= sample["max"] <= values.max()
    assert _get(service, f"{base}/avg_order_value_30d/distribution", rows=50).json() == sample  # the same sample
    segments = _get(service, f"{base}/segment/distribution").json()  # the default: up to 10,000 rows
    assert segments["kind"] == "category" and segments["sampled"] == min(10_000, len(data)) and segments["bins"] is None
    if segments["sampled"] == len(data):
        expected = data["segment"].value_counts()
        assert {v["value"]: v["count"] for v in segments["values"]} == expected.head(len(segments["values"])).to_dict()
    assert sum(v["count"] for v in segments["values"]) + segments["other"] + segments["nulls"] == segments["sampled"]
    _error(_get(service, f"{base}/weather/distribution"), 404, "unknown_feature", "feature")
    _error(_get(service, "/api/catalog/features/weather/segment/distribution"), 404, "unknown_feature", "view")
    _error(_get(service, f"{base}/segment/distribution", rows=0), 400, "bad_request", "rows")
    _error(_get(service, f"{base}/segment/distribution", rows=10**6), 400, "bad_request", "rows")


def test_unknown_names_are_404_in_the_json_shape(service: Service) -> None:
    message = _error(_get(service, "/api/catalog/views/weather"), 404, "unknown_feature", "view")
    assert "'weather'" in message and "customer_stats" in message
    _error(_get(service, "/api/catalog/features/customer_stats/weather"), 404, "unknown_feature", "feature")
    message = _error(_get(service, "/api/models/churn:production"), 404, "unknown_model", "ref")
    assert "churn:production" in message
    message = _error(_get(service, "/api/nothing-here"), 404, "not_found")
    assert "/api/openapi.json" in message
    wrong_method = httpx.post(f"{service.url}/api/tags", timeout=30)
    _error(wrong_method, 405, "method_not_allowed")
    assert wrong_method.headers["allow"] == "GET"


def test_models_are_listed_filtered_and_sorted(service: Service) -> None:
    def uuids(**params: object) -> list[str]:
        answer = _get(service, "/api/models", **params)
        assert answer.status_code == 200, answer.text
        return [m["uuid"] for m in answer.json()["models"]]

    every = service.regressors | {service.binary}
    assert set(uuids()) == every and set(uuids(name="basket_value")) == service.regressors
    assert uuids(tag=TAG) == [service.model_a] and uuids(tag="basket_value:staging") == []
    assert uuids(name="churn") == [] and uuids(author="nobody") == []
    assert uuids(since="2999-01-01T00:00:00Z") == [] and set(uuids(since="2020-01-01T00:00:00+02:00")) == every
    models = {m["uuid"]: m for m in _get(service, "/api/models").json()["models"]}
    assert set(uuids(author=models[service.model_a]["author"])) == every
    rmse = {uuid: m["held_out"]["metrics"]["rmse"] for uuid, m in models.items() if uuid in service.regressors}
    assert all(m["held_out"]["split"] == "test" for m in models.values())
    assert uuids(sort="rmse") == [*sorted(rmse, key=rmse.get), service.binary]  # an error: smallest first; none last
    assert uuids(sort="r2") == [*sorted(rmse, key=lambda u: -models[u]["held_out"]["metrics"]["r2"]), service.binary]
    assert uuids(sort="auc")[0] == service.binary
    _error(_get(service, "/api/models", sort="accuracy_score"), 400, "bad_request", "sort")
    message = _error(_get(service, "/api/models", since="2026-01-01T00:00:00"), 400, "bad_request", "since")
    assert "zone" in message


def test_a_models_page_has_config_dataset_metrics_and_importance(service: Service) -> None:
    model = _get(service, f"/api/models/{service.model_b[:8]}").json()  # a UUID prefix
    assert model["uuid"] == service.model_b and model["name"] == "basket_value"
    assert model["config"]["model"]["hyperparameters"]["n_estimators"] == 10
    assert model["dataset"]["feature_service"] == "basket_value_v1" and model["dataset"]["test_rows"] > 0
    assert model["held_out"]["split"] == "test" and model["held_out"]["metrics"]["rmse"] > 0
    assert set(model["metrics"]) >= {"train", "validation", "test"} and "test" in model["baseline"]
    assert model["feature_importance"] and set(model["feature_importance"]) <= set(model["inputs"])
    assert model["partitions"] is None


def test_a_partitioned_models_page_lists_its_partitions(service: Service) -> None:
    partitions = _get(service, f"/api/models/{service.by_segment}").json()["partitions"]
    assert partitions["columns"] == ["segment"]
    answered_by = {p["name"]: p["answered_by"] for p in partitions["partitions"]}
    assert answered_by == {"root": "root", "segment=regular": "segment=regular",
                           "segment=bargain": "segment=bargain", "segment=premium": "root"}  # too few rows


def test_an_xgboost_models_trees_are_read_from_its_booster(service: Service) -> None:
    from fresco.training import load_model

    model = _get(service, f"/api/models/{service.model_a}").json()
    booster = load_model(service.model_a).estimator
    about = _get(service, f"/api/models/{TAG}/trees").json()  # a tag names the model too
    assert about["uuid"] == service.model_a and about["partitions"] == ["root"]
    assert about["count"] == booster.num_boosted_rounds() and about["best_iteration"] == booster.best_iteration
    last = about["count"] - 1
    tree = _get(service, f"/api/models/{service.model_a}/trees/{last}").json()
    assert tree["index"] == last and tree["count"] == about["count"]
    frame = booster.trees_to_dataframe()  # XGBoost's other reading of the same trees
    nodes = frame[frame["Tree"] == last].set_index("Node")
    root, first = tree["root"], nodes.loc[0]
    assert root["feature"] == model["inputs"][int(first["Feature"][1:])]
    assert root["threshold"] == pytest.approx(first["Split"]) and root["gain"] == pytest.approx(first["Gain"])
    assert root["cover"] == pytest.approx(first["Cover"])

    def walk(node: dict) -> list[dict]:
        return [node] if "leaf" in node else [node, *walk(node["yes"]), *walk(node["no"])]

    every = walk(root)
    leaves = [n for n in every if "leaf" in n]
    assert len(every) == len(nodes) and len(leaves) == (nodes["Feature"] == "Leaf").sum()
    assert sorted(n["leaf"] for n in leaves) == pytest.approx(sorted(nodes[nodes["Feature"] == "Leaf"]["Gain"]))
    assert {n["feature"] for n in every if "feature" in n} <= set(model["inputs"])
    message = _error(_get(service, f"/api/models/{service.model_a}/trees/{last + 1}"), 400, "bad_request", "index")
    assert f"0 to {last}" in message


def test_a_partitioned_models_trees_are_per_partition_and_a_linear_model_has_none(service: Service) -> None:
    about = _get(service, f"/api/models/{service.by_segment}/trees").json()
    assert about["partitions"][0] == about["partition"] == "root"
    assert set(about["partitions"]) == {"root", "segment=regular", "segment=bargain"}  # premium: not trained
    regular = _get(service, f"/api/models/{service.by_segment}/trees/0", partition="segment=regular").json()
    assert regular["partition"] == "segment=regular" and ("feature" in regular["root"] or "leaf" in regular["root"])
    message = _error(_get(service, f"/api/models/{service.by_segment}/trees", partition="segment=premium"),
                     400, "bad_request", "partition")
    assert "segment=regular" in message  # the trained ones named
    message = _error(_get(service, f"/api/models/{service.linear}/trees"), 400, "bad_request", "ref")
    assert "linear" in message and "no trees" in message
    _error(_get(service, f"/api/models/{service.linear}/trees/0"), 400, "bad_request", "ref")
    _error(_get(service, "/api/models/churn:production/trees/0"), 404, "unknown_model", "ref")
    _error(_get(service, f"/api/models/{service.model_a}/trees/first"), 400, "bad_request", "index")


def test_two_models_are_compared(service: Service) -> None:
    answer = httpx.get(f"{service.url}/api/compare", params=[("ref", service.model_a), ("ref", service.model_b)],
                       timeout=30)
    assert answer.status_code == 200, answer.text
    compared = answer.json()
    a, b = service.model_a, service.model_b
    assert [m["uuid"] for m in compared["models"]] == [a, b]
    assert set(compared["metrics"]["test.rmse"]) == {a, b}
    diff = compared["config_diff"]
    assert diff["model.hyperparameters.n_estimators"] == {a: 30, b: 10}
    assert diff["model.hyperparameters.max_depth"] == {a: 3, b: 2}
    assert "model.name" not in diff and "data.label" not in diff  # the same in both
    assert all(set(values) <= {a, b} for values in compared["importance"].values())
    assert any(set(values) == {a, b} for values in compared["importance"].values())
    _error(httpx.get(f"{service.url}/api/compare", params={"ref": a}, timeout=30), 400, "bad_request", "ref")


def _sample(service: Service, uuid: str):
    """The model's reference sample, as monitoring reads it."""
    from fresco.training import ModelRepository
    from fresco.training.reference import read_reference

    return read_reference(ModelRepository(service.home / "models").artifact_path(uuid), uuid).frame


def test_a_regression_models_curves_come_from_its_reference_sample(service: Service) -> None:
    from sklearn.metrics import root_mean_squared_error

    answer = _get(service, f"/api/models/{service.model_a}/evaluation")
    assert answer.status_code == 200, answer.text
    evaluation = answer.json()
    frame = _sample(service, service.model_a)
    record = _get(service, f"/api/models/{service.model_a}").json()
    assert evaluation["split"] == "test" and evaluation["sample_rows"] == len(frame) == record["dataset"]["test_rows"]
    assert evaluation["metrics"]["rmse"] == pytest.approx(root_mean_squared_error(frame["label"], frame["prediction"]))
    assert evaluation["metrics"]["rmse"] == pytest.approx(record["metrics"]["test"]["rmse"])  # the whole test split
    pairs = set(zip(frame["prediction"].round(9), frame["label"].round(9)))
    shown = evaluation["curves"]["predicted_vs_actual"]
    assert len(shown["predicted"]) == min(2000, len(frame))
    assert set(zip(pd.Series(shown["predicted"]).round(9), pd.Series(shown["actual"]).round(9))) <= pairs
    residuals = evaluation["curves"]["residuals"]
    assert [round(r, 9) for r in residuals["residual"]] == [round(a - p, 9) for a, p in zip(shown["actual"],
                                                                                          shown["predicted"])]
    deciles = evaluation["curves"]["predicted_vs_actual"]["deciles"]
    assert len(deciles["mean_predicted"]) == 10 and deciles["mean_predicted"] == sorted(deciles["mean_predicted"])
    assert sum(deciles["mean_actual"]) / 10 == pytest.approx(frame["label"].mean(), rel=0.02)  # about equal deciles
    assert sum(evaluation["curves"]["residual_histogram"]["counts"]) == len(frame)


def test_a_binary_models_roc_pr_and_calibration_come_from_its_reference_sample(service: Service) -> None:
    import numpy as np
    from sklearn.metrics import precision_recall_curve, roc_auc_score

    evaluation = _get(service, f"/api/models/{service.binary}/evaluation").json()
    frame = _sample(service, service.binary)
    y, p = frame["label"].astype(int), frame["prediction"]
    assert evaluation["task"] == "binary" and evaluation["sample_rows"] == len(frame)
    assert evaluation["metrics"]["auc"] == pytest.approx(roc_auc_score(y, p))
    roc = evaluation["curves"]["curves"]
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (0, 0, 1, 1)
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(roc_auc_score(y, p), abs=0.01)  # the curve's area
    precision, recall, _ = precision_recall_curve(y, p)
    on_curve = set(zip(precision.round(9), recall.round(9)))
    assert set(zip(np.round(roc["precision"], 9), np.round(roc["recall"], 9))) <= on_curve
    calibration = evaluation["curves"]["calibration"]
    bins = np.minimum((p * 10).astype(int), 9)
    expected = [(p[bins == b].mean(), y[bins == b].mean()) for b in range(10) if (bins == b).any()]
    assert calibration["mean_predicted"] == pytest.approx([e[0] for e in expected])
    assert calibration["fraction_positive"] == pytest.approx([e[1] for e in expected])
    _error(_get(service, "/api/models/churn:production/evaluation"), 404, "unknown_model", "ref")


def _dependence(service: Service, uuid: str, *features: str, **params: object) -> httpx.Response:
    return httpx.get(f"{service.url}/api/models/{uuid}/partial-dependence", timeout=60,
                     params=[*(("feature", f) for f in features), *params.items()])


def test_partial_dependence_of_a_linear_model_is_its_coefficients_slope(service: Service) -> None:
    import numpy as np

    from fresco.training import load_model

    linear = load_model(service.linear).estimator  # ridge on standardised inputs
    inputs = _get(service, f"/api/models/{service.linear}").json()["inputs"]
    slope = {name: linear.coef[i] / linear.scaler.scale[i] for i, name in enumerate(inputs)}
    answer = _dependence(service, service.linear, "avg_value")
    assert answer.status_code == 200, answer.text
    one = answer.json()
    (grid,), mean = one["grids"], one["mean_prediction"]
    assert one["kinds"] == ["numerical"] and len(grid) > 5 and one["rows"] == min(500, one["sample_rows"])
    assert np.diff(mean) / np.diff(grid) == pytest.approx(np.full(len(grid) - 1, slope["avg_value"]), rel=1e-6)
    two = _dependence(service, service.linear, "avg_value", "orders", grid_points=4).json()
    (first, second), table = two["grids"], np.array(two["mean_prediction"])
    assert table.shape == (len(first), len(second)) and len(first) > 1 and len(second) > 1
    # additive: each input's steps are its slope, whatever the other's value
    assert np.diff(table, axis=0) == pytest.approx(np.outer(np.diff(first), np.ones(len(second))) * slope["avg_value"])
    assert np.diff(table, axis=1) == pytest.approx(np.outer(np.ones(len(first)), np.diff(second)) * slope["orders"])


def test_partial_dependence_of_a_tree_model_and_its_bounds(service: Service) -> None:
    import numpy as np

    frame = _sample(service, service.model_a)
    segment = _dependence(service, service.model_a, "segment").json()
    assert segment["kinds"] == ["categorical"]
    assert segment["grids"][0] == sorted(frame["input.segment"].dropna().unique())  # its codes, not quantiles
    two = _dependence(service, service.model_a, "avg_value", "segment", rows=50).json()
    assert two["rows"] == 50 and np.array(two["mean_prediction"]).shape == (10, len(segment["grids"][0]))
    assert np.isfinite(two["mean_prediction"]).all()
    for params, field in (({"grid_points": 41}, "grid_points"), ({"grid_points": 1}, "grid_points"),
                          ({"rows": 1001}, "rows"), ({"rows": "all"}, "rows")):
        _error(_dependence(service, service.model_a, "avg_value", **params), 400, "bad_request", field)
    _error(_dependence(service, service.model_a, "avg_value", "orders", grid_points=21), 400, "bad_request",
           "grid_points")
    message = _error(_dependence(service, service.model_a, "../../etc/passwd"), 400, "bad_request", "feature")
    assert "avg_value" in message  # the model's inputs named
    _error(_dependence(service, service.model_a, "orders", "orders"), 400, "bad_request", "feature")
    _error(_dependence(service, service.model_a, "orders", "hour", "on_app"), 400, "bad_request", "feature")
    _error(_dependence(service, service.model_a), 400, "bad_request", "feature")
    _error(_dependence(service, "no-such-model", "orders"), 404, "unknown_model", "ref")


def test_compared_models_curves_are_each_from_its_own_sample(service: Service) -> None:
    refs = [("ref", service.model_a), ("ref", service.linear)]
    answer = httpx.get(f"{service.url}/api/compare/curves", params=refs, timeout=60)
    assert answer.status_code == 200, answer.text
    compared = answer.json()
    assert compared["task"] == "regression" and [m["uuid"] for m in compared["models"]] == [service.model_a,
                                                                                             service.linear]
    for uuid in (service.model_a, service.linear):
        alone = _get(service, f"/api/models/{uuid}/evaluation").json()
        assert compared["evaluations"][uuid] == alone
    assert compared["evaluations"][service.model_a]["curves"] != compared["evaluations"][service.linear]["curves"]
    mixed = httpx.get(f"{service.url}/api/compare/curves", params=[*refs, ("ref", service.binary)], timeout=60)
    assert "binary" in _error(mixed, 400, "bad_request", "ref")
    _error(httpx.get(f"{service.url}/api/compare/curves", params=refs[:1], timeout=30), 400, "bad_request", "ref")
    _error(httpx.get(f"{service.url}/api/compare/curves", params=[*refs, ("ref", "nope")], timeout=30), 404,
           "unknown_model", "ref.2")


def test_moving_a_tag_with_the_token_reroutes_it_and_is_audited(service: Service) -> None:
    from fresco.serving.routing import current_route
    from fresco.training import ModelRepository

    repository = ModelRepository(service.home / "models")
    assert current_route(repository, TAG).uuid == service.model_a
    moved = _move(service, TAG, {"model": service.model_b})
    assert moved.status_code == 200, moved.text
    assert moved.json()["from"] == service.model_a and moved.json()["to"] == service.model_b
    try:
        assert current_route(repository, TAG).uuid == service.model_b  # what the prediction router reads
        assert _get(service, f"/api/models/{TAG}").json()["uuid"] == service.model_b
        (tag,) = [t for t in _get(service, "/api/tags").json()["tags"] if t["tag"] == TAG]
        assert tag["uuid"] == service.model_b and tag["moved_by"] == HOLDER
        assert tag["route"] == {"uuid": service.model_b, "experiment": None}
        assert repository.tag_history(TAG)[-1].moved_by == HOLDER
        last = _get(service, "/api/audit").json()["entries"][-1]
        assert last["by"] == HOLDER and last["action"] == "tag.move" and last["tag"] == TAG
        assert (last["from"], last["to"]) == (service.model_a, service.model_b) and last["at"]
    finally:
        assert _move(service, TAG, {"model": service.model_a}).status_code == 200
    assert current_route(repository, TAG).uuid == service.model_a


def test_a_change_without_the_right_token_is_401_and_changes_nothing(service: Service) -> None:
    before = len(_get(service, "/api/audit").json()["entries"])
    for authorization in (None, "Bearer wrong-token", "Bearer", f"Basic {TOKEN}", f"Bearer {TOKEN}x"):
        answer = _move(service, TAG, {"model": service.model_b}, authorization)
        message = _error(answer, 401, "unauthorized")
        assert "FRESCO_API_TOKEN" in message and "Authorization: Bearer" in message
        assert answer.headers["www-authenticate"] == "Bearer" and "set-cookie" not in answer.headers
    assert _get(service, f"/api/models/{TAG}").json()["uuid"] == service.model_a
    assert len(_get(service, "/api/audit").json()["entries"]) == before


def test_bad_tag_moves_are_refused_by_field(service: Service) -> None:
    _error(_move(service, TAG, {"model": "no-such-model"}), 404, "unknown_model", "model")
    _error(_move(service, TAG, {"model": ""}), 400, "bad_request", "model")
    _error(_move(service, TAG, {"uuid": service.model_b}), 400, "bad_request", "model")
    _error(_move(service, TAG, [service.model_b]), 400, "bad_request", "body")

    def raw(body: bytes, media_type: str) -> httpx.Response:
        return httpx.put(f"{service.url}/api/tags/{TAG}", content=body, timeout=30,
                         headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": media_type})

    assert "JSON" in _error(raw(b"model=x", "application/json"), 400, "bad_request", "body")
    huge = raw(b'{"model": "' + b"x" * 100_000 + b'"}', "application/json")
    assert "over the limit of 65536 bytes" in _error(huge, 413, "payload_too_large")
    message = _error(raw(b'{"model": "x"}', "text/plain"), 415, "unsupported_media_type")
    assert "application/json" in message
    assert _get(service, f"/api/models/{TAG}").json()["uuid"] == service.model_a


def test_stored_feature_suggestions_are_listed_and_served(service: Service) -> None:
    stored = suggested(service)
    listed = _get(service, "/api/suggestions")
    assert listed.status_code == 200, listed.text
    (summary,) = [s for s in listed.json()["suggestions"] if s["name"] == stored["name"]]
    assert summary["label"] == "basket_value" and summary["task"] == "regression" and summary["top"] == stored["top"]
    assert summary["model_metric"] == stored["ranking"]["model_metrics"]["rmse"]
    whole = _get(service, f"/api/suggestions/{stored['name']}")
    assert whole.status_code == 200 and whole.json() == stored
    html = _get(service, f"/api/suggestions/{stored['name']}/html")
    assert html.status_code == 200 and "Features suggested for basket_value" in html.text
    assert html.headers["content-security-policy"].startswith("sandbox")
    missing = _get(service, "/api/suggestions/nope")
    assert missing.status_code == 404 and missing.json()["field"] == "name", missing.text
    assert stored["name"] in missing.json()["message"]  # it names the stored ones
    assert _get(service, "/api/suggestions/..%2Fmodels/html").status_code == 404


def test_the_openapi_document_lists_the_endpoints(service: Service) -> None:
    document = _get(service, "/api/openapi.json").json()
    assert {path: set(methods) for path, methods in document["paths"].items()} == {
        "/api": {"get"}, "/api/audit": {"get"}, "/api/catalog/features": {"get"},
        "/api/catalog/views/{view}": {"get"}, "/api/catalog/features/{view}/{feature}": {"get"},
        "/api/catalog/features/{view}/{feature}/distribution": {"get"}, "/api/catalog/views/{view}/history": {"get"},
        "/api/models": {"get"}, "/api/models/{ref}": {"get"}, "/api/compare": {"get"},
        "/api/models/{ref}/trees": {"get"}, "/api/models/{ref}/trees/{index}": {"get"},
        "/api/models/{ref}/evaluation": {"get"}, "/api/models/{ref}/partial-dependence": {"get"},
        "/api/compare/curves": {"get"}, "/api/tags": {"get"}, "/api/tags/{tag}": {"put"}, "/api/configs": {"get"}, "/api/configs/{name}": {"get"},
        "/api/train": {"get", "post"}, "/api/train/{job}": {"get"}, "/api/experiments": {"get"},
        "/api/experiments/{name}": {"put", "delete"}, "/api/monitoring": {"get"}, "/api/monitoring/drift": {"get"},
        "/api/monitoring/reports/{uuid}/{report}": {"get"}, "/api/monitoring/checks": {"get"},
        "/api/suggestions": {"get"}, "/api/suggestions/{name}": {"get"}, "/api/suggestions/{name}/html": {"get"}}
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    move = document["paths"]["/api/tags/{tag}"]["put"]
    assert move["security"] == [{"HTTPBearer": []}]
    error = {"$ref": "#/components/schemas/ErrorBody"}
    assert all(move["responses"][status]["content"]["application/json"]["schema"] == error
               for status in ("400", "401", "404"))
    assert move["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/TagMoved"}
    answers = [set(operation["responses"]) for methods in document["paths"].values() for operation in methods.values()]
    assert not any("422" in statuses for statuses in answers)  # a refused query or body is a 400
    assert "404" in document["paths"]["/api/models/{ref}"]["get"]["responses"]
    started = document["paths"]["/api/train"]["post"]
    assert started["security"] == [{"HTTPBearer": []}]
    assert started["responses"]["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/JobStarted"}
    assert {"schema", "hyperparameters_schema"} <= set(document["components"]["schemas"]["ConfigDetail"]["properties"])
    assert "from" in document["components"]["schemas"]["ExperimentChanged"]["properties"]


def test_a_server_without_a_token_refuses_every_change_saying_how(service: Service, tmp_path: Path) -> None:
    with fresco_ui(service.project, service.env(), tmp_path / "ui.log") as running:
        answer = _move(replace(service, url=running.url), TAG, {"model": service.model_b})
        message = _error(answer, 401, "unauthorized")
    assert "disabled" in message and "FRESCO_API_TOKEN" in message
    printed = running.output.read_text()
    assert f"at http://127.0.0.1:{running.port}/api\n" in printed
    assert f"OpenAPI document: http://127.0.0.1:{running.port}/api/openapi.json" in printed
    assert f"web pages: http://127.0.0.1:{running.port}/\n" in printed
    assert "changes are disabled: set FRESCO_API_TOKEN" in printed


def test_a_loopback_service_answers_loopback_names_only(service: Service) -> None:
    """A page whose name is pointed at 127.0.0.1 (DNS rebinding) gets nothing from the service."""
    port = service.url.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert httpx.get(f"{service.url}/api/models", headers={"Host": host}, timeout=30).status_code == 200
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}"):
        refused = httpx.get(f"{service.url}/api/models", headers={"Host": host}, timeout=30)
        assert host in _error(refused, 400, "bad_request", "host")


def test_the_quickstarts_closing_line_opens_the_pages(service: Service, tmp_path: Path) -> None:
    """``fresco ui`` as the quickstart prints it (from another folder; on a free port, the printed
    one may be taken) serves the repository's pages at the printed address."""
    import shlex
    from urllib.parse import urlsplit, urlunsplit

    from fresco.quickstart import ui_command

    command, pages = ui_command(service.project)
    program, name, *args = shlex.split(command)
    assert (program, name) == ("fresco", "ui")
    with fresco_ui(service.project, service.env(), tmp_path / "ui.log", args=args) as running:
        assert _get(replace(service, url=running.url), "/api").json()["repository"] == str(service.project)
        assert "text/html" in httpx.get(running.url + "/", timeout=30).headers["content-type"]
    address = urlsplit(pages)
    printed = urlunsplit(address._replace(netloc=f"{address.hostname}:{running.port}"))  # the printed one, this port
    assert f"web pages: {printed}\n" in running.output.read_text()


def test_fresco_ui_without_a_repository_says_how_to_give_one(tmp_path: Path) -> None:
    done = run_fresco("ui", "--port", "1", cwd=tmp_path, env={"FRESCO_HOME": str(tmp_path / "home")})
    assert done.returncode == 1 and "no feature repository" in done.stderr and "--repo" in done.stderr


def _post(service: Service, path: str, body: object, authorization: str | None = f"Bearer {TOKEN}") -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.post(service.url + path, json=body, headers=headers, timeout=60)


def _finished(service: Service, job: str, timeout: float = 120) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = _get(service, f"/api/train/{job}")
        assert answer.status_code == 200, answer.text
        if answer.json()["status"] != "running":
            return answer.json()
        time.sleep(0.5)
    raise AssertionError(f"job {job} still running after {timeout}s: {answer.json()['progress']}")


def test_the_repositorys_configs_are_listed_with_their_schemas(service: Service) -> None:
    (config,) = _get(service, "/api/configs").json()["configs"]
    assert config["name"] == "basket_value" and config["model"] == "basket_value" and config["type"] == "xgboost"
    detail = _get(service, "/api/configs/basket_value").json()
    assert detail["config"]["model"]["hyperparameters"]["max_depth"] == 4
    assert {"model", "data", "features"} <= set(detail["schema"]["properties"])
    assert "max_depth" in detail["hyperparameters_schema"]["properties"]
    assert _get(service, "/api/configs/..%2Fdata%2Flabels").status_code == 404
    _error(_get(service, "/api/configs/feature_store"), 404, "not_found", "config")
    _error(_get(service, "/api/configs/nope"), 404, "not_found", "config")


def test_a_training_started_over_http_runs_in_the_background_and_lists_its_model(service: Service) -> None:
    overrides = {"model.hyperparameters.n_estimators": 5, "model.hyperparameters.max_depth": 2,
                 "model.hyperparameters.nthread": 1}
    started = _post(service, "/api/train", {"config": "basket_value", "overrides": overrides})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["status"] in ("running", "succeeded") and job["started_by"] == HOLDER
    done = _finished(service, job["id"])
    assert done["status"] == "succeeded", done["progress"]
    assert done["model"] and done["error"] is None and any("model" in line for line in done["progress"])
    record = _get(service, f"/api/models/{done['model']}").json()
    assert record["config"]["model"]["hyperparameters"]["n_estimators"] == 5
    assert done["model"] in {m["uuid"] for m in _get(service, "/api/models").json()["models"]}
    assert job["id"] in {j["id"] for j in _get(service, "/api/train").json()["jobs"]}
    last = [e for e in _get(service, "/api/audit").json()["entries"] if e["action"] == "train.start"][-1]
    assert last["by"] == HOLDER and last["job"] == job["id"] and last["overrides"] == overrides


def test_a_bad_training_is_refused_by_field_and_needs_the_token(service: Service) -> None:
    bad = _post(service, "/api/train", {"config": "basket_value", "overrides": {"model.hyperparameters.max_depth": -3}})
    assert "max_depth" in _error(bad, 400, "bad_request", "model.hyperparameters.max_depth")
    unknown = _post(service, "/api/train", {"config": "basket_value", "overrides": {"model.no_such_field": 1}})
    _error(unknown, 400, "bad_request", "model.no_such_field")
    _error(_post(service, "/api/train", {"config": "../feature_store"}), 404, "not_found", "config")
    _error(_post(service, "/api/train", {"config": "basket_value"}, None), 401, "unauthorized")
    _error(_get(service, "/api/train/../../audit"), 404, "not_found")
    _error(_get(service, "/api/train/0123456789ab"), 404, "not_found", "job")


def _split(service: Service, name: str, body: object, authorization: str | None = f"Bearer {TOKEN}") -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.put(f"{service.url}/api/experiments/{name}", json=body, headers=headers, timeout=30)


def _stop(service: Service, name: str, authorization: str | None = f"Bearer {TOKEN}") -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.delete(f"{service.url}/api/experiments/{name}", headers=headers, timeout=30)


def test_an_experiment_is_started_changed_and_stopped_as_the_router_reads_it(service: Service) -> None:
    from fresco.serving.routing import current_route
    from fresco.training import ModelRepository

    repository = ModelRepository(service.home / "models")
    arms = {service.model_a: 1, service.model_b: 1}
    started = _split(service, "ab", {"tag": TAG, "arms": arms, "key": ["customer_id"]})
    assert started.status_code == 200, started.text
    try:
        assert started.json()["action"] == "start" and started.json()["from"] is None
        route = current_route(repository, TAG)  # what the prediction service's router reads
        assert route.experiment is not None and route.experiment.key == ["customer_id"]
        assert {route.uuid_for([k]) for k in range(50)} == {service.model_a, service.model_b}
        changed = _split(service, "ab", {"tag": TAG, "arms": {service.model_a: 1, service.model_b: 3}})
        assert changed.status_code == 200 and changed.json()["action"] == "change", changed.text
        route = current_route(repository, TAG)
        assert route.experiment.arms == {service.model_a: 1.0, service.model_b: 3.0}
        assert route.experiment.key == ["customer_id"]  # a change keeps the key
        shares = [route.uuid_for([k]) for k in range(400)]
        assert 0.65 < shares.count(service.model_b) / len(shares) < 0.85
        (running,) = _get(service, "/api/experiments").json()["experiments"]
        assert running["name"] == "ab" and running["changed_by"] == HOLDER
        (tag,) = [t for t in _get(service, "/api/tags").json()["tags"] if t["tag"] == TAG]
        assert tag["route"]["experiment"]["name"] == "ab"
    finally:
        stopped = _stop(service, "ab")
    assert stopped.status_code == 200 and stopped.json()["action"] == "stop", stopped.text
    route = current_route(repository, TAG)
    assert route.experiment is None and route.uuid == service.model_a
    entries = [e for e in _get(service, "/api/audit").json()["entries"] if e["action"].startswith("experiment.")]
    assert [e["action"] for e in entries[-3:]] == ["experiment.start", "experiment.change", "experiment.stop"]
    start, change, stop = entries[-3:]
    assert start["from"] is None and start["to"] == {service.model_a: 1.0, service.model_b: 1.0}
    assert change["from"] == start["to"] and change["to"] == {service.model_a: 1.0, service.model_b: 3.0}
    assert stop["from"] == change["to"] and stop["to"] is None and stop["by"] == HOLDER and stop["tag"] == TAG
    assert [r["action"] for r in _get(service, "/api/experiments").json()["history"][-3:]] == ["start", "change", "stop"]


def test_bad_experiments_are_refused_by_field_and_need_the_token(service: Service) -> None:
    before = len(_get(service, "/api/audit").json()["entries"])
    arms = {service.model_a: 1, service.model_b: 1}
    _error(_split(service, "ab", {"tag": TAG, "arms": arms}, None), 401, "unauthorized")
    _error(_stop(service, "ab", "Bearer wrong"), 401, "unauthorized")
    _error(_split(service, "ab", {"tag": TAG, "arms": {"no-such-model": 1}}), 404, "unknown_model", "arms")
    _error(_split(service, "ab", {"tag": TAG, "arms": {service.model_a: 0}}), 400, "bad_request", "arms")
    _error(_split(service, "ab", {"tag": TAG, "arms": {}}), 400, "bad_request", "arms")
    _error(_split(service, "ab", {"tag": TAG, "arms": {TAG: 1}}), 400, "bad_request", "arms")
    _error(_stop(service, "ab"), 404, "not_found", "name")
    assert _get(service, "/api/experiments").json()["experiments"] == []
    assert len(_get(service, "/api/audit").json()["entries"]) == before


def test_accuracy_over_time_is_read_from_the_prediction_and_outcome_logs(service: Service) -> None:
    empty = _get(service, "/api/monitoring").json()
    assert empty["rows"] == [] and "no logged predictions" in empty["message"]
    served_and_observed(service, TAG)
    answer = _get(service, "/api/monitoring", window="1h")
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["rows"]
    assert row["model_uuid"] == service.model_a and row["tag"] == TAG and row["model"] == "basket_value"
    assert (row["predictions"], row["outcomes"]) == (12, 8) and row["join_rate"] == 8 / 12
    assert abs(row["mae"] - 1.0) < 1e-6 and abs(row["rmse"] - 1.0) < 1e-6  # every outcome is its prediction + 1
    assert answer.json()["counts"] == {"predictions": 12, "outcomes": 8, "matched": 8, "duplicates": 0,
                                       "late": 0, "unmatched": 0}
    (total,) = answer.json()["totals"]  # every window's counts summed per model / tag / experiment / arm
    assert total == {"model_uuid": service.model_a, "model": "basket_value", "tag": TAG, "experiment": None,
                     "arm": None, "predictions": 12, "outcomes": 8, "join_rate": 8 / 12}
    assert _get(service, "/api/monitoring", model=service.model_b).json()["rows"] == []
    _error(_get(service, "/api/monitoring", window="2y"), 400, "bad_request", "window")
    _error(_get(service, "/api/monitoring", model="no-such-model"), 404, "unknown_model", "model")


def test_the_latest_drift_report_is_summarized_and_its_html_served(service: Service) -> None:
    assert _get(service, "/api/monitoring/drift").json()["reports"] == []
    figures, _ = reported_and_checked(service, TAG)
    answer = _get(service, "/api/monitoring/drift")
    assert answer.status_code == 200, answer.text
    (summary,) = answer.json()["reports"]
    drift = figures["drift"]
    assert summary["model_uuid"] == service.model_a == figures["model"]["uuid"] and summary["model"] == "basket_value"
    assert (summary["predictions"], summary["inputs"], summary["drifted"]) == (
        figures["predictions"], drift["inputs"], drift["drifted"])
    assert summary["share"] == drift["share"] and summary["drifted_inputs"] == drift["drifted_inputs"]
    folder = Path(figures["html"]).parent
    assert summary["report"] == folder.name and summary["quality_html"] is not None  # outcomes were joined
    assert _get(service, "/api/monitoring/drift", model=TAG).json()["reports"] == [summary]
    assert _get(service, "/api/monitoring/drift", model=service.model_b).json()["reports"] == []
    html = _get(service, summary["html"])
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.content == Path(figures["html"]).read_bytes()
    policy = html.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;") and "connect-src" not in policy and "default-src 'none'" in policy
    quality = httpx.get(service.url + summary["quality_html"], timeout=30)  # its own query: page=quality
    assert quality.content == Path(figures["quality_html"]).read_bytes()
    base = f"/api/monitoring/reports/{service.model_a}"
    _error(_get(service, f"{base}/{folder.name}", page="summary"), 400, "bad_request", "page")
    _error(_get(service, f"{base}/20200101T000000Z"), 404, "not_found", "report")
    _error(_get(service, f"{base}/..%2F..%2F..%2Fmodels"), 404, "not_found")
    _error(_get(service, f"/api/monitoring/reports/{service.model_b}/{folder.name}"), 404, "not_found", "uuid")
    _error(_get(service, "/api/monitoring/reports/..%2Fchecks/x"), 404, "not_found")
    _error(_get(service, "/api/monitoring/drift", model="no-such-model"), 404, "unknown_model", "model")


def test_recorded_rule_breaches_are_listed_with_their_evidence(service: Service) -> None:
    _, results = reported_and_checked(service, TAG)
    answer = _get(service, "/api/monitoring/checks")
    assert answer.status_code == 200, answer.text
    breached = [r for r in results if r.status == "breach"]
    assert [r.rule for r in breached] == ["too-quiet"]  # 12 or 24 predictions: below 1000
    latest = answer.json()["checks"][0]
    assert latest["rule"] == "too-quiet" and latest["status"] == "breach" and latest["subject"] == f"tag {TAG}"
    assert latest["value"] == breached[0].value and latest["threshold"] == 1000 and latest["direction"] == "below"
    assert latest["evidence"] == breached[0].line() and latest["checked_at"]
    assert {c["status"] for c in answer.json()["checks"]} == {"breach"}
    every = _get(service, "/api/monitoring/checks", status="all").json()
    assert {c["rule"] for c in every["checks"]} == {"too-quiet", "joined"} and every["total"] >= 2
    (joined,) = [c for c in every["checks"] if c["rule"] == "joined"][:1]
    assert joined["status"] == "insufficient" and "min_count 1000" in joined["evidence"]
    _error(_get(service, "/api/monitoring/checks", status="late"), 400, "bad_request", "status")
    _error(_get(service, "/api/monitoring/checks", limit=0), 400, "bad_request", "limit")


def test_a_views_history_in_the_catalog_says_when_each_feature_came_and_went(service: Service) -> None:
    """A feature added to a view by one ``feast apply`` and removed by the next: the history keeps
    it, with its time, and says it is gone."""
    first = _get(service, "/api/catalog/views/customer_segments/history").json()
    (created,) = first["changes"]
    assert created["added"] == ["segment"] and "customer_stats.parquet" in created["source"] and created["at"]
    assert first["created_at"] and first["removed"] == []
    assert first["features"] == [{"name": "segment", "type": "String", "registered_at": created["at"],
                                  "source": created["source"], "current": True}]
    definitions = service.project / "definitions.py"
    original = definitions.read_text()
    extra = 'Field(name="segment", dtype=String, description="The CRM\'s segment of the customer."),\n' \
            '            Field(name="orders_30d", dtype=Int64, description="Orders, as the CRM counts them.")'
    try:
        definitions.write_text(original.replace(
            'Field(name="segment", dtype=String, description="The CRM\'s segment of the customer.")', extra))
        added = run_feast(service.project, "apply")
        assert added.returncode == 0, added.stdout + added.stderr
    finally:
        definitions.write_text(original)
        removed = run_feast(service.project, "apply")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    after = _get(service, "/api/catalog/views/customer_segments/history").json()
    assert after["changes"][0] == created and [c["added"] for c in after["changes"]] == [["segment"], ["orders_30d"]]
    assert after["changes"][1]["at"] > created["at"] and after["removed"] == ["orders_30d"]
    (gone,) = [f for f in after["features"] if f["name"] == "orders_30d"]
    assert gone["type"] == "Int64" and not gone["current"] and gone["registered_at"] == after["changes"][1]["at"]
    _error(_get(service, "/api/catalog/views/weather/history"), 404, "unknown_feature", "view")


def test_a_job_outliving_its_service_is_read_from_its_log(tmp_path: Path) -> None:
    """A restarted service has no exit status of an earlier service's child: a job whose process
    is gone succeeded when its log names the model, and failed with its error otherwise."""
    from fresco.ui.training import job_view

    folder = tmp_path / "ui-jobs"
    folder.mkdir()
    gone = {"pid": 2**22 + 1, "command": ["python", "-c", "gone"], "returncode": None, "started_at": "x"}
    uuid = "0f3b6a9e-5a7c-4a51-9d7e-2f1c7c2b8e11"
    (folder / "aaaaaaaaaaaa.log").write_text(f"[    1.0s] training\nmodel   basket_value {uuid}\n")
    (folder / "bbbbbbbbbbbb.log").write_text("[    1.0s] training\nError: the labels file is gone\n")
    done = job_view(tmp_path, {**gone, "id": "aaaaaaaaaaaa"})
    assert (done["status"], done["model"], done["error"]) == ("succeeded", uuid, None)
    failed = job_view(tmp_path, {**gone, "id": "bbbbbbbbbbbb"})
    assert (failed["status"], failed["model"], failed["error"]) == ("failed", None, "the labels file is gone")
    assert "pid" not in failed and "command" not in failed
    silent = job_view(tmp_path, {**gone, "id": "cccccccccccc"})
    assert silent["status"] == "failed" and silent["error"] == "the service stopped while it ran"
