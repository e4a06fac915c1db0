"""Fixtures shared by every test package: one Spark session per test run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def spark_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private FRESCO state folder for Spark's warehouse and Derby metastore."""
    return tmp_path_factory.mktemp("spark-home")


@pytest.fixture(scope="session")
def spark(spark_home: Path) -> Iterator["pyspark.sql.SparkSession"]:  # noqa: F821
    """The real Spark (local mode, Hive metastore on embedded Derby), shared by all tests."""
    from feature_repo.spark import spark_session

    session = spark_session("fresco-tests", home=spark_home)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
