"""Appending rows to a feature view's offline source: the one way Fresco does it.

* A local Parquet folder (the embedded default): a new file of the rows, cast to the folder's
  schema, written whole (:func:`~fresco.platform.offline_stores.duckdb_store.append_to_folder`,
  the function Fresco's offline store's ``offline_write_batch`` uses, called directly so that a
  caller can name the file: rewriting a named file replaces it, which makes a stream's replayed
  micro-batch idempotent).
* A ``SparkSource`` *table* (production's Hive offline logs): Feast's Spark offline store cannot
  write one (it raises ``NotImplementedError``), so Spark appends the rows itself
  (:func:`append_to_table`), cast to the table's column types, as Feast does for a path; a
  table partitioned by a ``DATE`` column the rows lack gets it as the UTC date of the view's
  timestamp column.
* Anything else: Feast's ``write_to_offline_store``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from fresco.platform.views import feature_view


class OfflineLogError(ValueError):
    """Rows that cannot be appended to a view's offline source (the message says why)."""


def append_rows(store: Any, view_name: str, rows: pd.DataFrame, *, name: str | None = None) -> None:
    """Append ``rows`` (the view's join keys, timestamp and features) to its offline source;
    ``name`` names a Parquet folder's new file (see the module doc)."""
    if rows.empty:
        return
    from fresco.platform.offline_stores.duckdb_store import append_to_folder, local_parquet_path

    source = feature_view(store, view_name).batch_source
    table = getattr(source, "table", None)
    if type(source).__name__ == "SparkSource" and table:
        append_to_table(table, rows, source.timestamp_field)
        return
    folder = local_parquet_path(source, store.repo_path)
    if folder is not None and (folder.is_dir() or (not folder.exists() and folder.suffix != ".parquet")):
        append_to_folder(folder, pa.Table.from_pandas(rows, preserve_index=False), name)
        return
    store.write_to_offline_store(view_name, rows)


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
