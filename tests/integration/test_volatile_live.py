"""Volatile emits live, on both network engines and both transports: sent when the
transport is ready, dropped (and counted) when it is not, never queued.

A volatile emit is sent only if the client's transport can take it at once: on our
engine, WebSocket with no write in flight, or long-polling with a poll waiting and
nothing queued for it (the reference server's rule); python-engineio, best effort,
takes it when the session is connected, not upgrading, with nothing queued.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from flask import Flask, jsonify

from flask_socketio import SocketIO, emit
from flask_socketio.testing import LiveServer

ENGINES = ["native", "engineio"]
TRANSPORTS = ["websocket", "polling"]
BURST = 20


def add_burst_handler(socketio: SocketIO) -> None:
    """``burst(count)``: ``count`` volatile ``position`` events, then ``done``; the
    acknowledgement is how many of them the server dropped."""

    @socketio.on("burst")
    def burst(count: int) -> int:
        before = socketio.stats["volatile_dropped"]
        for n in range(count):
            emit("position", n, volatile=True)
        emit("done", count)
        return socketio.stats["volatile_dropped"] - before


def create_volatile_app(engine: str, **options: Any) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    socketio = SocketIO(app, engine=engine, **options)

    add_burst_handler(socketio)

    @socketio.on("one")
    def one() -> bool:
        emit("position", "one", volatile=True)
        return True

    @app.route("/push/<sid>")
    def push(sid: str):
        socketio.emit("kept", "queued", to=sid)
        socketio.emit("position", "pushed", to=sid, volatile=True)
        return jsonify(socketio.stats)

    return app, socketio


@pytest.fixture(params=ENGINES)
def server(request: pytest.FixtureRequest):
    app, _ = create_volatile_app(request.param)
    with LiveServer(app) as live:
        yield live


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_volatile_burst_sends_what_the_transport_takes_and_drops_the_rest(server, transport):
    client = server.client(transports=[transport])
    dropped = client.call("burst", BURST, timeout=10)
    client.receive("done", timeout=10)
    positions = [record.args[0] for record in client.get_received() if record.name == "position"]
    # the first may go (the transport was idle), the others find a write in flight
    assert dropped >= BURST - 1
    assert len(positions) + dropped == BURST
    assert positions in ([], [0])


def test_a_volatile_emit_to_an_idle_websocket_client_arrives(server):
    # (on long-polling it arrives only if a poll is waiting at that moment)
    client = server.client(transports=["websocket"])
    assert client.call("one", timeout=10) is True
    assert client.receive("position", timeout=10).args == ["one"]
    assert server.socketio.stats == {"volatile_dropped": 0}


def test_a_client_that_does_not_read_loses_volatile_emits_and_keeps_the_others(server):
    http = requests.Session()
    url = f"{server.url}/socket.io/"
    try:
        opened = http.get(url, params={"EIO": "4", "transport": "polling"}, timeout=5)
        eio_sid = json.loads(opened.text[1:])["sid"]
        params = {"EIO": "4", "transport": "polling", "sid": eio_sid}
        assert http.post(url, params=params, data="40", timeout=5).text.lower() == "ok"
        connected = http.get(url, params=params, timeout=5).text
        assert connected.startswith("40{")
        sid = json.loads(connected[2:])["sid"]
        # no poll is waiting: the first emit is queued, the volatile one is dropped
        stats = http.get(f"{server.url}/push/{sid}", timeout=5).json()
        assert stats == {"volatile_dropped": 1}
        assert http.get(url, params=params, timeout=5).text == '42["kept","queued"]'
    finally:
        http.close()


def test_a_volatile_message_over_the_queue_bound_is_dropped_and_the_session_stays():
    app, socketio = create_volatile_app("native", max_queued_bytes=2000)
    big = "x" * 3000

    @socketio.on("big")
    def send_big() -> bool:
        emit("position", big, volatile=True)
        return True

    with LiveServer(app) as live:
        client = live.client(transports=["websocket"])
        assert client.call("big", timeout=10) is True
        assert client.call("one", timeout=10) is True
        assert client.receive("position", timeout=10).args == ["one"]
        assert socketio.stats == {"volatile_dropped": 1}
        assert client.is_connected()
