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
