"""Local services Fresco starts for development and tests: a real Apache Cassandra 5.0 node.

    from fresco_platform.services import cassandra
    cassandra.start()            # idempotent; downloads with mvn on the first call
    cassandra.contact_points()   # ["127.0.0.1:9042"]
    cassandra.stop()

``python -m fresco_platform.services start|stop|status [cassandra]`` is the command-line face.
"""

from __future__ import annotations

from fresco_platform.services import cassandra
from fresco_platform.services.cassandra import CassandraError, CassandraUnavailable, NodeStatus

SERVICES = {"cassandra": cassandra}

__all__ = ["SERVICES", "CassandraError", "CassandraUnavailable", "NodeStatus", "cassandra"]
