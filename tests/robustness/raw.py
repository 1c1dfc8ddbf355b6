"""Raw Engine.IO message payloads into a server, in-process and live.

:class:`RawInProcessSocket` opens an in-process Engine.IO session and sends any
string or bytes as one Engine.IO message, bypassing every client-side encoder, so
tests can send what no well-behaved client would. The live helpers do the same over
a real WebSocket (websocket-client) and over HTTP long-polling (requests).
"""

from __future__ import annotations

import json
from typing import Any

import flask
from werkzeug.test import EnvironBuilder

from flask_socketio import SocketIO, emit
from flask_socketio.context import ENGINE_KEY
from flask_socketio.testing.inprocess import in_process_engine


def make_echo_app(**options: Any) -> tuple[flask.Flask, SocketIO]:
    """An app whose ``echo`` event is echoed back and acknowledged."""
    app = flask.Flask(__name__)
    socketio = SocketIO(app, **options)

    @socketio.on("echo")
    def echo(*args: Any) -> Any:
        emit("echo", args[0] if len(args) == 1 else list(args))
        return "ok"

    @socketio.on("echo", namespace="/chat")
    def echo_chat(*args: Any) -> Any:
        emit("echo", args[0] if len(args) == 1 else list(args), namespace="/chat")
        return "ok"

    return app, socketio


class RawInProcessSocket:
    """One in-process Engine.IO session that sends raw message payloads."""

    def __init__(self, app: flask.Flask, socketio: SocketIO) -> None:
        server = socketio._require_server()
        self.engine = in_process_engine(server.eio)
        self.scheduler = self.engine.scheduler
        builder = EnvironBuilder("/socket.io/")
        environ = builder.get_environ()
        builder.close()
        environ["flask.app"] = app
        environ[ENGINE_KEY] = self.engine
        self.received: list[Any] = []
        self.close_reason: str | None = None
        self.socket = self.engine.open(environ, self)
        self.sid = self.socket.sid

    # the socket's peer (flask_socketio.testing.inprocess.SocketPeer)

    def _on_payload(self, payload: Any) -> None:
        self.received.append(payload)

    def _on_close(self, reason: str) -> None:
        self.close_reason = reason

    def _record_room_change(self, sid: str, namespace: str, room: Any, joined: bool) -> None:
        pass

    @property
    def is_closed(self) -> bool:
        return self.socket.is_closed

    def send(self, *payloads: str | bytes) -> None:
        """Send each payload as one Engine.IO message (ignored once closed), then run."""
        for payload in payloads:
            if self.socket.is_closed:
                break
            self.socket.send(payload)
        self.scheduler.run_pending()

    def close(self) -> None:
        if not self.socket.is_closed:
            self.socket.close()
        self.scheduler.run_pending()


def live_handshake(base_url: str, session: Any, path: str = "socket.io") -> str:
    """Open a polling Engine.IO session with ``requests``; return its sid."""
    response = session.get(f"{base_url}/{path}/", params={"EIO": "4", "transport": "polling"},
                           timeout=5)
    response.raise_for_status()
    assert response.text.startswith("0"), response.text
    return json.loads(response.text[1:])["sid"]


class RawWebSocket:
    """A WebSocket Engine.IO session opened directly (no polling first), raw frames."""

    def __init__(self, base_url: str, path: str = "socket.io", timeout: float = 3,
                 **options: Any) -> None:
        import websocket

        url = base_url.replace("http", "ws", 1) + f"/{path}/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=timeout, **options)
        self._socket = self.ws.sock  # websocket-client may drop it unclosed on errors
        opened = self.ws.recv()
        assert opened.startswith("0{"), opened
        self.sid = json.loads(opened[1:])["sid"]

    def send_text(self, text: str) -> None:
        self.ws.send(text)

    def send_binary(self, data: bytes) -> None:
        self.ws.send_binary(data)

    def send_raw_text_frame(self, data: bytes) -> None:
        """A text frame whose bytes may not be UTF-8."""
        import websocket

        self.ws.send(data, opcode=websocket.ABNF.OPCODE_TEXT)

    def read_until_closed(self, limit: int = 50) -> list[Any]:
        """What the server sends until it closes (bounded by ``limit`` frames and the
        socket timeout); ``'<timeout>'`` last if it never closed."""
        import websocket

        frames: list[Any] = []
        for _ in range(limit):
            try:
                opcode, data = self.ws.recv_data()
            except (websocket.WebSocketTimeoutException, TimeoutError):
                frames.append("<timeout>")
                return frames
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                frames.append("<closed>")
                return frames
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                frames.append("<closed>")
                return frames
            frames.append(data.decode() if opcode == websocket.ABNF.OPCODE_TEXT else data)
        return frames

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except Exception:
            self.ws.shutdown()
        finally:
            self._socket.close()


class RawPolling:
    """A long-polling Engine.IO session driven with ``requests``."""

    def __init__(self, base_url: str, path: str = "socket.io") -> None:
        import requests

        self.http = requests.Session()
        self.url = f"{base_url}/{path}/"
        self.sid = live_handshake(base_url, self.http, path)

    def _params(self) -> dict:
        return {"EIO": "4", "transport": "polling", "sid": self.sid}

    def post(self, body: str | bytes, timeout: float = 3) -> Any:
        return self.http.post(self.url, params=self._params(), data=body, timeout=timeout)

    def get(self, timeout: float = 3) -> Any:
        return self.http.get(self.url, params=self._params(), timeout=timeout)

    def close(self) -> None:
        self.http.close()


def wait_for(condition: Any, timeout: float = 3.0, interval: float = 0.02) -> bool:
    """Poll ``condition()`` until true or ``timeout`` seconds passed."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
