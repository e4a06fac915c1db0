"""``/api/models/{ref}/evaluation``: the evaluation report's curves
(:func:`fresco.training.evaluation.figures`, on ``sklearn.metrics``), computed from the model's
reference sample (its seeded rows of the held-out test split: labels and the model's predictions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from fresco.training import ModelRecord
from fresco.training.evaluation import HEADLINE, figures
from fresco.training.metrics import compute_metrics
from fresco.ui.models import find_record
from fresco.ui.samples import reference_of
from fresco.ui.schemas import Evaluation, errors
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
