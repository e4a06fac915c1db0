"""``/api/catalog/features/{view}/{feature}/distribution``: a feature's values as its view's
offline source holds them, from a uniform sample of at most ``rows`` rows read by
:func:`fresco.platform.offline_stores.sample_source` (DuckDB's reservoir sample of a local Parquet
source: memory bounded by the sample, whatever the source's size): a histogram of a number, the
most frequent values of anything else, and the nulls. Another kind of source is not sampled (the
answer says so) rather than read whole."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from fastapi import APIRouter, Depends, Query

from fresco.platform.offline_stores import sample_source
from fresco.platform.views import view_features
from fresco.ui.catalog import find_view
from fresco.ui.errors import UnknownFeature, shorten
from fresco.ui.schemas import Distribution, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api/catalog", tags=["catalog"])

BINS = 20  #: a number's histogram bars
TOP = 12  #: the most frequent values shown of anything else
MAX_ROWS = 100_000


def histogram(values: np.ndarray, bins: int = BINS) -> list[dict[str, float]]:
    """Equal-width bins over the finite ``values``: each bin's bounds and count."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return []
    counts, edges = np.histogram(finite, bins=min(bins, max(1, len(np.unique(finite)))))
    return [{"low": float(edges[i]), "high": float(edges[i + 1]), "count": int(c)} for i, c in enumerate(counts)]


def top_values(values: pd.Series, top: int = TOP) -> tuple[list[dict[str, Any]], int]:
    """The ``top`` most frequent non-null values (as text) with their counts, and how many rows hold another."""
    counts = values.dropna().astype(str).value_counts()
    shown = counts.head(top)
    return [{"value": v, "count": int(c)} for v, c in shown.items()], int(counts.iloc[top:].sum())


def describe(column: pa.ChunkedArray) -> dict[str, Any]:
    """A sampled column's figures: a histogram and its range for a number, the top values otherwise."""
    numeric = pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    nulls = column.null_count
    if numeric:
        values = column.to_numpy(zero_copy_only=False).astype("float64")
        finite = values[np.isfinite(values)]
        stats = {"min": float(finite.min()), "max": float(finite.max()), "mean": float(finite.mean())} if len(finite) \
            else {"min": None, "max": None, "mean": None}
        return {"kind": "number", "nulls": nulls, "bins": histogram(values), "values": None, "other": None, **stats}
    shown, other = top_values(column.to_pandas())
    return {"kind": "category", "nulls": nulls, "bins": None, "values": shown, "other": other,
            "min": None, "max": None, "mean": None}


@router.get("/features/{view}/{feature}/distribution", summary="A feature's distribution in the offline store",
            response_model=Distribution, responses=errors(400, 404))
def distribution(view: str, feature: str,
                 rows: int = Query(10_000, ge=1, le=MAX_ROWS, description="Rows sampled at the most."),
                 src: Sources = Depends(sources)) -> dict[str, Any]:
    """The values of ``view:feature`` in a uniform sample of its view's offline source (the same
    sample each time for the same data): histogram or top values, nulls, and the rows sampled of
    how many."""
    store = src.store()
    spec = find_view(store, view)
    if feature not in {f.name for f in view_features(spec)}:
        raise UnknownFeature(f"no feature {shorten(f'{view}:{feature}')!r} in the catalog", field="feature")
    about = {"ref": f"{view}:{feature}", "source": spec.batch_source.name}
    sampled = sample_source(store.config, spec.batch_source, [feature], rows)
    if sampled is None:
        return {**about, "source_rows": None, "sampled": 0, "kind": None, "nulls": 0, "bins": None, "values": None,
                "other": None, "min": None, "max": None, "mean": None,
                "message": f"source {about['source']} is not a local Parquet file or folder: not sampled"}
    table, total = sampled
    return {**about, "source_rows": total, "sampled": table.num_rows, **describe(table.column(feature)),
            "message": None}
