"""Appending rows to a feature view's offline source: the one way Fresco does it.

Through Feast's ``write_to_offline_store`` wherever Feast can write:

* a Parquet folder (Fresco's DuckDB store appends a new file; a new view's folder first gets an
  empty file of the rows' columns, since Feast reads a source's schema from its files);
* any other source Feast's offline store writes (a Spark ``path`` source, a single file).

Feast's Spark offline store cannot write a ``SparkSource`` *table* (it raises
``NotImplementedError``), which is where production's offline logs live (Hive). Those rows are
appended by Spark itself (:func:`append_to_table`), with the same rule Feast applies to a
path: the rows are cast to the table's column types. A table partitioned by a ``DATE``
column the rows lack gets it as the UTC date of the view's timestamp column.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from fresco.platform.views import feature_view


class OfflineLogError(ValueError):
    """Rows that cannot be appended to a view's offline source (the message says why)."""


def append_rows(store: Any, view_name: str, rows: pd.DataFrame) -> None:
    """Append ``rows`` (the view's join keys, timestamp and features) to its offline source."""
    if rows.empty:
        return
    source = feature_view(store, view_name).batch_source
    table = getattr(source, "table", None)
    if type(source).__name__ == "SparkSource" and table:
        append_to_table(table, rows, source.timestamp_field)
        return
    _ensure_parquet_folder(store, source, rows)
    store.write_to_offline_store(view_name, rows)


def _ensure_parquet_folder(store: Any, source: Any, rows: pd.DataFrame) -> None:
    from fresco.platform.offline_stores.duckdb_store import append_to_folder, local_parquet_path

    folder = local_parquet_path(source, store.repo_path)
    if folder is not None and not folder.exists():
        append_to_folder(folder, pa.Table.from_pandas(rows.iloc[:0], preserve_index=False))


def append_to_table(table: str, rows: pd.DataFrame, timestamp_field: str) -> None:
    """Append ``rows`` to the Spark (Hive) table ``table``, created unpartitioned when missing."""
    from pyspark.sql import functions as F

    from fresco.platform.spark import spark_session

    spark = spark_session()
    frame = spark.createDataFrame(rows)
    if not spark.catalog.tableExists(table):
        if "." in table:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{table.split('.', 1)[0]}`")
        frame.write.format("parquet").saveAsTable(table)
        return
    existing = spark.table(table).schema
    partitions = {c.name for c in spark.catalog.listColumns(table) if c.isPartition}
    columns = []
    for field in existing.fields:
        if field.name in frame.columns:
            columns.append(F.col(field.name).cast(field.dataType).alias(field.name))
        elif field.name in partitions and field.dataType.typeName() == "date":
            columns.append(F.to_date(F.col(timestamp_field)).alias(field.name))
        else:
            raise OfflineLogError(f"table {table} has column {field.name!r}, which the rows to append lack "
                                  f"({', '.join(frame.columns)})")
    extra = sorted(set(frame.columns) - {f.name for f in existing.fields})
    if extra:
        raise OfflineLogError(f"table {table} has no column(s) {extra} of the rows to append")
    # insertInto matches columns by position: the table's order, partition columns last
    frame.select(*columns).write.insertInto(table)
