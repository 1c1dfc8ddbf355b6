"""Handler faults on a live server: logged, the faulty connection's state cleaned up,
the other connections unaffected (both network engines)."""

from __future__ import annotations

import flask
import pytest

from flask_socketio import SocketIO, emit, join_room
from flask_socketio.testing.live import LiveServer

from .raw import wait_for


class Boom(Exception):
    pass


def make_app(engine):
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    socketio = SocketIO(app, engine=engine)
    state = {"answers": [], "errors": []}

    @socketio.on("connect")
    def connect(auth):
        join_room("everyone")
        if auth == "boom":
            raise Boom("connect")

    @socketio.on("disconnect")
    def disconnect(reason):
        if flask.session.get("fail_on_leave"):
            raise Boom("disconnect")

    @socketio.on("arm")
    def arm():
        flask.session["fail_on_leave"] = True
        join_room("armed")

    @socketio.on("fail")
    def fail():
        raise Boom("event")

    @socketio.on("echo")
    def echo(value):
        emit("echo", value)
        return value

    @socketio.on("ask_later")
    def ask_later():
        sid = flask.request.sid

        def task():
            def answered(value):
                state["answers"].append(value)
                raise Boom("ack callback")

            socketio.emit("question", to=sid, callback=answered)

        socketio.start_background_task(task)

    @socketio.on("spawn_failing_task")
    def spawn_failing_task():
        def task():
            raise Boom("background task")

        socketio.start_background_task(task)

    return app, socketio, state


@pytest.fixture(params=["native", "engineio"])
def live(request):
    app, socketio, state = make_app(request.param)
    with LiveServer(app) as server:
        yield server, socketio, state


def test_event_and_task_errors_are_logged_and_spare_everyone(live):
    server, socketio, _ = live
    faulty = server.client(transports=["websocket"])
    bystander = server.client(transports=["polling"])
    faulty.emit("fail")
    faulty.emit("spawn_failing_task")
    assert faulty.call("echo", 1) == 1
    assert bystander.call("echo", 2) == 2
    assert wait_for(lambda: "Boom: event" in server.log and "background task" in server.log)
    assert faulty.is_connected() and bystander.is_connected()


def test_a_connect_error_refuses_only_that_client(live):
    server, socketio, _ = live
    bystander = server.client()
    refused = server.client(auth="boom")
    assert not refused.is_connected()
    assert wait_for(lambda: "Boom: connect" in server.log)
    members = server.call_in_server(
        lambda: [sid for sid, _ in socketio.server.manager.get_participants("/", "everyone")])
    assert members == [bystander.sid]
    assert bystander.call("echo", "ok") == "ok"


def test_a_failing_disconnect_handler_still_cleans_up(live):
    server, socketio, _ = live
    bystander = server.client()
    leaving = server.client(transports=["polling"])
    leaving.call("arm")
    sid, eio_sid = leaving.sid, leaving.eio_sid
    leaving.close()
    assert wait_for(lambda: "Boom: disconnect" in server.log)

    def state():
        manager = socketio.server.manager
        return ([s for s, _ in manager.get_participants("/", "armed")],
                [s for s, _ in manager.get_participants("/", "everyone")],
                eio_sid in socketio.server.environ)

    assert wait_for(lambda: server.call_in_server(state) == ([], [bystander.sid], False))
    assert sid != bystander.sid
    assert bystander.call("echo", "ok") == "ok"


def test_an_ack_callback_error_is_logged_and_the_connection_stays(live):
    server, socketio, state = live
    client = server.client()
    client.on("question", lambda: "yes")
    bystander = server.client()
    client.emit("ask_later")
    assert wait_for(lambda: state["answers"] == ["yes"])
    assert wait_for(lambda: "ack callback" in server.log)
    assert client.call("echo", 3) == 3
    assert client.is_connected()
    assert bystander.call("echo", 4) == 4
