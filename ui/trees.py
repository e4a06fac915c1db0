"""``/api/models/{ref}/trees``: the trees of an XGBoost model (a partition's, for a partitioned
one), read from the booster the model repository loads (:func:`fresco.training.load_model`)
through XGBoost's public ``Booster.get_dump(dump_format="json", with_stats=True)``; the booster's
input names (``f0``, ``f1``, ...) given back as the model's inputs."""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi import APIRouter, Depends, Query

from fresco.training import ModelRecord, load_model
from fresco.training.partitioning import ROOT, PartitionedModel
from fresco.ui.errors import BadRequest, shorten
from fresco.ui.models import find_record
from fresco.ui.schemas import TreeAnswer, TreeList, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api/models", tags=["models"])

#: The model types whose artifact is an XGBoost booster (on pandas or trained on Spark alike).
TREE_MODELS = ("xgboost",)
#: Models read (a stored model never changes): UUID -> partition -> (trees' JSON dumps, best iteration).
_READ: dict[str, dict[str, tuple[list[str], int | None]]] = {}
_KEPT = 8
_reading = threading.Lock()


def tree_dumps(src: Sources, record: ModelRecord) -> dict[str, tuple[list[str], int | None]]:
    """Partition name (``root`` for an unpartitioned model) -> its trees' JSON dumps and early
    stopping's best iteration (trees after it do not predict); a 400 naming ``ref`` when the
    model has no trees."""
    if record.model_type not in TREE_MODELS:
        raise BadRequest(f"model {record.uuid} is a {record.model_type} model: it has no trees to read here "
                         f"(the tree viewer reads the trees of {', '.join(TREE_MODELS)} models)", field="ref")
    with _reading:
        if record.uuid not in _READ:
            native = load_model(record.uuid, src.models).estimator
            boosters = native.models if isinstance(native, PartitionedModel) else {ROOT: native}
            if len(_READ) >= _KEPT:
                _READ.pop(next(iter(_READ)))
            _READ[record.uuid] = {name: (b.get_dump(dump_format="json", with_stats=True),
                                         getattr(b, "best_iteration", None)) for name, b in boosters.items()}
        return _READ[record.uuid]


def _partition(read: dict[str, tuple[list[str], int | None]], partition: str | None) -> tuple[str, list[str], int | None]:
    name = partition or ROOT
    if name not in read:
        raise BadRequest(f"partition: no trained partition {shorten(name)!r}; the model's are "
                         f"{', '.join(read)}", field="partition")
    return name, *read[name]


def node(raw: dict[str, Any], inputs: list[str]) -> dict[str, Any]:
    """A node of XGBoost's JSON dump as the API answers it: a split (its input's name, threshold,
    gain, cover, which child takes a missing value, the children: below the threshold first) or a leaf."""
    if "leaf" in raw:
        return {"id": raw["nodeid"], "leaf": raw["leaf"], "cover": raw.get("cover")}
    split = str(raw["split"])
    index = int(split[1:]) if split[:1] == "f" and split[1:].isdigit() else None
    feature = inputs[index] if index is not None and index < len(inputs) else split
    children = {child["nodeid"]: child for child in raw.get("children", [])}
    return {"id": raw["nodeid"], "feature": feature, "threshold": raw.get("split_condition"),
            "gain": raw.get("gain"), "cover": raw.get("cover"),
            "missing": "yes" if raw.get("missing") == raw.get("yes") else "no",
            "yes": node(children[raw["yes"]], inputs), "no": node(children[raw["no"]], inputs)}


@router.get("/{ref}/trees", summary="A tree model's trees", response_model=TreeList, responses=errors(400, 404))
def list_trees(ref: str, partition: str | None = Query(None, description="A partition's name "
                                                                           "(default: the root)."),
               src: Sources = Depends(sources)) -> dict[str, Any]:
    """How many trees an XGBoost model has (a partition's, for a partitioned model), and its partitions."""
    record = find_record(src, ref, "ref")
    read = tree_dumps(src, record)
    name, trees, best = _partition(read, partition)
    return {"uuid": record.uuid, "partition": name, "partitions": list(read), "count": len(trees),
            "best_iteration": best}


@router.get("/{ref}/trees/{index}", summary="One tree of a tree model", response_model=TreeAnswer,
            response_model_exclude_none=True,
            responses=errors(400, 404))
def get_tree(ref: str, index: int, partition: str | None = Query(None, description="A partition's name "
                                                                                      "(default: the root)."),
             src: Sources = Depends(sources)) -> dict[str, Any]:
    """Tree ``index`` (from 0) of the ensemble: nested nodes, each split with its input, threshold
    (a row goes to ``yes`` when its value is below it), gain and cover; each leaf with its value."""
    record = find_record(src, ref, "ref")
    name, trees, _ = _partition(tree_dumps(src, record), partition)
    if not 0 <= index < len(trees):
        raise BadRequest(f"index: the model has trees 0 to {len(trees) - 1}, not {index}", field="index")
    return {"uuid": record.uuid, "partition": name, "index": index, "count": len(trees),
            "root": node(json.loads(trees[index]), record.inputs)}
