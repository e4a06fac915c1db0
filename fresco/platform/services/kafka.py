"""A real local Apache Kafka 4 broker (KRaft: one combined broker and controller), run by Fresco.

No Docker and no tarball: ``mvn`` fetches ``org.apache.kafka:kafka_2.13`` (version
:data:`VERSION`) and a logging binding into ``cache_dir()/kafka/<version>/lib`` once. The broker
lives under ``state_dir()/kafka``::

    conf/server.properties   loopback listeners (client and controller), one node, replication 1
    conf/log4j2.properties   logs to logs/server.log
    data/                    the log segments; formatted once (KRaft metadata, cluster id)
    logs/server.log          Kafka's own log (read this when a start fails)
    logs/stdout.log          the JVM's stdout/stderr
    kafka.pid, broker.json   the daemon's pid and how it was launched

``start()`` is idempotent and a stale pid file is cleaned up, as for the Cassandra node.

Environment overrides (read at call time): ``FRESCO_KAFKA_HOST`` (default 127.0.0.1, loopback
only), ``FRESCO_KAFKA_PORT`` (clients, default 9092), ``FRESCO_KAFKA_CONTROLLER_PORT`` (default
9093), ``FRESCO_KAFKA_HEAP`` (default 512m), ``JAVA_HOME``, ``FRESCO_MAVEN_ARGS``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from fresco.platform import state as paths
from fresco.platform.services import maven, process
from fresco.platform.services.process import ServiceError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093
DEFAULT_HEAP = "512m"
#: The Kafka version fetched and run (pinned: the one the tests ran against).
VERSION = "4.4.0"
#: Kafka logs through SLF4J 1.7 and brings log4j-core but no binding between them.
LOG4J_VERSION = "2.25.5"
MAIN_CLASS = "kafka.Kafka"


#: The daemon's pid file, in its home.
PID_FILE = "kafka.pid"

class KafkaError(ServiceError):
    """The local broker could not be downloaded, started or stopped; the message says why."""


@dataclasses.dataclass(frozen=True)
class BrokerConfig:
    """Where and how the local broker runs; ``BrokerConfig.from_env()`` is what every function uses."""

    home: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    controller_port: int = DEFAULT_CONTROLLER_PORT
    heap: str = DEFAULT_HEAP

    @classmethod
    def from_env(cls) -> BrokerConfig:
        """The broker of this environment: on ``FRESCO_KAFKA_PORT``, in the state folder, unless a
        broker on that port already runs from another state folder: then that one."""
        try:
            port = process.int_env("FRESCO_KAFKA_PORT", DEFAULT_PORT)
            return cls(
                home=process.running_home("kafka", port, PID_FILE) or paths.state_dir() / "kafka",
                host=os.environ.get("FRESCO_KAFKA_HOST", DEFAULT_HOST),
                port=port,
                controller_port=process.int_env("FRESCO_KAFKA_CONTROLLER_PORT", DEFAULT_CONTROLLER_PORT),
                heap=os.environ.get("FRESCO_KAFKA_HEAP", DEFAULT_HEAP),
            )
        except ServiceError as exc:
            raise KafkaError(str(exc)) from None

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
        return self.log_dir / "server.log"

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / "stdout.log"

    @property
    def pid_path(self) -> Path:
        return self.home / PID_FILE

    @property
    def info_path(self) -> Path:
        return self.home / "broker.json"

    @property
    def properties_path(self) -> Path:
        return self.conf_dir / "server.properties"


def bootstrap_servers() -> str:
    """``host:port`` of the local broker, the form Kafka clients and Spark's reader take."""
    cfg = BrokerConfig.from_env()
    return f"{cfg.host}:{cfg.port}"


@dataclasses.dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    reachable: bool
    version: str | None
    host: str
    port: int
    data_dir: Path
    log_path: Path

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        if self.running:
            answers = "answers" if self.reachable else "NOT answering yet"
            return (f"kafka {self.version or '?'} running (pid {self.pid}) on {self.bootstrap_servers}, "
                    f"{answers}; data {self.data_dir}; log {self.log_path}")
        extra = f" (but something else answers on {self.bootstrap_servers})" if self.reachable else ""
        return f"kafka not running{extra}; data {self.data_dir}; log {self.log_path}"


def status(config: BrokerConfig | None = None) -> BrokerStatus:
    """Whether the local broker runs (a stale pid file is removed) and whether it answers metadata."""
    cfg = config or BrokerConfig.from_env()
    pid = _live_pid(cfg)
    info = _read_info(cfg) if pid else {}
    host, port = info.get("host", cfg.host), int(info.get("port", cfg.port))
    reachable = process.port_open(host, port) and _answers(f"{host}:{port}", timeout=5)
    return BrokerStatus(running=pid is not None, pid=pid, reachable=reachable,
                        version=info.get("version") or installed_version(), host=host, port=port,
                        data_dir=cfg.data_dir, log_path=cfg.log_path)


