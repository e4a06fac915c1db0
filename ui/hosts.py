"""Which ``Host`` a loopback service answers: a service bound to loopback answers requests
addressed to a loopback name only (``localhost``, ``127.0.0.1``, ``[::1]``, any port), so a web
page whose own name an attacker points at 127.0.0.1 (DNS rebinding) cannot read the catalog or
the models through a visitor's browser. A service bound to another address answers any name."""

from __future__ import annotations

import ipaddress
from typing import Any

from fresco.serving.errors import BadRequest, error_response, shorten

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, without port) is this machine's loopback."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name of a ``Host`` header, without its port (``[::1]:8010`` -> ``::1``)."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class LoopbackHostsOnly:
    """ASGI middleware: a request whose ``Host`` is not a loopback name is a 400 in the error shape."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"host"), "")
            if not is_loopback(host_name(header)):
                refusal = BadRequest(f"this service answers requests to localhost only, not to host "
                                     f"{shorten(header)!r}; start `fresco ui --host` on an address others "
                                     "reach to serve them", field="host")
                await error_response(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)
