"""Which Kafka a stream uses, and the names Fresco gives the topics it writes."""

from __future__ import annotations

import os
from typing import Any


def kafka_bootstrap_servers(source: Any | None = None) -> str:
    """The one rule for a stream's brokers: ``$FRESCO_KAFKA_BOOTSTRAP_SERVERS``, else the servers
    registered on ``source`` (a Feast ``KafkaSource``), else the local broker Fresco runs
    (``fresco services start kafka``: ``$FRESCO_KAFKA_HOST:$FRESCO_KAFKA_PORT``)."""
    configured = os.environ.get("FRESCO_KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if configured:
        return configured
    registered = getattr(getattr(source, "kafka_options", None), "kafka_bootstrap_servers", None)
    if registered:
        return str(registered)
    from fresco.platform.services.kafka import bootstrap_servers

    return bootstrap_servers()


def prefixed_topic(name: str) -> str:
    """**The** rule for the name of a topic Fresco reads or writes: ``name`` after
    ``$FRESCO_KAFKA_TOPIC_PREFIX`` (environments or test runs sharing one broker keep apart)."""
    return os.environ.get("FRESCO_KAFKA_TOPIC_PREFIX", "") + name


def topic_of(source: Any) -> str:
    """The topic a ``KafkaSource`` is read from and published to: its registered topic, prefixed
    (:func:`prefixed_topic`)."""
    return prefixed_topic(source.kafka_options.topic)


def dead_letter_topic(topic: str) -> str:
    """Where malformed events of ``topic`` go, each with its reason."""
    return f"{topic}.dead-letter"


def ensure_topics(servers: str, topics: list[str], *, partitions: int = 1, timeout: float = 30) -> list[str]:
    """Create those of ``topics`` the brokers do not have yet (``partitions`` each, the brokers'
    default replication); returns the ones created. A stream job starts before any producer may
    have written: Spark's Kafka reader does not create its topic and fails without it."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": servers})
    try:
        present = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise ConnectionError(f"no Kafka broker answers at {servers}: {exc}") from None
    missing = [t for t in dict.fromkeys(topics) if t not in present]
    if not missing:
        return []
    futures = admin.create_topics([NewTopic(t, num_partitions=partitions) for t in missing],
                                  operation_timeout=timeout)
    created = []
    for topic, future in futures.items():
        try:
            future.result(timeout)
            created.append(topic)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another starter won the race
                raise
    return created


def brokers_answer(servers: str, timeout: float = 5) -> bool:
    """Whether a broker at ``servers`` answers a metadata request within ``timeout`` seconds."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": servers, "socket.connection.setup.timeout.ms": int(timeout * 1000)}
                    ).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True
