"""The Spark offline store on Hive tables: point-in-time training frames, and its configuration."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from feast import FeatureStore

from fresco.example import PRODUCTION_YAML
from fresco.platform.materialization import MaterializationError, check_spark_conf
from tests.conftest import copy_feature_repo, run_feast
from tests.stores.data import CHANGED, LATE, STALE, TIED, UNKNOWN, Groups, latest_as_of
from fresco.training import build_training_frame


@pytest.fixture(scope="module")
def file_store(tmp_path_factory: pytest.TempPathFactory, groups: Groups) -> FeatureStore:
    """The same feature-group rows in the embedded default: Parquet and Feast's file store."""
    repo = copy_feature_repo(tmp_path_factory.mktemp("file_repo") / "feature_repo")
    for group, frame in groups.frames().items():
        folder = repo / "data" / "features" / group
        folder.mkdir(parents=True)
        frame.to_parquet(folder / "part-0.parquet", index=False)
    result = run_feast(repo, "apply")
    assert result.returncode == 0, result.stdout + result.stderr
    return FeatureStore(repo_path=str(repo))


def _entity_rows(groups: Groups) -> pd.DataFrame:
    """Orders at several times, with repeated rows, tied and stale restaurants, an unknown one."""
    end = groups.end
    ids = [1, 2, 3, STALE, TIED, TIED, CHANGED, LATE, UNKNOWN, 1, 1]
    times = [end, end - timedelta(days=1), end - timedelta(hours=3), end, end, end, end,
             end + timedelta(days=2), end, end, end - timedelta(days=4, hours=1)]
    return pd.DataFrame(
        {
            "restaurant_id": ids,
            "placed_at": pd.to_datetime(times, utc=True),
            "delivery_duration_min": [float(30 + i) for i in range(len(ids))],
        }
    )


def test_training_frames_on_spark_equal_the_file_store_row_for_row(
    production_store: FeatureStore, file_store: FeatureStore, groups: Groups
) -> None:
    rows = _entity_rows(groups)
    on_spark = build_training_frame(rows, "delivery_eta_v1", production_store, timestamp_column="placed_at")
    on_files = build_training_frame(rows, "delivery_eta_v1", file_store, timestamp_column="placed_at")
    # one output row per entity row on both stores, in order, labels untouched
    assert len(on_spark) == len(rows) == len(on_files)
    pd.testing.assert_frame_equal(on_spark[rows.columns], rows)
    pd.testing.assert_frame_equal(on_spark, on_files[on_spark.columns], check_dtype=False)

    # and the values are the point-in-time answers, computed here independently
    expected = latest_as_of(groups.stats, groups.end, timedelta(days=2))
    at_end = on_spark[rows["placed_at"] == pd.Timestamp(groups.end)]
    for _, row in at_end.iterrows():
        rid = row["restaurant_id"]
        value = row["restaurant_stats_7d__order_count_7d"]
        if rid in expected.index:
            assert value == expected.loc[rid, "order_count_7d"]
        else:
            assert pd.isna(value), f"restaurant {rid} should have no stats at END"
    assert at_end["restaurant_id"].tolist().count(TIED) == 2
    assert on_spark.loc[rows["restaurant_id"] == STALE, "restaurant_stats_7d__order_count_7d"].isna().all()
    assert on_spark.loc[rows["restaurant_id"] == CHANGED, "restaurant_profile__cuisine"].tolist() == ["sushi"]
    late = on_spark[rows["restaurant_id"] == LATE].iloc[0]
    assert late["restaurant_profile__cuisine"] is not None  # created at END + 5h, asked at END + 2d
    assert on_spark[rows["restaurant_id"] == UNKNOWN].filter(like="__").isna().all(axis=None)


