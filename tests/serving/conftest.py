"""Real serving environments per test session: Cassandra + Feast + trained models
(``serving_env``), and the embedded default, SQLite, with one model (``sqlite_env``, served by
``sqlite_server``)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import environment_restored
from tests.serving.setup import ServingEnvironment, build_environment

PROJECT = Path(__file__).resolve().parents[2]


#: What an environment's ``env()`` sets (its state folder, BentoML home, repository, yaml).
_STATE_VARIABLES = ("FRESCO_HOME", "BENTOML_HOME", "FRESCO_FEATURE_REPO", "FEAST_FS_YAML_FILE_PATH")


def _state_env_restored():
    """The state variables as they were before the block (building an environment sets them)."""
    return environment_restored(*_STATE_VARIABLES)


@contextmanager
def active(environment) -> Iterator[None]:
    """The process pointed at ``environment`` (``environment.env()``) inside the block only."""
    with _state_env_restored():
        for key in _STATE_VARIABLES:
            os.environ.pop(key, None)
        os.environ.update(environment.env())
        yield


@pytest.fixture(scope="session")
def serving_env(
    tmp_path_factory: pytest.TempPathFactory, cassandra: list[str], spark
) -> ServingEnvironment:
    """Built once; the process environment points at it only while a test that uses it runs
    (``_environment_of_the_test``), so no test elsewhere sees its state folder."""
    with _state_env_restored():
        return build_environment(tmp_path_factory.mktemp("serving"), cassandra[0], spark)


@pytest.fixture(autouse=True)
def _environment_of_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test using ``serving_env`` or ``sqlite_env`` runs with the process pointed at it."""
    for name in ("serving_env", "sqlite_env"):
        if name in request.fixturenames:
            with active(request.getfixturevalue(name)):
                yield
            return
    yield


class Server:
    """A running ``bentoml serve`` (fresco.serving.server.ServerProcess) and a small HTTP client."""

    def __init__(self, handle) -> None:
        self.handle, self.url = handle, handle.url

    def post(self, path: str, body, timeout: float = 30, content_type: str = "application/json"):
        """POST ``body``: bytes or text as they are, anything else as JSON; with ``content_type``."""
        import httpx

        headers = {"content-type": content_type}
        if isinstance(body, (bytes, str)):
            return httpx.post(self.url + path, content=body, timeout=timeout, headers=headers)
        return httpx.post(self.url + path, json=body, timeout=timeout, headers=headers)

    def log_size(self) -> int:
        """The server log's size now (pass it to :meth:`log_since`)."""
        return self.handle.log.stat().st_size

    def log_since(self, offset: int) -> str:
        """What the server logged after ``offset``."""
        with self.handle.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", "replace")


@pytest.fixture(scope="session")
def sqlite_env(tmp_path_factory: pytest.TempPathFactory):  # built once, like serving_env
    """The embedded default (SQLite online store) with a model trained on it (no Cassandra)."""
    from tests.serving.sqlite_setup import build_sqlite_environment

    with _state_env_restored():
        return build_sqlite_environment(tmp_path_factory.mktemp("sqlite-serving"))


@pytest.fixture(scope="session")
def sqlite_server(sqlite_env, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``bentoml serve`` of the service on the SQLite environment, its model preloaded."""
    with serve(sqlite_env.env(), sqlite_env.tag, tmp_path_factory.mktemp("sqlite-server")) as server:
        yield server


@contextmanager
def serve(env: Mapping[str, str], preload: str, folder: Path, **extra_env: str) -> Iterator[Server]:
    """A running ``bentoml serve`` with ``env`` (+ ``extra_env``), ``preload`` loaded at start
    and the tags re-read every 0.2 s; its log in ``folder``."""
    from fresco.serving.server import ServerProcess

    handle = ServerProcess({**env, "FRESCO_SERVING_PRELOAD": preload,
                            "FRESCO_SERVING_REFRESH_SECONDS": "0.2", **extra_env},
                           log=folder / "bentoml.log")
    with handle:
        yield Server(handle)
