"""Handler errors: namespace and default error handlers, exceptions reaching the test,
logging with raise_server_exceptions=False, connections surviving."""

from __future__ import annotations

import logging

import pytest
from flask import Flask, request

from flask_socketio import Namespace, SocketIO, emit

pytestmark = pytest.mark.socketio_leak_guard


class Boom(Exception):
    pass


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    socketio = SocketIO(app, **options)

    @socketio.on("boom")
    def boom(value=None):
        raise Boom(f"boom {value}")

    @socketio.on("boom", namespace="/chat")
    def boom_chat(value=None):
        raise Boom(f"chat boom {value}")

    @socketio.on("boom", namespace="/other")
    def boom_other(value=None):
        raise Boom(f"other boom {value}")

    @socketio.on("ok")
    def ok():
        return "fine"

    return app, socketio


# -- error handlers --------------------------------------------------------------------------


def test_namespace_error_handler_gets_the_exception_and_the_event():
    app, socketio = make_app()
    handled = []

    @socketio.on_error("/chat")
    def chat_error(exc):
        handled.append((type(exc), str(exc), request.sid, request.namespace,
                        request.event["message"], list(request.event["args"])))
        emit("error", str(exc))

    client = socketio.test_client(app, namespace="/chat")
    client.emit("boom", 1, namespace="/chat")
    assert handled == [(Boom, "chat boom 1", client.get_sid("/chat"), "/chat", "boom", [1])]
    client.assert_received("error", "chat boom 1", namespace="/chat")
    assert client.is_connected("/chat")


def test_error_handler_return_value_is_the_ack():
    app, socketio = make_app()
    socketio.on_error()(lambda exc: {"error": str(exc)})
    client = socketio.test_client(app)
    assert client.emit("boom", 2, callback=True) == {"error": "boom 2"}


def test_on_error_without_namespace_is_the_default_namespace():
    app, socketio = make_app()
    handled = []
    socketio.on_error()(handled.append)
    client = socketio.test_client(app)
    client.connect("/chat")
    client.emit("boom")
    assert [str(exc) for exc in handled] == ["boom None"]
    with pytest.raises(Boom, match="chat boom"):
        client.emit("boom", namespace="/chat")


def test_default_error_handler_covers_namespaces_without_their_own():
    app, socketio = make_app()
    default, chat = [], []
    socketio.on_error("/chat")(lambda exc: chat.append(str(exc)))

    @socketio.on_error_default
    def default_error(exc):
        default.append((str(exc), request.namespace))

    client = socketio.test_client(app)
    client.connect("/chat")
    client.connect("/other")
    client.emit("boom", 1)
    client.emit("boom", 2, namespace="/chat")
    client.emit("boom", 3, namespace="/other")
    assert chat == ["chat boom 2"]
    assert default == [("boom 1", "/"), ("other boom 3", "/other")]
    assert client.emit("ok", callback=True) == "fine"


def test_error_handler_of_a_class_based_namespace():
    app, socketio = make_app()
    handled = []

    class Failing(Namespace):
        def on_fail(self):
            raise Boom("class boom")

    socketio.on_namespace(Failing("/cls"))
    socketio.on_error("/cls")(lambda exc: handled.append(str(exc)) or "handled")
    client = socketio.test_client(app, namespace="/cls")
    assert client.emit("fail", namespace="/cls", callback=True) == "handled"
    assert handled == ["class boom"]


def test_error_method_of_a_class_based_namespace_takes_what_no_handler_took():
    # As Flask-SocketIO: a Namespace's error() gets the exception when the SocketIO
    # error handlers do not take it (none, or one that raises); it returns the ack.
    app, socketio = make_app()
    seen = []

    class Guarded(Namespace):
        def on_fail(self, value):
            raise Boom(f"guarded {value}")

        def on_divide(self, value):
            return 1 / value

        def error(self, exc):
            seen.append((type(exc).__name__, str(exc), request.event["message"]))
            return "error-handled"

    socketio.on_namespace(Guarded("/guarded"))
    client = socketio.test_client(app, namespace="/guarded")
    assert client.emit("fail", 1, namespace="/guarded", callback=True) == "error-handled"
    assert client.emit("divide", 2, namespace="/guarded", callback=True) == 0.5

    def reraise(exc):
        raise exc

    socketio.on_error_default(reraise)
    assert client.emit("divide", 0, namespace="/guarded", callback=True) == "error-handled"
    socketio.on_error("/guarded")(lambda exc: "the namespace's handler")
    assert client.emit("fail", 2, namespace="/guarded",
                       callback=True) == "the namespace's handler"
    assert seen == [("Boom", "guarded 1", "fail"),
                    ("ZeroDivisionError", "division by zero", "divide")]


def test_error_method_that_raises_reaches_the_test():
    app, socketio = make_app()

    class Clumsy(Namespace):
        def on_fail(self):
            raise Boom("first")

        def error(self, exc):
            raise ValueError(f"error() failed on {exc}")

    socketio.on_namespace(Clumsy("/clumsy"))
    client = socketio.test_client(app, namespace="/clumsy")
    with pytest.raises(ValueError, match="error\\(\\) failed on first"):
        client.emit("fail", namespace="/clumsy")


