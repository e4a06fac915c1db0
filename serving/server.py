"""Run the BentoML service as a process: ``fresco serve`` (foreground) and :class:`ServerProcess`
(background, for the quickstart and benchmarks). Configuration goes through the environment,
exactly as for ``bentoml serve fresco.serving.service:FrescoService`` or a built Bento."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


SERVICE = "fresco.serving.service:FrescoService"


def server_env(
    *, repo: Path | None = None, yaml_path: Path | None = None, preload: list[str] | None = None,
    workers: int | None = None,
) -> dict[str, str]:
    """The environment variables :func:`fresco.serving.default_predictor` reads.

    The feature repository and its yaml are resolved here, by :mod:`fresco.platform.repo`'s rule
    (``repo``, else ``$FRESCO_FEATURE_REPO``, else the current directory); the state folder is
    this process's, so the server routes to the models this process's repository holds.
    """
    from fresco.platform import resolve_repo, resolve_yaml
    from fresco.platform.repo import REPO_ENV, YAML_ENV
    from fresco.platform.state import HOME_ENV, state_home

    resolved = resolve_repo(repo)
    env: dict[str, str] = {"BENTOML_DO_NOT_TRACK": "True", REPO_ENV: str(resolved),
                           YAML_ENV: str(resolve_yaml(resolved, yaml_path))}
    env[HOME_ENV] = str(state_home())  # this process's model repository
    if preload:
        env["FRESCO_SERVING_PRELOAD"] = ",".join(preload)
    if workers is not None:
        env["FRESCO_SERVING_WORKERS"] = str(workers)
    return env


def serve_command(host: str, port: int, target: str = SERVICE) -> list[str]:
    """``bentoml serve`` of Fresco's installed service, or of ``target`` (e.g. a Bento tag)."""
    return [str(Path(sys.executable).with_name("bentoml")), "serve", target,
            "--host", host, "--port", str(port)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``bentoml serve`` in the background; ``with ServerProcess(...) as url:`` waits until ready
    and always stops it."""

    def __init__(self, env: dict[str, str], *, port: int | None = None, log: Path | None = None,
                 timeout: float = 120, target: str = SERVICE) -> None:
        self.env, self.port, self.timeout, self.target = env, port or free_port(), timeout, target
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        import httpx

        if self.log:
            self.log.parent.mkdir(parents=True, exist_ok=True)
        out: Any = self.log.open("w") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            serve_command("127.0.0.1", self.port, self.target), cwd=self.env.get("FRESCO_FEATURE_REPO"),
            env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log.read_text()[-3000:] if self.log else ""
                raise RuntimeError(f"bentoml serve exited ({self.process.returncode}) {tail}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"bentoml serve was not ready after {self.timeout:.0f}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_and_predict(
    model: str, rows: list[dict[str, Any]], *, repo: Path | None = None, yaml_path: Path | None = None,
    log: Path | None = None, outcomes: list[float] | None = None,
) -> list[dict[str, Any]]:
    """Start the service, POST ``rows`` to ``/predict`` with ``model`` (then, given
    ``outcomes``, one per row, POST them to ``/outcome`` by the answers' prediction ids), stop
    it; the answers.

    Each answer is the row with ``prediction``, ``model_uuid`` and ``prediction_id`` added
    (what the quickstart prints).
    """
    import httpx

    env = server_env(repo=repo, yaml_path=yaml_path, preload=[model])
    with ServerProcess(env, log=log) as url:
        response = httpx.post(url + "/predict", json={"model": model, "rows": rows}, timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"POST /predict answered {response.status_code}: {response.text[:500]}")
        answers = response.json()["predictions"]
        if outcomes is not None:
            reported = httpx.post(url + "/outcome", timeout=60, json={"outcomes": [
                {"prediction_id": a["prediction_id"], "outcome": y} for a, y in zip(answers, outcomes)]})
            if reported.status_code != 200:
                raise RuntimeError(f"POST /outcome answered {reported.status_code}: {reported.text[:500]}")
    return [{**row, **{k: answer[k] for k in ("prediction", "model_uuid", "prediction_id")}}
            for row, answer in zip(rows, answers)]
