"""Point-in-time correct training frames from the Feast catalog."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from feast import FeatureService, FeatureStore

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


def _resolve_features(
    store: FeatureStore, features: str | FeatureService | Sequence[str]
) -> FeatureService | list[str]:
    if isinstance(features, FeatureService):
        return features
    if isinstance(features, str):
        if ":" in features:
            return [features]
        try:
            return store.get_feature_service(features)
        except Exception as err:  # Feast raises its own not-found error type
            known = sorted(s.name for s in store.list_feature_services())
            raise TrainingDataError(
                f"unknown feature service {features!r}; registered: {known}"
            ) from err
    refs = list(features)
    bad = [r for r in refs if r.count(":") != 1]
    if bad:
        raise TrainingDataError(f"feature references must look like 'view:feature', got {bad}")
    return refs


def _join_keys(store: FeatureStore, features: FeatureService | list[str]) -> set[str]:
    if isinstance(features, FeatureService):
        views = [p.name for p in features.feature_view_projections]
    else:
        views = sorted({ref.split(":")[0] for ref in features})
    keys: set[str] = set()
    for name in views:
        view = store.get_feature_view(name)
        keys.update(view.join_keys)
    return keys


def build_training_frame(
    entity_rows: pd.DataFrame | str | Path,
    features: str | FeatureService | Sequence[str],
    store: FeatureStore | str | Path,
    *,
    timestamp_column: str = FEAST_TIMESTAMP,
) -> pd.DataFrame:
    """Join point-in-time correct feature values onto entity rows.

    Args:
        entity_rows: a DataFrame or Parquet path with the entity join keys, an event timestamp
            column and any other columns (labels, request fields), which are kept as they are.
        features: a feature service (object or name) or feature references ``"view:feature"``.
        store: a ``FeatureStore`` or the path of a Feast repository.
        timestamp_column: the column holding each row's event time (timezone-aware or UTC).

    Returns:
        The entity rows in their original order, one output row per input row (repeated
        input rows stay repeated), with one column per feature named ``view__feature``.
        A feature value stamped after a row's timestamp, or older than its view's TTL,
        is null in that row.
    """
    store = store if isinstance(store, FeatureStore) else FeatureStore(repo_path=str(store))
    rows = _load_rows(entity_rows)
    resolved = _resolve_features(store, features)
    missing = sorted((_join_keys(store, resolved) | {timestamp_column}) - set(rows.columns))
    if missing:
        raise TrainingDataError(
            f"entity rows lack column(s) {missing}; they have {sorted(rows.columns)}"
        )
    if rows[timestamp_column].isna().any():
        raise TrainingDataError(f"column {timestamp_column!r} has null timestamps")
    timestamps = pd.to_datetime(rows[timestamp_column], utc=True)

    query = rows.reset_index(drop=True)
    query[ROW_ID] = range(len(query))
    if timestamp_column != FEAST_TIMESTAMP:
        if FEAST_TIMESTAMP in query.columns:
            raise TrainingDataError(
                f"entity rows have both {timestamp_column!r} and {FEAST_TIMESTAMP!r}; "
                f"rename one of them"
            )
    query[FEAST_TIMESTAMP] = timestamps.reset_index(drop=True).astype("datetime64[us, UTC]")

    job = store.get_historical_features(
        entity_df=query, features=resolved, full_feature_names=True
    )
    frame = job.to_df()
    # Some offline stores return a row twice when source rows tie on timestamp: keep one.
    frame = frame.sort_values(ROW_ID, kind="stable").drop_duplicates(ROW_ID, keep="last")
    if len(frame) != len(query):
        raise TrainingDataError(
            f"the offline store returned {len(frame)} rows for {len(query)} entity rows"
        )
    if timestamp_column != FEAST_TIMESTAMP:
        frame = frame.drop(columns=[FEAST_TIMESTAMP])
    frame = frame.drop(columns=[ROW_ID]).reset_index(drop=True)
    frame.index = rows.index
    return frame
