"""python-socketio's Admin UI instrumentation (``socketio.server.instrument()``) on a
live server: an admin client of the ``/admin`` namespace sees the live connections.

The admin side is python-socketio's own ``Client``, as the Admin UI's would be; the
engine is ours (native, the default) or python-engineio's.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio

from flask_socketio.testing import LiveServer

from .live_app import create_app
from .support import instrumented_server

TIMEOUT = 5


class Watcher:
    """A python-socketio client of one namespace whose events land in a queue."""

    def __init__(self, url: str, namespace: str, transport: str) -> None:
        self.events: queue.Queue[tuple[str, tuple]] = queue.Queue()
        self.http = requests.Session()
        self.sio = socketio.Client(reconnection=False, handle_sigint=False,
                                   http_session=self.http)
        self.sio.on("*", lambda event, *args: self.events.put((event, args)),
                    namespace=namespace)
        self.sio.connect(url, namespaces=[namespace], transports=[transport],
                         wait_timeout=TIMEOUT)

    def next(self, event: str, where: Any = None) -> tuple:
        """The arguments of the next ``event`` for which ``where(args)`` holds."""
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                name, args = self.events.get(timeout=left)
            except queue.Empty:
                break
            if name == event and (where is None or where(args)):
                return args
        raise AssertionError(f"no {event!r} within {TIMEOUT}s")

    def close(self) -> None:
        self.sio.shutdown()
        self.http.close()


@pytest.fixture(params=["native", "engineio"])
def instrumented(request) -> Iterator[tuple[LiveServer, Any]]:
    app, socketio_ = create_app(engine=request.param, ping_interval=1)
    admin = socketio_.server.instrument(auth=False, server_stats_interval=0.5)
    with instrumented_server(app, admin) as server:
        yield server, admin


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_admin_namespace_sees_live_connections(instrumented, transport):
    server, _ = instrumented
    watchers: list[Watcher] = []
    try:
        admin = Watcher(server.url, "/admin", "websocket")
        watchers.append(admin)
        config = admin.next("config")[0]
        assert "ALL_EVENTS" in config["supportedFeatures"]
        admin.next("all_sockets")

        user = Watcher(server.url, "/", transport)
        watchers.append(user)
        user_sid = user.sio.get_sid("/")
        connected = admin.next("socket_connected", lambda args: args[0]["nsp"] == "/")[0]
        assert connected["id"] == user_sid
        assert connected["handshake"]["address"] == "127.0.0.1"

        assert user.sio.call("echo", "hi", timeout=TIMEOUT) == "hi"
        received = admin.next("event_received", lambda args: args[1] == user_sid)
        assert received[0] == "/" and received[2] == ["echo", "hi"]

        stats = admin.next("server_stats", lambda args: args[0]["clientsCount"] == 2)[0]
        polling = 1 if transport == "polling" else 0
        assert stats["pollingClientsCount"] == polling
        assert {"name": "/", "socketsCount": 1} in stats["namespaces"]

        user.close()
        watchers.remove(user)
        disconnected = admin.next("socket_disconnected", lambda args: args[1] == user_sid)
        assert disconnected[0] == "/"
    finally:
        for watcher in watchers:
            watcher.close()


def test_engine_settings_are_read_on_the_router(instrumented):
    server, admin = instrumented
    eio = admin.sio.eio
    assert eio.ping_interval == 1 and eio.allow_upgrades is True
    assert eio.transports == ["polling", "websocket"]
    assert len(eio.sockets) == 0  # the start-up probe's session is closed
    with pytest.raises(KeyError):
        eio._get_socket("nobody")
