"""The local Cassandra node against the real thing: a JVM running CassandraDaemon 5.0.x."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port

from fresco.platform.services import CassandraError, CassandraUnavailable
from fresco.platform.services import cassandra as node

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout: its .fresco holds the node


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _private_config(tmp_path: Path, heap: str = "512M") -> node.NodeConfig:
    """A second node's layout in a tmp folder on free ports, so the shared node is never touched."""
    return node.NodeConfig(
        home=tmp_path / "cassandra",
        port=free_port(),
        storage_port=free_port(),
        jmx_port=free_port(),
        heap=heap,
    )


# ---- the shared node (session fixture) ---------------------------------------------------------


def test_start_is_idempotent(cassandra: list[str]) -> None:
    first = node.status()
    log_size = first.log_path.stat().st_size
    again = node.start()
    assert again.running and again.cql_reachable
    assert again.pid == first.pid  # the same JVM: nothing was started
    assert b"Configuration location" not in first.log_path.read_bytes()[log_size:]  # no new JVM


def test_status_reports_a_running_5_0_node(cassandra: list[str]) -> None:
    st = node.status()
    assert st.running and st.cql_reachable and st.pid
    assert re.fullmatch(r"5\.0\.\d+", st.version or ""), st.version
    assert st.contact_points == cassandra == node.contact_points()
    assert st.data_dir.is_dir()
    assert st.log_path.is_file() and "Startup complete" in st.log_path.read_text(errors="replace")
    assert "running" in st.describe() and st.version in st.describe()


def test_cql_round_trip(cassandra: list[str]) -> None:
    ks = f"fresco_test_{uuid.uuid4().hex[:12]}"
    session = node.connect(hosts=cassandra)
    try:
        session.execute(
            f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        )
        session.execute(f"CREATE TABLE {ks}.features (entity text PRIMARY KEY, value double, ts timestamp)")
        insert = session.prepare(f"INSERT INTO {ks}.features (entity, value, ts) VALUES (?, ?, toTimestamp(now()))")
        for i in range(10):
            session.execute(insert, (f"restaurant-{i}", i * 1.5))
        row = session.execute(f"SELECT entity, value, ts FROM {ks}.features WHERE entity = %s", ("restaurant-7",)).one()
        assert row.entity == "restaurant-7" and row.value == 10.5 and row.ts is not None
        assert session.execute(f"SELECT count(*) FROM {ks}.features").one().count == 10
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {ks}")
        session.cluster.shutdown()


