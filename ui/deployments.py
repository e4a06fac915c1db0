"""``/api/tags``: what the prediction service routes each tag to, read as its router reads it
(:func:`fresco.serving.routing.current_route`: the tag's model, or a running experiment's arms),
and moving a tag the way ``fresco models tag`` does (:meth:`ModelRepository.tag`), each move
in the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from fresco.serving.routing import current_route
from fresco.training import RepositoryError
from fresco.ui import audit
from fresco.ui.auth import token_holder
from fresco.ui.errors import BadRequest
from fresco.ui.models import find_record
from fresco.ui.schemas import TagList, TagMoved, errors
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
