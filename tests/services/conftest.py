"""The real local Cassandra node for tests (see fresco.services.cassandra)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def cassandra() -> Iterator[list[str]]:
    """Start the local Cassandra 5.0 node (idempotent) and yield its contact points, ``["host:port"]``.

    The first run on a machine downloads Cassandra with mvn. A node that was already running before
    the tests is left running; one started here is stopped at the end unless
    ``FRESCO_CASSANDRA_KEEP=1`` (keeps later test runs fast).
    """
    from fresco.services import cassandra as node

    was_running = node.status().running
    status = node.start(timeout=300)
    yield status.contact_points
    if not was_running and os.environ.get("FRESCO_CASSANDRA_KEEP", "") not in ("1", "true", "yes"):
        node.stop()
