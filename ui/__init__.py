"""Fresco's management plane (``fresco ui``): web pages and the JSON REST API they read,
described by its OpenAPI document, over one feature repository's catalog, model repository
(XGBoost models' trees included), tags and audit log.

Public surface: :func:`create_app` (the FastAPI app), :func:`serve` (it, under uvicorn),
:func:`urls`. Modules: ``catalog``, ``distribution`` and ``history`` (a feature's distribution, a view's
history), ``models``, ``trees``, ``evaluation`` (the evaluation curves), ``dependence`` (partial
dependence), ``deployments``, ``training``, ``monitoring``, ``drift`` (stored drift reports) and
``checks`` (recorded alert verdicts) (one router each), ``samples`` (a model's reference sample and
the model loaded, read once), ``pages`` (the
web pages in ``static/``, their security headers), ``auth``
(the bearer token), ``audit`` (the audit log), ``errors`` (the prediction service's error
shape), ``schemas`` (the answers' shapes), ``hosts`` (loopback names only), ``sources``
(what the service reads), ``server`` (uvicorn).
"""

from fresco.ui.app import create_app
from fresco.ui.server import serve, urls

__all__ = ["create_app", "serve", "urls"]
