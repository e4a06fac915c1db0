"""Reading the prediction log (its records and schema: :mod:`fresco.platform.logs`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from fresco.platform.logs import SCHEMA_VERSION, prediction_log_folder, prediction_schema
from fresco.platform.times import utc_timestamp


def read_predictions(folder: Path | None = None, *, since: datetime | None = None,
                     until: datetime | None = None, model: str | None = None) -> pd.DataFrame:
    """The log's records with ``since <= predicted_at < until`` (UTC), of model UUID ``model``
    when given, oldest first; no files yet is an empty frame with the log's columns. A file
    of a newer schema version than this reader knows is refused, naming it."""
    import pyarrow.dataset as ds

    folder = Path(folder) if folder is not None else prediction_log_folder()
    schema = prediction_schema()
    files = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith(".")) if folder.is_dir() else []
    if not files:
        return schema.empty_table().to_pandas()
    dataset = ds.dataset([str(f) for f in files], schema=schema, format="parquet")
    condition = None
    for term in (
        ds.field("predicted_at") >= utc_timestamp(since) if since is not None else None,
        ds.field("predicted_at") < utc_timestamp(until) if until is not None else None,
        ds.field("model_uuid") == model if model is not None else None,
    ):
        if term is not None:
            condition = term if condition is None else condition & term
    frame = dataset.to_table(filter=condition).to_pandas()
    newer = frame.loc[frame["schema_version"] > SCHEMA_VERSION, "schema_version"]
    if len(newer):
        raise ValueError(f"the prediction log under {folder} holds schema version {int(newer.max())}; "
                         f"this Fresco reads up to {SCHEMA_VERSION}: upgrade it")
    return frame.sort_values("predicted_at", kind="stable").reset_index(drop=True)
