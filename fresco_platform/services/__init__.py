"""Local services Fresco starts for development and tests: a real Apache Cassandra 5.0 node and a
real Apache Kafka 4 broker (KRaft), both fetched from Maven Central with ``mvn``.

    from fresco_platform.services import cassandra, kafka
    cassandra.start()            # idempotent; downloads with mvn on the first call
    cassandra.contact_points()   # ["127.0.0.1:9042"]
    kafka.start()
    kafka.bootstrap_servers()    # "127.0.0.1:9092"

``fresco services start|stop|status|download [cassandra|kafka]`` is the command-line face
(``python -m fresco_platform.services`` too).
"""

from __future__ import annotations

from fresco_platform.services import cassandra, kafka
from fresco_platform.services.cassandra import CassandraError, CassandraUnavailable, NodeStatus
from fresco_platform.services.kafka import BrokerStatus, KafkaError
from fresco_platform.services.process import ServiceError

SERVICES = {"cassandra": cassandra, "kafka": kafka}

__all__ = ["SERVICES", "BrokerStatus", "CassandraError", "CassandraUnavailable", "KafkaError", "NodeStatus",
           "ServiceError", "cassandra", "kafka"]
