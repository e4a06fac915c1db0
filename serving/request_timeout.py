"""BentoML's per-request timeout, with its timer cancelled when the request is answered.

BentoML (1.4.x, up to 1.4.40, the newest) bounds each request with ``TimeoutMiddleware``
(``traffic.timeout``), which schedules ``loop.call_later(timeout, ...)`` and never cancels it.
The pending timer keeps the request's context alive, OpenTelemetry span included (BentoML
records a span for every request, whatever the sampling rate), for ``timeout`` seconds after
the answer. At a few hundred requests per second that is some 300,000 live objects,
which every full garbage collection walks: 100-220 ms pauses every few seconds, measured in
the Fresco service (``benchmarks/README.md``, serving).

:class:`CancellingTimeoutMiddleware` behaves as BentoML's (a 504 JSON answer when the response
has not started within ``timeout`` seconds) and cancels its timer as soon as the request is
done; the timer runs in an empty context, so it never holds the request's. Unlike BentoML's, a
request that fails before answering fails at once (BentoML's waits for the timer, then answers
nothing). :func:`install` puts it in BentoML's place; the service module calls it at import,
before BentoML builds the app's middleware stack. BentoML offers no public hook to replace one
of its own middlewares, so this sets the module attribute BentoML imports the class from; drop
it once BentoML cancels the timer itself.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from bentoml._internal.server.http import traffic
from fresco.serving.errors import RequestTimeout, error_response

_BENTOML_TIMEOUT_MIDDLEWARE = traffic.TimeoutMiddleware


class CancellingTimeoutMiddleware(_BENTOML_TIMEOUT_MIDDLEWARE):
    """BentoML's ``TimeoutMiddleware`` whose timer does not outlive the request."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        # an empty context: the timer must not hold the request's (its span, its objects)
        timer = loop.call_later(self.timeout, self._set_timer_out, started,
                                context=contextvars.Context())

        async def send_and_mark(message: dict[str, Any]) -> None:
            if not started.done():
                started.set_result(None)
            await send(message)

        answer = asyncio.ensure_future(self.app(scope, receive, send_and_mark))
        answer.add_done_callback(lambda _: started.done() or started.set_result(None))
        try:
            try:
                await started
            except asyncio.TimeoutError:
                if answer.cancel():
                    error = RequestTimeout(f"no answer within {self.timeout} seconds (traffic.timeout); "
                                           "the request was cancelled")
                    await error_response(error)(scope, receive, send)
                return
            await answer
        finally:
            timer.cancel()


def install() -> None:
    """Make BentoML build its apps with :class:`CancellingTimeoutMiddleware` (idempotent)."""
    traffic.TimeoutMiddleware = CancellingTimeoutMiddleware
