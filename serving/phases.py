"""Where a ``POST /predict`` spends its time: per-request phase timings on ``/metrics``.

:class:`PhaseTimingMiddleware` (the outermost ASGI middleware) starts a :class:`RequestPhases`
for each ``POST /predict`` and makes it the request's :func:`current` one (a context variable:
the API function and the predictor run in the same task); the predictor adds the phases it
runs; when the answer's last byte is sent the middleware observes each phase in the Prometheus
histogram ``fresco_request_phase_seconds{phase=...}``:

``parse``     from the request's arrival to the API function (body limit, media type, JSON and
              schema checks, BentoML's parsing)
``checks``    entity keys and request fields checked against each model's program
``routing``   the tag or experiment resolved, rows split per model
``lookup``    the online features read
``program``   the DSL program run per row
``model``     the model's prediction
``log``       the records queued for the prediction log
``response``  from the API function's return to the last byte sent (the answer validated,
              serialized and written)
``total``     the whole request, as the middleware saw it

Outside the service (the in-process ``Predictor``) there is no current timing and nothing is
recorded. A phase a request runs twice (a split between two models) is summed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

PHASES = ("parse", "checks", "routing", "lookup", "program", "model", "log", "response", "total")
#: Histogram buckets (seconds): 50 us to 2.5 s, fine where a phase of a ~1-10 ms request falls.
BUCKETS = (0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004,
           0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
METRIC = "fresco_request_phase_seconds"
PREDICT_PATH = "/predict"


class RequestPhases:
    """One request's phase durations (seconds), and the API function's start and end."""

    __slots__ = ("started", "api_started", "api_ended", "seconds")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.api_started: float | None = None
        self.api_ended: float | None = None
        self.seconds: dict[str, float] = {}

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def finish(self) -> dict[str, float]:
        """Every phase measured, ``parse``, ``response`` and ``total`` included."""
        ended = time.perf_counter()
        if self.api_started is not None:
            self.seconds["parse"] = self.api_started - self.started
        if self.api_ended is not None:
            self.seconds["response"] = ended - self.api_ended
        self.seconds["total"] = ended - self.started
        return self.seconds


_current: ContextVar[RequestPhases | None] = ContextVar("fresco_request_phases", default=None)


def current() -> RequestPhases | None:
    """The phases of the request being answered (None outside the HTTP service)."""
    return _current.get()


def phase_histogram() -> Callable[[dict[str, float]], None]:
    """``observe`` for :class:`PhaseTimingMiddleware`: the Prometheus histogram on BentoML's
    ``/metrics``. Made in the worker, after BentoML set up Prometheus' multiprocess folder."""
    import prometheus_client

    histogram = prometheus_client.Histogram(METRIC, "Time of each phase of POST /predict (seconds).",
                                            ["phase"], buckets=BUCKETS)
    children = {phase: histogram.labels(phase) for phase in PHASES}

    def observe(seconds: dict[str, float]) -> None:
        for phase, value in seconds.items():
            children[phase].observe(value)

    return observe


class PhaseTimingMiddleware:
    """Times each ``POST /predict`` (see the module doc); other paths pass through untouched."""

    #: set when the service starts (:func:`phase_histogram`); None records nothing
    observe: Callable[[dict[str, float]], None] | None = None

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        observe = type(self).observe
        if observe is None or scope.get("type") != "http" or scope.get("path") != PREDICT_PATH:
            await self.app(scope, receive, send)
            return
        phases = RequestPhases()
        token = _current.set(phases)
        done = False

        async def timed_send(message: dict[str, Any]) -> None:
            nonlocal done
            await send(message)
            if message.get("type") == "http.response.body" and not message.get("more_body", False):
                done = True

        try:
            await self.app(scope, receive, timed_send)
        finally:
            _current.reset(token)
            if done:
                try:
                    observe(phases.finish())
                except Exception:  # a metrics backend never fails a request
                    pass
