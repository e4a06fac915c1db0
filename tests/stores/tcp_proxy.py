"""A TCP forwarder in front of the real Cassandra node, to cut the network and bring it back.

An outage of the shared node is simulated on the path to it: :meth:`TcpProxy.cut` resets every
forwarded connection, and while cut every new connection is reset as soon as it is accepted
(a client sees its connection fail, as from a stopped node) and its time recorded, so a test can
see when the client tries again (:meth:`TcpProxy.wait_for_attempt`); :meth:`TcpProxy.restore`
forwards again. Stopping the real node instead would cost a minute per start and take it away
from every other test.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from types import TracebackType


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target`` (``"host:port"``) until closed."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.port = 0
        self._lock = threading.Lock()
        self._live: list[socket.socket] = []
        self._forwarding = True
        self._attempts: list[float] = []  # monotonic times of connections refused while cut
        self._changed = threading.Condition(self._lock)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def restore(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._forwarding = True

    def cut(self) -> None:
        """Reset every forwarded connection (RST, not a polite close) and every new one."""
        with self._lock:
            self._forwarding = False
            live, self._live = self._live, []
        for sock in live:
            _reset(sock)

    def wait_for_attempt(self, after: float, timeout: float) -> float | None:
        """The time (``time.monotonic()``) of the first connection refused at or after ``after``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                later = [t for t in self._attempts if t >= after]
                if later:
                    return later[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def close(self) -> None:
        self.cut()
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _accept(self) -> None:
        while (listener := self._listener) is not None:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by close()
                return
            with self._lock:
                forwarding = self._forwarding
                if not forwarding:
                    self._attempts.append(time.monotonic())
                    self._changed.notify_all()
            if not forwarding:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._live += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _reset(sock: socket.socket) -> None:
    """Close with an RST (linger 0), as a connection to a node that went away ends."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
