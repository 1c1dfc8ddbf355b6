"""The toolkit's assertions and faults, one test body each, in-process and live.

``make_client`` (see conftest) gives the in-process client, or a live client over
WebSocket only or long-polling only, with one API: the namespace rule, matchers,
refute_received, the broadcast recorder, drop and reconnect, connect options and
send_raw must behave the same in all three.
"""

from __future__ import annotations

import pytest
from flask import Flask, request, session

from flask_socketio import ConnectionRefusedError, SocketIO, emit, join_room
from flask_socketio.testing import ANY, NoAckWarning, Partial, Regex

AUTH = {"token": "secret"}


def create_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "live toolkit"
    # short pings, so that a live "ping timeout" is seen within a second or two
    socketio = SocketIO(app, ping_interval=0.5, ping_timeout=0.5)
    app.disconnects = []

    @socketio.on("connect")
    def on_connect(auth):
        if auth != AUTH:
            raise ConnectionRefusedError("bad token")
        emit("welcome", {"addr": request.remote_addr, "user": session.get("user")})

    @socketio.on("connect", namespace="/chat")
    def on_chat_connect(auth):
        if auth != {"nick": "ann"}:
            raise ConnectionRefusedError("who?")

    @socketio.on("disconnect")
    def on_disconnect(reason):
        app.disconnects.append(("/", reason))

    @socketio.on("disconnect", namespace="/chat")
    def on_chat_disconnect(reason):
        app.disconnects.append(("/chat", reason))

    @socketio.on("misroute")
    def misroute(text):
        emit("news", text, namespace="/chat")  # a server bug: the wrong namespace
        return True

    @socketio.on("scores")
    def scores(*points):
        for value in points:
            emit("score", {"points": value, "by": "ann"})
        return True

    @socketio.on("publish")
    def publish(room, text):
        emit("news", text, to=room)
        return True

    @socketio.on("join")
    def on_join(room):
        join_room(room)
        return True

    @socketio.on("echo")
    def echo(*args):
        emit("echo", *args)
        return list(args)

    @socketio.on("ticks")
    def ticks(count):
        def tick():
            for number in range(count):
                socketio.sleep(0.01)
                socketio.emit("tick", number, to="nobody")

        socketio.start_background_task(tick)
        return True

    @socketio.on("whoami")
    def whoami():
        return {"sid": request.sid, "addr": request.remote_addr, "user": session.get("user")}

    return app


@pytest.fixture
def app():
    return create_app()


def test_namespace_none_is_the_default_namespace(make_client):
    client = make_client(auth=AUTH)
    client.connect("/chat", auth={"nick": "ann"})
    client.clear()
    assert client.call("misroute", "hi") is True
    client.call("echo")  # a round trip: the misrouted event has arrived
    with pytest.raises(AssertionError, match="namespace='/chat'"):
        client.assert_received("news", "hi", timeout=0.2)
    client.assert_received("news", "hi", namespace="/chat")
    client.assert_received("echo", namespace=ANY)


def test_matchers_take_the_first_matching_event(make_client):
    client = make_client(auth=AUTH)
    client.clear()
    assert client.call("scores", 1, 2, 3) is True
    client.assert_received("score", Partial({"points": 2}))
    client.refute_received("score", Partial({"points": 2}))
    client.assert_received("score", {"points": 1, "by": Regex("a.n")})
    client.assert_received("score", Partial(points=3))
    client.refute_received("score")


def test_the_recorder_sees_emits_to_a_room_with_no_member(make_client, socketio_emits):
    client = make_client(auth=AUTH)
    assert client.call("publish", "empty", "hello") is True
    [record] = socketio_emits.assert_emitted("news", "hello", to="empty")
    assert record.sids == ()
    socketio_emits.assert_emitted("welcome", Partial({"user": None}), to=client.sid)
    socketio_emits.assert_not_emitted("score")


def test_the_recorder_waits_for_background_task_emits(make_client, socketio_emits):
    client = make_client(auth=AUTH)
    assert client.call("ticks", 3) is True
    # in-process the wait moves the virtual clock, live it is real
    records = socketio_emits.assert_emitted("tick", ANY, to="nobody", count=3, timeout=5)
    assert [record.args for record in records] == [[0], [1], [2]]


@pytest.mark.parametrize("reason", ["transport close", "transport error", "ping timeout"])
def test_drop_and_reconnect_with_the_same_auth(make_client, app, reason):
    client = make_client(auth=AUTH)
    client.connect("/chat", auth={"nick": "ann"})
    first_sid = client.sid
    client.drop(reason)
    assert sorted(app.disconnects) == [("/", reason), ("/chat", reason)]
    assert client.disconnect_reason == reason
    assert not client.is_connected("/chat")
    client.reconnect()
    assert client.is_connected() and client.is_connected("/chat")
    assert client.call("whoami")["sid"] == client.sid != first_sid


def test_connect_again_after_a_drop(make_client):
    client = make_client(auth=AUTH)
    client.drop()
    client.connect()  # no auth: refused, as with Flask-SocketIO's connect()
    assert client.connect_error == {"message": "bad token"}
    client.connect(auth=AUTH)
    assert client.call("echo", 1) == [1]


def test_connect_options(make_client):
    client = make_client(auth=AUTH, connect=False, session={"user": "ann"},
                         environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
    assert not client.is_connected()
    client.connect()
    client.assert_received("welcome", {"addr": "203.0.113.9", "user": "ann"})
    assert client.call("whoami") == {"sid": client.sid, "addr": "203.0.113.9", "user": "ann"}


def test_clear_and_send_raw(make_client):
    client = make_client(auth=AUTH)
    assert client.call("echo", 0) == [0]  # live, a round trip: "welcome" has arrived
    assert [event.name for event in client.clear()] == ["welcome", "echo"]
    client.send_raw('2["echo","raw",1]')
    client.assert_received("echo", "raw", 1)
    assert [entry.kind for entry in client.transcript.of_kind("raw")] == ["raw"]


def test_get_received_raises_only_on_a_namespace_never_connected(make_client):
    client = make_client(auth=AUTH)
    with pytest.raises(RuntimeError, match="not connected to namespace '/chat'"):
        client.get_received("/chat")  # as Flask-SocketIO's test client
    client.connect("/chat", auth={"nick": "ann"})
    client.disconnect("/chat")
    assert client.get_received("/chat") == []  # it was connected: no error


def test_an_unacknowledged_emit_returns_none_with_a_warning(make_client):
    client = make_client(auth=AUTH, timeout=0.5)
    with pytest.warns(NoAckWarning, match="'nobody' on namespace '/'"):
        assert client.emit("nobody", callback=True) is None
    with pytest.raises(TimeoutError, match="did not acknowledge 'nobody'"):
        client.emit("nobody", callback=True, timeout=0.3)
    with pytest.raises(TimeoutError, match="did not acknowledge 'nobody'"):
        client.call("nobody")
    assert client.call("echo", 1) == [1]


def test_a_query_string_for_an_open_connection(make_client):
    client = make_client(auth=AUTH)
    if make_client.mode == "inprocess":  # the open session's request gets it
        client.connect("/chat", query_string="q=1", auth={"nick": "ann"})
    else:  # a live connection keeps its handshake's: said, not silently ignored
        with pytest.warns(UserWarning, match="from the next connection on"):
            client.connect("/chat", query_string="q=1", auth={"nick": "ann"})
    assert client.is_connected("/chat")
