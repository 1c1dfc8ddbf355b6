"""Where the test client follows Flask-SocketIO 5.x's test client (issue 12).

- ``get_received()`` on a namespace the client never connected raises
  ``RuntimeError('not connected ...')``; on one that was connected it returns what
  arrived before the disconnection, then ``[]`` (nothing is lost);
- ``connect(namespace, query_string=, headers=)`` on a connected client gives the
  open session's ``request`` the new ones, for every namespace;
- ``emit(..., callback=True)`` with no acknowledgement returns ``None`` with a
  :class:`NoAckWarning`, unless ``timeout=`` was given (or ``call()`` used).
"""

from __future__ import annotations

import warnings

import pytest
from flask import Flask, request, session, url_for

from flask_socketio import SocketIO, disconnect, emit
from flask_socketio.testing import ANY, NoAckWarning


def make_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    socketio = SocketIO(app)
    app.seen = []

    @app.route("/home")
    def home():
        return "home"

    @socketio.on("connect", namespace="/refuse")
    def refuse():
        emit("sorry", "before the refusal")
        return False

    @socketio.on("connect", namespace="/chat")
    def chat_connect(auth):
        app.seen.append(["/chat", auth, request.args.get("q"), request.headers.get("X-H")])

    @socketio.on("leave")
    def leave():
        emit("goodbye", "see you")
        disconnect()

    @socketio.on("leave", namespace="/chat")
    def leave_chat():
        disconnect()

    @socketio.on("where")
    def where():
        return [request.args.get("q"), request.headers.get("X-H")]

    @socketio.on("where", namespace="/chat")
    def where_chat():
        return [request.args.get("q"), request.headers.get("X-H")]

    @socketio.on("home_url")
    def home_url():
        return url_for("home", _external=True)

    @socketio.on("remember")
    def remember(value):
        session["value"] = value

    @socketio.on("recall")
    def recall():
        return session.get("value")

    @socketio.on("slow")
    def slow():
        socketio.sleep(3)
        return "late"

    return app, socketio


# -- get_received() on a namespace that is not connected ---------------------------------

def test_get_received_on_a_namespace_never_connected_raises_not_connected():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.raises(RuntimeError, match=r"^not connected to namespace '/never'"):
        client.get_received("/never")
    assert client.is_connected()  # the default namespace is untouched
    assert [event.name for event in client.get_received()] == []


def test_get_received_on_a_refused_namespace_returns_what_came_then_raises():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/refuse")
    assert not client.is_connected("/refuse")
    assert client.get_received("/refuse") == [
        {"name": "sorry", "args": ["before the refusal"], "namespace": "/refuse"}]
    with pytest.raises(RuntimeError, match=r"^not connected to namespace '/refuse' \(refused"):
        client.get_received("/refuse")


def test_a_client_of_another_namespace_raises_on_the_default_one():
    app, socketio = make_app()
    client = socketio.test_client(app, namespace="/chat")
    with pytest.raises(RuntimeError, match="not connected to namespace '/'"):
        client.get_received()
    assert client.get_received("/chat") == []


def test_events_received_before_a_server_disconnect_are_not_lost():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("leave")
    assert not client.is_connected()
    assert client.get_received() == [{"name": "goodbye", "args": ["see you"], "namespace": "/"}]
    assert client.get_received() == []  # it was connected: no error


def test_get_received_after_the_client_disconnected_returns_an_empty_list():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/chat")
    client.disconnect("/chat")
    assert client.get_received("/chat") == []


def test_a_namespace_connected_once_and_refused_later_does_not_raise():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.drop()
    client.connect("/refuse")  # a new session, where "/" is not connected again
    client.get_received("/refuse")
    assert client.get_received() == []


def test_get_received_of_any_namespace_and_clear_never_raise():
    app, socketio = make_app()
    client = socketio.test_client(app, namespace="/chat")
    client.connect("/refuse")
    assert [event.name for event in client.get_received(ANY)] == ["sorry"]
    assert client.get_received(ANY) == []
    assert client.clear() == []


def test_a_client_made_without_connecting_raises_on_get_received():
    app, socketio = make_app()
    client = socketio.test_client(app, connect=False)
    with pytest.raises(RuntimeError, match="not connected"):
        client.get_received()
    client.connect()
    assert client.get_received() == []


