"""The web pages: plain HTML, CSS and JavaScript modules in ``static/``, served by this same
service (``/`` and ``/static/...``). They hold no data: every page reads the JSON API from the
browser. Every answer carries a Content-Security-Policy allowing this origin only ('self': no
inline script or style, no other site's script, no framing), unless it sets its own (a stored
drift report's, :mod:`fresco.ui.drift`), asks not to be sniffed and sends no referrer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer"}


def add_pages(app: FastAPI) -> None:
    """The pages on ``app``: ``/`` opens them (the catalog first), ``/static/`` holds their files."""

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():  # an answer's own policy (a stored report's) is kept
            response.headers.setdefault(name, value)
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html")
