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
from flask_socketio.context import INPROCESS_KEY


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
        self.engine = server.eio.attach_inprocess()
        self.scheduler = self.engine.scheduler
        builder = EnvironBuilder("/socket.io/")
        environ = builder.get_environ()
        builder.close()
        environ["flask.app"] = app
        environ[INPROCESS_KEY] = self.engine
        self.received: list[Any] = []
        self.close_reason: str | None = None
        self.socket = self.engine.open(environ, self.received.append, self._closed)
        self.sid = self.socket.sid

    def _closed(self, reason: str) -> None:
        self.close_reason = reason

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