def test_error_handler_for_catch_all_handlers():
    app, socketio = make_app()
    handled = []
    socketio.on_event("*", lambda event, *args: 1 / 0, namespace="/any")
    socketio.on_error("/any")(lambda exc: handled.append(type(exc)))
    client = socketio.test_client(app, namespace="/any")
    client.emit("whatever", namespace="/any")
    assert handled == [ZeroDivisionError]


def test_error_in_connect_handler_goes_to_the_error_handler():
    app, socketio = make_app()
    handled = []

    @socketio.on("connect", namespace="/chat")
    def connect(auth):
        raise Boom("connect failed")

    socketio.on_error("/chat")(lambda exc: handled.append(str(exc)) or False)
    client = socketio.test_client(app)
    client.connect("/chat")
    assert handled == ["connect failed"]
    assert not client.is_connected("/chat")  # the error handler returned False
    assert client.is_connected()


def test_error_in_disconnect_handler_goes_to_the_error_handler():
    app, socketio = make_app()
    handled = []
    socketio.on_event("disconnect", lambda: 1 / 0)
    socketio.on_error_default(lambda exc: handled.append(type(exc)))
    client = socketio.test_client(app)
    client.disconnect()
    assert handled == [ZeroDivisionError]


def test_error_in_an_ack_callback_goes_to_the_error_handler():
    app, socketio = make_app()
    handled = []

    @socketio.on("ask")
    def ask():
        emit("question", callback=lambda answer: 1 / 0)

    socketio.on_error()(lambda exc: handled.append(type(exc)))
    client = socketio.test_client(app)
    client.emit("ask")
    client.receive("question").ack("x")
    assert handled == [ZeroDivisionError]


def test_error_handler_that_raises_reaches_the_test():
    app, socketio = make_app()

    @socketio.on_error()
    def broken_handler(exc):
        raise RuntimeError("the error handler failed") from exc

    client = socketio.test_client(app)
    with pytest.raises(RuntimeError, match="the error handler failed"):
        client.emit("boom")
    assert client.emit("ok", callback=True) == "fine"


def test_error_handler_must_be_callable():
    app, socketio = make_app()
    with pytest.raises(ValueError):
        socketio.on_error("/chat")("not callable")
    with pytest.raises(ValueError):
        socketio.on_error_default("not callable")


# -- no error handler ----------------------------------------------------------------------


def test_unhandled_exception_reaches_the_test_and_the_connection_survives():
    app, socketio = make_app()
    client = socketio.test_client(app)
    other = socketio.test_client(app)
    with pytest.raises(Boom, match="boom 1"):
        client.emit("boom", 1)
    assert client.is_connected()
    assert client.emit("ok", callback=True) == "fine"
    assert other.emit("ok", callback=True) == "fine"


def test_unhandled_exception_with_an_ack_reaches_the_test():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.raises(Boom):
        client.emit("boom", callback=True)
    assert client.emit("ok", callback=True) == "fine"


def test_unhandled_exception_is_logged_without_raise_server_exceptions(caplog):
    app, socketio = make_app()
    client = socketio.test_client(app, raise_server_exceptions=False)
    other = socketio.test_client(app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR):
        client.emit("boom", "logged")
        client.emit("boom", "twice")
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 2
    assert errors[0].exc_info is not None and isinstance(errors[0].exc_info[1], Boom)
    assert "boom logged" in caplog.text and "boom twice" in caplog.text
    # The connection and every other connection keep working.
    assert client.is_connected() and other.is_connected()
    assert client.emit("ok", callback=True) == "fine"
    assert other.emit("ok", callback=True) == "fine"


def test_unhandled_exception_in_one_namespace_leaves_the_others_working(caplog):
    app, socketio = make_app()
    client = socketio.test_client(app, namespace="/chat", raise_server_exceptions=False)
    client.connect("/")
    client.emit("boom", namespace="/chat")
    assert "chat boom" in caplog.text
    assert client.is_connected("/chat") and client.is_connected("/")
    assert client.emit("ok", callback=True) == "fine"


def test_unhandled_exception_in_connect_refuses_and_is_logged(caplog):
    app, socketio = make_app()

    @socketio.on("connect", namespace="/chat")
    def connect():
        raise Boom("no connect")

    client = socketio.test_client(app, raise_server_exceptions=False)
    client.connect("/chat")
    assert not client.is_connected("/chat")
    assert client.get_connect_error("/chat") is not None
    assert "no connect" in caplog.text
    assert client.emit("ok", callback=True) == "fine"


def test_connection_refused_error_outside_connect_is_an_ordinary_error():
    app, socketio = make_app()
    handled = []

    @socketio.on("late refusal")
    def late_refusal():
        from flask_socketio import ConnectionRefusedError

        raise ConnectionRefusedError("too late")

    socketio.on_error()(lambda exc: handled.append(type(exc).__name__))
    client = socketio.test_client(app)
    client.emit("late refusal")
    assert handled == ["ConnectionRefusedError"]
    assert client.is_connected()


class NotSerializable:
    pass


def test_non_serializable_ack_reaches_the_test_and_the_connection_survives():
    app, socketio = make_app()
    socketio.on_event("bad ack", lambda: NotSerializable())
    client = socketio.test_client(app)
    with pytest.raises(TypeError, match="not JSON serializable"):
        client.emit("bad ack", callback=True)
    assert client.emit("ok", callback=True) == "fine"