def test_cli_status_exit_code_is_0_when_running(cassandra: list[str]) -> None:
    out = subprocess.run([sys.executable, "-m", "fresco.platform.services", "status"], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "running" in out.stdout and cassandra[0] in out.stdout


def test_another_fresco_home_finds_the_running_node(cassandra: list[str], tmp_path: Path) -> None:
    """The node is machine-wide (one port): start and status under another FRESCO_HOME (another
    project's state folder) find the node that runs, instead of a second one or 'not running'."""
    from tests.conftest import _CASSANDRA_NODE

    env = {**os.environ, "FRESCO_HOME": str(tmp_path / "elsewhere")}
    for command in ("start", "status"):
        out = subprocess.run([sys.executable, "-m", "fresco.platform.services", command, "cassandra"],
                             capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "running" in out.stdout and str(_CASSANDRA_NODE.data_dir) in out.stdout, out.stdout
    assert not (tmp_path / "elsewhere" / "cassandra").exists()  # no second node was set up


# ---- no node listening: fail fast, name host:port -------------------------------------------------


@pytest.mark.timeout(30)  # a hang guard: the connect timeout is 5 s
def test_connect_to_a_port_where_nothing_listens_fails_fast_naming_it() -> None:
    target = f"127.0.0.1:{free_port()}"
    with pytest.raises(CassandraUnavailable) as err:
        node.connect(hosts=[target], timeout=5)
    assert target in str(err.value)
    assert "fresco services start" in str(err.value)


@pytest.mark.timeout(30)  # a hang guard: the connect timeouts are 5 s
def test_raw_driver_to_a_dead_port_fails_fast_naming_it() -> None:
    from cassandra.cluster import Cluster, NoHostAvailable

    p = free_port()
    cluster = Cluster(["127.0.0.1"], port=p, connect_timeout=5, control_connection_timeout=5, protocol_version=5)
    try:
        with pytest.raises(NoHostAvailable) as err:
            cluster.connect()
    finally:
        cluster.shutdown()
    assert f"127.0.0.1:{p}" in str(err.value)


def test_cli_status_exit_code_is_3_when_not_running(tmp_path: Path) -> None:
    env = {**os.environ, "FRESCO_HOME": str(tmp_path), "FRESCO_CASSANDRA_PORT": str(free_port())}
    out = subprocess.run([sys.executable, "-m", "fresco.platform.services", "status", "cassandra"], capture_output=True,
                         text=True, cwd=PROJECT_ROOT, env=env, timeout=60)
    assert out.returncode == 3, out.stderr
    assert "not running" in out.stdout


# ---- pid-file logic on a private state folder ---------------------------------------------------


def test_stale_pid_file_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    cfg = _private_config(tmp_path)
    cfg.home.mkdir(parents=True)
    cfg.pid_path.write_text(f"{_dead_pid()}\n")
    st = node.status(cfg)
    assert not st.running and st.pid is None
    assert not cfg.pid_path.exists()


def test_pid_file_of_a_live_process_that_is_not_this_node_is_stale(tmp_path: Path) -> None:
    cfg = _private_config(tmp_path)
    cfg.home.mkdir(parents=True)
    cfg.pid_path.write_text(f"{os.getpid()}\n")  # alive, but not a CassandraDaemon for this config
    assert not node.status(cfg).running
    assert not cfg.pid_path.exists()
    cfg.home.joinpath("cassandra.pid").write_text("garbage\n")
    assert not node.status(cfg).running
    assert not cfg.pid_path.exists()


@pytest.mark.timeout(50)  # a hang guard: start must notice the exit, not wait its 60 s
def test_jvm_that_dies_at_once_fails_start_with_the_log_path_and_tail(tmp_path: Path) -> None:
    cfg = _private_config(tmp_path, heap="not-a-size")
    with pytest.raises(CassandraError) as err:
        node.start(timeout=60, config=cfg, quiet=True)
    message = str(err.value)
    assert "exited" in message and str(cfg.log_path) in message
    assert "Invalid initial heap size" in message  # the JVM's own words, from logs/stdout.log
    assert not cfg.pid_path.exists()


def test_second_node_starts_over_a_stale_pid_file_and_stops(tmp_path: Path) -> None:
    """A whole life cycle on a private node: stale pid cleaned, start, no-op start, stop."""
    cfg = _private_config(tmp_path)
    cfg.home.mkdir(parents=True)
    stale = _dead_pid()
    cfg.pid_path.write_text(f"{stale}\n")
    try:
        st = node.start(timeout=240, config=cfg)
        assert st.running and st.cql_reachable and st.pid != stale
        assert re.fullmatch(r"5\.0\.\d+", st.version or "")
        assert int(cfg.pid_path.read_text()) == st.pid
        again = node.start(timeout=30, config=cfg)
        assert again.pid == st.pid
        cfg.pid_path.unlink()  # a lost pid file: the running daemon is found again, not started twice
        adopted = node.status(cfg)
        assert adopted.running and adopted.pid == st.pid
        assert int(cfg.pid_path.read_text()) == st.pid
    finally:
        stopped = node.stop(config=cfg)
    assert not stopped.running and not stopped.cql_reachable
    assert not cfg.pid_path.exists()
    assert not node._pid_alive(st.pid)


def test_start_that_times_out_says_so_shows_the_log_and_leaves_nothing_running(tmp_path: Path) -> None:
    cfg = _private_config(tmp_path)
    with pytest.raises(CassandraError) as err:
        node.start(timeout=1, config=cfg, quiet=True)
    message = str(err.value)
    assert f"did not answer CQL on {cfg.host}:{cfg.port}" in message
    assert str(cfg.log_path) in message
    assert not cfg.pid_path.exists()
    assert not node.status(cfg).running


@pytest.mark.timeout(30)  # a hang guard: the query timeout is 5 s
def test_reads_against_a_stopped_node_fail_fast_naming_it(tmp_path: Path) -> None:
    cfg = _private_config(tmp_path)  # a node that is not running: its port has no listener
    target = f"{cfg.host}:{cfg.port}"
    assert not node.status(cfg).cql_reachable
    with pytest.raises(CassandraUnavailable, match=re.escape(target)):
        node.query_release_version(cfg.host, cfg.port, timeout=5)


def test_the_node_version_is_pinned_not_the_newest_in_the_cache(tmp_path: Path, monkeypatch) -> None:
    """A newer 5.0.x left in the cache (or published on Maven Central) is not what runs."""
    monkeypatch.setenv("FRESCO_CACHE", str(tmp_path))
    monkeypatch.delenv("FRESCO_CASSANDRA_VERSION", raising=False)
    newer = tmp_path / "cassandra" / "5.0.999"
    newer.mkdir(parents=True)
    (newer / ".complete").write_text("0\n")
    assert node.installed_version() is None  # 5.0.999 is not the pinned version: fetch that one
    pinned = tmp_path / "cassandra" / node.VERSION
    pinned.mkdir()
    (pinned / ".complete").write_text("0\n")
    assert node.installed_version() == node.VERSION
    monkeypatch.setenv("FRESCO_CASSANDRA_VERSION", "5.0.999")
    assert node.installed_version() == "5.0.999"
