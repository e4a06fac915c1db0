"""One real serving environment per test session (Cassandra + Feast + trained models) and one
BentoML server for the HTTP tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.setup import ServingEnvironment, build_environment

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def serving_env(
    tmp_path_factory: pytest.TempPathFactory, cassandra: list[str], spark
) -> Iterator[ServingEnvironment]:
    saved = {k: os.environ.get(k) for k in ("FRESCO_HOME", "BENTOML_HOME")}
    env = build_environment(tmp_path_factory.mktemp("serving"), cassandra[0], spark)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def post(self, path: str, body, timeout: float = 30):
        import httpx

        if isinstance(body, (bytes, str)):
            return httpx.post(self.url + path, content=body, timeout=timeout,
                              headers={"content-type": "application/json"})
        return httpx.post(self.url + path, json=body, timeout=timeout)


def start_server(env: dict[str, str], log: Path, timeout: float = 120) -> Server:
    import httpx

    port = free_port()
    out = log.open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("bentoml")), "serve", "serving.service:FrescoService",
         "--host", "127.0.0.1", "--port", str(port), "--working-dir", str(PROJECT)],
        cwd=PROJECT, env={**os.environ, **env, "BENTOML_DO_NOT_TRACK": "True"},
        stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bentoml serve exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return Server(url, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(process)
    raise RuntimeError(f"bentoml serve did not become ready in {timeout}s:\n{log.read_text()[-3000:]}")


def stop_server(process: subprocess.Popen) -> None:
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
