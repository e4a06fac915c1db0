"""The management service's FastAPI app: the web pages, the routers of the catalog, the models
(and their trees) and the deployments, the audit log, the error shape, and the OpenAPI document at
:data:`~fresco.ui.errors.OPENAPI_PATH` (FastAPI's own; no Swagger page, which would load
scripts from a CDN)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from fresco.platform.repo import resolve_repo, resolve_yaml
from fresco.serving.body_limit import BodyLimitMiddleware
from fresco.platform.state import state_dir
from fresco.training import ModelRepository
from fresco.ui import (audit, catalog, checks, dependence, deployments, distribution, drift, evaluation, history,
                       models, monitoring, suggestions, training, trees)
from fresco.ui.auth import TOKEN_ENV, mutations_enabled
from fresco.ui.errors import OPENAPI_PATH, install_error_handlers, without_validation_answers
from fresco.ui.hosts import LoopbackHostsOnly
from fresco.ui.pages import add_pages
from fresco.ui.schemas import AuditLog, ServiceInfo
from fresco.ui.sources import Sources, sources

#: The largest request body (a change is a few bytes of JSON): a larger one is a 413, unread.
MAX_BODY_BYTES = 64 * 2**10

DESCRIPTION = (f"Fresco's management plane over one feature repository: the feature catalog, the model "
               f"repository, tags as the prediction service routes them, and the audit log. Every change "
               f"needs `Authorization: Bearer <token>`, the server's `${TOKEN_ENV}`.")


def create_app(repo: Path | None = None, yaml_path: Path | None = None, *, loopback: bool = True) -> FastAPI:
    """The service over the feature repository ``repo`` (by the usual rule when None) and its
    state folder (``$FRESCO_HOME`` or ``<repo>/.fresco``), both fixed now; ``loopback``: it is
    bound to loopback, and answers requests addressed to a loopback name only (:mod:`fresco.ui.hosts`)."""
    root = resolve_repo(repo)
    state = state_dir()
    app = FastAPI(title="Fresco management API", version=version("fresco"), description=DESCRIPTION,
                  openapi_url=OPENAPI_PATH, docs_url=None, redoc_url=None)
    app.state.sources = Sources(root, resolve_yaml(root, yaml_path), state, ModelRepository(state / "models"))
    install_error_handlers(app)
    add_pages(app)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY_BYTES)
    if loopback:
        app.add_middleware(LoopbackHostsOnly)  # added last: the outermost, before a body is read

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = without_validation_answers(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    for module in (catalog, distribution, history, models, trees, evaluation, dependence, deployments, training,
                   monitoring, drift, checks, suggestions):
        app.include_router(module.router)

    @app.get("/api", tags=["service"], summary="What this service manages", response_model=ServiceInfo)
    def index(src: Sources = Depends(sources)) -> dict[str, Any]:
        """The repository and state folder served, whether changes are enabled, the OpenAPI document."""
        return {"service": "fresco ui", "repository": str(src.repo), "state": str(src.state),
                "openapi": OPENAPI_PATH, "changes_enabled": mutations_enabled()}

    @app.get("/api/audit", tags=["deployments"], summary="The audit log", response_model=AuditLog)
    def audit_log(src: Sources = Depends(sources)) -> dict[str, Any]:
        """Every change made through this API (who, when, what, from what to what), oldest first."""
        return {"entries": audit.entries(src.state)}

    return app
