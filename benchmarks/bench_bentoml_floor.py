"""The HTTP floor under `POST /predict`: what a request costs before any feature, program or model
work, in each way Fresco's service could answer it. Prints figures; asserts nothing.

Three endpoints answer the same small JSON body with the same small JSON answer:
- `bentoml api`: a BentoML API method (`@bentoml.api`, pydantic input and output), as `/predict` is;
- `bentoml mounted`: a Starlette route mounted into the same BentoML service (`@bentoml.asgi_app`,
  BentoML's public way to serve a raw ASGI app; BentoML's middlewares still run);
- `uvicorn alone`: the same Starlette route served by uvicorn with nothing else (the peer: the
  least any Python HTTP service pays).
Each is served in its own process, one worker; a keep-alive client sends `--requests` sequential
requests to each, alternating endpoint by endpoint, and prints p50/p95/p99 in ms.

Issue #31 targets half of `feast serve`'s p50 for the whole of `/predict`; this shows how much of
that the service layer alone takes.

Run: .venv/bin/python benchmarks/bench_bentoml_floor.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

BIN = Path(sys.executable).parent
BODY = json.dumps({"model": "m", "rows": [{"restaurant_id": 7, "placed_at": "2026-12-07T10:00:00Z",
                                           "customer_lat": 37.7, "customer_lon": -122.4}]}).encode()

SERVICE = textwrap.dedent('''
    from typing import Any

    import bentoml
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route


    async def echo(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"model": body["model"], "predictions": [1.0] * len(body["rows"])})


    raw = Starlette(routes=[Route("/echo", echo, methods=["POST"])])


    @bentoml.asgi_app(raw, path="/raw")
    @bentoml.service(name="floor", workers=1)
    class Floor:
        @bentoml.api
        async def echo(self, model: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
            return {"model": model, "predictions": [1.0] * len(rows)}
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, path: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("POST", path, BODY, {"Content-Type": "application/json"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"nothing answered {path} on port {port}")


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {statistics.median(ordered):.2f} / p95 {pick(0.95):.2f} / p99 {pick(0.99):.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; {args.requests} sequential requests per endpoint, alternating")
    with tempfile.TemporaryDirectory(prefix="fresco-bench-floor-") as tmp:
        folder = Path(tmp)
        (folder / "floor_service.py").write_text(SERVICE)
        env = {**os.environ, "BENTOML_HOME": str(folder / "bentoml"), "PYTHONPATH": str(folder)}
        bento_port, plain_port = _free_port(), _free_port()
        servers = [
            subprocess.Popen([str(BIN / "bentoml"), "serve", "floor_service:Floor", "--port", str(bento_port)],
                             cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen([str(BIN / "python"), "-m", "uvicorn", "floor_service:raw", "--port", str(plain_port),
                              "--log-level", "warning", "--no-access-log"],
                             cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]
        try:
            endpoints = {"bentoml api": (bento_port, "/echo"), "bentoml mounted": (bento_port, "/raw/echo"),
                         "uvicorn alone": (plain_port, "/echo")}
            for port, path in endpoints.values():
                _wait(port, path)
            connections = {name: http.client.HTTPConnection("127.0.0.1", port) for name, (port, _) in endpoints.items()}
            times: dict[str, list[float]] = {name: [] for name in endpoints}
            for i in range(args.requests + 100):
                for name, (_, path) in endpoints.items():
                    connection = connections[name]
                    started = time.perf_counter()
                    connection.request("POST", path, BODY, {"Content-Type": "application/json"})
                    answer = connection.getresponse()
                    answer.read()
                    elapsed = (time.perf_counter() - started) * 1000
                    if answer.status != 200:
                        raise SystemExit(f"{name}: HTTP {answer.status}")
                    if i >= 100:  # the first 100 of each warm up
                        times[name].append(elapsed)
            for name, values in times.items():
                print(f"{name:>16}: {_percentiles(values)}")
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=30)


if __name__ == "__main__":
    main()
