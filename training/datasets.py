"""Point-in-time correct training frames from the Feast catalog."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from feast import FeatureService, FeatureStore

from fresco.dsl import feature_column
from fresco.platform.views import feature_view
from fresco.platform.times import utc_column

ROW_ID = "__fresco_row_id"
FEAST_TIMESTAMP = "event_timestamp"


class TrainingDataError(ValueError):
    """The entity rows or feature selection cannot produce a training frame."""


def _load_rows(entity_rows: pd.DataFrame | str | Path) -> pd.DataFrame:
    if isinstance(entity_rows, pd.DataFrame):
        return entity_rows.copy()
    path = Path(entity_rows)
    if not path.exists():
        raise TrainingDataError(f"entity rows not found: {path}")
    return pd.read_parquet(path)


def _resolve_refs(store: FeatureStore, features: str | FeatureService | Sequence[str]) -> list[str]:
    """Feature references ``view:feature`` for a feature service (or its name) or references."""
    if isinstance(features, str) and ":" not in features:
        try:
            features = store.get_feature_service(features)
        except Exception as err:  # Feast raises its own not-found error type
            known = sorted(s.name for s in store.list_feature_services())
            raise TrainingDataError(
                f"unknown feature service {features!r}; registered: {known}"
            ) from err
    if isinstance(features, FeatureService):
        return [
            f"{p.name_to_use()}:{f.name}" for p in features.feature_view_projections for f in p.features
        ]
    refs = [features] if isinstance(features, str) else list(features)
    bad = [r for r in refs if r.count(":") != 1]
    if bad:
        raise TrainingDataError(f"feature references must look like 'view:feature', got {bad}")
    return refs


def _refs_by_view(refs: list[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for ref in refs:
        grouped.setdefault(ref.split(":")[0], []).append(ref)
    return grouped


def _plan(store: FeatureStore, features: str | FeatureService | Sequence[str], columns: list[str],
          timestamp_column: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(refs by view, join keys by view), or :class:`TrainingDataError` when the entity rows'
    ``columns`` lack a join key or the timestamp, or clash with Feast's timestamp name."""
    by_view = _refs_by_view(_resolve_refs(store, features))
    join_keys = {view: list(feature_view(store, view).join_keys) for view in by_view}
    missing = sorted({timestamp_column}.union(*join_keys.values()) - set(columns))
    if missing:
        raise TrainingDataError(f"entity rows lack column(s) {missing}; they have {sorted(columns)}")
    if timestamp_column != FEAST_TIMESTAMP and FEAST_TIMESTAMP in columns:
        raise TrainingDataError(
            f"entity rows have both {timestamp_column!r} and {FEAST_TIMESTAMP!r}; rename one"
        )
    return by_view, join_keys


def _chunks(frame: pd.DataFrame, size: int | None) -> list[pd.DataFrame]:
    """``frame`` in consecutive pieces of at most ``size`` rows (one piece when ``size`` is None)."""
    if not size or len(frame) <= size:
        return [frame]
    return [frame.iloc[i:i + size] for i in range(0, len(frame), size)]


