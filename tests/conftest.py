"""Fixtures shared by every test package: one Spark session per test run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private FRESCO state folder for Spark's warehouse and Derby metastore."""
    return tmp_path_factory.mktemp("spark-home")


@pytest.fixture(scope="session")
def spark(spark_home: Path) -> Iterator["pyspark.sql.SparkSession"]:  # noqa: F821
    """The real Spark (local mode, Hive metastore on embedded Derby), shared by all tests."""
    from fresco.platform.spark import spark_session
    from fresco.platform.streaming.connector import ensure_connector

    ensure_connector()  # the session reads and writes Kafka in the streaming tests
    session = spark_session("fresco-tests", home=spark_home)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _node_config_at_session_start():
    """The Cassandra node's config from the environment the test run was started in."""
    from fresco.platform.services.cassandra import NodeConfig

    return NodeConfig.from_env()


_CASSANDRA_NODE = _node_config_at_session_start()


def _broker_config_at_session_start():
    """The Kafka broker's config from the environment the test run was started in."""
    from fresco.platform.services.kafka import BrokerConfig

    return BrokerConfig.from_env()


_KAFKA_BROKER = _broker_config_at_session_start()


def copy_feature_repo(target: Path) -> Path:
    """Copy the project's Feast repository definitions (not its data) into ``target``."""
    from fresco.example import copy_definitions

    return copy_definitions(target)


def run_feast(repo: Path, *args: str, timeout: float = 300) -> "subprocess.CompletedProcess[str]":  # noqa: F821
    """Run the stock ``feast`` CLI installed in this environment inside ``repo``."""
    import subprocess
    import sys

    feast = Path(sys.executable).with_name("feast")
    return subprocess.run(
        [str(feast), *args], cwd=repo, capture_output=True, text=True, timeout=timeout
    )


@contextmanager
def environment_restored(*names: str) -> Iterator[None]:
    """The environment variables ``names`` as they were before the block."""
    saved = {k: os.environ.get(k) for k in names}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(autouse=True)
def _state_variables_restored() -> Iterator[None]:
    """Every test leaves ``FRESCO_HOME`` and ``BENTOML_HOME`` as it found them: the model
    repository sets ``BENTOML_HOME`` for BentoML on first use, which would otherwise point every
    later test (and the processes they start) at that test's store."""
    with environment_restored("FRESCO_HOME", "BENTOML_HOME"):
        yield


@pytest.fixture(autouse=True, scope="module")
def _state_variables_restored_after_the_module() -> Iterator[None]:
    """The same for a module's own fixtures (a model trained once for a module's tests)."""
    with environment_restored("FRESCO_HOME", "BENTOML_HOME"):
        yield


@pytest.fixture
def feast_repo(tmp_path: Path) -> Path:
    """A private copy of ``feature_repo/`` (definitions and config, no data)."""
    return copy_feature_repo(tmp_path / "feature_repo")


@pytest.fixture(scope="session")
def cassandra() -> Iterator[list[str]]:
    """Start the local Cassandra 5.0 node (idempotent) and yield its contact points, ``["host:port"]``.

    The first run on a machine downloads Cassandra with mvn. A node that was already running before
    the tests is left running; one started here is stopped at the end unless
    ``FRESCO_CASSANDRA_KEEP=1`` (keeps later test runs fast).
    """
    from fresco.platform.services import cassandra as node

    config = _CASSANDRA_NODE  # the node `make test` started, wherever a fixture has moved FRESCO_HOME
    was_running = node.status(config).running
    status = node.start(timeout=300, config=config)
    yield status.contact_points
    if not was_running and os.environ.get("FRESCO_CASSANDRA_KEEP", "") not in ("1", "true", "yes"):
        node.stop(config=config)


@pytest.fixture(scope="session")
def kafka() -> Iterator[str]:
    """Start the local Kafka broker (idempotent) and yield its bootstrap servers, ``"host:port"``.

    Like :func:`cassandra`: a broker that ran before the tests is left running; one started here
    is stopped at the end unless ``FRESCO_KAFKA_KEEP=1``.
    """
    from fresco.platform.services import kafka as broker

    config = _KAFKA_BROKER
    was_running = broker.status(config).running
    status = broker.start(timeout=180, config=config)
    yield status.bootstrap_servers
    if not was_running and os.environ.get("FRESCO_KAFKA_KEEP", "") not in ("1", "true", "yes"):
        broker.stop(config=config)


@pytest.fixture(scope="session")
def applied_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project made by ``fresco init`` (sample data) with its catalog applied by ``feast apply``.

    Shared and read-only: a test that writes to it copies it first (:func:`copy_project`).
    """
    from fresco.platform import init_project

    project = init_project(tmp_path_factory.mktemp("projects") / "shop").path
    result = run_feast(project, "apply")
    assert result.returncode == 0, result.stdout + result.stderr
    return project


def copy_project(project: Path, target: Path) -> Path:
    """A private copy of a project (its registry and data included; its state folder not)."""
    import shutil

    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".fresco"))
    return target


def run_fresco(*args: str, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = 600) -> "subprocess.CompletedProcess[str]":  # noqa: F821
    """Run this environment's ``fresco`` command in ``cwd`` (``env`` replaces Fresco's variables)."""
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if not k.startswith(("FRESCO_FEATURE_REPO", "FEAST_"))}
    fresco = Path(sys.executable).with_name("fresco")
    return subprocess.run([str(fresco), *args], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class Invoked:
    """What :func:`invoke_fresco` returns: a ``CompletedProcess``'s fields."""

    returncode: int
    stdout: str
    stderr: str


def invoke_fresco(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Invoked:
    """Run the ``fresco`` command in this process (click's runner: the same command line, options
    and exit codes as :func:`run_fresco`, without a new Python and Spark JVM per call), in ``cwd``
    with ``env`` set for the call. An exception the command does not turn into a user error is
    raised, not returned."""
    from click.testing import CliRunner

    from fresco.cli import main

    cleared = [k for k in os.environ if k.startswith(("FRESCO_FEATURE_REPO", "FEAST_"))]
    previous = Path.cwd()
    with environment_restored(*cleared, *(env or {})):
        for key in cleared:
            del os.environ[key]
        os.environ.update(env or {})
        os.chdir(cwd)
        try:
            result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        finally:
            os.chdir(previous)
    return Invoked(result.exit_code, result.stdout, result.stderr)


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on loopback."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def fresco_serve(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 240) -> Iterator[str]:
    """``command`` (a ``fresco serve ...`` argv) on a free port (``$FRESCO_SERVE_PORT``) until
    ``/readyz`` is 200; yields its URL and stops it (the whole process group) after."""
    import signal
    import subprocess

    port = free_port()
    server = subprocess.Popen(command, cwd=cwd, env={**env, "FRESCO_SERVE_PORT": str(port)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(server, url + "/readyz", " ".join(command), timeout)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)


def wait_until_answering(server: Any, url: str, what: str, timeout: float,
                         output: Callable[[], str] = lambda: "") -> None:
    """Until ``GET url`` answers 200 from ``server`` (the test fails, with ``output()``, when it
    exits or does not answer within ``timeout`` seconds)."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            pytest.fail(f"{what} exited with {server.returncode}\n{output()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} was not ready after {timeout} s\n{output()}")
        time.sleep(0.2)
