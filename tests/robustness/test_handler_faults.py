"""Exceptions in handlers, error handlers, background tasks and ack callbacks.

The right error handler runs, or the error is logged (or, in-process, reaches the
test); no connection but the faulty one is affected; rooms and sessions are cleaned
up when a connection ends, whatever its handlers raised.
"""

from __future__ import annotations

import logging

import flask
import pytest

from flask_socketio import SocketIO, emit, join_room, send

pytestmark = pytest.mark.socketio_leak_guard


class Boom(Exception):
    pass


def make_app(**options):
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    socketio = SocketIO(app, **options)
    seen: list = []

    @socketio.on("connect")
    def connect(auth):
        join_room("lobby")
        flask.session["user"] = auth
        if auth == "boom":
            raise Boom("connect")

    @socketio.on("disconnect")
    def disconnect(reason):
        seen.append(("disconnect", flask.session.get("user"), reason))
        if flask.session.get("user") == "boom-on-leave":
            raise Boom("disconnect")

    @socketio.on("echo")
    def echo(data):
        emit("echo", data)
        return data

    @socketio.on("fail")
    def fail(data):
        join_room("doomed")
        raise Boom(data)

    @socketio.on("whoami")
    def whoami():
        return flask.session.get("user")

    return app, socketio, seen


def assert_serves(client, value="ok"):
    assert client.emit("echo", value, callback=True) == value
    client.assert_received("echo", value)


def test_an_event_handler_error_reaches_the_namespace_error_handler():
    app, socketio, _ = make_app()
    errors = []

    @socketio.on_error()
    def on_error(exc):
        errors.append((type(exc), str(exc), flask.request.event["message"]))
        return "handled"

    bystander = socketio.test_client(app, auth="bob")
    faulty = socketio.test_client(app, auth="ann")
    assert faulty.emit("fail", "x", callback=True) == "handled"
    assert errors == [(Boom, "x", "fail")]
    assert_serves(faulty)
    assert_serves(bystander)
    bystander.assert_nothing_received()


def test_an_event_handler_error_without_error_handler_is_logged(caplog):
    app, socketio, _ = make_app()
    bystander = socketio.test_client(app, auth="bob")
    faulty = socketio.test_client(app, auth="ann", raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR):
        faulty.emit("fail", "x")
    assert any(r.exc_info and r.exc_info[0] is Boom for r in caplog.records)
    assert faulty.is_connected()
    assert_serves(faulty)
    assert_serves(bystander)


def test_an_unhandled_event_error_reaches_the_test_by_default():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="ann")
    with pytest.raises(Boom):
        client.emit("fail", "x")
    assert_serves(client)


def test_the_default_error_handler_takes_other_namespaces():
    app, socketio, _ = make_app()
    errors = []

    @socketio.on("fail", namespace="/chat")
    def fail_chat():
        raise Boom("chat")

    @socketio.on_error("/other")
    def not_this_one(exc):  # pragma: no cover - must not run
        errors.append("wrong")

    @socketio.on_error_default
    def default(exc):
        errors.append(str(exc))

    client = socketio.test_client(app, namespace="/chat")
    client.emit("fail", namespace="/chat")
    assert errors == ["chat"]


def test_an_error_handler_that_fails_is_logged(caplog):
    app, socketio, _ = make_app()

    @socketio.on_error()
    def broken(exc):
        raise RuntimeError("the error handler broke")

    client = socketio.test_client(app, auth="ann", raise_server_exceptions=False)
    other = socketio.test_client(app, auth="bob")
    with caplog.at_level(logging.ERROR):
        client.emit("fail", "x")
    assert any(r.exc_info and "error handler broke" in str(r.exc_info[1])
               for r in caplog.records)
    assert_serves(client)
    assert_serves(other)


def test_a_connect_handler_error_refuses_that_connection_and_leaks_nothing(caplog):
    app, socketio, _ = make_app()
    server = socketio.server
    bystander = socketio.test_client(app, auth="bob")
    with caplog.at_level(logging.ERROR):
        faulty = socketio.test_client(app, auth="boom", raise_server_exceptions=False)
    assert not faulty.is_connected()
    assert any(r.exc_info and r.exc_info[0] is Boom for r in caplog.records)
    # the room it joined before raising is gone, and so is its session
    assert list(server.manager.get_participants("/", "lobby")) == [
        (bystander.sid, bystander.eio_sid)]
    assert faulty.eio_sid not in server.environ
    assert_serves(bystander)
    assert bystander.emit("whoami", callback=True) == "bob"


