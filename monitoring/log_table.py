"""A landed log as a table of the Hive metastore (``fresco monitor ingest --hive-table``).

The table is external: its data are the landing folder's files, partitioned by ``date``
(``date=YYYY-MM-DD``), so the landing stays the one truth (each record once, offsets in the file
names) and the table only learns the days landed since it last looked (``MSCK REPAIR TABLE``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from fresco.platform.log_topics import LogKind

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _hive_type(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    if pa.types.is_int16(arrow_type):
        return "SMALLINT"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_string(arrow_type):
        return "STRING"
    raise TypeError(f"no Hive type for the log's column type {arrow_type}")


def register_log_table(spark: Any, table: str, folder: Path, kind: LogKind) -> list[str]:
    """Create ``table`` (``[db.]name``) over ``folder`` when missing, then add the days landed
    since; returns the table's days. Refuses a table of that name over another location."""
    if not _NAME.match(table):
        raise ValueError(f"--hive-table must be a table name, [database.]table, got {table!r}")
    location = Path(folder).resolve().as_uri()
    columns = ", ".join(f"`{f.name}` {_hive_type(f.type)}" for f in kind.schema())
    spark.sql(f"CREATE EXTERNAL TABLE IF NOT EXISTS {table} ({columns}) PARTITIONED BY (`date` STRING) "
              f"STORED AS PARQUET LOCATION '{location}'")
    found = spark.sql(f"DESCRIBE TABLE EXTENDED {table}").where("col_name = 'Location'").collect()
    over = found[0]["data_type"] if found else location
    if urlparse(over).scheme not in ("", "file") or Path(unquote(urlparse(over).path)) != Path(folder).resolve():
        raise ValueError(f"table {table} is over {over}, not the landing folder {location}")
    spark.sql(f"MSCK REPAIR TABLE {table}")
    return sorted(row[0].split("=", 1)[1] for row in spark.sql(f"SHOW PARTITIONS {table}").collect())
