"""Real serving environments per test session: Cassandra + Feast + trained models
(``serving_env``), and the embedded default, SQLite, with one model (``sqlite_env``, served by
``sqlite_server``)."""

from __future__ import annotations

import os
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


class Server:
    """A running ``bentoml serve`` (serving.server.ServerProcess) and a small HTTP client."""

    def __init__(self, handle) -> None:
        self.handle, self.url = handle, handle.url

    def post(self, path: str, body, timeout: float = 30):
        import httpx

        if isinstance(body, (bytes, str)):
            return httpx.post(self.url + path, content=body, timeout=timeout,
                              headers={"content-type": "application/json"})
        return httpx.post(self.url + path, json=body, timeout=timeout)


@pytest.fixture(scope="session")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory):
    """The embedded default (SQLite online store) with a model trained on it (no Cassandra)."""
    from tests.serving.sqlite_setup import build_sqlite_environment

    saved = {k: os.environ.get(k) for k in ("FRESCO_HOME", "BENTOML_HOME")}
    env = build_sqlite_environment(tmp_path_factory.mktemp("sqlite-serving"))
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def sqlite_server(sqlite_env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``bentoml serve`` of the service on the SQLite environment, its model preloaded."""
    from serving.server import ServerProcess

    folder = tmp_path_factory.mktemp("sqlite-server")
    env = {**sqlite_env.env(), "FRESCO_SERVING_PRELOAD": sqlite_env.tag,
           "FRESCO_SERVING_REFRESH_SECONDS": "0.2"}
    handle = ServerProcess(env, log=folder / "bentoml.log")
    with handle:
        yield Server(handle)
