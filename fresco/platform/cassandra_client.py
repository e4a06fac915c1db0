"""A CQL session on any Cassandra cluster (production or the local node), failing fast and
naming the hosts; and the one way a driver failure is told to a person."""

from __future__ import annotations

from typing import Any

DEFAULT_PORT = 9042


class CassandraUnavailable(ConnectionError):
    """No CQL server answers on the contact points (the message names them and why)."""


def split_hostport(value: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """``"host:port"`` (or a bare ``"host"``) as ``(host, port)``."""
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, default_port


def describe_failure(exc: BaseException) -> str:
    """A driver error as one readable line: ``NoHostAvailable``'s per-host errors spelled out
    (``127.0.0.1:9042: connection refused``), not the driver's tuple repr."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict) and errors:
        lead = exc.args[0] if exc.args and isinstance(exc.args[0], str) else type(exc).__name__
        parts = []
        for host, error in errors.items():
            text = getattr(error, "strerror", None) or str(error) or type(error).__name__
            if isinstance(error, ConnectionRefusedError):
                text = "connection refused"
            parts.append(f"{host}: {text}")
        return f"{lead.rstrip('.')}: {'; '.join(parts)}"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text


def connect(hosts: list[str], *, keyspace: str | None = None, timeout: float = 10,
            port: int = DEFAULT_PORT) -> Any:
    """A cassandra-driver ``Session`` on ``hosts`` (``host`` or ``host:port``); close it with
    ``session.cluster.shutdown()``. Fails within about ``timeout`` seconds with
    :class:`CassandraUnavailable` naming the hosts when nothing answers, instead of hanging."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
    from cassandra.policies import RoundRobinPolicy

    points = [split_hostport(h, port) for h in hosts]
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout)
    cluster = Cluster(
        contact_points=[h for h, _ in points], port=points[0][1],
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        connect_timeout=timeout, control_connection_timeout=timeout, protocol_version=5,
    )
    try:
        return cluster.connect(keyspace)
    except NoHostAvailable as exc:
        cluster.shutdown()
        raise CassandraUnavailable(f"cannot reach Cassandra at {', '.join(hosts)}: {describe_failure(exc)}") from exc
    except Exception:
        cluster.shutdown()
        raise
