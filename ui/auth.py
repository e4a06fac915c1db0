"""Who may change things: every mutating call carries ``Authorization: Bearer <token>``, the
token the server was started with in ``$FRESCO_API_TOKEN``. Without that variable on the server
every mutation is refused; the audit log names the token's holder, ``$FRESCO_API_TOKEN_HOLDER``
(default ``api``). No cookies: a browser never sends the token by itself, so another site's
page cannot make a mutation on a user's behalf."""

from __future__ import annotations

import hmac
import os

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fresco.ui.errors import Unauthorized

TOKEN_ENV = "FRESCO_API_TOKEN"
HOLDER_ENV = "FRESCO_API_TOKEN_HOLDER"

_bearer = HTTPBearer(auto_error=False, description=f"The token in the server's ${TOKEN_ENV}.")


def mutations_enabled() -> bool:
    """Whether this server accepts mutations at all (it has a token)."""
    return bool(os.environ.get(TOKEN_ENV))


def token_holder(credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:
    """The holder of the request's bearer token (a FastAPI dependency of every mutation);
    :class:`Unauthorized` when the server has no token, or the request a missing or wrong one."""
    expected = os.environ.get(TOKEN_ENV, "")
    if not expected:
        raise Unauthorized(f"changes are disabled on this server: start `fresco ui` with {TOKEN_ENV} set "
                           f"to a secret (e.g. {TOKEN_ENV}=$(openssl rand -hex 24) fresco ui), then send "
                           "'Authorization: Bearer <that secret>'")
    sent = credentials.credentials if credentials is not None else ""
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Unauthorized(("a wrong" if sent else "no") + " bearer token: send 'Authorization: Bearer "
                           f"<token>' with the {TOKEN_ENV} that `fresco ui` was started with")
    return os.environ.get(HOLDER_ENV) or "api"
