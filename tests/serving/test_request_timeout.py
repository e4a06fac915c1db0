"""The service's request timeout: BentoML's behaviour, without its timer outliving the request.

Real ASGI calls on a real event loop; the request's context holds an object the way
OpenTelemetry's middleware holds the request's span.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import weakref
from types import SimpleNamespace
from typing import Any

import pytest
from bentoml._internal.server.base_app import BaseAppFactory
from bentoml._internal.server.http import traffic

from fresco.serving.request_timeout import _BENTOML_TIMEOUT_MIDDLEWARE, CancellingTimeoutMiddleware

REQUEST_SPAN: contextvars.ContextVar[object] = contextvars.ContextVar("request_span")


class Span:
    """Stands for the request's OpenTelemetry span: it should die with the request."""


async def answer_ok(scope: dict, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def http_scope() -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/predict", "headers": []}


async def call(middleware: Any, span: Span | None = None) -> list[dict]:
    """One request through ``middleware`` with ``span`` in its context; the messages sent."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    if span is not None:
        REQUEST_SPAN.set(span)
    await middleware(http_scope(), receive, send)
    return sent


LOOPS = ["asyncio", "uvloop"]  # the standard loop, and the one BentoML's server runs on


def run(coroutine: Any, loop: str = "uvloop") -> Any:
    if loop == "uvloop":
        import uvloop

        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def span_alive_after_request(middleware_class: type, loop: str) -> bool:
    """Whether a request's span is still referenced once its answer is sent."""

    async def scenario() -> bool:
        span = Span()
        ref = weakref.ref(span)
        # as OpenTelemetry's middleware does: the request runs in a context holding its span
        await asyncio.create_task(call(middleware_class(answer_ok, timeout=30), span))
        del span
        await asyncio.sleep(0.05)  # the loop runs the callbacks the request left (done callbacks)
        gc.collect()
        return ref() is not None

    return run(scenario(), loop)


@pytest.mark.parametrize("loop", LOOPS)
def test_the_request_context_dies_with_the_request(loop: str) -> None:
    assert not span_alive_after_request(CancellingTimeoutMiddleware, loop)


@pytest.mark.parametrize("loop", LOOPS)
def test_bentoml_own_middleware_still_keeps_it(loop: str) -> None:
    # Why the replacement exists. When this fails, BentoML no longer holds the request for
    # traffic.timeout: drop fresco.serving.request_timeout.
    assert span_alive_after_request(_BENTOML_TIMEOUT_MIDDLEWARE, loop)


def test_answers_pass_through() -> None:
    sent = run(call(CancellingTimeoutMiddleware(answer_ok, timeout=30)))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"ok"


def test_a_slow_answer_gets_504_and_is_cancelled() -> None:
    cancelled: list[bool] = []

    async def slow(scope: dict, receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        await answer_ok(scope, receive, send)

    sent = run(call(CancellingTimeoutMiddleware(slow, timeout=0.1)))
    assert cancelled == [True]  # the answer was stopped at the timeout, not awaited to its end
    assert sent[0]["status"] == 504
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body == {"error": "timeout",  # the documented shape (serving/errors.py)
                    "message": "no answer within 0.1 seconds (traffic.timeout); the request was cancelled"}


@pytest.mark.timeout(5)  # BentoML's own waits for its 10 s timer first: a hang guard, not a figure
def test_a_failure_before_answering_raises_at_once() -> None:
    async def broken(scope: dict, receive: Any, send: Any) -> None:
        raise RuntimeError("model exploded")

    with pytest.raises(RuntimeError, match="model exploded"):
        run(call(CancellingTimeoutMiddleware(broken, timeout=10)))


def test_the_service_makes_bentoml_use_it() -> None:
    import fresco.serving.service  # noqa: F401  (installs it at import)

    assert traffic.TimeoutMiddleware is CancellingTimeoutMiddleware
    # BentoML's own app factory builds its stack from that name
    stack = BaseAppFactory.middlewares.fget(SimpleNamespace(timeout=30, max_concurrency=None))
    assert [m.cls for m in stack] == [CancellingTimeoutMiddleware]
    assert stack[0].kwargs == {"timeout": 30}
