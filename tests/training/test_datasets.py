"""Point-in-time correctness of training frames, through Feast's file offline store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import copy_feature_repo, run_feast
from fresco.training import TrainingDataError, build_training_frame

T0 = datetime(2026, 10, 1, tzinfo=timezone.utc)


def _write(repo: Path, group: str, frame: pd.DataFrame) -> None:
    folder = repo / "data" / "features" / group
    folder.mkdir(parents=True, exist_ok=True)
    frame = frame.copy()
    frame["event_timestamp"] = frame["event_timestamp"].astype("datetime64[us, UTC]")
    frame.to_parquet(folder / "part-0.parquet", index=False)


@pytest.fixture(scope="module")
def applied_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's catalog applied to a private repo holding hand-made feature values (one
    per module: the tests only read it)."""
    feast_repo = copy_feature_repo(tmp_path_factory.mktemp("datasets") / "feature_repo")
    _write(
        feast_repo,
        "restaurant_stats_7d",
        pd.DataFrame(
            {
                "restaurant_id": [1, 1, 1, 2],
                "event_timestamp": [T0, T0 + timedelta(days=1), T0 + timedelta(days=2), T0],
                "avg_prep_time_7d": [10.0, 11.0, 12.0, 20.0],
                "avg_delivery_time_7d": [30.0, 31.0, 32.0, 40.0],
                "orders_per_hour_7d": [1.0, 1.1, 1.2, 2.0],
                "avg_items_7d": [2.0, 2.1, 2.2, 3.0],
                "order_count_7d": [168, 185, 202, 336],
            }
        ),
    )
    _write(
        feast_repo,
        "restaurant_realtime",
        pd.DataFrame(
            {
                "restaurant_id": [1, 1],
                "event_timestamp": [T0 + timedelta(hours=12), T0 + timedelta(hours=12, minutes=15)],
                "avg_prep_time_1h": [14.0, 16.0],
                "orders_1h": [3, 5],
            }
        ),
    )
    _write(
        feast_repo,
        "restaurant_profile",
        pd.DataFrame(
            {
                "restaurant_id": [1, 2],
                "event_timestamp": [T0 - timedelta(days=400), T0 - timedelta(days=1)],
                "lat": [37.77, 37.78],
                "lon": [-122.41, -122.42],
                "cuisine": ["pizza", "sushi"],
                "kitchen_capacity": [4, 6],
                "region": ["bay", "south"],
                "city": ["oakland", "san_jose"],
            }
        ),
    )
    result = run_feast(feast_repo, "apply")
    assert result.returncode == 0, result.stdout + result.stderr
    return feast_repo


