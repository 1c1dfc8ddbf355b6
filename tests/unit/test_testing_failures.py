"""Failure detail (refusals, disconnect reasons, server exceptions) and bad input."""

from __future__ import annotations

import logging
import time

import pytest
import socketio as python_socketio
from flask import Flask

from flask_socketio import ConnectionRefusedError, SocketIO, call, disconnect, emit

pytestmark = pytest.mark.socketio_leak_guard


def make_app():
    app = Flask(__name__)
    socketio = SocketIO(app)
    disconnects = []

    @socketio.on("connect")
    def connect(auth):
        if auth == "refuse":
            raise ConnectionRefusedError("unauthorized", {"code": 401, "retry": False})
        if auth == "false":
            return False

    @socketio.on("connect", namespace="/private")
    def connect_private():
        raise ConnectionRefusedError("members only")

    @socketio.on("connect", namespace="/open")
    def connect_open():
        pass

    @socketio.on("connect", namespace="/broken")
    def connect_broken():
        raise KeyError("broken connect handler")

    @socketio.on("disconnect")
    def on_disconnect(reason):
        disconnects.append(reason)

    @socketio.on("goodbye")
    def goodbye():
        emit("last words", 1)
        emit("last words", 2)
        disconnect()

    @socketio.on("goodbye", namespace="/open")
    def goodbye_open():
        emit("last words", "open")
        disconnect()

    @socketio.on("boom")
    def boom():
        raise ValueError("boom in a handler")

    @socketio.on("boom", namespace="/open")
    def boom_open():
        raise ValueError("boom in /open")

    @socketio.on("bad_payload")
    def bad_payload():
        emit("x", object())

    @socketio.on("ask")
    def ask():
        return call("question", timeout=5)

    return app, socketio, disconnects


# -- connect_error --------------------------------------------------------------------


def test_connect_error_holds_the_connection_refused_error_args():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="refuse")
    assert not client.is_connected()
    assert client.sid is None
    assert client.connect_error == {"message": "unauthorized",
                                    "data": {"code": 401, "retry": False}}
    assert client.get_connect_error("/") == client.connect_error


def test_connect_error_when_the_handler_returns_false():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="false")
    assert not client.is_connected()
    assert client.connect_error == python_socketio.exceptions.ConnectionRefusedError().error_args


def test_connect_error_of_a_namespace():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.connect("/private")
    assert not client.is_connected("/private")
    assert client.get_connect_error("/private") == {"message": "members only"}
    assert client.connect_error is None
    assert client.is_connected()


def test_connect_error_of_an_unknown_namespace():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.connect("/nowhere")
    assert not client.is_connected("/nowhere")
    # Socket.IO v5: the CONNECT_ERROR payload is an object
    assert client.get_connect_error("/nowhere") == {"message": "Invalid namespace"}


def test_connect_error_is_cleared_by_a_successful_connect():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="refuse")
    client.connect(auth="welcome")
    assert client.is_connected()
    assert client.connect_error is None


def test_a_refused_client_leaves_no_session_on_the_server():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="refuse")
    assert client.eio_sid not in socketio.server.environ
    assert socketio.server.manager.rooms.get("/", {}) == {}


def test_a_failing_connect_handler_refuses_and_reaches_the_test():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    with pytest.raises(KeyError, match="broken connect handler"):
        client.connect("/broken")
    assert not client.is_connected("/broken")
    assert client.get_connect_error("/broken") is not None


# -- disconnect_reason and what arrived before -------------------------------------------


def test_disconnect_reason_after_a_client_disconnect():
    app, socketio, disconnects = make_app()
    client = socketio.test_client(app)
    assert client.disconnect_reason is None
    client.disconnect()
    assert client.disconnect_reason == "io client disconnect"
    assert disconnects == [socketio.reason.CLIENT_DISCONNECT]


def test_disconnect_reason_after_a_server_disconnect():
    app, socketio, disconnects = make_app()
    client = socketio.test_client(app)
    client.emit("goodbye")
    assert not client.is_connected()
    assert client.disconnect_reason == "io server disconnect"
    assert disconnects == [socketio.reason.SERVER_DISCONNECT]


def test_disconnect_reason_of_one_namespace():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.connect("/open")
    client.emit("goodbye", namespace="/open")
    assert client.get_disconnect_reason("/open") == "io server disconnect"
    assert client.disconnect_reason is None
    assert client.is_connected()


def test_disconnect_reason_when_the_server_closes_the_engineio_session():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.connect("/open")
    socketio.server.eio.disconnect(client.eio_sid)
    client.get_received()
    assert not client.is_connected() and not client.is_connected("/open")
    assert client.disconnect_reason == "io server disconnect"
    assert client.get_disconnect_reason("/open") == "io server disconnect"


def test_disconnect_reason_is_cleared_by_reconnecting():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.disconnect()
    client.connect()
    assert client.disconnect_reason is None


def test_events_sent_before_a_server_disconnect_stay_readable():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("goodbye")
    assert not client.is_connected()
    assert client.receive("last words").args == [1]
    assert client.get_received() == [{"name": "last words", "args": [2], "namespace": "/"}]


def test_events_of_a_disconnected_namespace_stay_readable():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.connect("/open")
    client.emit("goodbye", namespace="/open")
    client.assert_received("last words", "open", namespace="/open")


# -- server exceptions -------------------------------------------------------------


def test_server_exceptions_reach_the_test_by_default():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    with pytest.raises(ValueError, match="boom in a handler"):
        client.emit("boom")
    assert client.is_connected()  # the connection survives, as it would live
    with pytest.raises(ValueError):  # and each exception is raised once, where it happened
        client.emit("boom")
    client.get_received()


