"""``/api/models`` and ``/api/compare``: the model repository's records
(:class:`fresco.training.ModelRepository`), compared by :func:`fresco.training.compare_models`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from fresco.training import ModelRecord, RepositoryError, compare_models
from fresco.training.metrics import BINARY_METRICS, GREATER_IS_BETTER, REGRESSION_METRICS
from fresco.training.model_refs import AmbiguousPrefix
from fresco.ui.errors import BadRequest, UnknownModel, shorten
from fresco.ui.schemas import Comparison, ModelDetail, ModelList, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api", tags=["models"])


def find_record(src: Sources, ref: str, field: str) -> ModelRecord:
    """The record ``ref`` (UUID, prefix, tag) names; 404 when none, 400 for an ambiguous prefix."""
    try:
        return src.models.get(ref)
    except AmbiguousPrefix as err:
        raise BadRequest(str(err), field=field) from None
    except RepositoryError:
        raise UnknownModel(f"no model or tag {shorten(ref)!r} in the repository", field=field) from None


def summary(record: ModelRecord) -> dict[str, Any]:
    """A model as the list shows it: identity, author, times, tags and held-out metrics."""
    return {"uuid": record.uuid, "name": record.name, "model_type": record.model_type, "task": record.task,
            "label": record.label, "author": record.author, "started_at": record.started_at,
            "finished_at": record.finished_at, "tags": record.tags,
            "held_out": {"split": record.headline, "metrics": record.metrics.get(record.headline, {})}}


def parse_since(text: str) -> datetime:
    """``since`` as an aware time; an HTTP request's time carries its zone (fresco.platform.times)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadRequest(f"since: expected an ISO time with its zone such as 2026-01-31T00:00:00Z, got {shorten(text)!r}",
                         field="since")
    return moment


def sort_key(metric: str) -> Any:
    """Best first by held-out ``metric`` (larger first for a score, smaller for an error);
    models without it last."""
    sign = -1.0 if metric in GREATER_IS_BETTER else 1.0

    def key(record: ModelRecord) -> tuple[bool, float]:
        value = record.metrics.get(record.headline, {}).get(metric)
        return value is None, sign * value if value is not None else 0.0

    return key


@router.get("/models", summary="List the models", response_model=ModelList, responses=errors(400))
def list_models(name: str | None = Query(None, description="Only models with this name."),
                tag: str | None = Query(None, description="Only the model this tag points at."),
                author: str | None = Query(None, description="Only models trained by this author."),
                since: str | None = Query(None, description="Only models finished at or after this time "
                                                              "(ISO, with its zone)."),
                sort: str | None = Query(None, description="A held-out metric to sort by, best first "
                                                             "(default: newest first)."),
                src: Sources = Depends(sources)) -> dict[str, Any]:
    """The repository's models, newest first, or best first by a metric."""
    metrics = (*REGRESSION_METRICS, *BINARY_METRICS)
    if sort is not None and sort not in metrics:
        raise BadRequest(f"sort: {shorten(sort)!r} is not a metric; sort by one of {', '.join(metrics)}", field="sort")
    start = parse_since(since) if since is not None else None
    records = [r for r in src.models.list(name)
               if (tag is None or tag in r.tags) and (author is None or r.author == author)
               and (start is None or datetime.fromisoformat(r.finished_at) >= start)]
    if sort is not None:
        records.sort(key=sort_key(sort))
    return {"models": [summary(r) for r in records]}


@router.get("/models/{ref}", summary="One model", response_model=ModelDetail, responses=errors(400, 404))
def get_model(ref: str, src: Sources = Depends(sources)) -> dict[str, Any]:
    """A model (UUID, unique UUID prefix or tag): its config, dataset reference, metrics of
    every split and the baseline's, feature importance, partitions when partitioned, tags."""
    record = find_record(src, ref, "ref")
    return {**summary(record), "inputs": record.inputs, "config": record.config, "dataset": record.dataset,
            "metrics": record.metrics, "baseline": record.baseline,
            "feature_importance": record.feature_importance,
            "partitions": record.learnt_parameters.get("partitioning"), "trials": len(record.trials),
            "extensions": record.extensions}


def _differ(cells: dict[str, Any], uuids: list[str]) -> bool:
    return len({json.dumps(cells.get(u), sort_keys=True, default=str) for u in uuids}) > 1


@router.get("/compare", summary="Compare models", response_model=Comparison, responses=errors(400, 404))
def compare(ref: list[str] = Query(..., description="Two or more models (UUID, prefix or tag); repeat ref."),
            src: Sources = Depends(sources)) -> dict[str, Any]:
    """Two or more models side by side: metrics of every split, the config rows that differ,
    and feature importance (``{row: {uuid: value}}``)."""
    if len(ref) < 2:
        raise BadRequest("ref: compare needs two or more models (?ref=A&ref=B)", field="ref")
    records = [find_record(src, r, f"ref.{i}") for i, r in enumerate(ref)]
    uuids = [r.uuid for r in records]
    table = compare_models(records)
    importance: dict[str, dict[str, float]] = {}
    for record in records:
        for name, value in record.feature_importance.items():
            importance.setdefault(name, {})[record.uuid] = value
    return {"models": [summary(r) for r in records],
            "metrics": {k.removeprefix("metrics."): v for k, v in table.items() if k.startswith("metrics.")},
            "config_diff": {k.removeprefix("config."): v for k, v in table.items()
                            if k.startswith("config.") and _differ(v, uuids)},
            "importance": importance}
