"""``/api/tags``: what the prediction service routes each tag to, read as its router reads it
(:func:`fresco.serving.routing.current_route`: the tag's model, or a running experiment's arms),
and moving a tag the way ``fresco models tag`` does (:meth:`ModelRepository.tag`);
``/api/experiments``: starting, changing and stopping an A/B split the way ``fresco models
experiment`` does (:meth:`ModelRepository.set_experiment`, :meth:`~ModelRepository.stop_experiment`).
Each change is in the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from fresco.serving.routing import current_route
from fresco.training import RepositoryError
from fresco.ui import audit
from fresco.ui.auth import token_holder
from fresco.ui.errors import BadRequest, UnknownName
from fresco.ui.models import find_record
from fresco.ui.schemas import ExperimentChanged, ExperimentList, TagList, TagMoved, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api", tags=["deployments"])


class TagMoveRequest(BaseModel):
    """Where a tag should point."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, description="The model: UUID, unique UUID prefix or another tag.")


def route_of(src: Sources, tag: str) -> dict[str, Any]:
    """Where requests for ``tag`` go now: one model, or an experiment's arms (arm -> UUID, weight)."""
    route = current_route(src.models, tag)
    if route.experiment is None:
        return {"uuid": route.uuid, "experiment": None}
    return {"uuid": None, "experiment": {"name": route.experiment.name, "key": route.experiment.key,
                                         "arms": [{"arm": arm, "uuid": route.arms[arm], "weight": weight}
                                                  for arm, weight in route.experiment.arms.items()]}}


@router.get("/tags", summary="List the tags and where they route", response_model=TagList)
def list_tags(src: Sources = Depends(sources)) -> dict[str, Any]:
    """Every tag: its model, its last move (when, by whom) and where the prediction service
    routes its requests now (an experiment splits some)."""
    last_move = {move.tag: move for move in src.models.tag_history()}
    names = {r.uuid: r.name for r in src.models.list()}
    tags = []
    for tag, uuid in src.models.tags().items():
        move = last_move.get(tag)
        tags.append({"tag": tag, "uuid": uuid, "model": names.get(uuid),
                     "moved_at": move.moved_at if move else None, "moved_by": move.moved_by if move else None,
                     "route": route_of(src, tag)})
    return {"tags": tags}


@router.put("/tags/{tag}", summary="Move a tag", response_model=TagMoved, responses=errors(400, 401, 404))
def move_tag(tag: str, body: TagMoveRequest, holder: str = Depends(token_holder),
             src: Sources = Depends(sources)) -> dict[str, Any]:
    """Point ``tag`` (e.g. ``churn:production``) at a model, as ``fresco models tag`` does;
    prediction services follow within a second. Needs the bearer token; recorded in the audit
    log and the tag's history."""
    find_record(src, body.model, "model")  # an unknown model is a 404 naming the field
    try:
        move = src.models.tag(tag, body.model, by=holder)
    except RepositoryError as err:
        raise BadRequest(str(err), field="tag") from None
    entry = audit.record(src.state, "tag.move", holder, tag=tag, model=body.model,
                         **{"from": move.old_uuid, "to": move.new_uuid})
    return {"tag": tag, "from": move.old_uuid, "to": move.new_uuid, "moved_at": move.moved_at,
            "moved_by": move.moved_by, "audit": entry}


class ExperimentRequest(BaseModel):
    """An A/B split of a tag's requests, as ``fresco models experiment start`` takes it."""

    model_config = ConfigDict(extra="forbid")

    tag: str = Field(min_length=1, description="The tag whose requests are split, e.g. churn:production.")
    arms: dict[str, float] = Field(min_length=1, description="Model (UUID, prefix or tag) -> weight (> 0).")
    key: list[str] | None = Field(None, description=(
        "Row fields the split sticks to (default: the entity keys; a change keeps the running experiment's)."))


def _experiment(record: Any) -> dict[str, Any]:
    return {"name": record.name, "tag": record.tag, "arms": record.arms, "key": record.key,
            "changed_at": record.changed_at, "changed_by": record.changed_by, "action": record.action}


def _running(src: Sources, name: str) -> Any:
    return next((r for r in src.models.experiments() if r.name == name), None)


@router.get("/experiments", summary="The running experiments and their history", response_model=ExperimentList)
def list_experiments(src: Sources = Depends(sources)) -> dict[str, Any]:
    """The running experiments (tag, arms and weights, sticky key) and every start, change and stop."""
    return {"experiments": [_experiment(r) for r in src.models.experiments()],
            "history": [_experiment(r) for r in src.models.experiment_history()]}


@router.put("/experiments/{name}", summary="Start an experiment or change its weights",
            response_model=ExperimentChanged, responses=errors(400, 401, 404))
def set_experiment(name: str, body: ExperimentRequest, holder: str = Depends(token_holder),
                   src: Sources = Depends(sources)) -> dict[str, Any]:
    """Split ``tag``'s requests between ``arms`` by weight, sticky per key, as ``fresco models
    experiment start`` does (again: new weights); prediction services follow within a second.
    Needs the bearer token; recorded in the audit log (from the arms before to the arms now)."""
    for arm in body.arms:
        find_record(src, arm, "arms")  # an unknown model is a 404 naming the field
    before = _running(src, name)
    try:
        record = src.models.set_experiment(name, body.tag, dict(body.arms), key=body.key, by=holder)
    except RepositoryError as err:
        message = str(err)
        field = "name" if "experiment name" in message else "tag" if "already split" in message else "arms"
        raise BadRequest(message, field=field) from None
    entry = audit.record(src.state, f"experiment.{record.action}", holder, experiment=name, tag=record.tag,
                         key=record.key, **{"from": before.arms if before else None, "to": record.arms})
    return {**_experiment(record), "from": before.arms if before else None, "route": route_of(src, record.tag),
            "audit": entry}


@router.delete("/experiments/{name}", summary="Stop an experiment", response_model=ExperimentChanged,
               responses=errors(401, 404))
def stop_experiment(name: str, holder: str = Depends(token_holder), src: Sources = Depends(sources)) -> dict[str, Any]:
    """End experiment ``name``, as ``fresco models experiment stop`` does: its tag routes to the
    tag's own model again. Needs the bearer token; recorded in the audit log."""
    try:
        record = src.models.stop_experiment(name, by=holder)
    except RepositoryError as err:
        raise UnknownName(str(err), field="name") from None
    entry = audit.record(src.state, "experiment.stop", holder, experiment=name, tag=record.tag,
                         **{"from": record.arms, "to": None})
    return {**_experiment(record), "from": record.arms, "route": route_of(src, record.tag), "audit": entry}
