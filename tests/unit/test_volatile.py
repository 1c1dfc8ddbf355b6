"""Volatile emits in-process: delivered to a ready client, dropped (and counted) for a
stalled one, never queued; every way to emit takes ``volatile=True``."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask

from flask_socketio import Namespace, SocketIO, emit, send

pytestmark = pytest.mark.socketio_leak_guard


class Feed(Namespace):
    def on_tick(self, n):
        self.emit("tick", n, volatile=True)

    def on_note(self, text):
        self.send(text, volatile=True)


def make_app() -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("position")
    def position(x):
        emit("position", x, volatile=True)
        send({"x": x}, json=True, volatile=True)
        emit("saved", x)

    socketio.on_namespace(Feed("/feed"))
    return app, socketio


def test_a_ready_client_gets_volatile_emits_and_nothing_is_dropped():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("position", 1)
    assert [(r.name, r.args) for r in client.get_received()] == [
        ("position", [1]), ("json", {"x": 1}), ("saved", [1])]
    assert socketio.stats == {"volatile_dropped": 0}


def test_a_stalled_client_loses_volatile_emits_and_gets_the_others_when_it_resumes():
    app, socketio = make_app()
    client = socketio.test_client(app)
    other = socketio.test_client(app)
    with client.stall():
        client.emit("position", 2)  # the client can still send
        socketio.emit("broadcast", "fast", volatile=True)
        socketio.send("message", volatile=True, to=client.sid)
        socketio.emit("broadcast", "slow")
        assert client.get_received() == []
    assert [(r.name, r.args) for r in client.get_received()] == [
        ("saved", [2]), ("broadcast", ["slow"])]
    assert [(r.name, r.args) for r in other.get_received()] == [
        ("broadcast", ["fast"]), ("broadcast", ["slow"])]
    assert socketio.stats == {"volatile_dropped": 4}
    socketio.emit("broadcast", "after", volatile=True)
    client.assert_received("broadcast", "after")


def test_class_namespace_emit_and_send_take_volatile():
    app, socketio = make_app()
    client = socketio.test_client(app, namespace="/feed")
    client.emit("tick", 1, namespace="/feed")
    client.stall()
    client.emit("tick", 2, namespace="/feed")
    client.emit("note", "lost", namespace="/feed")
    client.resume()
    client.emit("note", "kept", namespace="/feed")
    assert [(r.name, r.args) for r in client.get_received("/feed")] == [
        ("tick", [1]), ("message", "kept")]
    assert socketio.stats["volatile_dropped"] == 2


def test_binary_volatile_emits_arrive_whole_or_not_at_all():
    app, socketio = make_app()
    client = socketio.test_client(app)
    blob = {"data": b"\x00\x01", "more": [b"\xff"]}
    socketio.emit("blob", blob, volatile=True)
    client.assert_received("blob", blob)
    with client.stall():
        socketio.emit("blob", blob, volatile=True)
    socketio.emit("blob", {"after": b"!"}, volatile=True)
    assert [r.args for r in client.get_received()] == [[{"after": b"!"}]]
    assert socketio.stats["volatile_dropped"] == 1


def test_stall_misuse_is_an_error():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.raises(RuntimeError, match="not stalled"):
        client.resume()
    client.stall()
    with pytest.raises(RuntimeError, match="already stalled"):
        client.stall()
    client.resume()
    client.close()
    with pytest.raises(RuntimeError, match="no open connection"):
        client.stall()


def test_the_volatile_flag_travels_through_the_message_queue():
    queue_url = "memory://" + uuid.uuid4().hex
    app1 = Flask(__name__)
    node1 = SocketIO(app1, message_queue=queue_url)
    app2 = Flask(__name__)
    node2 = SocketIO(app2, message_queue=queue_url)
    alice = node1.test_client(app1)
    bob = node2.test_client(app2)
    with bob.stall():
        node1.emit("position", 1, volatile=True)
        node1.emit("saved", 1)
        alice.assert_received("position", 1)
        alice.assert_received("saved", 1)
    bob.assert_received("saved", 1)
    bob.assert_nothing_received()
    assert node2.stats == {"volatile_dropped": 1}
    assert node1.stats == {"volatile_dropped": 0}
    emitter = SocketIO(message_queue=queue_url)  # write-only, through the queue alone
    with bob.stall():
        emitter.emit("position", 2, volatile=True)
        alice.assert_received("position", 2)
    bob.assert_nothing_received()
    emitter.emit("position", 3, volatile=True)
    bob.assert_received("position", 3)
