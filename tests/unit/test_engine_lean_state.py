"""Per-connection state of the native engine kept small: the greenlets a session (and
the embedded server, per connection) spawns keep no copy of their spawner's stack."""

from __future__ import annotations

import gevent
from flask import Flask

from flask_socketio import SocketIO
from flask_socketio.engine.native import LeanGreenlet, Session
from flask_socketio.serving import build_server


class IdleWebSocket:
    def receive(self):
        return None

    def send_batch(self, messages) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def test_a_lean_greenlet_keeps_no_spawning_stack():
    assert gevent.spawn(lambda: None).spawning_stack is not None  # gevent's default
    assert LeanGreenlet.spawn(lambda: None).spawning_stack is None


def test_a_sessions_writer_and_worker_are_lean():
    app = Flask(__name__)
    socketio = SocketIO(app)
    engine = socketio.server.eio.network
    session = Session(engine, "sid", {}, "websocket")
    session.attach_websocket(IdleWebSocket(), [])
    assert type(session.writer) is LeanGreenlet
    assert session.hand_to_worker(lambda: None, ())
    assert type(session.worker) is LeanGreenlet
    session.is_closed = True
    session.end_websocket(abort=True)
    session.stop_worker()
    gevent.sleep(0)


def test_the_embedded_server_spawns_lean_greenlets_per_connection():
    app = Flask(__name__)
    socketio = SocketIO(app)
    server = build_server(socketio, app, host="127.0.0.1", port=0)._make_wsgi_server()
    assert server._spawn == LeanGreenlet.spawn  # made, never started: nothing listens


def test_the_websocket_reader_loop_runs_as_the_response_iterable():
    """A WebSocket's read loop is the iterable the WSGI callable returns, run by the
    server after the call returned: the connection's greenlet parks in it without the
    frames of the WSGI middleware on its stack (~1.6 KB less per connection,
    bench/PROFILE.md). Nothing is read before the server iterates it."""
    app = Flask(__name__)
    socketio = SocketIO(app)
    engine = socketio.server.eio.network
    session = Session(engine, "sid", {}, "websocket")
    reads: list[str] = []

    class OneFrameWebSocket(IdleWebSocket):
        def receive(self):
            reads.append("receive")
            return None

    transport = OneFrameWebSocket()
    session.attach_websocket(transport, [])
    loop = engine._read_websocket(session, transport)
    assert reads == []  # made, not run
    assert list(loop) == [] and reads == ["receive"]
    assert session.is_closed
    gevent.sleep(0)
