"""Feast's file offline store with point-in-time retrieval as a DuckDB as-of join.

Feast's ``file`` store (``DaskOfflineStore``) joins every entity row with every row of its
entity's history, then filters and de-duplicates: memory and time grow with rows x history
(1M example orders: 855 s, 4.8 GiB). :class:`FrescoDuckDBOfflineStore` reads the same
``FileSource`` Parquet data and answers ``get_historical_features`` with one ``ASOF LEFT JOIN``
per feature view, in DuckDB, over the Parquet files:

* the value of the latest source row at or before the entity row's time (Feast's ``<=``);
* a view with a TTL (not 0 or None) gives null when that row is older than ``time - ttl``
  (a row exactly ``ttl`` old still counts, as in Feast);
* source rows tying on (join keys, event time) are decided by the created timestamp (the
  latest wins, a null created timestamp loses), then by file order (the last wins);
* one output row per entity row, in the entity frame's order: repeated rows stay repeated, a
  row without a match gets nulls. (Feast's file store returns rows sorted by time, drops an
  entity row whose history lies entirely after it or outside the TTL, and collapses rows with
  the same keys and time: here none of that happens. ``fresco.training.build_training_frame`` gives
  the same frame on both.)
* Feast's column names (``feature``, or ``view__feature`` with ``full_feature_names``), the
  source's field mapping and a projection's ``join_key_map``; the entity frame's columns keep
  their dtypes, its event timestamp becomes UTC like Feast's; on-demand views apply as usual.

Writes into a view's Parquet folder (``write_to_offline_store``, the stream job's offline log)
append a new file to it, named to sort after the files already there. Everything else is
Feast's file store, inherited: ``write_logged_features``, single-file writes, monitoring, and the two cases this store hands to it unchanged --
retrieval without an entity frame (``start_date``/``end_date``), and
``filter_by_created_timestamp``. Sources outside the local file system go to it too.
An entity frame of ``own_process_rows`` rows or more (:data:`OWN_PROCESS_ROWS`) is joined by
DuckDB in a process of its own, as ``persist`` does an entity query's: the joins' memory is
returned when it ends.
``pull_latest_from_table_or_query`` and ``pull_all_from_table_or_query`` (materialization)
run in DuckDB with Feast's semantics (inclusive ``[start, end]``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from feast.data_source import DataSource
from feast.errors import SavedDatasetLocationAlreadyExists
from feast.feature_view import DUMMY_ENTITY_ID, DUMMY_ENTITY_VAL, FeatureView
from feast.infra.offline_stores.dask import DaskOfflineStore, DaskOfflineStoreConfig
from feast.infra.offline_stores.file_source import FileSource, SavedDatasetFileStorage
from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
from feast.infra.offline_stores.offline_utils import DEFAULT_ENTITY_DF_EVENT_TIMESTAMP_COL
from feast.infra.registry.base_registry import BaseRegistry
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.repo_config import RepoConfig
from feast.saved_dataset import SavedDatasetStorage

from fresco.platform.times import utc_column, utc_timestamp

TYPE = "fresco.platform.offline_stores.FrescoDuckDBOfflineStore"
_ROW, _TS, _CREATED, _FILE = "__fresco_row", "__fresco_ts", "__fresco_created", "__fresco_file"


class OfflineStoreError(ValueError):
    """A retrieval this store cannot answer (bad entity frame, unreadable source)."""


#: Entity frames of at least this many rows are joined in a DuckDB process of their own
#: (:func:`_joins_in_own_process`): the joins' memory leaves with that process, where in this one
#: DuckDB keeps what it frees (10M orders: this process peaked at 6.3-6.8 GiB with the joins here,
#: 3.1 GiB with them in a child; DuckDB's ``memory_limit`` bounds only part of it). Smaller frames
#: are joined here: the child's start and the Parquet round trip cost about 0.7 s, a fifth of a
#: 1M-order retrieval (medians of three side by side, under load: 3.5 s here, 4.2 s in a child),
#: which peaks at under 1 GiB with the joins here.
OWN_PROCESS_ROWS = 2_000_000
#: DuckDB's ``memory_limit`` in a process of its own when the store sets none: its joins and
#: sort spill to disk beyond it. Under DuckDB's default (80% of RAM) a 10M-order retrieval's
#: process peaked at 5.3 GiB; under 2GB, at 2.1 GiB and 20% slower (benchmarks/README.md).
OWN_PROCESS_MEMORY_LIMIT = "3GB"


class FrescoDuckDBOfflineStoreConfig(DaskOfflineStoreConfig):
    """``offline_store:`` of a yaml naming :class:`FrescoDuckDBOfflineStore`.

    It is Feast's file-store config (so the inherited file-store methods accept it) plus
    DuckDB's resources: ``threads`` (default: DuckDB's, one per core) and ``memory_limit``
    (e.g. ``"2GB"``; default: DuckDB's, 80% of RAM, in this process, and
    :data:`OWN_PROCESS_MEMORY_LIMIT` in a DuckDB process of its own; beyond it DuckDB spills to
    disk), and ``own_process_rows``: an entity frame of at least this many rows is joined in a
    DuckDB process of its own (default :data:`OWN_PROCESS_ROWS`; 0: always), with the same settings.
    """

    type: Literal["fresco.platform.offline_stores.FrescoDuckDBOfflineStore"] = TYPE  # type: ignore[assignment]
    threads: int | None = None
    memory_limit: str | None = None
    own_process_rows: int = OWN_PROCESS_ROWS


# ----------------------------------------------------------------------------- small helpers


def _q(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _settings(config: RepoConfig, *, own_process: bool = False) -> list[str]:
    """The statements that set up a DuckDB session for ``config``'s store (``own_process``: in a
    DuckDB process of its own, whose memory limit defaults to :data:`OWN_PROCESS_MEMORY_LIMIT`)."""
    store = config.offline_store
    statements = ["SET TimeZone = 'UTC'"]
    if getattr(store, "threads", None):
        statements.append(f"SET threads = {int(store.threads)}")
    limit = getattr(store, "memory_limit", None) or (OWN_PROCESS_MEMORY_LIMIT if own_process else None)
    if limit:
        statements.append(f"SET memory_limit = {_lit(str(limit))}")
    return statements


def _connect(config: RepoConfig) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for statement in _settings(config):
        con.execute(statement)
    return con


# A DuckDB session in a process of its own, reading its statements as JSON on stdin; a DuckDB
# error is its last stderr line and exit status 3.
_OWN_PROCESS = """
import json, sys
import duckdb
statements = json.load(sys.stdin)
con = duckdb.connect()
try:
    for statement in statements:
        con.execute(statement)
