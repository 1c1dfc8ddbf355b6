"""A bare native engine served in a thread of its own, every write of each connection
recorded: what the engine's socket-level tests look at."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import websocket
from gevent import pywsgi

from flask_socketio.engine.native import NativeEngine
from flask_socketio.serving import _request_handler


class RecordingSocket:
    """A server socket that records each write: the bytes of each ``sendall`` and of
    what each ``send`` took, or with ``kinds`` ``("sendall", bytes)`` and
    ``("send", bytes taken)`` (a ``send`` is a direct, non-blocking write)."""

    def __init__(self, sock: Any, writes: list[Any], kinds: bool = False) -> None:
        self._sock_object = sock
        self._writes = writes
        self._kinds = kinds

    def _record(self, kind: str, data: bytes) -> None:
        self._writes.append((kind, data) if self._kinds else data)

    def sendall(self, data: bytes, *args: Any) -> Any:
        self._record("sendall", bytes(data))
        return self._sock_object.sendall(data, *args)

    def send(self, data: bytes, *args: Any) -> Any:
        sent = self._sock_object.send(data, *args)
        self._record("send", bytes(data[:sent]))
        return sent

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock_object, name)


class BareServer:
    """A bare NativeEngine at /engine.io/ in a thread with its own hub; every write on
    each connection is recorded (``writes``, one list per connection, in order; with
    ``record_kinds``, ``(kind, bytes)`` pairs: see :class:`RecordingSocket`)."""

    def __init__(self, on_message: Callable[[NativeEngine, str, Any], None],
                 record_kinds: bool = False, **options: Any) -> None:
        self.engine = NativeEngine(**options)
        self.engine.on("message", lambda sid, data: on_message(self.engine, sid, data))
        self.writes: list[list[Any]] = []
        writes = self.writes
        base = _request_handler()

        class Recording(base):  # type: ignore[misc, valid-type]
            def handle(self) -> None:
                record: list[Any] = []
                writes.append(record)
                self.socket = RecordingSocket(self.socket, record, record_kinds)
                super().handle()

        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self._handler = Recording
        self._started = threading.Event()
        self._stop: Callable[[], None] | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        assert self._started.wait(5)

    def _serve(self) -> None:
        server = pywsgi.WSGIServer(self.listener, self.engine.handle_request,
                                   handler_class=self._handler, log=None)
        hub = gevent.get_hub()
        self._stop = lambda: hub.loop.run_callback_threadsafe(server.stop, 1)
        server.start()
        self._started.set()
        server.serve_forever()

    @contextmanager
    def told_to_go(self) -> Iterator[websocket.WebSocket]:
        """A WebSocket session that has sent the message ``go`` and left the server
        half a second to act on it; closed at the end."""
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/engine.io/?EIO=4&transport=websocket", timeout=5)
        try:
            assert ws.recv().startswith("0")
            ws.send("4go")
            time.sleep(0.5)
            yield ws
        finally:
            ws.close()

    def close(self) -> None:
        assert self._stop is not None
        self._stop()
        self.thread.join(5)
        assert not self.thread.is_alive()
        self.listener.close()
