"""Spark's Kafka connector (``spark-sql-kafka-0-10``), fetched with mvn like the services.

pyspark 4.3 has no matching connector on Maven Central; 4.2.0 reads and writes Kafka on it
(the streaming tests run it). Only the connector, its token provider, ``kafka-clients`` and
``commons-pool2`` go on Spark's classpath: the rest of what mvn resolves (Hadoop, Scala,
compression codecs) pyspark already ships.
"""

from __future__ import annotations

from pathlib import Path

from fresco.platform.services import maven

VERSION = "4.2.0"
_NAME = "spark-kafka"
_ON_CLASSPATH = ("spark-sql-kafka-0-10_", "spark-token-provider-kafka-0-10_", "kafka-clients-", "commons-pool2-")


def _jars(lib: Path) -> list[str]:
    return sorted(str(j) for j in lib.glob("*.jar") if j.name.startswith(_ON_CLASSPATH))


def cached_jars() -> list[str]:
    """The connector's jars when they are in the cache already (no download), else []."""
    lib = maven.lib_dir(_NAME, VERSION)
    return _jars(lib) if lib is not None else []


def ensure_connector(*, quiet: bool = False) -> list[str]:
    """The connector's jars, fetched with mvn the first time (then Spark sessions include them)."""
    lib = maven.fetch(_NAME, VERSION, [("org.apache.spark", "spark-sql-kafka-0-10_2.13", VERSION)],
                      quiet=quiet, what="Spark's Kafka connector")
    return _jars(lib)
