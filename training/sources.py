"""The entity and label rows a config names: their schema, read from a Parquet file or a Hive
table, as DSL types (what a program's request fields are typed from)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fresco.training.config import ModelConfig


class SourceError(ValueError):
    """The entity-row source a config names cannot be read; ``field`` is its config path."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


#: Spark SQL type names (``DataType.simpleString()`` prefixes) -> DSL types.
_SPARK_TO_DSL = (("tinyint", "int"), ("smallint", "int"), ("int", "int"), ("bigint", "int"),
                 ("float", "float"), ("double", "float"), ("decimal", "float"), ("string", "string"),
                 ("varchar", "string"), ("char", "string"), ("boolean", "bool"), ("timestamp", "timestamp"))


def training_spark(spark: Any = None, master: str | None = None) -> Any:
    """``spark``, else the process's active Spark session, else a new one from
    ``fresco.platform.spark`` on ``master`` (a config's ``resources.spark_master``; else the
    environment's); a session on another master than the one asked for is refused."""
    from fresco.platform.spark import check_master, spark_session

    if spark is not None:
        return check_master(spark, master)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return check_master(active, master)
    return spark_session("fresco-training", master=master)


def hive_table_types(table: str, spark: Any = None) -> dict[str, str]:
    """Column name -> DSL type (``""`` for types the DSL has no name for) of a Hive table.

    Raises :class:`SourceError` (field ``data.source.hive_table``) when the metastore lacks it.
    """
    spark = training_spark(spark)
    if not spark.catalog.tableExists(table):
        database = table.split(".")[0] if "." in table else spark.catalog.currentDatabase()
        raise SourceError("data.source.hive_table", f"table {table!r} not found in the Hive metastore "
                          f"(database {database!r}; warehouse {spark.conf.get('spark.sql.warehouse.dir')})")
    types: dict[str, str] = {}
    for field in spark.table(table).schema.fields:
        text = field.dataType.simpleString()
        types[field.name] = next((dtype for prefix, dtype in _SPARK_TO_DSL
                                  if text == prefix or text.startswith(prefix + "(")
                                  or (prefix == "timestamp" and text.startswith(prefix))), "")
    return types


def entity_source_types(config: "ModelConfig", spark: Any = None) -> dict[str, str]:
    """Every column of the entity rows (Parquet schema or Hive table) -> its DSL type (or ``""``)."""
    from fresco.training.config import HiveSource
    from fresco.training.features import parquet_input_types, parquet_schema

    if isinstance(config.data.source, HiveSource):
        return hive_table_types(config.data.source.hive_table, spark)
    path = config.data.source.parquet
    try:
        names = parquet_schema(path).names
    except Exception as err:  # not Parquet, or unreadable
        raise SourceError("data.source.parquet", f"cannot read the Parquet schema of {path}: {err}") from None
    return {**dict.fromkeys(names, ""), **parquet_input_types(path)}
