"""The public API a Flask-SocketIO 5.x app imports, and peer-style usage of it."""

from __future__ import annotations

import inspect

import pytest
import socketio.exceptions
from flask import Flask, request

import flask_socketio
from flask_socketio import Namespace, SocketIO, emit, send

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    return app, SocketIO(app, **options)


PEER_NAMES = ["SocketIO", "Namespace", "emit", "send", "call", "join_room", "leave_room",
              "close_room", "rooms", "disconnect", "ConnectionRefusedError",
              "SocketIOTestClient"]


@pytest.mark.parametrize("name", PEER_NAMES)
def test_peer_names_are_importable(name):
    assert getattr(flask_socketio, name) is not None


def test_connection_refused_error_is_python_socketio_s():
    assert flask_socketio.ConnectionRefusedError is socketio.exceptions.ConnectionRefusedError


def test_peer_test_client_module_path_and_direct_construction():
    from flask_socketio.test_client import SocketIOTestClient

    app, socketio_ = make_app()
    socketio_.on_event("ping", lambda: "pong")
    client = SocketIOTestClient(app, socketio_)
    assert client.is_connected()
    assert client.emit("ping", callback=True) == "pong"
    assert isinstance(socketio_.test_client(app), SocketIOTestClient)


@pytest.mark.parametrize(("method", "keywords"), [
    ("emit", {"namespace", "to", "room", "include_self", "skip_sid", "callback",
              "ignore_queue"}),
    ("send", {"json", "namespace", "to", "room", "include_self", "skip_sid", "callback",
              "ignore_queue"}),
    ("call", {"to", "namespace", "timeout", "ignore_queue"}),
    ("close_room", {"room", "namespace"}),
    ("on", {"message", "namespace"}),
    ("on_event", {"message", "handler", "namespace"}),
    ("on_error", {"namespace"}),
    ("start_background_task", {"target"}),
    ("sleep", {"seconds"}),
    ("test_client", {"app", "namespace", "query_string", "headers", "auth",
                     "flask_test_client"}),
    ("init_app", {"app"}),
])
def test_socketio_methods_take_the_peer_keywords(method, keywords):
    parameters = set(inspect.signature(getattr(SocketIO, method)).parameters)
    assert keywords <= parameters, keywords - parameters


@pytest.mark.parametrize(("function", "keywords"), [
    ("emit", {"namespace", "to", "room", "broadcast", "include_self", "skip_sid",
              "callback", "ignore_queue"}),
    ("send", {"json", "namespace", "to", "room", "broadcast", "include_self", "skip_sid",
              "callback", "ignore_queue"}),
    ("call", {"namespace", "to", "timeout", "ignore_queue"}),
    ("join_room", {"room", "sid", "namespace"}),
    ("leave_room", {"room", "sid", "namespace"}),
    ("close_room", {"room", "namespace"}),
    ("rooms", {"sid", "namespace"}),
    ("disconnect", {"sid", "namespace", "silent"}),
])
def test_module_functions_take_the_peer_keywords(function, keywords):
    parameters = set(inspect.signature(getattr(flask_socketio, function)).parameters)
    assert keywords <= parameters, keywords - parameters


def test_module_emit_from_a_route_with_explicit_target_and_namespace():
    app, socketio_ = make_app()
    client = socketio_.test_client(app)

    @app.route("/direct/<sid>")
    def direct(sid):
        emit("direct", 1, to=sid, namespace="/")
        send("all", broadcast=True, namespace="/")
        return "ok"

    assert app.test_client().get(f"/direct/{client.sid}").text == "ok"
    assert [(e.name, e.args) for e in client.get_received()] == [
        ("direct", [1]), ("message", "all")]


def test_the_seed_chat_with_rooms():
    # The seed's Rooms chapter, unchanged but for the import.
    app, socketio_ = make_app()
    from flask_socketio import join_room, leave_room

    @socketio_.on("join")
    def on_join(data):
        username = data["username"]
        room = data["room"]
        join_room(room)
        send(username + " has entered the room.", room=room)

    @socketio_.on("leave")
    def on_leave(data):
        username = data["username"]
        room = data["room"]
        leave_room(room)
        send(username + " has left the room.", room=room)

    ann, bob, eve = (socketio_.test_client(app) for _ in range(3))
    ann.emit("join", {"username": "ann", "room": "r"})
    bob.emit("join", {"username": "bob", "room": "r"})
    bob.emit("leave", {"username": "bob", "room": "r"})
    assert [e.args for e in ann.get_received()] == [
        "ann has entered the room.", "bob has entered the room.", "bob has left the room."]
    assert [e.args for e in bob.get_received()] == ["bob has entered the room."]
    assert eve.get_received() == []


def test_type_error_inside_a_class_based_connect_surfaces_once():
    app, socketio_ = make_app()
    calls = []

    class Buggy(Namespace):
        def on_connect(self, auth):
            calls.append(auth)
            raise TypeError("bug in on_connect")

    socketio_.on_namespace(Buggy("/buggy"))
    client = socketio_.test_client(app)
    with pytest.raises(TypeError, match="bug in on_connect"):
        client.connect("/buggy", auth={"a": 1})
    assert calls == [{"a": 1}]
    assert not client.is_connected("/buggy")


def test_type_error_inside_a_class_based_disconnect_surfaces_once():
    app, socketio_ = make_app()
    calls = []

    class Buggy(Namespace):
        def on_disconnect(self):
            calls.append(request.sid)
            raise TypeError("bug in on_disconnect")

    socketio_.on_namespace(Buggy("/buggy"))
    client = socketio_.test_client(app, namespace="/buggy")
    sid = client.get_sid("/buggy")
    with pytest.raises(TypeError, match="bug in on_disconnect"):
        client.disconnect("/buggy")
    assert calls == [sid]


def test_handler_signature_mismatch_is_reported_not_swallowed():
    # A handler that takes no argument, given one: the TypeError of the call itself.
    app, socketio_ = make_app()
    socketio_.on_event("strict", lambda: "never")
    client = socketio_.test_client(app)
    with pytest.raises(TypeError):
        client.emit("strict", "unexpected")
    assert client.is_connected()
