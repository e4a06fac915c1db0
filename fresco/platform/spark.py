"""One way to start Spark for Fresco: local mode, UTC, microsecond Parquet, Hive metastore.

Every Spark job (feature groups, training at scale, batch scoring) and the Feast Spark
offline store get their session from here, so they agree on time zone, timestamp precision
and which Hive metastore holds the tables.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from fresco.platform.state import state_dir
from fresco.platform.streaming.connector import cached_jars


def spark_conf(home: Path | None = None) -> dict[str, str]:
    """The Spark settings Fresco relies on, also usable in ``feature_store.production.yaml``.

    ``FRESCO_SPARK_MASTER`` overrides the master (default ``local[2]``);
    ``FRESCO_HIVE_METASTORE_URI`` points at a real Hive metastore instead of embedded Derby.
    """
    home = home or state_dir()
    warehouse = home / "spark-warehouse"
    metastore = home / "metastore_db"
    conf = {
        "spark.master": os.environ.get("FRESCO_SPARK_MASTER", "local[2]"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.shuffle.partitions": os.environ.get("FRESCO_SPARK_SHUFFLE_PARTITIONS", "4"),
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.sql.catalogImplementation": "hive",
        "spark.ui.enabled": "false",
        "spark.driver.memory": os.environ.get("FRESCO_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={home}",
    }
    uri = os.environ.get("FRESCO_HIVE_METASTORE_URI")
    if uri:
        conf["spark.hadoop.hive.metastore.uris"] = uri
    else:
        conf["spark.hadoop.javax.jdo.option.ConnectionURL"] = (
            f"jdbc:derby:;databaseName={metastore};create=true"
        )
    return conf


def spark_session(app_name: str = "fresco", home: Path | None = None) -> SparkSession:
    """Return the process's Spark session, creating it with :func:`spark_conf` if needed, and
    with Spark's Kafka connector on its classpath once it is in the cache (``fresco stream``
    fetches it; a path of this machine, so not one of the settings a yaml repeats).

    Python workers (UDFs, ``mapInPandas``, Feast's Spark materialization engine) run this
    process's interpreter unless ``PYSPARK_PYTHON`` says otherwise, so they can import Feast.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    for key, value in spark_conf(home).items():
        builder = builder.config(key, value)
    jars = cached_jars()
    if jars:
        builder = builder.config("spark.jars", ",".join(jars))
    return builder.enableHiveSupport().getOrCreate()