def test_server_exception_in_a_handler_waited_on_with_callback():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    with pytest.raises(ValueError, match="boom in a handler"):
        client.emit("boom", callback=True)


def test_exceptions_of_background_tasks_reach_the_test():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)

    def task():
        socketio.sleep(1)
        raise RuntimeError("task failed")

    socketio.start_background_task(task)
    client.scheduler.clock.advance(1)
    with pytest.raises(RuntimeError, match="task failed"):
        client.get_received()


def test_error_handlers_take_exceptions_with_raise_server_exceptions_false():
    app, socketio, _ = make_app()
    errors = []

    @socketio.on_error()
    def on_error(exc):
        errors.append(exc)
        return "handled"

    @socketio.on_error_default
    def on_error_default(exc):
        errors.append(("default", exc))

    client = socketio.test_client(app, raise_server_exceptions=False)
    client.connect("/open")
    assert client.emit("boom", callback=True) == "handled"
    client.emit("boom", namespace="/open")
    assert isinstance(errors[0], ValueError) and str(errors[0]) == "boom in a handler"
    assert errors[1][0] == "default" and str(errors[1][1]) == "boom in /open"


def test_error_handlers_also_take_exceptions_by_default():
    app, socketio, _ = make_app()

    @socketio.on_error_default
    def on_error_default(exc):
        return f"handled {exc}"

    client = socketio.test_client(app)
    assert client.emit("boom", callback=True) == "handled boom in a handler"


def test_unhandled_exceptions_are_logged_with_raise_server_exceptions_false(caplog):
    app, socketio, _ = make_app()
    client = socketio.test_client(app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="flask_socketio"):
        client.emit("boom")
    records = [r for r in caplog.records if r.exc_info]
    assert len(records) == 1
    assert records[0].exc_info[0] is ValueError
    assert "boom in a handler" in str(records[0].exc_info[1])
    assert client.is_connected()


def test_an_error_handler_that_fails_reaches_the_test():
    app, socketio, _ = make_app()

    @socketio.on_error_default
    def on_error_default(exc):
        raise LookupError("the error handler failed") from exc

    client = socketio.test_client(app)
    with pytest.raises(LookupError, match="the error handler failed"):
        client.emit("boom")


# -- bad input ------------------------------------------------------------------------


def test_waiting_on_a_disconnected_client_is_a_clear_error_at_once():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("goodbye")
    client.get_received()
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="not connected.*io server disconnect"):
        client.receive(timeout=5)
    with pytest.raises(RuntimeError, match="not connected"):
        client.assert_received("anything")
    assert time.monotonic() - started < 1


def test_waiting_on_a_closed_client_is_a_clear_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.close()
    with pytest.raises(RuntimeError, match="disconnected.*io client disconnect"):
        client.receive()


def test_waiting_on_a_namespace_never_connected_is_a_clear_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    with pytest.raises(RuntimeError, match="namespace '/open' is not connected"):
        client.receive(namespace="/open")


def test_waiting_on_a_refused_client_is_a_clear_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="refuse")
    with pytest.raises(RuntimeError, match="not connected"):
        client.receive()


def test_emitting_on_a_namespace_not_connected_is_a_clear_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    with pytest.raises(RuntimeError, match="cannot emit 'hello': not connected to "
                                           "namespace '/open'"):
        client.emit("hello", namespace="/open")
    with pytest.raises(RuntimeError, match="not connected to namespace '/open'"):
        client.send("hello", namespace="/open")


def test_emitting_after_a_server_disconnect_says_why():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("goodbye")
    with pytest.raises(RuntimeError, match=r"cannot emit 'again'.*\(disconnected: io server "
                                           r"disconnect\)"):
        client.emit("again")


def test_other_calls_on_an_unconnected_namespace_are_clear_errors():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    with pytest.raises(RuntimeError, match="cannot ask for rooms: not connected"):
        client.rooms("/open")
    with pytest.raises(RuntimeError, match="not connected to namespace '/open'"):
        client.disconnect("/open")


def test_a_namespace_without_a_slash_is_a_value_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    with pytest.raises(ValueError, match="must start with '/'"):
        client.emit("x", namespace="open")


def test_answering_an_ack_twice_is_a_clear_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("ask")
    record = client.receive("question")
    record.ack("first")
    with pytest.raises(RuntimeError, match=r"'question' \(ack id \d+\) was already "
                                           "acknowledged"):
        record.ack("second")


def test_non_serializable_payload_from_the_client_is_a_type_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    transcript_size = len(client.transcript)
    with pytest.raises(TypeError, match="cannot send 'echo': its payload is not serializable"):
        client.emit("echo", object())
    with pytest.raises(TypeError):
        client.send({1, 2})
    with pytest.raises(TypeError):
        client.emit("echo", {"when": time}, callback=True)
    assert len(client.transcript) == transcript_size  # nothing was sent
    assert client.is_connected()


def test_non_serializable_ack_from_the_client_is_a_type_error_and_can_be_retried():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("ask")
    record = client.receive("question")
    with pytest.raises(TypeError, match="cannot acknowledge 'question'"):
        record.ack(object())
    assert not record.is_acked
    record.ack("serializable")
    assert record.is_acked


def test_non_serializable_answer_of_an_on_handler_reaches_the_test():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.on("question", lambda: object())
    with pytest.raises(TypeError, match="cannot acknowledge 'question'"):
        client.emit("ask")
    client.receive("question").ack("retry")  # not answered yet: may still be


def test_non_serializable_payload_from_the_server_is_a_type_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    with pytest.raises(TypeError, match="cannot emit 'x': its payload is not serializable"):
        client.emit("bad_payload")
    with pytest.raises(TypeError):
        socketio.emit("x", object())
