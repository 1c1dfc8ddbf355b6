"""The per-event fast paths (emit to one room without the manager's call chain, ...)
give the answers the stock paths give, and are taken only when nothing would see the
difference."""

from __future__ import annotations

import logging

import flask
import pytest
import socketio as socketio_module
from flask import Flask, request

from flask_socketio import SocketIO, emit, join_room

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    return app, SocketIO(app, **options)


@pytest.fixture
def manager_emits(monkeypatch):
    """Every call of python-socketio's ``Manager.emit``, recorded."""
    calls: list = []
    original = socketio_module.Manager.emit

    def recording(self, event, *args, **kwargs):
        calls.append(event)
        return original(self, event, *args, **kwargs)

    monkeypatch.setattr(socketio_module.Manager, "emit", recording)
    return calls


def test_an_emit_to_one_room_skips_the_manager_and_reaches_every_member(manager_emits):
    app, socketio = make_app()
    client = socketio.test_client(app)
    friend = socketio.test_client(app)
    stranger = socketio.test_client(app)

    @socketio.on("lobby")
    def lobby():
        join_room("lobby")

    @socketio.on("echo")
    def echo(data):
        emit("echo", data)  # to the sender: its own sid's room

    client.emit("lobby")
    friend.emit("lobby")
    client.emit("echo", {"n": 1})
    client.assert_received("echo", {"n": 1})
    assert friend.get_received() == []
    socketio.emit("shared", [1, 2], to="lobby")
    client.assert_received("shared", [1, 2])
    friend.assert_received("shared", [1, 2])
    socketio.emit("skipping", 3, to="lobby", skip_sid=client.sid)
    friend.assert_received("skipping", 3)
    socketio.emit("skipping", 4, to="lobby", skip_sid=[client.sid, friend.sid])
    socketio.emit("nobody", 5, to="no-such-room")
    socketio.emit("mine", 6, to=stranger.sid)
    stranger.assert_received("mine", 6)
    assert client.get_received() == [] and friend.get_received() == []
    assert stranger.get_received() == []
    assert manager_emits == []


@pytest.mark.parametrize("serializer", ["default", "msgpack"])
def test_binary_and_several_arguments_reach_the_client_as_through_the_manager(
        manager_emits, serializer):
    options = {} if serializer == "default" else {"serializer": "msgpack"}
    app, socketio = make_app(**options)
    client = socketio.test_client(app)

    @socketio.on("blob")
    def blob(data):
        emit("blob", data, b"\x00\x01", {"raw": b"\xff"})
        emit("none")

    client.emit("blob", [1, "two"])
    received = client.get_received()
    assert [(r["name"], r["args"]) for r in received] == [
        ("blob", [[1, "two"], b"\x00\x01", {"raw": b"\xff"}]), ("none", [])]
    assert manager_emits == []


def test_an_unserializable_emit_to_a_sid_raises_naming_the_event(manager_emits):
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.raises(TypeError, match="cannot emit 'bad': its payload is not serializable"):
        socketio.emit("bad", object(), to=client.sid)
    assert client.get_received() == []


def test_an_instance_that_replaces_manager_emit_still_sees_every_emit(manager_emits):
    # python-socketio's admin instrumentation replaces manager.emit on the instance.
    app, socketio = make_app()
    client = socketio.test_client(app)
    manager = socketio.server.manager
    seen = []
    stock = manager.emit

    def instrumented(event, *args, **kwargs):
        seen.append(event)
        return stock(event, *args, **kwargs)

    manager.emit = instrumented
    socketio.emit("watched", 1, to=client.sid)
    client.assert_received("watched", 1)
    assert seen == ["watched"] and manager_emits == ["watched"]


def test_the_servers_info_log_of_an_emit_is_kept(manager_emits, caplog):
    app, socketio = make_app(logger=True)
    client = socketio.test_client(app)
    # (python-socketio sets its logger's level once per process: set it here)
    with caplog.at_level(logging.INFO, logger=socketio.server.logger.name):
        socketio.emit("logged", 1, to=client.sid)
    client.assert_received("logged", 1)
    assert manager_emits == ["logged"]
    assert any('emitting event "logged"' in r.getMessage() for r in caplog.records)


def test_a_socketio_subclass_overriding_emit_sees_the_handlers_emits():
    seen = []

    class Logged(SocketIO):
        def emit(self, event, *args, **kwargs):
            seen.append((event, args, kwargs.get("to"), kwargs.get("namespace")))
            return super().emit(event, *args, **kwargs)

    app = Flask(__name__)
    socketio = Logged(app)

    @socketio.on("echo")
    def echo(data):
        emit("echo", data)

    client = socketio.test_client(app)
    client.emit("echo", 1)
    client.assert_received("echo", 1)
    assert seen == [("echo", (1,), client.sid, "/")]


def test_an_unserializable_emit_from_a_handler_is_refused_and_routed_as_before():
    app, socketio = make_app()
    errors = []

    @socketio.on("bad")
    def bad():
        emit("bad", object())

    @socketio.on_error_default
    def on_error(exc):
        errors.append(str(exc))

    client = socketio.test_client(app)
    client.emit("bad")
    assert client.get_received() == []
    assert len(errors) == 1 and "cannot emit 'bad': its payload is not serializable" in errors[0]


def test_events_after_the_first_build_no_request_with_the_request_class(monkeypatch):
    from werkzeug.wrappers import Request as WerkzeugRequest

    built = []
    original = WerkzeugRequest.__init__

    def counting(self, *args, **kwargs):
        built.append(type(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(WerkzeugRequest, "__init__", counting)
    app, socketio = make_app()
    seen = []

    @socketio.on("where")
    def where():
        seen.append((request.path, request.remote_addr, request.sid,
                     request._get_current_object()))
        return request.method

    client = socketio.test_client(app)
    assert client.emit("where", callback=True) == "GET"
    before = len(built)
    for _ in range(3):
        assert client.emit("where", callback=True) == "GET"
    assert len(built) == before
    assert len({id(entry[3]) for entry in seen}) == 4  # still a new request per event
    assert {entry[:3] for entry in seen} == {seen[0][:3]}


def test_a_handler_that_changes_its_environ_gets_requests_built_from_it():
    app, socketio = make_app()

    @socketio.on("move")
    def move(address):
        request.environ["REMOTE_ADDR"] = address

    @socketio.on("where")
    def where():
        return request.remote_addr

    client = socketio.test_client(app)
    first = client.emit("where", callback=True)
    client.emit("move", "10.9.8.7")
    assert client.emit("where", callback=True) == "10.9.8.7"
    client.emit("move", first)
    assert client.emit("where", callback=True) == first


def test_an_applications_request_class_builds_every_events_request():
    made = []

    class Own(flask.Request):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    app, socketio = make_app()
    app.request_class = Own

    @socketio.on("kind")
    def kind():
        return type(request._get_current_object()).__name__

    client = socketio.test_client(app)
    assert client.emit("kind", callback=True) == "Own"
    count = len(made)
    assert [client.emit("kind", callback=True) for _ in range(3)] == ["Own"] * 3
    assert len(made) == count + 3
