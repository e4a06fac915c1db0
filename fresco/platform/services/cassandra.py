"""A real local Apache Cassandra 5.0 node, started and stopped by Fresco.

No Docker and no tarball: ``mvn`` fetches ``org.apache.cassandra:cassandra-all`` (version
:data:`VERSION`, the one Fresco is tested with, on Maven Central) and its runtime dependencies into ``fresco.platform.state.cache_dir()/cassandra/<version>/lib``
once; later starts only read that folder. The node itself lives under
``fresco.platform.state.state_dir()/cassandra``::

    conf/cassandra.yaml    bound to loopback, single token, no auth, small caches
    conf/logback.xml       logs to logs/system.log
    data/                  data, commitlog, hints, saved caches, cdc
    logs/system.log        Cassandra's own log (read this when a start fails)
    logs/stdout.log        the JVM's stdout/stderr (bad options, crashes)
    cassandra.pid          the daemon's pid
    node.json              how the running node was launched (ports, version, heap)

``start()`` is idempotent: a running node is left alone, a stale pid file is removed. The JVM runs in
its own session, so it outlives the Python process that started it.

Environment overrides (read at call time):

``FRESCO_CASSANDRA_HOST``          CQL address, default 127.0.0.1 (must be a loopback address)
``FRESCO_CASSANDRA_PORT``          CQL (native protocol) port, default 9042
``FRESCO_CASSANDRA_STORAGE_PORT``  inter-node port, default 7000
``FRESCO_CASSANDRA_JMX_PORT``      local JMX port (nodetool), default 7199
``FRESCO_CASSANDRA_HEAP``          JVM heap (-Xms/-Xmx), default 1G
``FRESCO_CASSANDRA_VERSION``       exact cassandra-all version to fetch instead of :data:`VERSION`
``FRESCO_MAVEN_ARGS``              extra mvn arguments, e.g. ``-Dmaven.repo.local=/tmp/m2``
``JAVA_HOME``                      the JDK to run (else ``java`` on PATH)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from fresco.platform import cassandra_client, state as paths
from fresco.platform.services import maven, process
from fresco.platform.services.process import ServiceError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9042
DEFAULT_STORAGE_PORT = 7000
DEFAULT_JMX_PORT = 7199
DEFAULT_HEAP = "1G"
#: The cassandra-all version fetched and run (pinned: the one the tests ran against).
VERSION = "5.0.9"
DAEMON_CLASS = "org.apache.cassandra.service.CassandraDaemon"
CLUSTER_NAME = "fresco-local"


#: The daemon's pid file, in its home.
PID_FILE = "cassandra.pid"

class CassandraError(ServiceError):
    """The local node could not be downloaded, started or stopped; the message says why."""


class CassandraUnavailable(CassandraError):
    """No CQL server answers on the configured contact points."""


# --------------------------------------------------------------------------------------------------
# configuration


@dataclasses.dataclass(frozen=True)
class NodeConfig:
    """Where and how the local node runs. ``NodeConfig.from_env()`` is what every function uses."""

    home: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    storage_port: int = DEFAULT_STORAGE_PORT
    jmx_port: int = DEFAULT_JMX_PORT
    heap: str = DEFAULT_HEAP

    @classmethod
    def from_env(cls) -> NodeConfig:
        """The node of this environment: on ``FRESCO_CASSANDRA_PORT``, in the state folder, unless
        a node on that port already runs from another state folder (another ``FRESCO_HOME``, or
        another project's): then that one, so start, stop and status agree wherever they run."""
        env = os.environ
        port = _int_env("FRESCO_CASSANDRA_PORT", DEFAULT_PORT)
        return cls(
            home=process.running_home("cassandra", port, PID_FILE) or paths.state_dir() / "cassandra",
            host=env.get("FRESCO_CASSANDRA_HOST", DEFAULT_HOST),
            port=port,
            storage_port=_int_env("FRESCO_CASSANDRA_STORAGE_PORT", DEFAULT_STORAGE_PORT),
            jmx_port=_int_env("FRESCO_CASSANDRA_JMX_PORT", DEFAULT_JMX_PORT),
            heap=env.get("FRESCO_CASSANDRA_HEAP", DEFAULT_HEAP),
        )

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def log_path(self) -> Path:
        return self.log_dir / "system.log"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / "stdout.log"

    @property
    def pid_path(self) -> Path:
        return self.home / PID_FILE

    @property
    def info_path(self) -> Path:
        return self.home / "node.json"

    @property
    def yaml_path(self) -> Path:
        return self.conf_dir / "cassandra.yaml"


def _int_env(name: str, default: int) -> int:
    try:
        return process.int_env(name, default)
    except ServiceError as exc:
        raise CassandraError(str(exc)) from None


def host() -> str:
    """The CQL address of the local node (``$FRESCO_CASSANDRA_HOST``, default 127.0.0.1)."""
    return NodeConfig.from_env().host


def port() -> int:
    """The CQL port of the local node (``$FRESCO_CASSANDRA_PORT``, default 9042)."""
    return NodeConfig.from_env().port


def contact_points() -> list[str]:
    """``["host:port"]`` of the local node, the form Feast's ``cassandra`` online store accepts."""
    cfg = NodeConfig.from_env()
    return [f"{cfg.host}:{cfg.port}"]


# --------------------------------------------------------------------------------------------------
# status


@dataclasses.dataclass(frozen=True)
class NodeStatus:
    running: bool
    pid: int | None
    cql_reachable: bool
    version: str | None
    host: str
    port: int
    data_dir: Path
    log_path: Path

    @property
    def reachable(self) -> bool:
        """Does the node answer CQL (the same question :class:`BrokerStatus` answers for Kafka)?"""
        return self.cql_reachable

    @property
    def contact_points(self) -> list[str]:
        return [f"{self.host}:{self.port}"]

    def describe(self) -> str:
        if self.running:
            cql = "CQL answers" if self.cql_reachable else "CQL NOT answering yet"
            return (
                f"cassandra {self.version or '?'} running (pid {self.pid}) on {self.host}:{self.port}, "
                f"{cql}; data {self.data_dir}; log {self.log_path}"
            )
        extra = ""
        if self.cql_reachable:
            extra = f" (but something else answers CQL on {self.host}:{self.port})"
        return f"cassandra not running{extra}; data {self.data_dir}; log {self.log_path}"


def status(config: NodeConfig | None = None) -> NodeStatus:
    """Whether the local node runs (a stale pid file is removed on the way) and whether CQL answers."""
    cfg = config or NodeConfig.from_env()
    pid = _live_pid(cfg)
    info = _read_info(cfg) if pid else {}
    h, p = (info.get("host", cfg.host), int(info.get("port", cfg.port))) if pid else (cfg.host, cfg.port)
    version = None
    reachable = False
    if _port_open(h, p):
        try:
            version = query_release_version(h, p, timeout=5)
            reachable = True
        except CassandraUnavailable:
            reachable = False
    if version is None:
        version = info.get("version") or installed_version()
    return NodeStatus(
        running=pid is not None,
        pid=pid,
        cql_reachable=reachable,
        version=version,
        host=h,
        port=p,
        data_dir=cfg.data_dir,
        log_path=cfg.log_path,
    )


# --------------------------------------------------------------------------------------------------
# download


def installed_version() -> str | None:
    """:func:`wanted_version` when it is fully downloaded in the cache, else None."""
    version = wanted_version()
    return version if maven.lib_dir("cassandra", version) is not None else None


def wanted_version() -> str:
    """``$FRESCO_CASSANDRA_VERSION``, else :data:`VERSION`."""
    return os.environ.get("FRESCO_CASSANDRA_VERSION", "").strip() or VERSION


def ensure_downloaded(*, quiet: bool = False) -> Path:
    """Return the folder of Cassandra's jars, fetching them with ``mvn`` the first time.

    :func:`wanted_version` and its runtime dependencies are copied to
    ``cache_dir()/cassandra/<version>/lib``. Once a version is complete there, no network is used.
    """
    version = wanted_version()
    try:
        return maven.fetch("cassandra", version, [("org.apache.cassandra", "cassandra-all", version)],
                           quiet=quiet, what="Apache Cassandra")
    except ServiceError as exc:
        raise CassandraError(str(exc)) from None


# --------------------------------------------------------------------------------------------------
# configuration files


def _cassandra_yaml(cfg: NodeConfig) -> str:
    d = cfg.data_dir
    # A single-node development/test node: loopback only, one token, no auth, small caches and
    # thread pools for a 2-core machine; commit log synced periodically (the default durability).
    return f"""# Generated by fresco.platform.services.cassandra on every start; edits are overwritten.
cluster_name: {CLUSTER_NAME}
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
auto_bootstrap: false
storage_compatibility_mode: NONE

listen_address: {cfg.host}
rpc_address: {cfg.host}
storage_port: {cfg.storage_port}
ssl_storage_port: {cfg.storage_port + 1}
native_transport_port: {cfg.port}
start_native_transport: true
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{cfg.host}:{cfg.storage_port}"
endpoint_snitch: SimpleSnitch

authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer

data_file_directories:
  - {d / "data"}
commitlog_directory: {d / "commitlog"}
saved_caches_directory: {d / "saved_caches"}
hints_directory: {d / "hints"}
cdc_raw_directory: {d / "cdc_raw"}

commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
commitlog_total_space: 1024MiB
disk_failure_policy: stop
commit_failure_policy: stop

key_cache_size: 16MiB
row_cache_size: 0MiB
counter_cache_size: 0MiB
file_cache_size: 128MiB
networking_cache_size: 32MiB
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB

concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_compactors: 1
native_transport_max_threads: 32

read_request_timeout: 10000ms
write_request_timeout: 5000ms
range_request_timeout: 20000ms
request_timeout: 20000ms

hinted_handoff_enabled: false
dynamic_snitch: false
incremental_backups: false
snapshot_before_compaction: false
auto_snapshot: false
materialized_views_enabled: false
sasi_indexes_enabled: true
"""


def _logback_xml(cfg: NodeConfig) -> str:
    log = cfg.log_path
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by fresco.platform.services.cassandra: Cassandra's log goes to {log}. -->
<configuration scan="false" debug="false">
  <shutdownHook class="ch.qos.logback.core.hook.DefaultShutdownHook"/>
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>{log}</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>{log}.%i.zip</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>5</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>20MB</maxFileSize>
    </triggeringPolicy>
    <encoder>
      <pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG"/>
  </root>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="com.thinkaurelius.thrift" level="ERROR"/>
</configuration>
"""


def _write_config(cfg: NodeConfig) -> None:
    for d in (cfg.conf_dir / "triggers", cfg.log_dir, *(cfg.data_dir / s for s in
                                           ("data", "commitlog", "saved_caches", "hints", "cdc_raw"))):
        d.mkdir(parents=True, exist_ok=True)
    _atomic_write(cfg.yaml_path, _cassandra_yaml(cfg))
    _atomic_write(cfg.conf_dir / "logback.xml", _logback_xml(cfg))


# --------------------------------------------------------------------------------------------------
# the JVM command line

# What Cassandra 5.0's conf/jvm17-server.options sets for JDK 17: the module exports and opens its
# code needs (Unsafe, internal loaders, attach, JMX, javac for UDFs, NIO internals).
JDK17_MODULE_OPTIONS = [
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
    "--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports", "jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports", "jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens", "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
]

# G1 and Netty settings from jvm17-server.options, and the general ones from jvm-server.options that
# make sense for a small dev node (no AlwaysPreTouch: it would commit the whole heap up front).
JDK17_GC_AND_GENERAL_OPTIONS = [
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1HeapRegionSize=16m",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-XX:InitiatingHeapOccupancyPercent=70",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
    "-ea",
    "-da:net.openhft...",
    "-XX:+UseThreadPriorities",
    "-XX:+HeapDumpOnOutOfMemoryError",
    "-XX:+ExitOnOutOfMemoryError",
    "-Xss256k",
    "-XX:+UseTLAB",
    "-XX:+ResizeTLAB",
    "-XX:+PerfDisableSharedMem",
    "-Djava.net.preferIPv4Stack=true",
    "-XX:StringTableSize=1000003",
]


def java_executable() -> str:
    return process.java_executable("Cassandra 5.0 needs a JDK 17")


def java_major_version(java: str) -> int:
    return process.java_major_version(java)


def jvm_command(cfg: NodeConfig, lib: Path, java: str) -> list[str]:
    """The full ``java ... CassandraDaemon`` command line for this node."""
    jars = sorted(lib.glob("*.jar"))
    jamm = next((j for j in jars if j.name.startswith("jamm-")), None)
    cmd = [java, f"-Xms{cfg.heap}", f"-Xmx{cfg.heap}", *JDK17_GC_AND_GENERAL_OPTIONS, *JDK17_MODULE_OPTIONS]
    if jamm is not None:  # cassandra-env.sh: the jamm agent measures object sizes for memtables
        cmd.append(f"-javaagent:{jamm}")
    cmd += [
        f"-XX:HeapDumpPath={cfg.home}",
        f"-Dcassandra.config=file://{cfg.yaml_path}",
        f"-Dcassandra.storagedir={cfg.data_dir}",
        f"-Dcassandra.logdir={cfg.log_dir}",
        f"-Dlogback.configurationFile=file://{cfg.conf_dir / 'logback.xml'}",
        f"-Dcassandra.jmx.local.port={cfg.jmx_port}",
        f"-Dcassandra.triggers_dir={cfg.conf_dir / 'triggers'}",
        "-Dcassandra-foreground=yes",  # keep the console appender quiet; we detach ourselves
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.load_ring_state=true",
        "-cp",
        os.pathsep.join([str(cfg.conf_dir), *(str(j) for j in jars)]),
        DAEMON_CLASS,
    ]
    return cmd


# --------------------------------------------------------------------------------------------------
# start / stop


def start(timeout: float = 180, *, config: NodeConfig | None = None, quiet: bool = False) -> NodeStatus:
    """Start the local node unless it already runs, and wait until CQL answers.

    Downloads Cassandra on the first call. Returns at once (no-op) when the node runs. Raises
    :class:`CassandraError` with the tail of ``system.log`` when the JVM exits early or CQL does not
    answer within ``timeout`` seconds.
    """
    cfg = config or NodeConfig.from_env()
    _check_loopback(cfg.host)
    cfg.home.mkdir(parents=True, exist_ok=True)
    with _file_lock(cfg.home / ".start.lock"):
        pid = _live_pid(cfg)
        if pid is not None:
            info = _read_info(cfg)
            h, p = info.get("host", cfg.host), int(info.get("port", cfg.port))
            if (h, p) != (cfg.host, cfg.port):
                _say(f"note: the running node (pid {pid}) listens on {h}:{p}, not {cfg.host}:{cfg.port}", quiet)
            _wait_for_cql(cfg, pid, None, time.monotonic() + timeout, quiet, h, p)
            return status(cfg)
        if _port_open(cfg.host, cfg.port):
            raise CassandraError(
                f"{cfg.host}:{cfg.port} is already in use by a process Fresco did not start (no live pid in "
                f"{cfg.pid_path}); stop it or set FRESCO_CASSANDRA_PORT to another port"
            )
        for name, p in (("storage", cfg.storage_port), ("JMX", cfg.jmx_port)):
            if _port_open(cfg.host, p):
                raise CassandraError(
                    f"Cassandra's {name} port {cfg.host}:{p} is already in use; set "
                    f"FRESCO_CASSANDRA_{'STORAGE' if name == 'storage' else 'JMX'}_PORT to a free port"
                )
        lib = ensure_downloaded(quiet=quiet)
        version = lib.parent.name
        java = java_executable()
        major = java_major_version(java)
        if major not in (11, 17):
            raise CassandraError(
                f"{java} is JDK {major}; Cassandra 5.0 runs on JDK 17 (or 11). Set JAVA_HOME to a JDK 17."
            )
        _write_config(cfg)
        cmd = jvm_command(cfg, lib, java)
        env = dict(os.environ)
        env.setdefault("MALLOC_ARENA_MAX", "4")  # as cassandra-env.sh does
        t0 = time.monotonic()
        proc = process.spawn_daemon(cmd, cwd=cfg.home, stdout_path=cfg.stdout_path, env=env)
        _atomic_write(cfg.pid_path, f"{proc.pid}\n")
        process.record_home("cassandra", cfg.home, cfg.port)
        _atomic_write(cfg.info_path, json.dumps({
            "pid": proc.pid, "host": cfg.host, "port": cfg.port, "storage_port": cfg.storage_port,
            "jmx_port": cfg.jmx_port, "heap": cfg.heap, "version": version, "started_at": time.time(),
        }, indent=2) + "\n")
        _say(f"starting Cassandra {version} (pid {proc.pid}, heap {cfg.heap}) on {cfg.host}:{cfg.port}; "
             f"log {cfg.log_path}", quiet)
        try:
            _wait_for_cql(cfg, proc.pid, proc, time.monotonic() + timeout, quiet, cfg.host, cfg.port)
        except CassandraError:
            if proc.poll() is None:  # timed out: do not leave a half-started node behind
                _terminate(proc.pid, 20)
            _cleanup_pid_files(cfg)
            raise
        _say(f"Cassandra {version} answers CQL on {cfg.host}:{cfg.port} after {time.monotonic() - t0:.1f}s", quiet)
        return status(cfg)


def stop(timeout: float = 60, *, config: NodeConfig | None = None, quiet: bool = False) -> NodeStatus:
    """Stop the local node (SIGTERM, then SIGKILL after ``timeout``). A no-op when it does not run."""
    cfg = config or NodeConfig.from_env()
    with _file_lock(cfg.home / ".start.lock") if cfg.home.exists() else contextlib.nullcontext():
        pid = _live_pid(cfg)
        if pid is None:
            _say("cassandra is not running", quiet)
            return status(cfg)
        _say(f"stopping Cassandra (pid {pid})", quiet)
        if not _terminate(pid, timeout):
            raise CassandraError(f"Cassandra (pid {pid}) did not exit even after SIGKILL")
        _cleanup_pid_files(cfg)
        _say("cassandra stopped", quiet)
        return status(cfg)


def _wait_for_cql(cfg: NodeConfig, pid: int, proc: subprocess.Popen | None, deadline: float, quiet: bool,
                  h: str, p: int) -> None:
    t0 = time.monotonic()
    last_note = t0
    while True:
        if not _pid_alive(pid):
            code = proc.poll() if proc is not None else None
            raise CassandraError(
                f"Cassandra (pid {pid}) exited{f' with code {code}' if code is not None else ''} before CQL "
                f"answered on {h}:{p}.\n{_log_report(cfg)}"
            )
        if _port_open(h, p):
            try:
                query_release_version(h, p, timeout=10)
                return
            except CassandraUnavailable:
                pass
        now = time.monotonic()
        if now >= deadline:
            raise CassandraError(
                f"Cassandra (pid {pid}) did not answer CQL on {h}:{p} within {now - t0:.0f}s.\n{_log_report(cfg)}"
            )
        if now - last_note >= 10:
            _say(f"waiting for CQL on {h}:{p} ... {now - t0:.0f}s", quiet)
            last_note = now
        time.sleep(0.5)


def _log_report(cfg: NodeConfig) -> str:
    parts = [f"Cassandra's log: {cfg.log_path}"]
    if cfg.log_path.exists():
        parts.append(f"--- last lines of {cfg.log_path} ---\n{_tail(cfg.log_path)}")
    if cfg.stdout_path.exists():
        parts.append(f"--- last lines of {cfg.stdout_path} (JVM output) ---\n{_tail(cfg.stdout_path, 20)}")
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------------
# CQL


def connect(keyspace: str | None = None, *, timeout: float = 10, hosts: list[str] | None = None) -> Any:
    """A cassandra-driver ``Session`` on the local node (or ``hosts``); close it with
    ``session.cluster.shutdown()``.

    Fails within about ``timeout`` seconds with :class:`CassandraUnavailable` naming ``host:port`` when
    nothing answers, instead of hanging.
    """
    targets = hosts or contact_points()
    try:
        return cassandra_client.connect(targets, keyspace=keyspace, timeout=timeout, port=port())
    except cassandra_client.CassandraUnavailable as exc:
        raise CassandraUnavailable(f"{exc}. Start the local node with `fresco services start cassandra` "
                                   "(or `python -m fresco.platform.services start`).") from exc


def query_release_version(h: str | None = None, p: int | None = None, *, timeout: float = 10) -> str:
    """``SELECT release_version FROM system.local`` on ``h:p`` (default: the local node)."""
    cfg = NodeConfig.from_env()
    h = h or cfg.host
    p = p or cfg.port
    session = connect(timeout=timeout, hosts=[f"{h}:{p}"])
    try:
        row = session.execute("SELECT release_version FROM system.local", timeout=timeout).one()
        return str(row.release_version)
    except Exception as exc:  # OperationTimedOut, server errors while starting
        raise CassandraUnavailable(f"Cassandra at {h}:{p} did not answer a query: {exc!r}") from exc
    finally:
        session.cluster.shutdown()


# --------------------------------------------------------------------------------------------------
# pid files and small helpers


_pid_alive = process.pid_alive
_port_open = process.port_open
_tail = process.tail
_atomic_write = process.atomic_write
_file_lock = process.file_lock
_say = process.say
_terminate = process.terminate


def _is_our_daemon(pid: int, cfg: NodeConfig, trust_unreadable: bool = True) -> bool:
    """Is ``pid`` a CassandraDaemon run with this node's cassandra.yaml (guards against reused pids)?"""
    args = process.command_line(pid)
    if args is None:
        return trust_unreadable and process.pid_alive(pid)  # no /proc: trust the pid file
    return DAEMON_CLASS in args and f"-Dcassandra.config=file://{cfg.yaml_path}" in args


def _live_pid(cfg: NodeConfig) -> int | None:
    """The pid of this node's daemon, or None; a stale pid file is removed."""
    return process.live_pid(cfg.pid_path, lambda pid, trust: _is_our_daemon(pid, cfg, trust),
                            [cfg.pid_path, cfg.info_path])


def _cleanup_pid_files(cfg: NodeConfig) -> None:
    process.remove_files([cfg.pid_path, cfg.info_path])


def _read_info(cfg: NodeConfig) -> dict[str, Any]:
    try:
        return json.loads(cfg.info_path.read_text())
    except (OSError, ValueError):
        return {}


def _check_loopback(h: str) -> None:
    try:
        process.check_loopback(h, "FRESCO_CASSANDRA_HOST")
    except ServiceError as exc:
        raise CassandraError(str(exc)) from None
