"""The management service under uvicorn."""

from __future__ import annotations

from typing import Any

from fresco.ui.errors import OPENAPI_PATH


def urls(host: str, port: int) -> tuple[str, str, str]:
    """The web pages' URL, the API's base URL and its OpenAPI document's URL on ``host``:``port``."""
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    return f"{base}/", f"{base}/api", f"{base}{OPENAPI_PATH}"


def serve(app: Any, host: str, port: int) -> None:
    """Serve ``app`` on ``host``:``port`` until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