except duckdb.Error as err:
    print(str(err).replace(chr(10), " "), file=sys.stderr)
    sys.exit(3)
"""


def _remove(path: str) -> None:
    """Remove the file or folder at ``path``, if any."""
    import shutil

    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def _run_in_own_process(config: RepoConfig, statement: str) -> None:
    """Run ``statement`` in a DuckDB session of a child process: the memory of a join (up to the
    store's ``memory_limit``, then spilled to disk) is the child's, never the caller's, whose
    footprint stays flat as the rows grow. A DuckDB error becomes :class:`OfflineStoreError`."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _OWN_PROCESS], input=json.dumps([*_settings(config, own_process=True), statement]),
                            capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise OfflineStoreError(lines[-1] if lines else f"DuckDB's process ended with status {result.returncode}")


def local_parquet_path(source: DataSource, repo_path: Path | str | None) -> Path | None:
    """The local file or folder of a Parquet ``FileSource``; None for anything else."""
    if not isinstance(source, FileSource):
        return None
    uri = FileSource.get_uri_for_file_path(repo_path=repo_path, uri=source.file_options.uri)
    if "://" in uri and not uri.startswith("file://"):
        return None
    fmt = source.file_format
    if fmt is not None and type(fmt).__name__ != "ParquetFormat":
        return None
    return Path(uri.removeprefix("file://"))


def answered_in_duckdb(views: list[FeatureView], repo_path: Path | str | None) -> bool:
    """Whether every view's source is local Parquet, so this store answers from DuckDB (every
    entity row once, in order) rather than handing the retrieval to Feast's file store."""
    return all(local_parquet_path(v.batch_source, repo_path) is not None for v in views)


def _scan(path: Path, name: str) -> str:
    """A ``read_parquet`` table expression over a file or a (Hive-partitioned) folder."""
    if not path.exists():
        raise OfflineStoreError(f"{name}: no Parquet data at {path}")
    pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    return f"read_parquet({_lit(pattern)}, filename={_lit(_FILE)}, file_row_number=true)"


def _epoch_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of ``moment`` (naive: UTC)."""
    return int(utc_timestamp(moment).value)


def _source_column(source: DataSource, name: str) -> str:
    """The source's column for view column ``name`` (inverting the field mapping)."""
    reverse = {view: src for src, view in (source.field_mapping or {}).items()}
    return reverse.get(name, name)


def _utc_times(column: pd.Series) -> pd.Series:
    """The entity frame's event times as Feast's file store returns them: UTC, nanoseconds."""
    column = utc_column(column)
    return column.astype("datetime64[ns, UTC]")


def _requested(feature_refs: list[str], feature_views: list[FeatureView], project: str,
               registry: BaseRegistry) -> dict[FeatureView, list[str]]:
    """Requested features per view, parsed exactly as Feast's own stores do.

    The one use of Feast's private helpers (``feast.utils._get_requested_*``): every Feast
    offline store calls them, and parsing references any other way (versions ``@vN``,
    on-demand views) would drift from Feast.
    """
    from feast.utils import (
        _get_requested_feature_views_to_features_dict,
        _get_requested_on_demand_feature_views,
    )

    by_view, _ = _get_requested_feature_views_to_features_dict(
        feature_refs, feature_views,
        _get_requested_on_demand_feature_views(feature_refs, project, registry),
    )
    return dict(by_view)


# ------------------------------------------------------------------------------ the job


class FrescoDuckDBRetrievalJob(RetrievalJob):
    """A lazy retrieval: ``compute`` runs when ``to_df``/``to_arrow`` are called."""

    def __init__(self, compute: Callable[[], pa.Table], *, full_feature_names: bool,
                 repo_path: str | None, on_demand_feature_views: list[OnDemandFeatureView] | None = None,
                 metadata: RetrievalMetadata | None = None,
                 export: Callable[[str, bool], None] | None = None) -> None:
        self._compute = compute
        self._export = export
        self._full_feature_names = full_feature_names
        self._repo_path = repo_path
        self._on_demand_feature_views = on_demand_feature_views or []
        self._metadata = metadata

    @property
    def full_feature_names(self) -> bool:
        return self._full_feature_names

    @property
    def on_demand_feature_views(self) -> list[OnDemandFeatureView]:
        return self._on_demand_feature_views

    @property
    def metadata(self) -> RetrievalMetadata | None:
        return self._metadata

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
        return self._compute()

    def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
        return self._compute().to_pandas()

    def to_df(self, validation_reference: Any = None, timeout: int | None = None) -> pd.DataFrame:
        """Feast's ``to_df`` (``to_arrow``: on-demand views, validation) without its copies of the
        whole frame: Arrow's columns become pandas' one at a time, each freed once converted
        (``self_destruct``; the table is this call's own), and the index is 0..n-1 already
        (Feast's ``reset_index`` copies every column)."""
        table = self.to_arrow(validation_reference=validation_reference, timeout=timeout)
        return table.to_pandas(self_destruct=True, split_blocks=True)

    def persist(self, storage: SavedDatasetStorage, allow_overwrite: bool | None = False,
                timeout: int | None = None) -> None:
        """Write the result as Parquet (a file, or a folder when the path has no suffix).

        The answer to an entity *query* without on-demand views is written by DuckDB straight
        from the join (``COPY``, spilling to disk past its memory limit), in a process of its own:
        no row passes through Python and the caller's memory does not grow with the rows, so a
        Spark job can read a retrieval of any size back from the files."""
        if not isinstance(storage, SavedDatasetFileStorage):
            raise OfflineStoreError(f"can only persist to a SavedDatasetFileStorage, got {type(storage).__name__}")
        path = FileSource.get_uri_for_file_path(repo_path=self._repo_path, uri=storage.file_options.uri)
        if not allow_overwrite and os.path.exists(path):
            raise SavedDatasetLocationAlreadyExists(location=path)
        if self._export is not None and not self._on_demand_feature_views:
            self._export(path, path.endswith(".parquet"))
            return
        if path.endswith(".parquet"):
            pq.write_table(self.to_arrow(), path)
        else:
            pq.write_to_dataset(self.to_arrow(), root_path=path)

    def supports_remote_storage_export(self) -> bool:
        return False


# ---------------------------------------------------------------------- point in time


def _latest_sql(view: FeatureView, features: list[str], scan: str, min_ts: int, max_ts: int) -> str:
    """The source rows of one view that an as-of join may pick, one per (keys, event time): the
    keys as ``__k<i>``, the event time as ``_TS`` (epoch ns), the features as ``__f<i>``; rows
    tying on both decided by the created time (latest wins, null loses), then the file and row
    (last wins). Only rows an entity time in ``[min_ts, max_ts]`` could reach are read."""
    source = view.batch_source
    ts = _q(_source_column(source, source.timestamp_field))
    created = source.created_timestamp_column
    ttl_ns = _ttl_ns(view)
    source_keys = [_q(_source_column(source, c.name)) for c in view.entity_columns]
    select = [f"{k} AS __k{i}" for i, k in enumerate(source_keys)]
    select.append(f"epoch_ns({ts}) AS {_TS}")
    select.append(f"epoch_ns({_q(_source_column(source, created))}) AS {_CREATED}" if created
                  else f"NULL::BIGINT AS {_CREATED}")
    select += [f"{_q(_source_column(source, f))} AS __f{i}" for i, f in enumerate(features)]
    select += [_FILE, "file_row_number"]
    window = [f"epoch_ns({ts}) <= {max_ts}"]
    if ttl_ns is not None and ttl_ns > 0:
        window.append(f"epoch_ns({ts}) >= {min_ts - ttl_ns}")
    partition = ", ".join([f"__k{i}" for i in range(len(source_keys))] + [_TS])
    return f"""
            SELECT * FROM (SELECT {", ".join(select)} FROM {scan}
                           WHERE {ts} IS NOT NULL AND {" AND ".join(window)})
            QUALIFY row_number() OVER (
                PARTITION BY {partition}
                ORDER BY {_CREATED} DESC NULLS LAST, {_FILE} DESC, file_row_number DESC) = 1
    """


def _ttl_ns(view: FeatureView) -> int | None:
    """The view's TTL in nanoseconds; None when it has none (Feast: 0 or None means no limit)."""
    ttl = view.ttl
    if ttl and ttl.total_seconds() != 0:
        return (ttl // timedelta(microseconds=1)) * 1000
    return None


def _as_of_values(view: FeatureView, features: list[str], full_feature_names: bool, entity: str,
                  picked: str) -> list[str]:
    """The select list of one view's features from its picked row ``picked`` for the entity row
    ``entity`` (an alias each): null when the row is older than the TTL (exactly ``ttl`` old
    still counts, as in Feast)."""
    names = [f"{view.projection.name_to_use()}__{f}" if full_feature_names else f for f in features]
    ttl_ns = _ttl_ns(view)
    if ttl_ns is None:
        return [f"{picked}.__f{i} AS {_q(n)}" for i, n in enumerate(names)]
    alive = f"{picked}.{_TS} >= {entity}.{_TS} - {ttl_ns}"
    return [f"CASE WHEN {alive} THEN {picked}.__f{i} END AS {_q(n)}" for i, n in enumerate(names)]


def _as_of_condition(entity: str, entity_keys: list[str], picked: str) -> str:
    """An as-of join's condition: the keys equal, the picked row at or before the entity's time."""
    on = [f"{entity}.{k} = {picked}.__k{i}" for i, k in enumerate(entity_keys)]
    return " AND ".join([*on, f"{entity}.{_TS} >= {picked}.{_TS}"])


def _event_timestamp_column(columns: dict[str, bool], rows: str) -> str:
    """Feast's rule for the entity rows' time column: ``event_timestamp``, else the only timestamp
    column (``columns``: name -> whether it holds timestamps; ``rows``: what they are, for the error)."""
    if DEFAULT_ENTITY_DF_EVENT_TIMESTAMP_COL in columns:
        return DEFAULT_ENTITY_DF_EVENT_TIMESTAMP_COL
    candidates = [name for name, is_time in columns.items() if is_time]
    if len(candidates) == 1:
        return candidates[0]
    raise OfflineStoreError(
        f"the entity {rows} needs a column named {DEFAULT_ENTITY_DF_EVENT_TIMESTAMP_COL!r} (or exactly one "
        f"timestamp column) holding each row's time; it has {list(columns)}"
    )


def _point_in_time(config: RepoConfig, by_view: dict[FeatureView, list[str]], entity_df: pd.DataFrame,
                   ts_column: str, full_feature_names: bool) -> pa.Table:
    """The entity frame (input order) with each requested feature as of its row's time.

    The joins are :func:`_as_of_sql`'s, as for an entity query, over the rows' number, time (epoch
    ns) and join keys: here, or for a frame of at least ``own_process_rows`` rows in a DuckDB
    process of its own (:func:`_joins_in_own_process`)."""
    frame = entity_df.reset_index(drop=True)
    times = _utc_times(frame[ts_column])
    frame = frame.assign(**{ts_column: times})
    result = pa.Table.from_pandas(frame, preserve_index=False)
    ns = times.array.asi8
    min_ts, max_ts = (int(ns.min()), int(ns.max())) if len(ns) else (0, 0)
    if not by_view:  # on-demand features of request data only
        return result
    keys = [k for k in dict.fromkeys(k for view in by_view for k in _join_keys(view)) if k in frame.columns]
    entity = pa.table({_ROW: np.arange(len(frame), dtype=np.int64), _TS: ns, **{k: result.column(k) for k in keys}})
    del frame, times

    def sql(rows: str, views: dict[FeatureView, list[str]]) -> str:  # ``views``' features of ``rows``, in order
        return _as_of_sql(views, full_feature_names, config, f"SELECT * FROM {rows}", result.column_names,
                          min_ts, max_ts, what="frame", select=[], order=f"e.{_ROW}")

    own = getattr(config.offline_store, "own_process_rows", OWN_PROCESS_ROWS)
    answer = (_joins_in_own_process if len(entity) >= own else _joins_here)(config, entity, sql, by_view)
    if answer.num_rows != result.num_rows:  # an as-of LEFT join keeps every row: a loud guard
        raise OfflineStoreError(f"point-in-time retrieval of {_names(by_view)}: {answer.num_rows} rows "
                                f"for {result.num_rows} entity rows")
    for name in answer.column_names:
        result = result.append_column(name, answer.column(name))
    return result


def _names(by_view: dict[FeatureView, list[str]]) -> list[str]:
    """The views' names, for errors."""
    return [v.name for v in by_view]


def _joins_here(config: RepoConfig, entity: pa.Table, sql: Callable[[str, dict[FeatureView, list[str]]], str],
                by_view: dict[FeatureView, list[str]]) -> pa.Table:
    """The features of the rows ``entity`` joined in this process (``sql``: the query of some
    views over a table), one query per view: DuckDB keeps less at once than for one query of all
    (10M rows: this process peaked at 6.3 GiB, against 7.7 GiB)."""
    con = _connect(config)
    parts: list[pa.Table] = []
    try:
        con.register("fresco_entity_rows", entity)
        for view, features in by_view.items():
            try:
                parts.append(con.sql(sql("fresco_entity_rows", {view: features})).to_arrow_table())
            except duckdb.Error as err:
                raise OfflineStoreError(f"point-in-time retrieval of {_names({view: features})}: {err}") from err
    finally:
        con.close()
    return pa.Table.from_arrays([c for part in parts for c in part.columns],
                                names=[name for part in parts for name in part.column_names])


def _joins_in_own_process(config: RepoConfig, entity: pa.Table, sql: Callable[[str, dict[FeatureView, list[str]]], str],
                          by_view: dict[FeatureView, list[str]]) -> pa.Table:
    """The features of the rows ``entity`` joined by DuckDB in a process of its own
    (:func:`_run_in_own_process`): the rows go to it as Parquet, the answer comes back as Parquet.

    Both files are in a ``tempfile`` folder, removed when done or failed: they are private to
    this call and its child (unlike ``fresco.platform.state.scratch_dir``'s, which Spark's
    executors share), and the store works without a Fresco state folder or repository."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="fresco-duckdb-join-") as scratch:
        rows, answer = os.path.join(scratch, "entity.parquet"), os.path.join(scratch, "answer.parquet")
        pq.write_table(entity, rows, compression="none")
        try:
            _run_in_own_process(config, f"COPY ({sql(f'read_parquet({_lit(rows)})', by_view)}) TO {_lit(answer)} "
                                        "(FORMAT PARQUET)")
        except OfflineStoreError as err:
            raise OfflineStoreError(f"point-in-time retrieval of {_names(by_view)}: {err}") from None
        return pq.read_table(answer)


def parquet_entity_query(path: Path | str) -> str:
    """An entity query for :meth:`FrescoDuckDBOfflineStore.get_historical_features`: the rows of a
    Parquet file or folder (a Spark job's output, say), read by DuckDB where they lie."""
    path = Path(path)
    pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    return f"SELECT * FROM read_parquet({_lit(pattern)})"


class _EntityQuery:
    """An entity query's columns, event time column and time range (one short DuckDB session)."""

    def __init__(self, config: RepoConfig, sql: str) -> None:
        self.sql = sql
        con = _connect(config)
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM ({sql})").fetchall()
            self.columns = {str(row[0]): str(row[1]) for row in described}
            self.ts_column = _event_timestamp_column(
                {name: kind.startswith("TIMESTAMP") for name, kind in self.columns.items()}, "query")
            if not self.columns[self.ts_column].startswith("TIMESTAMP"):  # named event_timestamp
                raise OfflineStoreError(f"the entity query's {self.ts_column!r} is {self.columns[self.ts_column]}, "
                                        "not a timestamp")
            low, high = con.execute(f"SELECT min(epoch_ns({_q(self.ts_column)})), max(epoch_ns({_q(self.ts_column)})) "
                                f"FROM ({sql})").fetchone()
        except duckdb.Error as err:
            raise OfflineStoreError(f"the entity query: {err}") from err
        finally:
            con.close()
        self.min_ts, self.max_ts = (int(low), int(high)) if low is not None else (0, 0)

    def point_in_time_sql(self, config: RepoConfig, by_view: dict[FeatureView, list[str]],
                          full_feature_names: bool) -> str:
        """The query's rows, each with every requested feature as of its time (in no particular
        order)."""
        return _as_of_sql(by_view, full_feature_names, config,
                          f"SELECT *, epoch_ns({_q(self.ts_column)}) AS {_TS} FROM ({self.sql})", self.columns,
                          self.min_ts, self.max_ts, what="query", select=[f"e.* EXCLUDE ({_TS})"])


def _join_keys(view: FeatureView) -> list[str]:
    """The entity rows' columns a view joins on (its projection's ``join_key_map`` applied)."""
    return [view.projection.join_key_map.get(c.name, c.name) for c in view.entity_columns]


def _as_of_sql(by_view: dict[FeatureView, list[str]], full_feature_names: bool, config: RepoConfig,
               entity: str, columns: Collection[str], min_ts: int, max_ts: int, *, what: str,
               select: list[str], order: str | None = None) -> str:
    """The point-in-time query, one rule for entity frames and queries: one as-of join per view,
    chained, onto the entity rows (query ``entity``, alias ``e``: ``columns`` and ``_TS``, times
    in ``[min_ts, max_ts]``), selecting ``select`` and every requested feature, ordered by
    ``order`` if given. ``what`` names the entity rows in errors ("frame", "query")."""
    ctes = [f"fresco_entity AS ({entity})"]
    joins: list[str] = []
    values: list[str] = []
    for n, (view, features) in enumerate(by_view.items()):
        keys = _join_keys(view)
        missing = [k for k in keys if k not in columns]
        if missing:
            raise OfflineStoreError(f"feature view {view.name!r} joins on {keys}; the entity {what} lacks {missing}")
        path = local_parquet_path(view.batch_source, config.repo_path)
        assert path is not None  # remote sources were handed to Feast's file store
        ctes.append(f"latest_{n} AS ({_latest_sql(view, features, _scan(path, view.name), min_ts, max_ts)})")
        joins.append(f"ASOF LEFT JOIN latest_{n} s{n} ON {_as_of_condition('e', [_q(k) for k in keys], f's{n}')}")
        values += _as_of_values(view, features, full_feature_names, "e", f"s{n}")
    return (f"WITH {', '.join(ctes)} SELECT {', '.join([*select, *values])} "
            f"FROM fresco_entity e {' '.join(joins)}" + (f" ORDER BY {order}" if order else ""))


def _query_job(config: RepoConfig, query: _EntityQuery, by_view: dict[FeatureView, list[str]],
               full_feature_names: bool, **job: Any) -> FrescoDuckDBRetrievalJob:
    """The retrieval job of an entity query: to Arrow in memory, or persisted by DuckDB itself."""
    sql = query.point_in_time_sql(config, by_view, full_feature_names)

    def run(action: Callable[[duckdb.DuckDBPyConnection], Any]) -> Any:
        con = _connect(config)
        try:
            return action(con)
        except duckdb.Error as err:
            raise OfflineStoreError(f"point-in-time retrieval of {_names(by_view)}: {err}") from err
        finally:
            con.close()

    def export(path: str, single_file: bool) -> None:
        """DuckDB writes the answer beside ``path``, in its own process; it replaces ``path`` only
        once complete, so a failed join leaves a previous answer as it was."""
        options = "FORMAT PARQUET" if single_file else "FORMAT PARQUET, PER_THREAD_OUTPUT TRUE"
        partial = f"{path}.partial-{os.getpid()}"
        try:
            _run_in_own_process(config, f"COPY ({sql}) TO {_lit(partial)} ({options})")
        except OfflineStoreError as err:
            _remove(partial)
            raise OfflineStoreError(f"point-in-time retrieval of {_names(by_view)}: {err}") from None
        _remove(path)
        os.replace(partial, path)

    return FrescoDuckDBRetrievalJob(lambda: run(lambda con: con.sql(sql).to_arrow_table()),
                                    full_feature_names=full_feature_names, export=export, **job)


# ------------------------------------------------------------------------------ the store


class FrescoDuckDBOfflineStore(DaskOfflineStore):
    """Feast's file store with as-of joins in DuckDB for retrieval and materialization reads."""

    @staticmethod
    def offline_write_batch(config: RepoConfig, feature_view: FeatureView, table: pa.Table,
                            progress: Callable[[int], Any] | None) -> None:
        """Feast's ``write_to_offline_store``: rows appended to a view's Parquet folder as a new
        file (:func:`append_to_folder`; Feast's file store rewrites a single file with the old
        rows and the new ones, and cannot write into a folder). A single-file source is Feast's."""
        folder = local_parquet_path(feature_view.batch_source, config.repo_path)
        if folder is None or (folder.exists() and not folder.is_dir()):
            DaskOfflineStore.offline_write_batch(config, feature_view, table, progress)
            return
        append_to_folder(folder, table)
        if progress:
            progress(table.num_rows)

    @staticmethod
    def get_historical_features(config: RepoConfig, feature_views: list[FeatureView], feature_refs: list[str],
                                entity_df: pd.DataFrame | str | None, registry: BaseRegistry, project: str,
                                full_feature_names: bool = False, filter_by_created_timestamp: bool = False,
                                **kwargs: Any) -> RetrievalJob:
        """Point-in-time features for ``entity_df`` (see the module doc for the semantics)."""
        local = answered_in_duckdb(feature_views, config.repo_path)
        if isinstance(entity_df, str) and (filter_by_created_timestamp or not local):
            raise OfflineStoreError("an entity query needs every feature view's source as local Parquet "
                                    "and no created-timestamp filter; give the entity rows as a DataFrame")
        if entity_df is None or filter_by_created_timestamp or not local:
            return DaskOfflineStore.get_historical_features(
                config, feature_views, feature_refs, entity_df, registry, project,
                full_feature_names=full_feature_names,
                filter_by_created_timestamp=filter_by_created_timestamp, **kwargs,
            )
        if hasattr(entity_df, "compute") and not isinstance(entity_df, pd.DataFrame):
            entity_df = entity_df.compute()  # a dask frame, which Feast's file store accepts
        by_view = _requested(feature_refs, feature_views, project, registry)
        odfvs = OnDemandFeatureView.get_requested_odfvs(feature_refs, project, registry)
        if isinstance(entity_df, str):  # a DuckDB query (parquet_entity_query: Parquet files)
            query = _EntityQuery(config, entity_df)
            metadata = RetrievalMetadata(
                features=feature_refs, keys=[c for c in query.columns if c != query.ts_column],
                min_event_timestamp=pd.Timestamp(query.min_ts, tz="UTC").to_pydatetime(),
                max_event_timestamp=pd.Timestamp(query.max_ts, tz="UTC").to_pydatetime())
            return _query_job(config, query, by_view, full_feature_names, repo_path=str(config.repo_path),
                              on_demand_feature_views=odfvs, metadata=metadata)
        if not isinstance(entity_df, pd.DataFrame):
            raise OfflineStoreError(
                f"the entity rows must be a pandas DataFrame or a DuckDB query, not {type(entity_df).__name__}"
            )
        ts_column = _event_timestamp_column(
            {str(c): pd.api.types.is_datetime64_any_dtype(entity_df[c]) for c in entity_df.columns}, "frame")
        times = _utc_times(entity_df[ts_column]) if len(entity_df) else None
        metadata = RetrievalMetadata(
            features=feature_refs,
            keys=list(set(entity_df.columns) - {ts_column}),
            min_event_timestamp=times.min().to_pydatetime() if times is not None else None,
            max_event_timestamp=times.max().to_pydatetime() if times is not None else None,
        )
        return FrescoDuckDBRetrievalJob(
            lambda: _point_in_time(config, by_view, entity_df, ts_column, full_feature_names),
            full_feature_names=full_feature_names,
            repo_path=str(config.repo_path),
            on_demand_feature_views=odfvs,
            metadata=metadata,
        )

    @staticmethod
    def pull_latest_from_table_or_query(config: RepoConfig, data_source: DataSource, join_key_columns: list[str],
                                        feature_name_columns: list[str], timestamp_field: str,
                                        created_timestamp_column: str | None,
                                        start_date: datetime | None = None,
                                        end_date: datetime | None = None) -> RetrievalJob:
        """The latest row per entity with its event time in ``[start_date, end_date]``."""
        return _pull(config, data_source, join_key_columns, feature_name_columns, timestamp_field,
                     created_timestamp_column, start_date, end_date, latest=True)

    @staticmethod
    def pull_all_from_table_or_query(config: RepoConfig, data_source: DataSource, join_key_columns: list[str],
                                     feature_name_columns: list[str], timestamp_field: str,
                                     created_timestamp_column: str | None = None,
                                     start_date: datetime | None = None,
                                     end_date: datetime | None = None) -> RetrievalJob:
        """Every row with its event time in ``[start_date, end_date]`` (either may be None)."""
        return _pull(config, data_source, join_key_columns, feature_name_columns, timestamp_field,
                     created_timestamp_column, start_date, end_date, latest=False)


def _pull(config: RepoConfig, source: DataSource, join_keys: list[str], features: list[str], timestamp_field: str,
          created: str | None, start: datetime | None, end: datetime | None, *, latest: bool) -> RetrievalJob:
    """Source rows (columns named as in the source) in a window; with ``latest``, one per entity.
    A source that is not a local Parquet file goes to Feast's file (Dask) store."""
    path = local_parquet_path(source, config.repo_path)
    if path is None:
        feast_pull = (DaskOfflineStore.pull_latest_from_table_or_query if latest
                      else DaskOfflineStore.pull_all_from_table_or_query)
        return feast_pull(config, source, join_keys, features, timestamp_field, created, start, end)

    def compute() -> pa.Table:
        con = _connect(config)
        try:
            scan = _scan(path, source.name)
            probe = con.sql(f"SELECT * FROM {scan} LIMIT 0")
            types = dict(zip(probe.columns, map(str, probe.types)))
            missing = [c for c in [*join_keys, timestamp_field] if c not in types]
            if missing:
                raise OfflineStoreError(f"source {source.name!r} ({path}) lacks column(s) {missing}")

            def out(column: str) -> str:  # event times as UTC-aware timestamps, like Feast's
                if types.get(column) in ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
                    return f"CAST({_q(column)} AS TIMESTAMPTZ) AS {_q(column)}"
                return _q(column)

            times = [timestamp_field] + ([created] if created else [])
            columns = list(dict.fromkeys([*join_keys, *features, *times]))
            select = [out(c) if c in times else _q(c) for c in columns]
            if not join_keys:
                select.append(f"{_lit(DUMMY_ENTITY_VAL)} AS {_q(DUMMY_ENTITY_ID)}")
            where = [f"{_q(timestamp_field)} IS NOT NULL"]
            if start is not None:
                where.append(f"epoch_ns({_q(timestamp_field)}) >= {_epoch_ns(start)}")
            if end is not None:
                where.append(f"epoch_ns({_q(timestamp_field)}) <= {_epoch_ns(end)}")
            sql = f"SELECT {', '.join(select)} FROM {scan} WHERE {' AND '.join(where)}"
            if latest and join_keys:
                order = [f"epoch_ns({_q(timestamp_field)}) DESC"]
                if created:
                    order.append(f"epoch_ns({_q(created)}) DESC NULLS LAST")
                order += [f"{_FILE} DESC", "file_row_number DESC"]
                sql += (f" QUALIFY row_number() OVER (PARTITION BY {', '.join(map(_q, join_keys))} "
                        f"ORDER BY {', '.join(order)}) = 1")
            try:
                return con.sql(sql).to_arrow_table()
            except duckdb.Error as err:
                raise OfflineStoreError(f"source {source.name!r} ({path}): {err}") from err
        finally:
            con.close()

    return FrescoDuckDBRetrievalJob(compute, full_feature_names=False, repo_path=str(config.repo_path))


def sample_source(config: RepoConfig, source: DataSource, columns: list[str], rows: int,
                  seed: int = 0) -> tuple[pa.Table, int] | None:
    """A uniform sample of at most ``rows`` rows of ``columns`` (named as the view names them) of
    a local Parquet ``source``, and how many rows it has: DuckDB's reservoir sampling, so the
    memory used is bounded by ``rows`` whatever the source's size (the same sample for the same
    ``seed`` and data). None for a source that is not local Parquet."""
    path = local_parquet_path(source, config.repo_path)
    if path is None:
        return None
    con = _connect(config)
    try:
        scan = _scan(path, source.name)
        select = ", ".join(f"{_q(_source_column(source, c))} AS {_q(c)}" for c in columns)
        try:
            ((total,),) = con.sql(f"SELECT count(*) FROM {scan}").fetchall()
            sample = con.sql(f"SELECT {select} FROM {scan} USING SAMPLE reservoir({int(rows)} ROWS) "
                             f"REPEATABLE ({int(seed)})").to_arrow_table()
        except duckdb.Error as err:
            raise OfflineStoreError(f"source {source.name!r} ({path}): {err}") from err
        return sample, int(total)
    finally:
        con.close()


def appended_file_name() -> str:
    """A new file's name in a view's Parquet folder: later appends sort after earlier ones and
    after Spark's ``part-*`` files, which is the tie-break between rows of one key and time
    (created time first, then the file name, then the row)."""
    import uuid

    return f"stream-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"


def append_to_folder(folder: Path, table: pa.Table, name: str | None = None) -> Path:
    """Write ``table`` as a new file of the Parquet folder ``folder`` (created when missing),
    cast to the schema of the folder's files; the file appears whole (written, then renamed).
    ``name`` (without ``.parquet``) makes the write idempotent: writing it again replaces it."""
    folder.mkdir(parents=True, exist_ok=True)
    first = next(iter(sorted(folder.rglob("*.parquet"))), None)
    if first is not None:
        schema = pq.read_schema(first)
        if set(schema.names) != set(table.column_names):
            raise OfflineStoreError(f"{folder}: its files have columns {schema.names}, the rows to append "
                                    f"{table.column_names}")
        table = table.select(schema.names).cast(schema)
    target = folder / (f"{name}.parquet" if name else appended_file_name())
    tmp = folder / f".{target.name}.tmp"
    # microseconds, as Spark's and Fresco's other writers: Spark cannot read Parquet's nanoseconds
    pq.write_table(table, tmp, coerce_timestamps="us", allow_truncated_timestamps=True)
    os.replace(tmp, target)
    return target
