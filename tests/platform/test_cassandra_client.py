"""The CQL client every part uses: fails fast on a port where nothing listens, in words."""

from __future__ import annotations

import socket

import pytest

from fresco.platform.cassandra_client import CassandraUnavailable, connect, describe_failure


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(60)
def test_no_node_is_one_readable_line_naming_the_host() -> None:
    target = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(CassandraUnavailable) as err:
        connect([target], timeout=3)
    message = str(err.value)
    assert message.startswith(f"cannot reach Cassandra at {target}: ")
    assert f"{target}: connection refused" in message, message
    assert "{" not in message and "ConnectionRefusedError(" not in message, message
    # the driver's own exception, described the same way wherever it surfaces (serving's 503)
    assert describe_failure(err.value.__cause__) == message.removeprefix(f"cannot reach Cassandra at {target}: ")
