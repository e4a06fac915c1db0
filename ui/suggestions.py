"""``/api/suggestions``: the feature suggestions ``fresco features suggest`` stored in its default
folder (:func:`fresco.training.suggestion.stored_suggestions`), listed, each one's JSON, and its
HTML report (chosen from the listing: a name from a request is never made into a path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from fresco.training.suggestion import stored_suggestions
from fresco.ui.drift import REPORT_POLICY
from fresco.ui.errors import UnknownName, shorten
from fresco.ui.schemas import Suggestion, SuggestionList, errors

router = APIRouter(prefix="/api/suggestions", tags=["suggestions"])


def _found(name: str) -> Path:
    stored = stored_suggestions()
    found = next((folder for folder in stored if folder.name == name), None)
    if found is None:
        raise UnknownName(f"no stored suggestion {shorten(name)!r}; stored: "
                          f"{', '.join(f.name for f in stored) or 'none (run fresco features suggest)'}",
                          field="name")
    return found


def _read(folder: Path) -> dict[str, Any]:
    return {"name": folder.name, **json.loads((folder / "suggestion.json").read_text())}


@router.get("", summary="The stored feature suggestions", response_model=SuggestionList)
def list_suggestions() -> dict[str, Any]:
    """Every suggestion ``fresco features suggest`` wrote to the state folder's ``suggestions``:
    its label, rows, the draft's features and the quick model's hold-out metric against the baseline."""
    summaries = []
    for folder in stored_suggestions():
        found = _read(folder)
        ranking = found["ranking"]
        metric = ranking["metric"]
        summaries.append({key: found[key] for key in ("name", "label", "task", "labels", "rows", "created_at", "top")}
                         | {"metric": metric, "model_metric": ranking["model_metrics"].get(metric),
                            "baseline_metric": ranking["baseline_metrics"].get(metric)})
    return {"suggestions": summaries}


@router.get("/{name}", summary="A stored feature suggestion", response_model=Suggestion, responses=errors(404))
def get_suggestion(name: str) -> dict[str, Any]:
    """The whole suggestion: every ranked feature with its figures and catalog facts, the features
    left out and why, the rows and periods each figure used."""
    return _read(_found(name))


@router.get("/{name}/html", summary="A stored feature suggestion's HTML report", response_class=FileResponse,
            responses={200: {"content": {"text/html": {}}, "description": "The report."}, **errors(404)})
def suggestion_html(name: str) -> FileResponse:
    """The HTML report ``fresco features suggest`` wrote beside the JSON, in a sandbox of no origin."""
    return FileResponse(_found(name) / "suggestion.html", media_type="text/html",
                        headers={"Content-Security-Policy": REPORT_POLICY})
