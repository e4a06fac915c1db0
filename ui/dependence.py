"""``/api/models/{ref}/partial-dependence``: the mean prediction over the model's reference sample
with one or two of its inputs set to each value of a grid
(:func:`fresco.training.evaluation.partial_dependence`, :func:`~fresco.training.evaluation.partial_dependence_2d`),
the model scored as every scoring path scores it (:meth:`fresco.training.TrainedModel.predict` on the
input matrix of :func:`fresco.training.features.to_matrix`). The work is bounded: at most
:data:`MAX_ROWS` rows and :data:`MAX_GRID` (one input) or :data:`MAX_GRID_2D` (two) grid values each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from fresco.training.evaluation import partial_dependence, partial_dependence_2d
from fresco.ui.errors import BadRequest, shorten
from fresco.ui.models import find_record
from fresco.ui.samples import input_matrix, model_of, reference_of
from fresco.ui.schemas import PartialDependence, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api/models", tags=["models"])

#: The largest grid of one input, of each of two inputs, and the most sample rows averaged over:
#: a two-way answer scores at most MAX_GRID_2D**2 * MAX_ROWS rows.
MAX_GRID, MAX_GRID_2D, MAX_ROWS = 40, 20, 1000
#: The defaults: grid values for one input and for each of two; rows.
GRID, GRID_2D, ROWS = 20, 10, 500


def _columns(inputs: list[str], features: list[str]) -> list[int]:
    if not 1 <= len(features) <= 2 or len(set(features)) != len(features):
        raise BadRequest("feature: name one input, or two different ones (?feature=A&feature=B)", field="feature")
    unknown = [f for f in features if f not in inputs]
    if unknown:
        raise BadRequest(f"feature: {shorten(unknown[0])!r} is not an input of the model; its inputs are "
                         f"{', '.join(inputs)}", field="feature")
    return [inputs.index(f) for f in features]


@router.get("/{ref}/partial-dependence", summary="Partial dependence on one or two inputs",
            response_model=PartialDependence, responses=errors(400, 404))
def get_partial_dependence(
        ref: str,
        feature: list[str] = Query(..., description="One input, or two for the two-way grid; repeat feature."),
        grid_points: int | None = Query(None, ge=2, le=MAX_GRID, description=(
            f"Grid values per input (default {GRID} for one input, {GRID_2D} for two; at most {MAX_GRID_2D} "
            "for two): quantiles (2% to 98%) of a numerical input, the values of a categorical one.")),
        rows: int = Query(ROWS, ge=1, le=MAX_ROWS, description="Reference sample rows averaged over (seeded)."),
        src: Sources = Depends(sources)) -> dict[str, Any]:
    """The mean prediction over (up to ``rows``) rows of the model's reference sample with the
    inputs set to each grid value: a line for one input, a grid (first input's values by the
    second's) for two."""
    record = find_record(src, ref, "ref")
    model, sample = model_of(src, record), reference_of(src, record)
    columns = _columns(model.inputs, feature)
    if len(columns) == 2 and grid_points is not None and grid_points > MAX_GRID_2D:
        raise BadRequest(f"grid_points: at most {MAX_GRID_2D} per input for two inputs, not {grid_points}",
                         field="grid_points")
    matrix = input_matrix(sample, model)
    categorical = [sample.kinds.get(f) == "categorical" for f in feature]
    if len(columns) == 1:
        one = partial_dependence(model.predict, matrix, columns[0], grid_points or GRID, rows, sample.seed,
                                 categorical[0])
        grids, mean = [one["grid"]], one["mean_prediction"]
    else:
        two = partial_dependence_2d(model.predict, matrix, (columns[0], columns[1]), grid_points or GRID_2D, rows,
                                    sample.seed, (categorical[0], categorical[1]))
        grids, mean = two["grids"], two["mean_prediction"]
    return {"uuid": record.uuid, "features": feature,
            "kinds": ["categorical" if k else "numerical" for k in categorical],
            "rows": min(rows, len(matrix)), "sample_rows": len(matrix),
            "limits": {"grid_points": MAX_GRID, "grid_points_two_inputs": MAX_GRID_2D, "rows": MAX_ROWS},
            "grids": grids, "mean_prediction": mean}
