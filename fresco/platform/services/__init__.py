"""Local services Fresco starts for development and tests: a real Apache Cassandra 5.0 node and a
real Apache Kafka 4 broker (KRaft), both fetched from Maven Central with ``mvn``.

    from fresco.platform.services import cassandra, kafka
    cassandra.start()            # idempotent; downloads with mvn on the first call
    cassandra.contact_points()   # ["127.0.0.1:9042"]
    kafka.start()
    kafka.bootstrap_servers()    # "127.0.0.1:9092"

``fresco services start|stop|status|download [cassandra|kafka]`` is the command-line face
(``python -m fresco.platform.services`` too).
"""

from __future__ import annotations

from fresco.platform.services import cassandra, kafka
from fresco.platform.services.cassandra import CassandraError, CassandraUnavailable, NodeStatus
from fresco.platform.services.kafka import BrokerStatus, KafkaError
from fresco.platform.services.process import ServiceError

SERVICES = {"cassandra": cassandra, "kafka": kafka}

__all__ = ["SERVICES", "BrokerStatus", "CassandraError", "CassandraUnavailable", "KafkaError", "NodeStatus",
           "ServiceError", "cassandra", "kafka"]