# -- connect() of another namespace with a query string and headers -----------------------

def test_connect_with_a_new_query_string_and_headers_reaches_every_namespace():
    app, socketio = make_app()
    client = socketio.test_client(app, query_string="q=first")
    assert client.emit("where", callback=True) == ["first", None]
    client.connect("/chat", query_string="q=second", headers={"X-H": "h"}, auth={"a": 2})
    assert app.seen == [["/chat", {"a": 2}, "second", "h"]]
    assert client.emit("where", namespace="/chat", callback=True) == ["second", "h"]
    assert client.emit("where", callback=True) == ["second", "h"]


def test_connect_with_new_headers_drops_the_old_ones_and_keeps_the_session():
    app, socketio = make_app()
    client = socketio.test_client(app, query_string="q=first", headers={"X-H": "old"})
    client.emit("remember", "kept")
    client.connect("/chat", headers={"X-Other": "new"})
    assert client.emit("where", callback=True) == ["first", None]
    assert client.emit("recall", callback=True) == "kept"


def test_connect_without_arguments_keeps_the_handshake():
    app, socketio = make_app()
    client = socketio.test_client(app, query_string="q=first", headers={"X-H": "h"})
    client.connect("/chat")
    assert app.seen == [["/chat", None, "first", "h"]]
    assert client.emit("where", callback=True) == ["first", "h"]


def test_a_new_host_header_changes_the_url_routing_of_later_events():
    app, socketio = make_app()
    client = socketio.test_client(app)
    assert client.emit("home_url", callback=True) == "http://localhost/home"
    client.connect("/chat", headers={"Host": "other.example"})
    assert client.emit("home_url", callback=True) == "http://other.example/home"


def test_new_query_string_and_headers_are_kept_for_the_next_session():
    app, socketio = make_app()
    client = socketio.test_client(app, query_string="q=first")
    client.connect("/chat", query_string="q=second", headers={"X-H": "h"})
    client.drop()
    client.reconnect()
    assert client.emit("where", callback=True) == ["second", "h"]


# -- emit(callback=True) without an acknowledgement --------------------------------------

def test_an_unacknowledged_emit_returns_none_with_a_warning_naming_it():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/chat")
    with pytest.warns(NoAckWarning) as caught:
        assert client.emit("nobody-listens", 1, callback=True, namespace="/chat") is None
    message = str(caught[0].message)
    assert "'nobody-listens'" in message and "'/chat'" in message
    assert "no handler acknowledged" in message
    assert caught[0].filename == __file__  # it points at the test's line
    assert issubclass(NoAckWarning, UserWarning)


def test_send_with_callback_and_no_handler_warns_too():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.warns(NoAckWarning, match="'message'") as caught:
        assert client.send("hi", callback=True) is None
    assert caught[0].filename == __file__


def test_an_acknowledged_emit_does_not_warn():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert client.emit("where", callback=True) == [None, None]
        assert client.send("hi", callback=False) is None


def test_an_ack_later_than_the_client_timeout_is_a_warning_and_none():
    app, socketio = make_app()
    client = socketio.test_client(app, timeout=2)
    clock = client.scheduler.clock
    start = clock.now
    with pytest.warns(NoAckWarning, match="'slow'.*within 2s"):
        assert client.emit("slow", callback=True) is None
    assert clock.now == pytest.approx(start + 2)
    client.scheduler.clock.advance(2)  # the handler ends; its late ack is dropped
    client.assert_nothing_received()


def test_an_explicit_timeout_makes_a_missing_ack_a_timeout_error():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.raises(TimeoutError, match="did not acknowledge 'nobody' on '/' within 0.5s"):
        client.emit("nobody", callback=True, timeout=0.5)
    with pytest.raises(TimeoutError, match="did not acknowledge 'slow'"):
        client.emit("slow", callback=True, timeout=2)
    client.scheduler.clock.advance(2)  # the handler ends


def test_call_raises_timeout_error_without_an_explicit_timeout():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TimeoutError, match="did not acknowledge 'nobody'"):
            client.call("nobody")
