"""A live test client's network, which a test can make fail (``drop()``)."""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from typing import Any


class SeverableConnections:
    """Makes a ``requests`` session whose connections can all be cut at once.

    Every socket its connections open is kept (weakly); :meth:`sever` refuses new
    requests and shuts the sockets down, as a network that fails would: the server
    sees the connection end. ``in_flight`` counts the requests under way by method.
    """

    def __init__(self, session: Any) -> None:
        import requests.adapters
        import urllib3

        adapter = self
        self.sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self.in_flight = {"GET": 0, "POST": 0}
        self.is_severed = False
        self.severed: list[Any] = []
        self.condition = threading.Condition()

        class Connection(urllib3.connection.HTTPConnection):
            def connect(self) -> None:
                super().connect()
                adapter.sockets.add(self.sock)

        class Pool(urllib3.HTTPConnectionPool):
            ConnectionCls = Connection

        class Adapter(requests.adapters.HTTPAdapter):
            def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                super().init_poolmanager(*args, **kwargs)
                self.poolmanager.pool_classes_by_scheme = {
                    **self.poolmanager.pool_classes_by_scheme, "http": Pool}

            def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
                with adapter.condition:
                    if adapter.is_severed:
                        raise requests.ConnectionError("the connection was dropped")
                    adapter.in_flight[request.method] = adapter.in_flight.get(
                        request.method, 0) + 1
                    adapter.condition.notify_all()
                try:
                    return super().send(request, *args, **kwargs)
                finally:
                    with adapter.condition:
                        adapter.in_flight[request.method] -= 1

        self.adapter = Adapter()
        session.mount("http://", self.adapter)

    def sever(self, extra: list[Any]) -> None:
        """Refuse new requests; shut down every open socket, and those of ``extra``."""
        with self.condition:
            self.is_severed = True
        self.severed = [*extra, *self.severed]
        for sock in [*self.sockets, *extra]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close_severed(self) -> None:
        """Once their users have ended: close the pooled connections, then every socket
        cut (a connection whose request failed is dropped by the pool unclosed)."""
        self.adapter.poolmanager.clear()
        for sock in [*self.sockets, *self.severed]:
            sock.close()
        self.severed = []

    def restore(self) -> None:
        with self.condition:
            self.is_severed = False
