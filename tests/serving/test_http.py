"""Real HTTP against a running BentoML server backed by the real Cassandra node."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.serving.conftest import Server, active, serve
from tests.serving.setup import ServingEnvironment

EXPERIMENT_TAG = "delivery_eta:experiment"


def rows(n: int, start: int = 1) -> list[dict]:
    return [
        {"restaurant_id": start + i % 45,  # ids 1..40 exist; 41+ have no features online
         "placed_at": (pd.Timestamp("2026-11-20T08:00:00+00:00") + pd.Timedelta(hours=3 * i)).isoformat(),
         "customer_lat": 37.70 + (i % 13) / 100, "customer_lon": -122.45 + (i % 7) / 100}
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def server(serving_env: ServingEnvironment, tmp_path_factory) -> Iterator[Server]:
    with serve(serving_env.env(), serving_env.tag, tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture(scope="module")
def predictor(serving_env: ServingEnvironment):
    from fresco.platform import open_store
    from fresco.serving import Predictor

    with active(serving_env):  # its model repository
        return Predictor(open_store(serving_env.repo, serving_env.yaml_path))


def test_http_equals_in_process_and_batch(server, predictor, serving_env, spark, tmp_path) -> None:
    from fresco.serving import predict_batch

    batch = rows(45)
    response = server.post("/predict", {"model": serving_env.tag, "rows": batch, "return_features": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tag"] == serving_env.tag
    # the bytes (and length) BentoML's own serialization of the answer gives
    assert response.headers.get("content-length") == str(len(response.content))
    assert "transfer-encoding" not in response.headers
    from fresco.serving.service import PredictResponse

    assert response.content == PredictResponse.model_validate(body).model_dump_json().encode()
    answers = body["predictions"]
    assert {a["model_uuid"] for a in answers} == {serving_env.model_a}
    # features come from Cassandra; restaurants 41+ have none (nulls, defaults per the program)
    assert answers[0]["features"]["restaurant_profile:cuisine"] is not None
    assert all(v is None for v in answers[41]["features"].values())
    assert answers[41]["inputs"]["prep_7d"] == 15.0

    local = predictor.predict(serving_env.tag, batch, return_features=True)
    assert [a["prediction"] for a in answers] == local.predictions
    assert [a["features"] for a in answers] == [r.features for r in local.rows]

    # offline features as of the moment the online store was loaded: what it holds (a lookup
    # as of now would also see rows stamped since, such as a 7-day snapshot at midnight)
    source = tmp_path / "rows.parquet"
    pd.DataFrame(batch).assign(
        placed_at=lambda d: pd.to_datetime(d["placed_at"]).astype("datetime64[us, UTC]"),
        as_of=pd.Timestamp(serving_env.materialized_until).as_unit("us"),
    ).to_parquet(source, index=False)
    output = tmp_path / "scored.parquet"
    result = predict_batch(source, serving_env.tag, output, spark=spark,
                           store=predictor.online.store, timestamp_column="as_of")
    assert result.rows == 45 and result.model_uuid == serving_env.model_a
    scored = pd.read_parquet(output)
    assert set(scored["model_uuid"]) == {serving_env.model_a}
    assert set(scored["model_tag"]) == {serving_env.tag}
    assert scored["experiment"].isna().all() and scored["arm"].isna().all()
    key = ["restaurant_id", "placed_at"]
    merged = pd.DataFrame(batch).assign(http=[a["prediction"] for a in answers]).assign(
        placed_at=lambda d: pd.to_datetime(d["placed_at"])).merge(scored, on=key)
    assert len(merged) == 45
    np.testing.assert_array_equal(merged["http"].to_numpy(), merged["prediction"].to_numpy())

    # features retrieved 7 entity rows at a time: the same predictions as one query
    lines: list[str] = []
    chunked = predict_batch(source, serving_env.tag, tmp_path / "chunked.parquet", spark=spark,
                            store=predictor.online.store, timestamp_column="as_of", chunk_rows=7,
                            progress=lines.append)
    assert chunked.rows == 45 and any("chunks of 7 rows" in line for line in lines), lines
    again = pd.read_parquet(tmp_path / "chunked.parquet").merge(scored, on=key, suffixes=("", "_one"))
    assert len(again) == 45
    np.testing.assert_array_equal(again["prediction"].to_numpy(), again["prediction_one"].to_numpy())


def test_a_partitioned_model_answers_alike_over_http_in_process_and_in_batch(
        server, predictor, serving_env, spark, tmp_path) -> None:
    """Each row by the same partition and to the same value, online (HTTP, Predictor) and offline."""
    from fresco.serving import predict_batch

    batch = rows(45)
    response = server.post("/predict", {"model": serving_env.by_city, "rows": batch})
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    local = predictor.predict(serving_env.by_city, batch)
    assert [a["prediction"] for a in answers] == local.predictions
    assert [a["partition"] for a in answers] == [r.partition for r in local.rows]
    # restaurants 41+ have no features online: no region, no city, so the root answers them
    assert answers[41]["partition"] == "root" and answers[0]["partition"] != "root"
    source = tmp_path / "rows.parquet"
    pd.DataFrame(batch).assign(
        placed_at=lambda d: pd.to_datetime(d["placed_at"]).astype("datetime64[us, UTC]"),
        as_of=pd.Timestamp(serving_env.materialized_until).as_unit("us"),
    ).to_parquet(source, index=False)
    predict_batch(source, serving_env.by_city, tmp_path / "scored.parquet", spark=spark,
                  store=predictor.online.store, timestamp_column="as_of", log=False)
    online = pd.DataFrame(batch).assign(http=[a["prediction"] for a in answers],
                                        http_partition=[a["partition"] for a in answers],
                                        placed_at=lambda d: pd.to_datetime(d["placed_at"]))
    both = online.merge(pd.read_parquet(tmp_path / "scored.parquet"), on=["restaurant_id", "placed_at"])
    assert len(both) == 45 and (both["http_partition"] == both["partition"]).all()
    np.testing.assert_array_equal(both["http"].to_numpy(), both["prediction"].to_numpy())


def test_many_models_by_uuid_and_prefix(server, serving_env) -> None:
    one = rows(3)
    a = server.post("/predict", {"model": serving_env.model_a, "rows": one}).json()
    b = server.post("/predict", {"model": serving_env.model_b[:13], "rows": one}).json()
    assert {p["model_uuid"] for p in a["predictions"]} == {serving_env.model_a}
    assert {p["model_uuid"] for p in b["predictions"]} == {serving_env.model_b}
    assert a["tag"] is None and [p["prediction"] for p in a["predictions"]] != [
        p["prediction"] for p in b["predictions"]]
    loaded = server.post("/models", {}).json()["loaded"]
    assert {serving_env.model_a, serving_env.model_b} <= set(loaded)


def _wait_for(condition, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_experiment_from_the_repository_is_sticky_weighted_and_live(server, serving_env) -> None:
    from fresco.training import ModelRepository

    repository = ModelRepository(Path(serving_env.env()["FRESCO_HOME"]) / "models")
    batch = [dict(r, restaurant_id=i) for i, r in enumerate(rows(200), start=1)]
    assert server.post("/predict", {"model": EXPERIMENT_TAG, "rows": batch[:1]}).status_code == 404

    repository.set_experiment("eta-ab", EXPERIMENT_TAG, {serving_env.model_a: 0.5, serving_env.model_b: 0.5})
    assert _wait_for(lambda: server.post("/predict", {"model": EXPERIMENT_TAG, "rows": batch[:1]})
                     .status_code == 200), "the running service did not pick the experiment up"
    first = server.post("/predict", {"model": EXPERIMENT_TAG, "rows": batch}).json()
    again = server.post("/predict", {"model": EXPERIMENT_TAG, "rows": batch[::-1]}).json()
    uuids = [p["model_uuid"] for p in first["predictions"]]
    assert first["experiment"] == "eta-ab"
    assert uuids == [p["model_uuid"] for p in again["predictions"]][::-1]  # sticky per key
    share = uuids.count(serving_env.model_a) / len(uuids)
    assert 0.35 < share < 0.65, share
    assert set(uuids) == {serving_env.model_a, serving_env.model_b}
    unusable = server.post("/predict", {"model": EXPERIMENT_TAG, "rows": [dict(batch[0], restaurant_id={"id": 1})]})
    assert unusable.status_code == 422, unusable.text
    assert unusable.json()["field"] == "rows[0].restaurant_id"

    # Changing the weights moves traffic live: everything to model_b.
    repository.set_experiment("eta-ab", EXPERIMENT_TAG, {serving_env.model_b: 1.0})
    assert _wait_for(lambda: {p["model_uuid"] for p in server.post(
        "/predict", {"model": EXPERIMENT_TAG, "rows": batch[:20]}).json()["predictions"]}
        == {serving_env.model_b})

    repository.stop_experiment("eta-ab")
    assert _wait_for(lambda: server.post("/predict", {"model": EXPERIMENT_TAG, "rows": batch[:1]})
                     .status_code == 404)
    assert [r.action for r in repository.experiment_history("eta-ab")] == ["start", "change", "stop"]


def test_predict_batch_splits_an_experiment_as_the_service_does(
    server, predictor, serving_env, spark, tmp_path
) -> None:
    from fresco.serving import predict_batch
    from fresco.training import ModelRepository

    repository = ModelRepository(Path(serving_env.env()["FRESCO_HOME"]) / "models")
    tag = "delivery_eta:batch-experiment"
    batch = [dict(r, restaurant_id=i) for i, r in enumerate(rows(60), start=1)]
    source, output = tmp_path / "rows.parquet", tmp_path / "scored.parquet"
    pd.DataFrame(batch).assign(
        placed_at=lambda d: pd.to_datetime(d["placed_at"]).astype("datetime64[us, UTC]"),
        as_of=pd.Timestamp(serving_env.materialized_until).as_unit("us"),
    ).to_parquet(source, index=False)
    repository.set_experiment("eta-batch", tag, {serving_env.model_a: 0.5, serving_env.model_b: 0.5})
    try:
        assert _wait_for(lambda: server.post("/predict", {"model": tag, "rows": batch[:1]})
                         .status_code == 200), "the running service did not pick the experiment up"
        online = server.post("/predict", {"model": tag, "rows": batch}).json()["predictions"]
        result = predict_batch(source, tag, output, spark=spark, store=predictor.online.store,
                               repository=repository, timestamp_column="as_of")
    finally:
        repository.stop_experiment("eta-batch")

    scored = pd.read_parquet(output).set_index("restaurant_id").loc[[r["restaurant_id"] for r in batch]]
    uuids = [p["model_uuid"] for p in online]
    assert set(uuids) == {serving_env.model_a, serving_env.model_b}
    assert scored["model_uuid"].tolist() == uuids  # each row scored by the arm it gets online
    assert scored["arm"].tolist() == uuids  # the arms were declared by UUID
    assert set(scored["experiment"]) == {"eta-batch"} and set(scored["model_tag"]) == {tag}
    np.testing.assert_array_equal(scored["prediction"].to_numpy(), [p["prediction"] for p in online])
    assert result.experiment == "eta-batch" and result.rows == 60
    assert result.rows_by_model == {u: uuids.count(u) for u in (serving_env.model_a, serving_env.model_b)}


def test_tag_move_under_load_loses_no_request(server, serving_env) -> None:
    from fresco.training import ModelRepository

    repository = ModelRepository(Path(serving_env.env()["FRESCO_HOME"]) / "models")
    statuses: list[int] = []
    # (sent, received, model) per answer: with 4 clients, answers are appended out of order
    timeline: list[tuple[float, float, str]] = []
    stop = threading.Event()

    def client() -> None:
        import httpx

        with httpx.Client(base_url=server.url, timeout=30) as http:
            while not stop.is_set():
                sent = time.monotonic()
                r = http.post("/predict", json={"model": serving_env.tag, "rows": rows(2)})
                received = time.monotonic()
                statuses.append(r.status_code)
                if r.status_code == 200:
                    timeline.append((sent, received, r.json()["predictions"][0]["model_uuid"]))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        repository.tag(serving_env.tag, serving_env.model_b)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                not timeline or timeline[-1][2] != serving_env.model_b):
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
        repository.tag(serving_env.tag, serving_env.model_a)
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    answered = [model for _, _, model in timeline]
    assert answered[0] == serving_env.model_a and answered[-1] == serving_env.model_b
    # once moved, stays moved: every request sent after the first answer from the new model
    # came back was answered by the new model
    first_b = min(received for _, received, model in timeline if model == serving_env.model_b)
    after = [model for sent, _, model in timeline if sent > first_b]
    assert after and set(after) == {serving_env.model_b}


@pytest.mark.parametrize(
    "body, status, kind, field",
    [
        (b'{"model": "delivery_eta:production", "rows": [', 400, "bad_request", None),
        ({"rows": rows(1)}, 400, "bad_request", "model"),
        ({"model": "delivery_eta:production", "rows": []}, 400, "bad_request", "rows"),
        ({"model": "delivery_eta:production",
          "rows": [{k: v for k, v in rows(1)[0].items() if k != "restaurant_id"}]},
         400, "bad_request", "rows[0].restaurant_id"),
        ({"model": "delivery_eta:production",
          "rows": [{k: v for k, v in rows(1)[0].items() if k != "placed_at"}]},
         400, "bad_request", "rows[0].placed_at"),
        ({"model": "delivery_eta:production", "rows": [dict(rows(1)[0], restaurant_id="7")]},
         422, "invalid_value", "rows[0].restaurant_id"),
        ({"model": "delivery_eta:production", "rows": [dict(rows(1)[0], customer_lat="north")]},
         422, "invalid_value", "rows[0].customer_lat"),
        ({"model": "delivery_eta:production", "rows": [dict(rows(1)[0], placed_at="yesterday")]},
         422, "invalid_value", "rows[0]"),
        ({"model": "delivery_eta:nope", "rows": rows(1)}, 404, "unknown_model", "model"),
        ({"model": "00000000-0000-0000-0000-000000000000", "rows": rows(1)}, 404, "unknown_model",
         "model"),
    ],
    ids=["malformed-json", "no-model", "no-rows", "missing-entity-key", "missing-field",
         "key-wrong-type", "field-wrong-type", "bad-timestamp", "unknown-tag", "unknown-uuid"],
)
def test_bad_input_gets_a_clear_status(server, body, status, kind, field) -> None:
    response = server.post("/predict", body)
    assert response.status_code == status, response.text
    payload = response.json()
    text = response.text
    assert "Traceback" not in text
    assert set(payload) <= {"error", "message", "field"}, payload
    assert payload["error"] == kind and payload.get("field") == field and payload["message"]
    # the service stays up
    assert server.post("/predict", {"model": "delivery_eta:production", "rows": rows(1)}).status_code == 200


def test_openapi_is_served(server) -> None:
    import httpx

    spec = httpx.get(server.url + "/docs.json", timeout=10).json()
    assert "/predict" in spec["paths"]
    schema = str(spec["paths"]["/predict"])
    assert "return_features" in str(spec) and "post" in spec["paths"]["/predict"], schema


def test_online_store_down_is_a_503_naming_the_hosts(serving_env, tmp_path) -> None:
    from fresco.platform import open_store
    from fresco.serving import Predictor, StoreUnavailable

    down = tmp_path / "down.yaml"
    down.write_text(serving_env.yaml_path.read_text().replace("port: 9042", "port: 1"))
    predictor = Predictor(open_store(serving_env.repo, down))
    with pytest.raises(StoreUnavailable) as err:
        predictor.predict(serving_env.tag, rows(1))
    assert err.value.status == 503 and "127.0.0.1:1" in err.value.message
    with pytest.raises(StoreUnavailable) as err:  # the awaited lookup (the HTTP service's path)
        asyncio.run(predictor.predict_async(serving_env.tag, rows(1)))
    assert err.value.status == 503 and "127.0.0.1:1" in err.value.message


def test_awaited_predictions_are_the_blocking_ones(serving_env) -> None:
    """The HTTP service awaits ``predict_async``; Python callers call ``predict``."""
    from fresco.platform import open_store
    from fresco.serving import Predictor, UnknownModel

    predictor = Predictor(open_store(serving_env.repo, serving_env.yaml_path))
    assert predictor.online.reads_async  # Fresco's Cassandra store: the lookup is awaited
    batch = rows(45)

    async def ask(model: str):
        return await predictor.predict_async(model, batch, return_features=True)

    # a name never routed and a model not loaded yet (both resolved in a thread), then again
    assert not predictor.router.knows(serving_env.model_b[:13])
    for model in (serving_env.tag, serving_env.model_b[:13], serving_env.tag):
        awaited, blocking = asyncio.run(ask(model)), predictor.predict(model, batch,
                                                                       return_features=True)
        assert awaited.model_uuids == blocking.model_uuids
        assert awaited.predictions == blocking.predictions
        assert [r.features for r in awaited.rows] == [r.features for r in blocking.rows]
        assert [r.inputs for r in awaited.rows] == [r.inputs for r in blocking.rows]
    assert predictor.router.knows(serving_env.model_b[:13])
    with pytest.raises(UnknownModel):
        asyncio.run(ask("delivery_eta:no_such_tag"))