def _answers(servers: str, timeout: float) -> bool:
    """Does a broker at ``servers`` answer a metadata request within ``timeout`` seconds?"""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": servers, "socket.timeout.ms": int(timeout * 1000)})
    try:
        admin.list_topics(timeout=timeout)
        return True
    except Exception:  # KafkaException: transport failure, timeout
        return False


# --------------------------------------------------------------------------------------------------
# download


def installed_version() -> str | None:
    """:data:`VERSION` when it is fully downloaded in the cache, else None."""
    return VERSION if maven.lib_dir("kafka", VERSION) is not None else None


def ensure_downloaded(*, quiet: bool = False) -> Path:
    """Return the folder of Kafka's jars, fetching them with ``mvn`` the first time."""
    try:
        return maven.fetch("kafka", VERSION, [
            ("org.apache.kafka", "kafka_2.13", VERSION),
            ("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
        ], quiet=quiet, what="Apache Kafka")
    except ServiceError as exc:
        raise KafkaError(str(exc)) from None


# --------------------------------------------------------------------------------------------------
# configuration


def _server_properties(cfg: BrokerConfig) -> str:
    return f"""# Generated by fresco.platform.services.kafka on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{cfg.host}:{cfg.controller_port}
listeners=PLAINTEXT://{cfg.host}:{cfg.port},CONTROLLER://{cfg.host}:{cfg.controller_port}
advertised.listeners=PLAINTEXT://{cfg.host}:{cfg.port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={cfg.data_dir}
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=168
num.network.threads=2
num.io.threads=2
"""


def _log4j2_properties(cfg: BrokerConfig) -> str:
    log = cfg.log_path
    return f"""# Generated by fresco.platform.services.kafka: Kafka's log goes to {log}.
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 5
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def _java_command(cfg: BrokerConfig, lib: Path, java: str, main: str, *args: str) -> list[str]:
    return [
        java, f"-Xms{cfg.heap}", f"-Xmx{cfg.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true", "-Djava.net.preferIPv4Stack=true",
        f"-Dlog4j2.configurationFile=file:{cfg.conf_dir / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={cfg.log_dir}",
        "-cp", f"{lib}/*",  # the JVM's own wildcard: every jar of the folder
        main, *args,
    ]


def _format_storage(cfg: BrokerConfig, lib: Path, java: str, quiet: bool) -> None:
    """Format the KRaft storage once (the first start); a formatted folder is left as it is."""
    if (cfg.data_dir / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    cmd = _java_command(cfg, lib, java, "kafka.tools.StorageTool", "format", "--cluster-id", cluster_id,
                        "--config", str(cfg.properties_path))
    process.say(f"formatting Kafka's storage in {cfg.data_dir} (cluster {cluster_id}; first start only)", quiet)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cfg.home)
    if done.returncode != 0:
        raise KafkaError(f"formatting Kafka's storage failed (exit {done.returncode}):\n"
                         f"{(done.stdout + done.stderr).strip()[-3000:]}")


# --------------------------------------------------------------------------------------------------
# start / stop


def start(timeout: float = 120, *, config: BrokerConfig | None = None, quiet: bool = False) -> BrokerStatus:
    """Start the local broker unless it already runs, and wait until it answers metadata requests.

    Downloads Kafka on the first call and formats its storage once. Raises :class:`KafkaError`
    with the tail of ``server.log`` when the JVM exits early or does not answer within ``timeout``.
    """
    cfg = config or BrokerConfig.from_env()
    try:
        process.check_loopback(cfg.host, "FRESCO_KAFKA_HOST")
    except ServiceError as exc:
        raise KafkaError(str(exc)) from None
    cfg.home.mkdir(parents=True, exist_ok=True)
    with process.file_lock(cfg.home / ".start.lock"):
        pid = _live_pid(cfg)
        if pid is not None:
            info = _read_info(cfg)
            _wait_until_answering(cfg, pid, None, time.monotonic() + timeout, quiet,
                                  f"{info.get('host', cfg.host)}:{info.get('port', cfg.port)}")
            return status(cfg)
        for name, port, variable in (("client", cfg.port, "FRESCO_KAFKA_PORT"),
                                     ("controller", cfg.controller_port, "FRESCO_KAFKA_CONTROLLER_PORT")):
            if process.port_open(cfg.host, port):
                raise KafkaError(f"Kafka's {name} port {cfg.host}:{port} is already in use by a process Fresco "
                                 f"did not start (no live pid in {cfg.pid_path}); stop it or set {variable}")
        lib = ensure_downloaded(quiet=quiet)
        java = process.java_executable("Kafka 4 needs a JDK 17 or newer")
        if process.java_major_version(java) < 17:
            raise KafkaError(f"{java} is older than JDK 17; Kafka 4 needs 17 or newer. Set JAVA_HOME.")
        for d in (cfg.conf_dir, cfg.data_dir, cfg.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        process.atomic_write(cfg.properties_path, _server_properties(cfg))
        process.atomic_write(cfg.conf_dir / "log4j2.properties", _log4j2_properties(cfg))
        _format_storage(cfg, lib, java, quiet)
        cmd = _java_command(cfg, lib, java, MAIN_CLASS, str(cfg.properties_path))
        t0 = time.monotonic()
        proc = process.spawn_daemon(cmd, cwd=cfg.home, stdout_path=cfg.stdout_path)
        process.atomic_write(cfg.pid_path, f"{proc.pid}\n")
        process.record_home("kafka", cfg.home, cfg.port)
        process.atomic_write(cfg.info_path, json.dumps({
            "pid": proc.pid, "host": cfg.host, "port": cfg.port, "controller_port": cfg.controller_port,
            "heap": cfg.heap, "version": VERSION, "started_at": time.time()}, indent=2) + "\n")
        process.say(f"starting Kafka {VERSION} (pid {proc.pid}, heap {cfg.heap}) on {cfg.host}:{cfg.port}; "
                    f"log {cfg.log_path}", quiet)
        try:
            _wait_until_answering(cfg, proc.pid, proc, time.monotonic() + timeout, quiet,
                                  f"{cfg.host}:{cfg.port}")
        except KafkaError:
            if proc.poll() is None:  # timed out: do not leave a half-started broker behind
                process.terminate(proc.pid, 20)
            process.remove_files([cfg.pid_path, cfg.info_path])
            raise
        process.say(f"Kafka {VERSION} answers on {cfg.host}:{cfg.port} after {time.monotonic() - t0:.1f}s", quiet)
        return status(cfg)


def stop(timeout: float = 60, *, config: BrokerConfig | None = None, quiet: bool = False) -> BrokerStatus:
    """Stop the local broker (SIGTERM, then SIGKILL after ``timeout``). A no-op when it does not run."""
    cfg = config or BrokerConfig.from_env()
    with process.file_lock(cfg.home / ".start.lock") if cfg.home.exists() else contextlib.nullcontext():
        pid = _live_pid(cfg)
        if pid is None:
            process.say("kafka is not running", quiet)
            return status(cfg)
        process.say(f"stopping Kafka (pid {pid})", quiet)
        if not process.terminate(pid, timeout):
            raise KafkaError(f"Kafka (pid {pid}) did not exit even after SIGKILL")
        process.remove_files([cfg.pid_path, cfg.info_path])
        process.say("kafka stopped", quiet)
        return status(cfg)


def _wait_until_answering(cfg: BrokerConfig, pid: int, proc: subprocess.Popen[bytes] | None, deadline: float,
                          quiet: bool, servers: str) -> None:
    host, port = servers.rsplit(":", 1)
    t0 = last_note = time.monotonic()
    while True:
        if not process.pid_alive(pid):
            code = proc.poll() if proc is not None else None
            raise KafkaError(f"Kafka (pid {pid}) exited{f' with code {code}' if code is not None else ''} before "
                             f"it answered on {servers}.\n{_log_report(cfg)}")
        if process.port_open(host, int(port)) and _answers(servers, timeout=5):
            return
        now = time.monotonic()
        if now >= deadline:
            raise KafkaError(f"Kafka (pid {pid}) did not answer on {servers} within {now - t0:.0f}s.\n"
                             f"{_log_report(cfg)}")
        if now - last_note >= 10:
            process.say(f"waiting for Kafka on {servers} ... {now - t0:.0f}s", quiet)
            last_note = now
        time.sleep(0.5)


def _log_report(cfg: BrokerConfig) -> str:
    parts = [f"Kafka's log: {cfg.log_path}"]
    for path, lines in ((cfg.log_path, process.LOG_TAIL_LINES), (cfg.stdout_path, 20)):
        if path.exists():
            parts.append(f"--- last lines of {path} ---\n{process.tail(path, lines)}")
    return "\n".join(parts)


def _is_our_broker(pid: int, cfg: BrokerConfig, trust_unreadable: bool = True) -> bool:
    """Is ``pid`` a ``kafka.Kafka`` run with this broker's server.properties (not a reused pid)?"""
    args = process.command_line(pid)
    if args is None:
        return trust_unreadable and process.pid_alive(pid)
    return MAIN_CLASS in args and str(cfg.properties_path) in args


def _live_pid(cfg: BrokerConfig) -> int | None:
    return process.live_pid(cfg.pid_path, lambda pid, trust: _is_our_broker(pid, cfg, trust),
                            [cfg.pid_path, cfg.info_path])


def _read_info(cfg: BrokerConfig) -> dict[str, Any]:
    try:
        return json.loads(cfg.info_path.read_text())
    except (OSError, ValueError):
        return {}