def test_values_are_point_in_time_correct_and_ttl_is_honoured(applied_repo: Path) -> None:
    rows = pd.DataFrame(
        {
            "restaurant_id": [1, 1, 1, 1, 2, 1, 3],
            "event_timestamp": [
                T0 - timedelta(seconds=1),  # before any value: null
                T0,  # exactly at a snapshot: that snapshot
                T0 + timedelta(days=1, seconds=-1),  # just before the next snapshot
                T0 + timedelta(days=2, hours=5),  # latest snapshot
                T0 + timedelta(days=3),  # 7d TTL is 2 days: T0 value has expired
                T0 + timedelta(days=4, hours=1),  # past TTL of the latest snapshot
                T0,  # unknown restaurant
            ],
            "label": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    frame = build_training_frame(rows, ["restaurant_stats_7d:avg_prep_time_7d"], applied_repo)
    assert list(frame["label"]) == list(rows["label"])
    got = frame["restaurant_stats_7d__avg_prep_time_7d"].tolist()
    assert pd.isna(got[0])
    assert got[1:4] == [10.0, 10.0, 12.0]
    assert pd.isna(got[4]) and pd.isna(got[5]) and pd.isna(got[6])


def test_a_value_stamped_after_the_row_never_appears(applied_repo: Path) -> None:
    times = [T0 + timedelta(hours=12, minutes=m) for m in (0, 14, 15, 16, 80)]
    rows = pd.DataFrame({"restaurant_id": [1] * 5, "event_timestamp": times})
    frame = build_training_frame(
        rows,
        ["restaurant_realtime:avg_prep_time_1h", "restaurant_realtime:orders_1h"],
        applied_repo,
    )
    assert frame["restaurant_realtime__avg_prep_time_1h"].tolist()[:4] == [14.0, 14.0, 16.0, 16.0]
    # 80 minutes after 12:15 the 1-hour TTL of the last value has passed
    assert pd.isna(frame["restaurant_realtime__avg_prep_time_1h"].iloc[4])
    assert frame["restaurant_realtime__orders_1h"].tolist()[:4] == [3, 3, 5, 5]


def test_one_output_row_per_input_row_also_when_rows_repeat(applied_repo: Path) -> None:
    base = pd.DataFrame(
        {
            "restaurant_id": [1, 2, 1],
            "placed_at": [T0 + timedelta(hours=1), T0 + timedelta(hours=1), T0 + timedelta(days=1)],
            "order_id": [10, 11, 12],
        }
    )
    rows = pd.concat([base, base, base.iloc[[0]]], ignore_index=True)
    frame = build_training_frame(rows, "delivery_eta_v1", applied_repo, timestamp_column="placed_at")
    assert len(frame) == len(rows) == 7
    assert frame["order_id"].tolist() == rows["order_id"].tolist()
    assert "event_timestamp" not in frame.columns
    assert frame["restaurant_stats_7d__avg_prep_time_7d"].tolist() == [
        10.0, 20.0, 11.0, 10.0, 20.0, 11.0, 10.0,
    ]
    # the profile never expires (TTL 0): a year-old value is still used
    assert frame["restaurant_profile__cuisine"].tolist() == ["pizza", "sushi", "pizza"] * 2 + ["pizza"]


def test_entity_rows_can_come_from_parquet(applied_repo: Path, tmp_path: Path) -> None:
    rows = pd.DataFrame({"restaurant_id": [2], "event_timestamp": [T0 + timedelta(hours=3)]})
    path = tmp_path / "rows.parquet"
    rows.to_parquet(path)
    frame = build_training_frame(path, ["restaurant_stats_7d:order_count_7d"], applied_repo)
    assert frame["restaurant_stats_7d__order_count_7d"].tolist() == [336]


def test_bad_requests_name_what_is_wrong(applied_repo: Path) -> None:
    rows = pd.DataFrame({"restaurant": [1], "event_timestamp": [T0]})
    with pytest.raises(TrainingDataError, match=r"lack column\(s\) \['restaurant_id'\]"):
        build_training_frame(rows, ["restaurant_stats_7d:order_count_7d"], applied_repo)
    with pytest.raises(TrainingDataError, match="unknown feature service 'nope'"):
        build_training_frame(rows, "nope", applied_repo)
    with pytest.raises(TrainingDataError, match="'view:feature'"):
        build_training_frame(rows, ["restaurant_stats_7d.order_count_7d"], applied_repo)


def test_chunked_retrieval_gives_the_same_frame_as_one_query(applied_repo: Path) -> None:
    """Tiny chunks, oldest first: chunk edges fall between ties, repeats and expired values."""
    moments = [
        T0 - timedelta(seconds=1),  # before every value
        T0,
        T0,  # a tie on time, other restaurant below
        T0 + timedelta(hours=12),  # exactly at a realtime value
        T0 + timedelta(hours=12, minutes=14, seconds=59),
        T0 + timedelta(hours=12, minutes=15),
        T0 + timedelta(hours=13, minutes=15),  # the 1h TTL ends exactly here: still valid
        T0 + timedelta(hours=13, minutes=15, microseconds=1),  # one microsecond later: expired
        T0 + timedelta(days=1, seconds=-1),
        T0 + timedelta(days=1),
        T0 + timedelta(days=2, hours=23),
        T0 + timedelta(days=4, hours=1),  # the 7d view's 2-day TTL has passed
        T0 + timedelta(days=5),  # the last chunks: every time-limited value expired
        T0 + timedelta(days=6),
    ]
    restaurants = [1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 2, 1, 1, 2]
    base = pd.DataFrame({"restaurant_id": restaurants, "placed_at": moments, "order_id": range(len(moments))})
    # shuffled, with repeated rows: the output keeps the input order and the repeats
    rows = pd.concat([base, base.iloc[[3, 7, 12]]], ignore_index=True).sample(frac=1.0, random_state=5)
    whole = build_training_frame(rows, "delivery_eta_v1", applied_repo, timestamp_column="placed_at")
    realtime = whole.drop_duplicates("order_id").set_index("order_id")["restaurant_realtime__avg_prep_time_1h"]
    assert realtime[[3, 4, 5, 6]].tolist() == [14.0, 14.0, 16.0, 16.0]
    assert realtime[[0, 7, 12, 13]].isna().all()
    assert whole["restaurant_stats_7d__avg_prep_time_7d"].isna().sum() > 0
    for size in (1, 4):
        messages: list[str] = []
        chunked = build_training_frame(rows, "delivery_eta_v1", applied_repo, timestamp_column="placed_at",
                                       chunk_rows=size, progress=messages.append)
        pd.testing.assert_frame_equal(chunked, whole)
        # the embedded default's store answers every row for all three views at once: a line a chunk
        chunks = -(-len(rows) // size)
        assert len(messages) == chunks
        assert messages[0] == f"features of 3 views: chunk 1/{chunks}, {size:,} entity rows"
    with pytest.raises(TrainingDataError, match="chunk_rows must be at least 1"):
        build_training_frame(rows, "delivery_eta_v1", applied_repo, timestamp_column="placed_at", chunk_rows=0)


def test_the_chunk_size_depends_on_the_offline_store_unless_the_config_sets_it() -> None:
    from fresco.training.config import FILE_STORE_CHUNK_ROWS, ResourcesSection

    assert ResourcesSection().chunk_rows("file") == FILE_STORE_CHUNK_ROWS
    assert ResourcesSection().chunk_rows("spark") is None  # Feast's Spark store prunes by time itself
    assert ResourcesSection(retrieval_chunk_rows=500).chunk_rows("spark") == 500
    assert ResourcesSection(retrieval_chunk_rows=0).chunk_rows("file") is None  # 0: one query
    fresco = "fresco.platform.offline_stores.FrescoDuckDBOfflineStore"  # the embedded default
    assert ResourcesSection().chunk_rows(fresco) is None  # as-of joins: one query
    assert ResourcesSection(retrieval_chunk_rows=5_000).chunk_rows(fresco) == 5_000


def test_spark_rows_joined_by_the_duckdb_store_equal_the_pandas_frame(applied_repo: Path, spark,
                                                                      tmp_path: Path) -> None:
    """The embedded default's store joins a Spark DataFrame's rows through Parquet files (Spark
    writes, DuckDB joins and writes, Spark reads): the frame pandas rows get, row for row."""
    from pyspark.sql import DataFrame

    from fresco.training import duckdb_spark_frame

    rows = pd.DataFrame({
        "restaurant_id": [1, 1, 2, 1, 3, 2, 1, 1],
        "placed_at": [T0 + timedelta(hours=1), T0 + timedelta(days=1, hours=1), T0 + timedelta(hours=13),
                      T0 - timedelta(days=2), T0, T0 + timedelta(days=30), T0 + timedelta(hours=12, minutes=20),
                      T0 + timedelta(hours=1)],  # before any value, unknown, past the TTL, repeated
        "num_items": [1, 2, 3, 4, 5, 6, 7, 8],
    })
    rows["placed_at"] = rows["placed_at"].astype("datetime64[us, UTC]")
    store = __import__("feast").FeatureStore(repo_path=str(applied_repo))
    refs = ["restaurant_stats_7d:avg_prep_time_7d", "restaurant_stats_7d:order_count_7d",
            "restaurant_realtime:orders_1h", "restaurant_profile:cuisine"]
    expected = build_training_frame(rows, refs, store, timestamp_column="placed_at")
    lines: list[str] = []
    frame = duckdb_spark_frame(spark.createDataFrame(rows), refs, store, scratch=tmp_path,
                               timestamp_column="placed_at", progress=lines.append)
    assert isinstance(frame, DataFrame)
    assert (tmp_path / "entity_rows").is_dir() and list((tmp_path / "features").glob("*.parquet"))
    assert any("DuckDB" in line for line in lines), lines
    got = frame.toPandas().sort_values("num_items").reset_index(drop=True)
    got["placed_at"] = pd.to_datetime(got["placed_at"], utc=True).astype("datetime64[us, UTC]")
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False)
    assert expected["restaurant_realtime__orders_1h"].notna().any()
    assert expected["restaurant_stats_7d__avg_prep_time_7d"].isna().any()

    # the same mistakes as the pandas frame's, named the same way
    with pytest.raises(TrainingDataError, match="lack column"):
        duckdb_spark_frame(spark.createDataFrame(rows.drop(columns="restaurant_id")), refs, store,
                           scratch=tmp_path, timestamp_column="placed_at")
