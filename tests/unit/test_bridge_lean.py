"""The lean per-event Flask bridge behaves as a full request context per event would:
URL routing, a fresh request object, copies of the request context, error routing."""

from __future__ import annotations

import pytest
from flask import Flask, copy_current_request_context, request, url_for
from flask.ctx import RequestContext

from flask_socketio import SocketIO

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"

    @app.route("/page/<int:number>")
    def page(number):
        return str(number)

    return app, SocketIO(app, **options)


KEPT: list = []


def routing_seen() -> dict:
    exc = request.routing_exception
    KEPT.append((request._get_current_object(), exc))  # alive, so ids are not reused
    return {"exception": type(exc).__name__ if exc is not None else None,
            "rule": request.url_rule, "view_args": request.view_args,
            "endpoint": request.endpoint, "url": url_for("page", number=7),
            "request_id": id(request._get_current_object()),
            "exception_id": id(exc)}


def test_every_event_sees_the_routing_a_full_request_context_gives():
    app, socketio = make_app()
    socketio.on_event("route", routing_seen)
    client = socketio.test_client(app)
    KEPT.clear()
    seen = [client.emit("route", callback=True) for _ in range(3)]
    with app.test_request_context("/socket.io/"):
        ctx = RequestContext(app, request.environ)
        ctx.push()
        try:
            expected = routing_seen()
        finally:
            ctx.pop()
    for got in seen:
        for key in ("exception", "rule", "view_args", "endpoint", "url"):
            assert got[key] == expected[key], key
    # a new request object and a new routing exception for every event
    assert len({got["request_id"] for got in seen}) == 3
    assert len({got["exception_id"] for got in seen}) == 3
    KEPT.clear()


def test_request_attributes_do_not_leak_between_events():
    app, socketio = make_app()

    @socketio.on("mark")
    def mark():
        seen = getattr(request, "marked", "unmarked")
        request.marked = "marked"
        return seen

    client = socketio.test_client(app)
    assert client.emit("mark", callback=True) == "unmarked"
    assert client.emit("mark", callback=True) == "unmarked"


def test_a_copied_request_context_works_in_later_events():
    app, socketio = make_app()

    @socketio.on("copy")
    def copy_ctx():
        @copy_current_request_context
        def later():
            return request.sid, request.path

        return list(later())

    client = socketio.test_client(app)
    first = client.emit("copy", callback=True)
    second = client.emit("copy", callback=True)
    assert first == second
    assert first[1] == "/socket.io"  # the test client's path, as Flask-SocketIO's


@pytest.mark.parametrize("serializer", ["default", "msgpack"])
def test_an_unserializable_emit_names_the_event_and_sends_nothing(serializer):
    options = {} if serializer == "default" else {"serializer": "msgpack"}
    app, socketio = make_app(**options)
    socketio.on_event("ping", lambda: "pong")
    client = socketio.test_client(app)
    other = socketio.test_client(app)
    for kwargs in ({}, {"to": client.eio_sid}, {"to": "nobody"}):
        with pytest.raises(TypeError, match="cannot emit 'bad': its payload is not "
                                            "serializable"):
            socketio.emit("bad", {"fine": 1}, object(), **kwargs)
    with app.test_request_context(), pytest.raises(TypeError, match="cannot emit 'bad'"):
        socketio.emit("bad", {1, 2})
    assert client.get_received() == []
    assert other.get_received() == []
    socketio.emit("good", [1, 2])
    assert [r["name"] for r in client.get_received()] == ["good"]


def test_an_emit_is_encoded_once_even_behind_the_emit_observer(monkeypatch):
    # The emit observer (the recorder's hook) sits on every client manager; with no
    # recorder listening it must not cost a second, validating, encode per emit.
    from flask_socketio import packets

    app, socketio = make_app()
    client = socketio.test_client(app)
    encodes = []
    original = packets.Packet.encode

    def counting_encode(self):
        encodes.append(self.data)
        return original(self)

    monkeypatch.setattr(packets.Packet, "encode", counting_encode)
    socketio.emit("news", {"n": 1})
    assert encodes == [["news", {"n": 1}]]
    client.assert_received("news", {"n": 1})


class _WithoutRequestProxies:
    """The ``flask`` module, but finding the request through it fails the test."""

    def __getattr__(self, name):
        if name in ("request", "has_request_context"):
            raise AssertionError(f"flask.{name} used to find the sender")
        import flask

        return getattr(flask, name)


def test_emit_call_and_rooms_in_a_handler_get_the_sender_handed_down(monkeypatch):
    from flask_socketio import context, sending

    app, socketio = make_app()
    from flask_socketio import emit, join_room, rooms

    @socketio.on("hello")
    def hello(data):
        join_room("lobby")
        emit("mine", data)  # to the sender, in this namespace
        emit("chat", data, namespace="/chat")  # to the sender's /chat sid
        return sorted(rooms())

    socketio.on_event("connect", lambda: None, namespace="/chat")
    client = socketio.test_client(app)
    chat = socketio.test_client(app, namespace="/chat")
    client.connect("/chat")
    monkeypatch.setattr(context, "flask", _WithoutRequestProxies())
    monkeypatch.setattr(sending, "flask", _WithoutRequestProxies())
    answer = client.emit("hello", {"n": 1}, callback=True)
    assert answer == sorted(["lobby", client.sid])
    client.assert_received("mine", {"n": 1})
    client.assert_received("chat", {"n": 1}, namespace="/chat")
    assert chat.get_received("/chat") == []


def test_a_copied_request_context_still_finds_the_sender():
    # A task given a copy of the handler's request context has no handler running
    # (it runs in a fresh context, as a new greenlet or thread does): emit() finds the
    # sender through the request, as before.
    import contextvars

    from flask_socketio import emit

    app, socketio = make_app()
    done = []

    @socketio.on("later")
    def later():
        @copy_current_request_context
        def task():
            emit("from-task", request.sid)
            done.append(True)

        contextvars.Context().run(task)

    client = socketio.test_client(app)
    client.emit("later")
    assert done == [True]
    client.assert_received("from-task", client.sid)


def test_a_request_context_pushed_by_a_handler_is_not_the_handlers():
    # Inside a request context of its own, emit() has no Socket.IO sender, as before
    # the sender was handed down (and as in Flask-SocketIO, where it fails too).
    from flask_socketio import emit

    app, socketio = make_app()
    errors = []

    @socketio.on("nested")
    def nested():
        with app.test_request_context("/page/1"):
            try:
                emit("nope")
            except RuntimeError as exc:
                errors.append(str(exc))
        emit("yes")

    client = socketio.test_client(app)
    client.emit("nested")
    assert len(errors) == 1 and "only works inside a Socket.IO handler" in errors[0]
    assert [r["name"] for r in client.get_received()] == ["yes"]
