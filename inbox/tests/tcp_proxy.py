"""A TCP proxy a fault test can cut: between the app's processes and PostgreSQL (or
any server), so that a test makes "the database is gone" happen on purpose without
touching the real server other tests use.

``refuse()`` drops every open connection and refuses new ones until ``restore()``;
``hold(marker, seconds)`` delays each client chunk carrying ``marker`` (a request
line) before passing it on; ``stall(marker, after=n)`` lets ``n`` client chunks
carrying ``marker`` through and holds the next one until ``release(deliver=...)``
passes it on or drops its connection (it never reaches the server), so a test acts
while a request is in flight without racing a timer; ``kill_at(marker)`` lets
traffic through until a client sends ``marker`` (for PostgreSQL, the ``COMMIT`` of
a transaction), then drops that connection and every other one instead of
forwarding it: the server never sees the commit and rolls the transaction back, as
it does when the network fails at the worst moment.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from types import TracebackType

# PostgreSQL's simple-query message carrying COMMIT, as psycopg sends it.
PG_COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._refusing = False
        self._marker: bytes | None = None
        self.killed = threading.Event()
        self._hold: tuple[bytes, float] | None = None
        self.holding = 0  # requests being held right now
        self.held = 0  # requests held so far
        self._stall: tuple[bytes, int] | None = None
        self.stalled = threading.Event()  # the stalled request has arrived
        self._released = threading.Event()
        self._deliver = True
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def refuse(self) -> None:
        with self._lock:
            self._refusing = True
            self._drop_all()

    def restore(self) -> None:
        with self._lock:
            self._refusing = False
            self._marker = None

    def hold(self, marker: bytes, seconds: float) -> None:
        with self._lock:
            self._hold = (marker, seconds)

    def stall(self, marker: bytes, *, after: int) -> None:
        with self._lock:
            self._stall = (marker, after)
            self.stalled.clear()
            self._released.clear()

    def release(self, *, deliver: bool) -> None:
        """Pass the stalled request on, or drop it with its connection: it never
        reaches the server."""
        with self._lock:
            self._stall = None
            self._deliver = deliver
        self._released.set()

    def kill_at(self, marker: bytes) -> None:
        self.killed.clear()
        with self._lock:
            self._marker = marker

    def stop(self) -> None:
        self._stopped = True
        self._released.set()
        with self._lock:
            self._drop_all()
        self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _drop_all(self) -> None:
        for client, server in self._pairs:
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._pairs.clear()

    def _stalls(self, data: bytes) -> bool:
        """Whether this chunk is the one to stall (only one is)."""
        with self._lock:
            if self._stall is None or self.stalled.is_set() or self._stall[0] not in data:
                return False
            marker, after = self._stall
            if after > 0:
                self._stall = (marker, after - 1)
                return False
            return True

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        peers = {client: server, server: client}
        try:
            while True:
                readable, _, _ = select.select(list(peers), [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        if self._stalls(data):
                            self.stalled.set()
                            self._released.wait()
                            if not self._deliver:
                                return
                        with self._lock:
                            hold = self._hold
                        if hold is not None and hold[0] in data:
                            with self._lock:
                                self.holding += 1
                                self.held += 1
                            time.sleep(hold[1])
                            with self._lock:
                                self.holding -= 1
                        with self._lock:
                            marker = self._marker
                            if marker is not None and marker in data:
                                self._marker = None
                                self._drop_all()
                                self.killed.set()
                                return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                if (client, server) in self._pairs:
                    self._pairs.remove((client, server))
            for sock in (client, server):
                sock.close()
