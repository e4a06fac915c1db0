"""Entity and label rows from a Hive table (real Spark, Hive metastore on Derby), with a time range."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.training.helpers import synthetic_orders, write_request_config
from fresco.training import ConfigError, load_config, plan_training, train
from fresco.training.pipeline import build_dataset

DATABASE = "training_hive_test"


@pytest.fixture(scope="module")
def orders(spark) -> tuple[str, pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """Orders in a Hive table, with rows exactly at, and a microsecond before, the range's ends."""
    rows = synthetic_orders(1500, seed=4)
    start, end = rows["placed_at"].iloc[300], rows["placed_at"].iloc[1200]
    rows.loc[299, "placed_at"] = start - pd.Timedelta(microseconds=1)  # just before: out
    rows.loc[1199, "placed_at"] = end - pd.Timedelta(microseconds=1)  # just before the end: in
    rows.loc[1201, "placed_at"] = end  # exactly at the end: out (the end is exclusive)
    rows = rows.sort_values("placed_at", kind="stable").reset_index(drop=True)
    table = f"{DATABASE}.orders"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    spark.sql(f"DROP TABLE IF EXISTS {table}")
    spark.createDataFrame(rows).write.format("parquet").saveAsTable(table)
    return table, rows, start, end


def _config(folder: Path, source: dict[str, str], start: pd.Timestamp, end: pd.Timestamp) -> Path:
    path = write_request_config(folder, model_type="linear", n=10)  # its Parquet orders are unused
    data = yaml.safe_load(path.read_text())
    data["data"].update(source=source, start=start.isoformat(), end=end.isoformat())
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_training_reads_exactly_the_time_range_of_a_hive_table(spark, orders, tmp_path: Path, home: Path) -> None:
    table, rows, start, end = orders
    expected = rows[(rows["placed_at"] >= start) & (rows["placed_at"] < end)]
    assert len(expected) == 900  # 300 .. 1199, the moved rows included or excluded as intended

    result = train(_config(tmp_path / "hive", {"hive_table": table}, start, end), spark=spark)
    dataset = result.record.dataset
    assert dataset["source"] == {"hive_table": table}
    assert dataset["rows"] == len(expected) and dataset["rows_dropped_null_label"] == 0
    assert dataset["train_rows"] + dataset["validation_rows"] + dataset["test_rows"] == len(expected)
    assert dataset["time_range"]["requested"] == {"start": start.isoformat(), "end": end.isoformat()}
    assert dataset["time_range"]["actual"] == {"min": expected["placed_at"].min().isoformat(),
                                               "max": expected["placed_at"].max().isoformat()}
    # the program was typed from the table's schema: distance is a float, not an int
    program = plan_training(_config(tmp_path / "t", {"hive_table": table}, start, end), spark=spark).program
    assert str(program.input_types["distance_km"]) == "float"
    assert result.record.metrics["test"]["r2"] > 0.5


def test_the_same_rows_from_parquet_give_the_same_dataset(spark, orders, tmp_path: Path) -> None:
    table, rows, start, end = orders
    parquet = tmp_path / "orders.parquet"
    rows.to_parquet(parquet, index=False)
    hive = load_config(_config(tmp_path / "hive", {"hive_table": table}, start, end))
    files = load_config(_config(tmp_path / "files", {"parquet": str(parquet)}, start, end))
    from_hive = build_dataset(hive, plan_training(hive, spark=spark).program, spark=spark)
    from_files = build_dataset(files, plan_training(files).program)
    pd.testing.assert_frame_equal(from_hive.train, from_files.train)
    pd.testing.assert_frame_equal(from_hive.validation, from_files.validation)
    pd.testing.assert_frame_equal(from_hive.test, from_files.test)
    assert from_hive.reference["content_hash"] == from_files.reference["content_hash"]
    assert from_hive.reference["rows"] == 900


def test_an_unknown_hive_table_names_the_field(spark, tmp_path: Path) -> None:
    start, end = pd.Timestamp("2026-10-02", tz="UTC"), pd.Timestamp("2026-10-09", tz="UTC")
    path = _config(tmp_path, {"hive_table": f"{DATABASE}.no_such_orders"}, start, end)
    with pytest.raises(ConfigError) as err:
        plan_training(path, spark=spark)
    text = str(err.value)
    assert f"{path}: data.source.hive_table: " in text and f"{DATABASE}.no_such_orders" in text, text
    assert "not found" in text


def test_a_hive_table_without_the_label_names_the_field(spark, orders, tmp_path: Path) -> None:
    table, _, start, end = orders
    path = _config(tmp_path, {"hive_table": table}, start, end)
    with pytest.raises(ConfigError, match=r"data\.label: the entity rows have no column 'delivery_minutes'"):
        plan_training(path, overrides={"data.label": "delivery_minutes"}, spark=spark)
