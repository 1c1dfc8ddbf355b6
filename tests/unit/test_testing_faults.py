"""Fault injection (drop, reconnect), connect options (environ_overrides, session,
connect=False, clear) and send_raw, in-process. The live twins are in
tests/integration/test_toolkit_live.py."""

from __future__ import annotations

import pytest
from flask import Flask, request, session

from flask_socketio import ConnectionRefusedError, SocketIO, emit
from flask_socketio.testing import ANY

pytestmark = pytest.mark.socketio_leak_guard


def create_app(**options):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    socketio = SocketIO(app, **options)
    app.disconnects = []

    @socketio.on("connect")
    def on_connect(auth):
        if auth != {"token": "secret"}:
            raise ConnectionRefusedError("bad token")
        emit("welcome", {"addr": request.remote_addr})

    @socketio.on("connect", namespace="/game")
    def on_game_connect(auth):
        if auth != {"player": "ann"}:
            raise ConnectionRefusedError("who?")

    @socketio.on("disconnect")
    def on_disconnect(reason):
        app.disconnects.append(("/", reason))

    @socketio.on("disconnect", namespace="/game")
    def on_game_disconnect(reason):
        app.disconnects.append(("/game", reason))

    @socketio.on("whoami")
    def whoami():
        return {"addr": request.remote_addr, "user": session.get("user"),
                "agent": request.headers.get("User-Agent")}

    @socketio.on("echo")
    def echo(*args):
        emit("echo", *args)
        return list(args)

    return app, socketio


AUTH = {"token": "secret"}


@pytest.mark.parametrize("reason", ["transport close", "ping timeout", "transport error"])
def test_drop_tells_the_server_the_reason_and_runs_disconnect_handlers(reason):
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH)
    client.connect("/game", auth={"player": "ann"})
    client.drop(reason)
    assert sorted(app.disconnects) == [("/", reason), ("/game", reason)]
    assert not client.is_connected() and not client.is_connected("/game")
    assert client.disconnect_reason == reason
    assert client.get_disconnect_reason("/game") == reason
    with pytest.raises(RuntimeError, match="not connected"):
        client.emit("echo", 1)


def test_drop_is_the_default_transport_close_and_what_was_sent_arrives_first():
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH)
    client._socket.send('0/game,{"player":"ann"}')  # sent, not yet read by the server
    client.drop()
    assert sorted(app.disconnects) == [("/", "transport close"), ("/game", "transport close")]


def test_drop_needs_a_connection_and_a_known_reason():
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH)
    with pytest.raises(ValueError, match="'transport close', 'ping timeout'"):
        client.drop("cable cut")
    client.disconnect()
    with pytest.raises(RuntimeError, match="no open connection"):
        client.drop()


def test_reconnect_uses_the_same_auth_for_every_namespace():
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH)
    client.connect("/game", auth={"player": "ann"})
    first_eio_sid = client.eio_sid
    client.drop("ping timeout")
    client.reconnect()
    assert client.is_connected() and client.is_connected("/game")
    assert client.eio_sid != first_eio_sid
    with pytest.raises(RuntimeError, match="still connected"):
        client.reconnect()


def test_connect_again_sends_the_auth_it_is_given_as_flask_socketio_does():
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH)
    client.drop()
    client.connect()  # auth=None: no auth, as Flask-SocketIO's test client
    assert not client.is_connected()
    assert client.connect_error == {"message": "bad token"}
    client.connect(auth=AUTH)
    assert client.is_connected()
    client.drop()
    client.reconnect()  # reconnect() is the one that reuses the last auth
    assert client.is_connected()
    assert [event.name for event in client.get_received()] == ["welcome"] * 3


def test_environ_overrides_reach_the_handlers():
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH, headers={"User-Agent": "tests"},
                                  environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
    client.assert_received("welcome", {"addr": "203.0.113.9"})
    assert client.call("whoami") == {"addr": "203.0.113.9", "user": None, "agent": "tests"}
    client.drop()
    client.reconnect()  # the options hold for every session of the client
    assert client.call("whoami")["addr"] == "203.0.113.9"


@pytest.mark.parametrize("manage_session", [True, False])
def test_session_seed(manage_session):
    app, socketio = create_app(manage_session=manage_session)
    client = socketio.test_client(app, auth=AUTH, session={"user": "ann"})
    assert client.call("whoami")["user"] == "ann"
    assert client.session["user"] == "ann"


def test_session_seed_needs_a_secret_key():
    app, socketio = create_app()
    app.config["SECRET_KEY"] = None
    app.secret_key = None
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        socketio.test_client(app, auth=AUTH, session={"user": "ann"})


def test_connect_false_creates_without_connecting():
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH, connect=False)
    assert not client.is_connected() and client.eio_sid is None
    assert app.disconnects == []
    client.connect()  # with the auth given at creation
    assert client.is_connected()
    client.assert_received("welcome", {"addr": ANY})


def test_clear_forgets_the_connect_time_events():
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH)
    client.connect("/game", auth={"player": "ann"})
    cleared = client.clear()
    assert [event.name for event in cleared] == ["welcome"]
    client.assert_nothing_received()
    client.emit("echo", 1)
    client.assert_received("echo", 1)


def test_send_raw_sends_a_packet_as_it_is():
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH)
    client.clear()
    client.send_raw('2["echo","raw",1]')
    client.assert_received("echo", "raw", 1)
    client.send_raw('21["echo"]')  # with an ack id
    assert [entry.kind for entry in client.transcript][-3:] == ["raw", "event", "ack"]
    with pytest.raises(TypeError, match="str or bytes"):
        client.send_raw(["echo"])


def test_send_raw_of_a_malformed_packet_closes_the_connection(caplog):
    app, socketio = create_app()
    client = socketio.test_client(app, auth=AUTH)
    client.send_raw('2["echo"')  # truncated JSON: a protocol violation
    assert not client.is_connected()
    assert app.disconnects[-1][0] == "/"
    assert "protocol violation" in caplog.text
    with pytest.raises(RuntimeError, match="no open connection"):
        client.send_raw('2["echo"]')