def test_the_production_yaml_agrees_with_spark_py(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESCO_HOME", str(tmp_path))
    monkeypatch.delenv("FRESCO_HIVE_METASTORE_URI", raising=False)
    check_spark_conf(PRODUCTION_YAML, tmp_path)

    other = tmp_path / "other"
    with pytest.raises(MaterializationError, match="spark.sql.warehouse.dir"):
        check_spark_conf(PRODUCTION_YAML, other)

    monkeypatch.delenv("FRESCO_HOME")
    with pytest.raises(MaterializationError, match=r"export the variables"):
        check_spark_conf(PRODUCTION_YAML, tmp_path)


def test_a_real_metastore_uri_replaces_derby(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = "thrift://metastore.internal:9083"
    config = yaml.safe_load(PRODUCTION_YAML.read_text().replace("${FRESCO_HOME}", str(tmp_path)))
    conf = config["offline_store"]["spark_conf"]
    del conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
    conf["spark.hadoop.hive.metastore.uris"] = uri
    path = tmp_path / "feature_store.production.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("FRESCO_HIVE_METASTORE_URI", uri)
    check_spark_conf(path, tmp_path)


def test_a_spark_training_frame_stays_in_spark_and_equals_the_pandas_one(
    spark, production_store: FeatureStore, groups: Groups
) -> None:
    from pyspark.sql import DataFrame

    from fresco.training import spark_training_frame

    rows = _entity_rows(groups).assign(row=lambda d: range(len(d)))
    expected = build_training_frame(rows, "delivery_eta_v1", production_store, timestamp_column="placed_at")
    frame = spark_training_frame(spark.createDataFrame(rows), "delivery_eta_v1", production_store,
                                 timestamp_column="placed_at")
    assert isinstance(frame, DataFrame)  # lazy: the join runs when someone reads the frame
    got = frame.toPandas().sort_values("row").reset_index(drop=True)
    got["placed_at"] = pd.to_datetime(got["placed_at"], utc=True)
    pd.testing.assert_frame_equal(got[expected.columns], expected.reset_index(drop=True),
                                  check_dtype=False)


def test_predict_batch_on_the_spark_store_joins_in_spark_and_scores_as_the_embedded_store(
    spark, production_store: FeatureStore, file_store: FeatureStore, groups: Groups,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import numpy as np

    from fresco.serving import predict_batch
    from tests.serving.setup import train_model
    from fresco.training import ModelRepository

    monkeypatch.setenv("FRESCO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    rng = np.random.default_rng(5)
    n = 240
    orders = pd.DataFrame({
        "restaurant_id": rng.choice([1, 2, 3, 4, 5, 6, 7, 8, STALE, TIED, CHANGED, UNKNOWN], n),
        "placed_at": pd.to_datetime(groups.end, utc=True)
        - pd.to_timedelta(rng.integers(0, 5 * 24 * 60, n), unit="min"),
        "customer_lat": rng.uniform(37.70, 37.80, n), "customer_lon": rng.uniform(-122.50, -122.40, n),
        "num_items": rng.integers(1, 6, n), "delivery_duration_min": rng.uniform(15, 60, n),
    })
    orders["placed_at"] = orders["placed_at"].astype("datetime64[us, UTC]")
    source = tmp_path / "orders.parquet"
    orders.to_parquet(source, index=False)
    file_repo = Path(file_store.repo_path)
    uuid = train_model(file_repo, file_repo / "feature_store.yaml", source, n_estimators=10, max_depth=2)
    repository = ModelRepository()

    said: list[str] = []
    in_spark = predict_batch(source, uuid, tmp_path / "spark.parquet", spark=spark, store=production_store,
                             repository=repository, timestamp_column="placed_at", progress=said.append)
    embedded = predict_batch(source, uuid, tmp_path / "embedded.parquet", spark=spark, store=file_store,
                             repository=repository, timestamp_column="placed_at")
    assert any("point in time in Spark" in line for line in said), said
    assert in_spark.rows == embedded.rows == n
    key = ["restaurant_id", "placed_at", "num_items"]
    both = pd.read_parquet(tmp_path / "spark.parquet").merge(
        pd.read_parquet(tmp_path / "embedded.parquet"), on=key, suffixes=("", "_embedded"))
    assert len(both) == len(pd.read_parquet(tmp_path / "spark.parquet").drop_duplicates(key))
    np.testing.assert_allclose(both["prediction"], both["prediction_embedded"], rtol=1e-6)
