"""RateLimit: a per-connection token bucket refusing events with an error ack, on the
virtual clock."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_socketio import RateLimit, SocketIO

pytestmark = pytest.mark.socketio_leak_guard


def make_app(limit: RateLimit, namespace: str | None = None) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    socketio = SocketIO(app)
    socketio.before_event(limit, namespace=namespace)
    socketio.on_event("ping", lambda n=None: ["pong", n])
    socketio.on_event("ping", lambda n=None: ["chat pong", n], namespace="/chat")
    socketio.on_event("free", lambda: "free")
    return app, socketio


def test_a_burst_then_refusals_until_the_bucket_refills(socketio_clock):
    app, socketio = make_app(RateLimit(2, per=1.0, burst=3))
    client = socketio.test_client(app)
    assert [client.emit("ping", n, callback=True) for n in range(3)] == [
        ["pong", 0], ["pong", 1], ["pong", 2]]
    assert client.emit("ping", 3, callback=True) == {"error": "rate limit exceeded",
                                                     "retry_after": 0.5}
    socketio_clock.advance(0.25)
    assert client.emit("ping", 4, callback=True) == {"error": "rate limit exceeded",
                                                     "retry_after": 0.25}
    socketio_clock.advance(0.25)
    assert client.emit("ping", 5, callback=True) == ["pong", 5]
    assert client.emit("ping", 6, callback=True)["error"] == "rate limit exceeded"
    socketio_clock.advance(100)  # a full bucket, never more than burst
    acks = [client.emit("ping", callback=True) for _ in range(4)]
    assert acks[:3] == [["pong", None]] * 3
    assert acks[3] == {"error": "rate limit exceeded", "retry_after": 0.5}
    assert client.is_connected()


def test_each_connection_and_namespace_has_its_own_bucket(socketio_clock):
    app, socketio = make_app(RateLimit(1, per=10))
    first = socketio.test_client(app)
    second = socketio.test_client(app)
    first.connect("/chat")
    assert first.emit("ping", callback=True) == ["pong", None]
    assert first.emit("ping", callback=True)["error"] == "rate limit exceeded"
    assert second.emit("ping", callback=True) == ["pong", None]
    assert first.emit("ping", namespace="/chat", callback=True) == ["chat pong", None]


def test_only_the_named_events_count_and_connect_never_does(socketio_clock):
    app, socketio = make_app(RateLimit(1, per=60, events=["ping"]))
    client = socketio.test_client(app)
    client.disconnect()
    client.connect()  # connects are not limited
    assert client.emit("ping", callback=True) == ["pong", None]
    assert [client.emit("free", callback=True) for _ in range(5)] == ["free"] * 5
    assert client.emit("ping", callback=True)["error"] == "rate limit exceeded"


def test_a_limit_can_disconnect_the_client_and_serve_one_namespace(socketio_clock):
    app, socketio = make_app(RateLimit(1, per=60, message="slow down", disconnect=True),
                             namespace="/chat")
    client = socketio.test_client(app, namespace="/chat")
    client.connect("/")
    assert client.emit("ping", namespace="/chat", callback=True) == ["chat pong", None]
    assert client.emit("ping", namespace="/chat", callback=True) == {
        "error": "slow down", "retry_after": 60.0}
    assert not client.is_connected("/chat")
    assert [client.emit("ping", callback=True) for _ in range(3)] == [["pong", None]] * 3


@pytest.mark.parametrize("arguments", [dict(rate=0), dict(rate=1, per=0),
                                       dict(rate=1, burst=0), dict(rate=1, burst=1.5)])
def test_bad_limits_are_refused(arguments):
    with pytest.raises(ValueError):
        RateLimit(**arguments)
