"""``/api/models/{ref}/evaluation`` and ``/api/compare/curves``: the evaluation report's curves
(:func:`fresco.training.evaluation.figures`, on ``sklearn.metrics``), computed from each model's
reference sample (its seeded rows of the held-out test split: labels and the model's predictions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from fresco.training import ModelRecord
from fresco.training.evaluation import HEADLINE, figures
from fresco.training.metrics import compute_metrics
from fresco.ui.errors import BadRequest
from fresco.ui.models import find_record, summary
from fresco.ui.samples import reference_of
from fresco.ui.schemas import ComparedCurves, Evaluation, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api", tags=["models"])


def evaluation(src: Sources, record: ModelRecord, field: str = "ref") -> dict[str, Any]:
    """The model's curves and metrics on its reference sample."""
    sample = reference_of(src, record, field)
    y, p = sample.frame["label"].to_numpy(), sample.frame["prediction"].to_numpy()
    return {"uuid": record.uuid, "name": record.name, "task": record.task, "split": HEADLINE,
            "sample_rows": len(sample.frame), "test_rows": sample.test_rows, "seed": sample.seed,
            "metrics": compute_metrics(record.task, y, p), "curves": figures(record.task, y, p)}


@router.get("/models/{ref}/evaluation", summary="A model's evaluation curves", response_model=Evaluation,
            responses=errors(400, 404))
def get_evaluation(ref: str, src: Sources = Depends(sources)) -> dict[str, Any]:
    """The evaluation report's curves, from the model's reference sample of its held-out test split:
    regression: predicted vs actual (up to 2,000 points and the deciles) and residuals; binary: ROC,
    precision-recall (about 101 points each) and calibration (10 bins). 400 for a model trained
    before reference samples were kept."""
    return evaluation(src, find_record(src, ref, "ref"))


@router.get("/compare/curves", summary="Compare models' curves", response_model=ComparedCurves,
            responses=errors(400, 404))
def compare_curves(ref: list[str] = Query(..., description="Two or more models of one task (UUID, prefix or "
                                                           "tag); repeat ref."),
                   src: Sources = Depends(sources)) -> dict[str, Any]:
    """The curves of two or more models of the same task, each from its own reference sample, to
    overlay (UUID -> the answer of ``/api/models/{ref}/evaluation``)."""
    if len(ref) < 2:
        raise BadRequest("ref: compare needs two or more models (?ref=A&ref=B)", field="ref")
    records = [find_record(src, r, f"ref.{i}") for i, r in enumerate(ref)]
    tasks = {r.task for r in records}
    if len(tasks) > 1:
        raise BadRequest(f"ref: the models' curves differ by task ({', '.join(sorted(tasks))}); compare models "
                         "of one task", field="ref")
    return {"task": records[0].task, "models": [summary(r) for r in records],
            "evaluations": {r.uuid: evaluation(src, r, f"ref.{i}") for i, r in enumerate(records)}}
