"""Per-request phase timings of ``POST /predict`` on the real service's ``/metrics``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fresco.serving.phases import METRIC, PHASES
from tests.serving.conftest import Server, serve


def _histogram(url: str) -> dict[tuple[str, str], float]:
    """(phase, "count" or "sum") -> value, as ``/metrics`` shows them now."""
    text = httpx.get(url + "/metrics", timeout=10).text
    return {(phase, kind): float(value) for kind, phase, value in
            re.findall(rf'^{METRIC}_(count|sum){{phase="(\w+)"}} (\S+)$', text, re.M)}


@pytest.fixture(scope="module")
def own_server(sqlite_env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service with a BentoML home of its own: BentoML keeps a service's Prometheus files
    under its home and empties that folder whenever a service starts there, so another test's
    service starting on the shared home would wipe this one's figures mid-test."""
    import shutil

    folder = tmp_path_factory.mktemp("phases-server")
    shutil.copytree(Path(sqlite_env.env()["BENTOML_HOME"]) / "models", folder / "bentoml" / "models")
    with serve({**sqlite_env.env(), "BENTOML_HOME": str(folder / "bentoml")}, sqlite_env.tag, folder) as server:
        yield server


def test_every_phase_of_a_prediction_is_timed_on_metrics(own_server: Server, sqlite_env) -> None:
    sqlite_server = own_server
    before = _histogram(sqlite_server.url)
    for i in range(1, 6):
        response = sqlite_server.post("/predict", {"model": sqlite_env.tag, "rows": [sqlite_env.row(customer_id=i)]})
        assert response.status_code == 200, response.text
    # a refused request is timed as far as it went; other paths are not timed at all
    refused = sqlite_server.post("/predict", {"model": sqlite_env.tag, "rows": [sqlite_env.row(items="x")]})
    assert refused.status_code == 422, refused.text
    assert httpx.get(sqlite_server.url + "/readyz", timeout=10).status_code == 200
    after = _histogram(sqlite_server.url)

    def grew(phase: str, kind: str = "count") -> float:
        return after.get((phase, kind), 0.0) - before.get((phase, kind), 0.0)

    # the refused one was routed, then its row refused by the model's checks
    assert grew("total") == 6 and grew("parse") == 6 and grew("checks") == 6 and grew("routing") == 6
    for phase in ("lookup", "program", "model", "log", "response"):
        assert grew(phase) == 5, (phase, after)
    assert set(PHASES) == {phase for phase, _ in after}
    # the phases are parts of the request: together no longer than it, each a real duration
    parts = sum(grew(phase, "sum") for phase in PHASES if phase != "total")
    assert 0 < parts <= grew("total", "sum")
    assert all(grew(phase, "sum") > 0 for phase in PHASES)
