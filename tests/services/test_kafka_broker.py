"""The local Kafka broker against the real thing: a JVM running kafka.Kafka 4.4 in KRaft mode."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port

from fresco.platform.services import KafkaError
from fresco.platform.services import kafka as broker


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _private_config(tmp_path: Path) -> broker.BrokerConfig:
    """A second broker in a tmp folder on free ports, so the shared broker is never touched."""
    return broker.BrokerConfig(home=tmp_path / "kafka", port=free_port(), controller_port=free_port(),
                               heap="256m")


def _round_trip(servers: str, topic: str, values: list[bytes], expect: int | None = None) -> list[bytes]:
    """Publish ``values`` to ``topic`` and read the topic from the start (``expect`` messages)."""
    from confluent_kafka import Consumer, Producer

    producer = Producer({"bootstrap.servers": servers})
    for v in values:
        producer.produce(topic, v)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"test-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
            if len(got) >= (expect or len(values)):
                break
    finally:
        consumer.close()
    return got


def test_start_is_idempotent(kafka: str) -> None:
    first = broker.status()
    again = broker.start()
    assert again.running and again.reachable
    assert again.pid == first.pid  # the same JVM: nothing was started


def test_status_reports_a_running_4_4_broker(kafka: str) -> None:
    st = broker.status()
    assert st.running and st.reachable and st.version == broker.VERSION
    assert st.bootstrap_servers == kafka == broker.bootstrap_servers()
    assert "KafkaRaftServer" in st.log_path.read_text(errors="replace") or "Kafka Server started" in \
        st.log_path.read_text(errors="replace")
    done = subprocess.run([sys.executable, "-m", "fresco.platform.services", "status", "kafka"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "kafka 4.4.0 running" in done.stdout


def test_messages_round_trip(kafka: str) -> None:
    topic = f"test-{uuid.uuid4().hex[:8]}"
    values = [f"event-{i}".encode() for i in range(20)]
    assert _round_trip(kafka, topic, values) == values


def test_a_second_broker_starts_over_a_stale_pid_keeps_its_data_and_stops(tmp_path: Path) -> None:
    cfg = _private_config(tmp_path)
    cfg.home.mkdir(parents=True)
    cfg.pid_path.write_text(f"{_dead_pid()}\n")  # a broker that died without cleaning up
    st = broker.start(config=cfg, quiet=True)
    try:
        assert st.running and st.reachable and st.port == cfg.port
        cluster = (cfg.data_dir / "meta.properties").read_text()
        servers = st.bootstrap_servers
        assert _round_trip(servers, "kept", [b"before restart"]) == [b"before restart"]
        broker.stop(config=cfg, quiet=True)
        assert not broker.status(cfg).running
        done = subprocess.run([sys.executable, "-m", "fresco.platform.services", "status", "kafka"],
                              capture_output=True, text=True, timeout=60,
                              env={"FRESCO_HOME": str(tmp_path), "FRESCO_KAFKA_PORT": str(cfg.port),
                                   "PATH": "/usr/bin:/bin"})
        assert done.returncode == 3, done.stdout + done.stderr
        st = broker.start(config=cfg, quiet=True)
        assert (cfg.data_dir / "meta.properties").read_text() == cluster  # formatted once
        assert _round_trip(st.bootstrap_servers, "kept", [b"after restart"], expect=2) == [b"before restart",
                                                                              b"after restart"]
    finally:
        broker.stop(config=cfg, quiet=True)
    assert not cfg.pid_path.exists()


def test_a_port_taken_by_another_process_is_refused_naming_it(tmp_path: Path) -> None:
    cfg = _private_config(tmp_path)
    with socket.socket() as taken:
        taken.bind((cfg.host, cfg.port))
        taken.listen()
        with pytest.raises(KafkaError, match=rf"{cfg.port} is already in use.*FRESCO_KAFKA_PORT"):
            broker.start(config=cfg, quiet=True)
    assert not cfg.pid_path.exists()


def test_a_broker_that_dies_at_once_fails_start_with_its_log(tmp_path: Path) -> None:
    cfg = _private_config(tmp_path)
    cfg.data_dir.mkdir(parents=True)
    (cfg.data_dir / "meta.properties").write_text("version=1\nnode.id=7\n")  # another node's storage
    with pytest.raises(KafkaError, match=r"(?s)exited.*Kafka's log: .*server\.log"):
        broker.start(config=cfg, quiet=True, timeout=60)
    assert not cfg.pid_path.exists()


def test_bad_jvm_settings_fail_before_anything_runs(tmp_path: Path) -> None:
    cfg = broker.BrokerConfig(home=tmp_path / "kafka", port=free_port(), controller_port=free_port(),
                              heap="not-a-size")
    with pytest.raises(KafkaError, match=r"(?s)formatting Kafka's storage failed.*-Xmsnot-a-size"):
        broker.start(config=cfg, quiet=True, timeout=60)
    assert not cfg.pid_path.exists()