def test_a_connect_handler_error_goes_to_the_error_handler():
    app, socketio, _ = make_app()
    errors = []

    @socketio.on_error()
    def on_error(exc):
        errors.append(str(exc))
        return False  # refuse

    client = socketio.test_client(app, auth="boom")
    assert errors == ["connect"]
    assert not client.is_connected()


def test_a_disconnect_handler_error_is_handled_and_everything_is_cleaned_up():
    app, socketio, seen = make_app()
    errors = []

    @socketio.on_error()
    def on_error(exc):
        errors.append(str(exc))

    server = socketio.server
    bystander = socketio.test_client(app, auth="bob")
    leaving = socketio.test_client(app, auth="boom-on-leave")
    leaving.emit("fail", "joined doomed")
    sid, eio_sid = leaving.sid, leaving.eio_sid
    assert sid in [s for s, _ in server.manager.get_participants("/", "doomed")]
    leaving.disconnect()
    assert errors == ["joined doomed", "disconnect"]
    assert seen[-1][:2] == ("disconnect", "boom-on-leave")
    for room in ("lobby", "doomed", sid):
        assert sid not in [s for s, _ in server.manager.get_participants("/", room)]
    assert not server.manager.is_connected(sid, "/")
    assert eio_sid not in server.environ
    assert_serves(bystander)


def test_a_disconnect_handler_error_is_logged_when_unhandled(caplog):
    app, socketio, _ = make_app()
    leaving = socketio.test_client(app, auth="boom-on-leave", raise_server_exceptions=False)
    eio_sid = leaving.eio_sid
    with caplog.at_level(logging.ERROR):
        leaving.disconnect()
    assert any(r.exc_info and r.exc_info[0] is Boom for r in caplog.records)
    assert eio_sid not in socketio.server.environ


def test_a_server_side_disconnect_with_a_failing_handler_cleans_up():
    app, socketio, _ = make_app()

    @socketio.on_error()
    def on_error(exc):
        pass

    client = socketio.test_client(app, auth="boom-on-leave")
    sid = client.sid
    socketio.server.disconnect(sid)
    assert not client.is_connected()
    assert list(socketio.server.manager.get_participants("/", "lobby")) == []


def test_sessions_stay_per_connection_even_when_handlers_fail():
    app, socketio, _ = make_app()

    @socketio.on_error()
    def on_error(exc):
        flask.session["last_error"] = str(exc)

    ann = socketio.test_client(app, auth="ann")
    bob = socketio.test_client(app, auth="bob")
    ann.emit("fail", "ann's secret")
    assert ann.emit("whoami", callback=True) == "ann"
    assert bob.emit("whoami", callback=True) == "bob"
    assert "last_error" not in bob.session
    assert ann.session["last_error"] == "ann's secret"


def test_a_background_task_error_reaches_the_test_and_spares_connections():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="ann")

    def task():
        raise Boom("task")

    socketio.start_background_task(task)
    with pytest.raises(Boom):
        client.emit("whoami")
    assert_serves(client)


def test_an_ack_callback_error_reaches_the_error_handler():
    app, socketio, _ = make_app()
    errors = []

    @socketio.on_error()
    def on_error(exc):
        errors.append((str(exc), flask.request.sid))

    @socketio.on("ask")
    def ask():
        def answered(value):
            raise Boom(f"callback got {value}")

        emit("question", callback=answered)

    client = socketio.test_client(app, auth="ann")
    other = socketio.test_client(app, auth="bob")
    client.on("question", lambda: "yes")
    client.emit("ask")
    assert errors == [("callback got yes", client.sid)]
    assert_serves(client)
    assert_serves(other)


def test_an_ack_callback_error_outside_handlers_reaches_the_test():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="ann")
    client.on("question", lambda: "yes")

    def answered(value):
        raise Boom("callback")

    with app.app_context():
        socketio.emit("question", to=client.sid, callback=answered)
    with pytest.raises(Boom):
        client.emit("whoami")
    assert client.is_connected()
    assert_serves(client)


def test_a_send_handler_error_is_handled():
    app, socketio, _ = make_app()
    errors = []

    @socketio.on("message")
    def message(data):
        send(data)
        raise Boom("message")

    @socketio.on_error()
    def on_error(exc):
        errors.append(str(exc))

    client = socketio.test_client(app)
    client.send("hi")
    assert client.receive("message").args == "hi"
    assert errors == ["message"]
