"""``/api/monitoring/drift``: each model's latest drift report as ``fresco monitor report`` wrote it
in its default folder (:func:`fresco.monitoring.report.stored_reports`; its ``report.json``): the
share of drifted inputs and which ones, with a link to the report's HTML;
``/api/monitoring/reports/{uuid}/{report}``: that HTML, chosen from the listing (a name from a
request is looked up among the stored reports, never made into a path), served in a sandbox."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from fresco.monitoring.report import STAMP, stored_reports
from fresco.ui.errors import UnknownName, shorten
from fresco.ui.models import find_record
from fresco.ui.schemas import DriftSummaries, errors
from fresco.ui.sources import Sources, sources

router = APIRouter(prefix="/api/monitoring", tags=["monitoring"])

#: Evidently's HTML runs its own inline scripts: allowed, in a sandbox of no origin (no access to
#: this service's pages, their token or its API), reaching nothing outside the page.
REPORT_POLICY = ("sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
                 "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; base-uri 'none'; "
                 "form-action 'none'; frame-ancestors 'none'")
PAGES = {"drift": "report.html", "quality": "quality.html"}


def report_link(uuid: str, report: str, page: str = "drift") -> str:
    """The API's address of a stored report's HTML."""
    return f"/api/monitoring/reports/{uuid}/{report}" + ("" if page == "drift" else f"?page={page}")


def summary(uuid: str, folder: Path, name: str | None) -> dict[str, Any]:
    """A stored report's drift figures (its ``report.json``) and links to its HTML."""
    figures = json.loads((folder / "report.json").read_text())
    drift = figures["drift"]
    written = datetime.strptime(folder.name, STAMP).replace(tzinfo=timezone.utc)
    return {"model_uuid": uuid, "model": name, "report": folder.name, "written_at": written.isoformat(),
            "predictions": figures["predictions"], "first_prediction": figures["first_prediction"],
            "last_prediction": figures["last_prediction"], "inputs": drift["inputs"],
            "drifted": drift["drifted"], "share": drift["share"], "drifted_inputs": drift["drifted_inputs"],
            "prediction_drifted": bool(figures.get("prediction", {}).get("drift", {}).get("drifted")),
            "html": report_link(uuid, folder.name),
            "quality_html": report_link(uuid, folder.name, "quality") if figures.get("quality_html") else None}


@router.get("/drift", summary="Each model's latest drift report", response_model=DriftSummaries,
            responses=errors(404))
def latest_drift(model: str | None = Query(None, description="Only this model (UUID, prefix or tag)."),
                 src: Sources = Depends(sources)) -> dict[str, Any]:
    """Per model with a report written by ``fresco monitor report`` (in the state folder's
    ``monitoring/reports``), the latest one: its predictions, the share of drifted inputs and which
    ones, whether the prediction drifted, and the links to its HTML."""
    reports = stored_reports()
    if model:
        uuid = find_record(src, model, "model").uuid
        reports = {uuid: reports[uuid]} if uuid in reports else {}
    names = {r.uuid: r.name for r in src.models.list()}
    latest = [summary(uuid, folders[0], names.get(uuid)) for uuid, folders in reports.items()]
    return {"reports": sorted(latest, key=lambda r: r["written_at"], reverse=True)}


@router.get("/reports/{uuid}/{report}", summary="A stored report's HTML", response_class=FileResponse,
            responses={200: {"content": {"text/html": {}}, "description": "Evidently's HTML report."},
                       **errors(400, 404)})
def report_html(uuid: str, report: str,
                page: Literal["drift", "quality"] = Query("drift", description="drift (and data summary) or quality."),
                ) -> FileResponse:
    """The HTML ``fresco monitor report`` wrote for model ``uuid`` at ``report`` (its UTC time, as
    ``/api/monitoring/drift`` lists it); ``page=quality``: the quality report, when outcomes were joined."""
    folders = stored_reports().get(uuid)
    if folders is None:
        raise UnknownName(f"no stored report of a model {shorten(uuid)!r}", field="uuid")
    found = next((f for f in folders if f.name == report), None)
    if found is None:
        raise UnknownName(f"model {uuid} has no report {shorten(report)!r}; its reports: "
                          f"{', '.join(f.name for f in folders)}", field="report")
    html = found / PAGES[page]
    if not html.is_file():
        raise UnknownName(f"report {report} of model {uuid} has no {page} page (no outcomes were joined)",
                          field="page")
    return FileResponse(html, media_type="text/html", headers={"Content-Security-Policy": REPORT_POLICY})
