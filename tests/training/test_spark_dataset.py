"""The training dataset kept in Spark (``resources.engine: spark``): the same rows in each split,
with the same features, as the pandas dataset of the same config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.training.conftest import EXAMPLE


def _plan(small_repo: dict[str, str], spark, **more):
    from fresco.training import plan_training

    return plan_training(EXAMPLE, overrides={**small_repo, **more}, spark=spark)


def _by_order(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.sort_values("order_id").reset_index(drop=True)
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    return frame


def test_a_time_split_in_spark_holds_the_pandas_splits_rows_and_features(
        small_repo: dict[str, str], spark, tmp_path: Path) -> None:
    from fresco.training.pipeline import build_dataset
    from fresco.training.spark_dataset import build_spark_dataset

    # labels made null on some rows: dropped and counted alike
    orders = pd.read_parquet(small_repo["data.source.parquet"])
    orders.loc[orders.index % 50 == 0, "delivery_duration_min"] = np.nan
    source = tmp_path / "orders.parquet"
    orders.to_parquet(source, index=False)
    plan = _plan({**small_repo, "data.source.parquet": str(source)}, spark)
    local = build_dataset(plan.config, plan.program, store=plan.store)
    said: list[str] = []
    in_spark = build_spark_dataset(plan.config, plan.program, spark=spark, scratch=tmp_path / "scratch",
                                   store=plan.store, progress=said.append)
    assert any("in DuckDB through Parquet files" in line for line in said), said
    for name, part in in_spark.splits().items():
        got, want = _by_order(part.toPandas()), _by_order(getattr(local, name))
        assert list(got["order_id"]) == list(want["order_id"]), name
        pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)
    for key in ("rows", "rows_dropped_null_label", "train_rows", "validation_rows", "test_rows", "feature_refs",
                "time_range"):
        assert in_spark.reference[key] == local.reference[key], key
    assert in_spark.reference["split"] == local.reference["split"]
    assert in_spark.reference["rows_dropped_null_label"] == len(orders[orders.index % 50 == 0])
    assert in_spark.reference["content_hash_method"].startswith("spark")
    in_spark.release()


def test_a_random_split_in_spark_does_not_depend_on_partitioning(
        small_repo: dict[str, str], spark, tmp_path: Path) -> None:
    from fresco.training.spark_dataset import build_spark_dataset

    orders = pd.read_parquet(small_repo["data.source.parquet"])
    source = tmp_path / "orders.parquet"
    orders.to_parquet(source, index=False, row_group_size=150)  # Spark may split it by row group
    plan = _plan({**small_repo, "data.source.parquet": str(source)}, spark,
                 **{"split.method": "random", "split.seed": 11})
    membership, partitions = [], []
    default = spark.conf.get("spark.sql.files.maxPartitionBytes")
    for size in (default, "16384"):  # one partition, then many
        spark.conf.set("spark.sql.files.maxPartitionBytes", size)
        try:
            partitions.append(spark.read.parquet(str(source)).rdd.getNumPartitions())
            dataset = build_spark_dataset(plan.config, plan.program, spark=spark, scratch=tmp_path / f"s-{size}",
                                          store=plan.store)
            membership.append({split: sorted(r["order_id"] for r in frame.select("order_id").collect())
                               for split, frame in dataset.splits().items()})
            hashes = dataset.reference["content_hash"]
            dataset.release()
        finally:
            spark.conf.set("spark.sql.files.maxPartitionBytes", default)
    assert partitions[0] < partitions[1], partitions
    assert membership[0] == membership[1]
    sizes = {split: len(ids) for split, ids in membership[0].items()}
    assert sum(sizes.values()) == len(orders)
    assert sizes["test"] == pytest.approx(0.2 * len(orders), rel=0.2)
    assert sizes["validation"] == pytest.approx(0.2 * len(orders), rel=0.2)
    assert len(hashes) == 64


def test_the_dataset_and_the_dsl_fit_are_the_same_bits_whatever_the_files_layout(
        small_repo: dict[str, str], spark, tmp_path: Path) -> None:
    """The DuckDB store's answer comes in as many files as it had threads (and their rows in no
    fixed order); the dataset's layout, the DSL's statistics and so the model must not follow it."""
    import yaml

    from fresco.platform import open_store
    from fresco.training.spark_dataset import build_spark_dataset

    repo = Path(small_repo["features.repo"])
    config = yaml.safe_load((repo / "feature_store.yaml").read_text())
    config["offline_store"]["threads"] = 1
    one_thread = repo / "feature_store.one-thread.yaml"
    one_thread.write_text(yaml.safe_dump(config))
    plan = _plan(small_repo, spark, **{"resources.engine": "spark"})
    layouts, fits = [], []
    for name, store in (("one", open_store(repo, one_thread)), ("default", plan.store)):
        dataset = build_spark_dataset(plan.config, plan.program, spark=spark, scratch=tmp_path / name,
                                      store=store)
        answer_files = list((tmp_path / name / "features").glob("*.parquet"))
        layouts.append((len(answer_files), dataset.train.toPandas()))
        fits.append(plan.program.fit_spark(dataset.train).fitted)
        dataset.release()
    assert layouts[0][0] == 1 and layouts[1][0] > 1  # really two layouts of the answer
    pd.testing.assert_frame_equal(layouts[0][1], layouts[1][1])  # the same rows in the same order
    assert fits[0] == fits[1] and any("mean" in c for c in fits[0].values())  # the same bits