def build_training_frame(
    entity_rows: pd.DataFrame | str | Path,
    features: str | FeatureService | Sequence[str],
    store: FeatureStore | str | Path,
    *,
    timestamp_column: str = FEAST_TIMESTAMP,
    chunk_rows: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Join point-in-time correct feature values onto entity rows.

    Args:
        entity_rows: a DataFrame or Parquet path with the entity join keys, an event timestamp
            column and any other columns (labels, request fields), which are kept as they are.
        features: a feature service (object or name) or feature references ``"view:feature"``.
        store: a ``FeatureStore`` or the path of a Feast repository.
        timestamp_column: the column holding each row's event time (timezone-aware or UTC).
        chunk_rows: ask Feast about at most this many distinct (entity, time) rows at a time,
            oldest first (None: all at once). Bounds memory: Feast's file store joins every
            entity row with all of its entity's feature rows before the TTL filter. The
            result is the same for every chunk size.
        progress: called with a line per feature view and chunk.

    Returns:
        The entity rows in their original order, one output row per input row (repeated
        input rows stay repeated), with one column per feature named ``view__feature``.
        A feature value stamped after a row's timestamp, or older than its view's TTL,
        is null in that row.
    """
    if chunk_rows is not None and chunk_rows < 1:
        raise TrainingDataError(f"chunk_rows must be at least 1, got {chunk_rows}")
    store = store if isinstance(store, FeatureStore) else FeatureStore(repo_path=str(store))
    rows = _load_rows(entity_rows)
    by_view, join_keys = _plan(store, features, list(rows.columns), timestamp_column)
    if rows[timestamp_column].isna().any():
        raise TrainingDataError(f"column {timestamp_column!r} has null timestamps")

    frame = rows.reset_index(drop=True)
    moment = pd.to_datetime(frame[timestamp_column], utc=True).astype("datetime64[us, UTC]")
    if _keeps_every_row(store, by_view):
        frame = _every_row_at_once(frame, moment, by_view, join_keys, store, chunk_rows, progress)
        frame.index = rows.index
        return frame
    frame[ROW_ID] = range(len(frame))
    for v, (view, refs) in enumerate(by_view.items(), start=1):
        # Feast's file store drops an entity row whose candidate values all fall outside the
        # TTL, and collapses repeated (key, timestamp) rows: ask it once per distinct key and
        # time, one view at a time, and join the answers back onto every input row.
        keys = join_keys[view]
        query = (
            frame[keys].assign(**{FEAST_TIMESTAMP: moment}).drop_duplicates()
            .sort_values(FEAST_TIMESTAMP, kind="stable").reset_index(drop=True)
        )
        columns = [feature_column(ref) for ref in refs]
        pieces = _chunks(query, chunk_rows)
        answers = []
        for c, piece in enumerate(pieces, start=1):
            answer = store.get_historical_features(
                entity_df=piece.reset_index(drop=True), features=refs, full_feature_names=True
            ).to_df()
            # the file store returns UTC-aware times, the Spark store naive UTC ones
            answer[FEAST_TIMESTAMP] = utc_column(answer[FEAST_TIMESTAMP]).astype("datetime64[us, UTC]")
            answers.append(answer[keys + [FEAST_TIMESTAMP] + columns])
            if progress is not None:
                progress(
                    f"features {view} ({v}/{len(by_view)}): chunk {c}/{len(pieces)}, "
                    f"{len(piece):,} entity rows to {piece[FEAST_TIMESTAMP].iloc[-1]:%Y-%m-%d %H:%M:%S}"
                )
        # An empty answer (every row of a chunk outside the TTL) has no dtypes worth keeping.
        answer = pd.concat([a for a in answers if len(a)] or answers[:1], ignore_index=True)
        del answers
        # Some offline stores return a row twice when source rows tie on timestamp: keep one.
        answer = answer.drop_duplicates(keys + [FEAST_TIMESTAMP], keep="last")
        frame = frame.assign(**{FEAST_TIMESTAMP + "__q": moment}).merge(
            answer.rename(columns={FEAST_TIMESTAMP: FEAST_TIMESTAMP + "__q"}),
            on=keys + [FEAST_TIMESTAMP + "__q"],
            how="left",
            validate="many_to_one",
        ).drop(columns=[FEAST_TIMESTAMP + "__q"])
    frame = frame.sort_values(ROW_ID, kind="stable").drop(columns=[ROW_ID])
    if len(frame) != len(rows):  # guaranteed by many_to_one; kept as a loud guard
        raise TrainingDataError(f"built {len(frame)} rows for {len(rows)} entity rows")
    frame.index = rows.index
    return frame


def _keeps_every_row(store: FeatureStore, by_view: dict[str, list[str]]) -> bool:
    """Whether the store answers every entity row once, in order, for all views in one query
    (Fresco's DuckDB store over local Parquet sources), so no de-duplication or merge is needed."""
    from fresco.platform.offline_stores.duckdb_store import answered_in_duckdb

    return on_duckdb_offline_store(store) and answered_in_duckdb([feature_view(store, v) for v in by_view],
                                                                 store.repo_path)


def _every_row_at_once(frame: pd.DataFrame, moment: pd.Series, by_view: dict[str, list[str]],
                       join_keys: dict[str, list[str]], store: FeatureStore, chunk_rows: int | None,
                       progress: Callable[[str], None] | None) -> pd.DataFrame:
    """``frame`` with every view's features, asked of the store for all rows and views at once
    (in chunks of ``chunk_rows``), the answer's columns taken by position."""
    keys = list(dict.fromkeys(k for view in by_view for k in join_keys[view]))
    refs = [ref for view_refs in by_view.values() for ref in view_refs]
    query = frame[keys].assign(**{FEAST_TIMESTAMP: moment})
    columns = [feature_column(ref) for ref in refs]
    pieces = _chunks(query, chunk_rows)
    answers = []
    for c, piece in enumerate(pieces, start=1):
        answer = store.get_historical_features(entity_df=piece.reset_index(drop=True), features=refs,
                                               full_feature_names=True).to_df()
        if len(answer) != len(piece):  # the store keeps every row: a loud guard
            raise TrainingDataError(f"built {len(answer)} rows for {len(piece)} entity rows")
        answers.append(answer if len(pieces) == 1 else answer[columns])  # one: its columns taken below
        del answer
        if progress is not None:
            progress(f"features of {len(by_view)} views: chunk {c}/{len(pieces)}, {len(piece):,} entity rows")
    features = answers[0] if len(answers) == 1 else pd.concat(answers, ignore_index=True)
    del answers
    return _side_by_side(frame, features, columns)


def _side_by_side(frame: pd.DataFrame, other: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame``'s columns, then ``other``'s ``columns`` (the same index), none of them copied:
    ``pd.concat(axis=1)`` and ``other[columns]`` copy every column (concat merges columns of a
    dtype into one block), at 10M rows a gigabyte more at the peak. Column names
    ``frame`` repeats, or shares with ``columns``, go through ``pd.concat``."""
    if frame.columns.is_unique and not set(columns) & set(frame.columns):
        return pd.DataFrame({**{name: frame[name] for name in frame.columns}, **{name: other[name] for name in columns}},
                            index=frame.index, copy=False)
    return pd.concat([frame, other[columns]], axis=1)


def on_spark_offline_store(store: FeatureStore) -> bool:
    """Whether ``store``'s offline store is Feast's Spark store (``type: spark`` or its class path)."""
    offline = str(store.config.offline_store.type)
    return offline == "spark" or offline.endswith(".SparkOfflineStore")


def on_duckdb_offline_store(store: FeatureStore) -> bool:
    """Whether ``store``'s offline store is Fresco's DuckDB store (the embedded default's)."""
    from fresco.platform.offline_stores.duckdb_store import TYPE

    return str(store.config.offline_store.type) == TYPE


def duckdb_spark_frame(
    entity_rows: Any,
    features: str | FeatureService | Sequence[str],
    store: FeatureStore,
    *,
    scratch: Path,
    timestamp_column: str = FEAST_TIMESTAMP,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """:func:`build_training_frame` on Fresco's DuckDB store for a Spark DataFrame, without its
    rows passing through Python: Spark writes the entity rows as Parquet under ``scratch``,
    DuckDB joins them point in time (one as-of join per view, spilling to disk past its memory
    limit) and writes its answer beside them, which Spark reads back. The answer is lazy and
    reads those files: keep ``scratch`` until it has been used. Every input row is kept with
    ``view__feature`` columns, null when nothing is valid (and for a row whose time is null);
    rows are in no particular order, as Spark's are. Spark's executors and this process must
    see ``scratch`` at the same path (one machine, or a shared folder)."""
    from feast.infra.offline_stores.file_source import SavedDatasetFileStorage
    from pyspark.sql import functions as F

    from fresco.platform.offline_stores import parquet_entity_query

    if not on_duckdb_offline_store(store):
        raise TrainingDataError(f"a DuckDB join of Spark rows needs Fresco's DuckDB offline store; this "
                                f"store's is {store.config.offline_store.type!r}")
    refs = _resolve_refs(store, features)
    _plan(store, refs, list(entity_rows.columns), timestamp_column)
    rows = entity_rows
    if timestamp_column != FEAST_TIMESTAMP:
        rows = rows.withColumn(FEAST_TIMESTAMP, F.col(timestamp_column).cast("timestamp"))
    entity, answer = scratch / "entity_rows", scratch / "features"
    from fresco.platform.spark_progress import spark_progress

    with spark_progress(rows.sparkSession, progress or (lambda _: None)):
        rows.write.mode("overwrite").parquet(str(entity))
    if progress is not None:
        progress(f"entity rows written by Spark to {entity}; joining {len(refs)} features in DuckDB")
    job = store.get_historical_features(entity_df=parquet_entity_query(entity), features=refs,
                                        full_feature_names=True)
    job.persist(SavedDatasetFileStorage(path=str(answer)), allow_overwrite=True)
    if progress is not None:
        progress(f"features joined point in time ({len(_refs_by_view(refs))} views), read by Spark from {answer}")
    frame = rows.sparkSession.read.parquet(str(answer))
    return frame.drop(FEAST_TIMESTAMP) if timestamp_column != FEAST_TIMESTAMP else frame


#: a DSL input type -> the pandas dtype that keeps it (Feast's frames widen ints with nulls to float)
_PANDAS_TYPES = {"int": "Int64", "float": "float64", "bool": "boolean"}


def spark_features(rows: Any, refs: list[str], store: FeatureStore, *, timestamp_column: str, scratch: Path,
                   chunk_rows: int | None = None, types: dict[str, Any] | None = None,
                   progress: Callable[[str], None] = lambda _: None) -> tuple[Any, dict[str, Any]]:
    """A Spark DataFrame of entity rows with ``view__feature`` columns for ``refs``, point in time,
    by the store's best path, and a record of it: in Spark on Feast's Spark store
    (:func:`spark_training_frame`), by DuckDB through Parquet files in ``scratch`` on Fresco's
    DuckDB store (:func:`duckdb_spark_frame`), else through the driver in pandas
    (:func:`build_training_frame`, ``chunk_rows`` entity rows per query, the features given the
    program's ``types``: DSL type names by reference)."""
    from fresco.training.config import retrieval_chunk_rows

    offline = str(store.config.offline_store.type)
    if on_spark_offline_store(store):
        progress(f"joining {len(refs)} features point in time in Spark ({offline} offline store)")
        return (spark_training_frame(rows, refs, store, timestamp_column=timestamp_column, progress=progress),
                {"offline_store": offline, "in": "spark"})
    if on_duckdb_offline_store(store):
        progress(f"joining {len(refs)} features point in time in DuckDB through Parquet files ({offline})")
        return (duckdb_spark_frame(rows, refs, store, scratch=scratch, timestamp_column=timestamp_column,
                                   progress=progress),
                {"offline_store": offline, "in": "duckdb"})
    entity = rows.toPandas()
    chunk = retrieval_chunk_rows(offline, chunk_rows)
    progress(f"retrieving {len(refs)} features for {len(entity):,} rows point in time through the driver "
             f"({offline} offline store, {f'chunks of {chunk:,} rows' if chunk else 'one query per view'})")
    frame = build_training_frame(entity, refs, store, timestamp_column=timestamp_column, chunk_rows=chunk,
                                 progress=progress)
    for ref in refs:
        dtype = _PANDAS_TYPES.get(str(getattr((types or {}).get(ref), "value", (types or {}).get(ref))))
        if dtype is not None:
            frame[feature_column(ref)] = frame[feature_column(ref)].astype(dtype)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].astype("datetime64[us, UTC]")
    return rows.sparkSession.createDataFrame(frame), {"offline_store": offline, "chunk_rows": chunk, "in": "driver"}


def spark_training_frame(
    entity_rows: Any,
    features: str | FeatureService | Sequence[str],
    store: FeatureStore,
    *,
    timestamp_column: str = FEAST_TIMESTAMP,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """:func:`build_training_frame` on a Spark offline store, kept in Spark: ``entity_rows`` is
    a Spark DataFrame and so is the answer (lazy; nothing is collected on the driver). Each
    view is asked once per distinct (keys, time) through Feast's Spark store, whose answer
    stays a DataFrame (``to_spark_df``), and left-joined back, so every input row is kept
    (repeated rows too) with ``view__feature`` columns, null when nothing is valid (and for a
    row whose time is null). Rows are in no particular order, as Spark's are."""
    from pyspark.sql import functions as F

    if not on_spark_offline_store(store):
        raise TrainingDataError(f"a Spark training frame needs the Spark offline store; this "
                                f"store's is {store.config.offline_store.type!r}")
    by_view, join_keys = _plan(store, features, list(entity_rows.columns), timestamp_column)
    asked = "__fresco_asked_at"
    rows = entity_rows.withColumn(asked, F.col(timestamp_column).cast("timestamp"))
    frame = rows
    for v, (view, refs) in enumerate(by_view.items(), start=1):
        keys = join_keys[view]
        # asked of the entity rows, never of the frame joined so far: Feast names the temporary
        # view of every query the same, and Spark refuses a query over a previous one's
        query = rows.select(*keys, F.col(asked).alias(FEAST_TIMESTAMP)).where(
            F.col(FEAST_TIMESTAMP).isNotNull()).distinct()
        answer = store.get_historical_features(
            entity_df=query, features=refs, full_feature_names=True).to_spark_df()
        columns = [feature_column(ref) for ref in refs]
        answer = (answer.select(*keys, F.col(FEAST_TIMESTAMP).alias(asked), *columns)
                  .dropDuplicates([*keys, asked]))  # a tie on both timestamps answers twice
        frame = frame.join(answer, on=[*keys, asked], how="left")
        if progress is not None:
            progress(f"features {view} ({v}/{len(by_view)}): point-in-time join planned in Spark")
    return frame.drop(asked)
