"""Connection state recovery in-process: the test client's drop() and reconnect()."""

from __future__ import annotations

import pytest
from flask import Flask, request, session

from flask_socketio import EventRefused, SocketIO, emit, join_room, rooms
from flask_socketio.recovery import RecoveryOptions, split_auth

pytestmark = pytest.mark.socketio_leak_guard


def make_app(recovery=True, **options):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    if recovery is not None:
        options["connection_state_recovery"] = recovery
    socketio = SocketIO(app, **options)
    seen = []

    @socketio.on("connect")
    def on_connect(auth=None):
        seen.append(("connect", request.sid, request.recovered, auth))

    @socketio.on("join")
    def on_join(room):
        join_room(room)

    @socketio.on("remember")
    def on_remember(value):
        session["remembered"] = value
        with socketio.server.session(request.sid) as data:
            data["value"] = value

    @socketio.on("recall")
    def on_recall():
        return session.get("remembered"), socketio.server.get_session(request.sid).get("value")

    @socketio.on("rooms")
    def on_rooms():
        return sorted(rooms())

    @socketio.on("reply")
    def on_reply(value):
        emit("replied", value)

    return app, socketio, seen


def names_and_args(received):
    return [(each["name"], each["args"]) for each in received]


def client_with_an_offset(app, socketio, **kwargs):
    """A test client that has received one event, so that it has an offset to recover from."""
    client = socketio.test_client(app, **kwargs)
    socketio.emit("news", 1)
    client.get_received()
    return client


def assert_a_new_session(client, old_sid):
    assert not client.is_recovered()
    assert client.sid != old_sid
    assert client.get_received() == []


def test_a_dropped_client_gets_its_sid_rooms_data_and_missed_broadcasts_back():
    app, socketio, seen = make_app()
    client = socketio.test_client(app)
    other = socketio.test_client(app)
    client.emit("join", "blue")
    client.emit("remember", "kept")
    socketio.emit("news", 1)
    assert names_and_args(client.get_received()) == [("news", [1])]
    sid = client.sid

    client.drop()
    socketio.emit("news", 2)
    socketio.emit("news", 3, to="blue")
    socketio.emit("news", 4, to="green")  # a room it was not in
    socketio.emit("news", 5, skip_sid=sid)
    socketio.emit("news", 6, to=sid)
    socketio.emit("pair", 7, "eight")
    client.reconnect()

    assert client.is_recovered()
    assert client.sid == sid
    assert seen[-1] == ("connect", sid, True, None)
    assert names_and_args(client.get_received()) == [
        ("news", [2]), ("news", [3]), ("news", [6]), ("pair", [7, "eight"])]
    assert client.emit("rooms", callback=True) == sorted([sid, "blue"])
    assert client.emit("recall", callback=True) == ["kept", "kept"]
    assert socketio.server.manager.is_connected(sid, "/")
    # the other client got what was sent to it, as it was sent, once
    assert [args for _, args in names_and_args(other.get_received())] == [
        [1], [2], [5], [7, "eight"]]


def test_a_client_sees_the_offset_as_a_last_argument_in_the_transcript_only():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    socketio.emit("news", "a")
    assert client.get_received()[0]["args"] == ["a"]
    sent = [entry for entry in client.transcript.entries if entry.kind == "event"]
    assert sent[-1].args == ["a"]


def test_without_the_option_there_is_no_pid_and_no_recovery():
    app, socketio, seen = make_app(recovery=None)
    client = client_with_an_offset(app, socketio)
    sid = client.sid
    client.drop()
    socketio.emit("news", 2)
    client.reconnect()
    assert_a_new_session(client, sid)
    assert seen[-1][2] is False
    assert socketio.server.recovery is None


def test_a_client_that_received_no_event_is_not_recovered_as_with_socket_io():
    app, socketio, seen = make_app()
    client = socketio.test_client(app)
    sid = client.sid
    client.drop()
    socketio.emit("news", 1)
    client.reconnect()
    assert_a_new_session(client, sid)


def test_the_session_expires_after_max_disconnection_duration(socketio_clock):
    app, socketio, _ = make_app({"max_disconnection_duration": 30})
    client = client_with_an_offset(app, socketio)
    sid = client.sid
    client.drop()
    socketio_clock.advance(31)
    client.reconnect()
    assert not client.is_recovered()
    assert client.sid != sid


def test_within_max_disconnection_duration_the_session_is_recovered(socketio_clock):
    app, socketio, _ = make_app({"max_disconnection_duration": 30})
    client = client_with_an_offset(app, socketio)
    client.drop("ping timeout")
    socketio_clock.advance(29)
    socketio.emit("news", 2)
    client.reconnect()
    assert client.is_recovered()
    assert names_and_args(client.get_received()) == [("news", [2])]


def test_a_client_disconnect_keeps_nothing():
    app, socketio, _ = make_app()
    client = client_with_an_offset(app, socketio)
    sid = client.sid
    client.disconnect()
    socketio.emit("news", 2)
    client.connect()
    assert_a_new_session(client, sid)
    assert socketio.server.recovery.kept_sessions == 0


def test_a_session_is_recovered_once():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    socketio.emit("news", 1)
    offset = client.transcript.entries[-1]
    assert offset.kind == "event"
    client.get_received()
    pid = client._pids["/"]
    client.drop()
    client.reconnect()
    assert client.is_recovered()
    intruder = socketio.test_client(app, auth={"pid": pid, "offset": client._offsets["/"]})
    assert not intruder.is_recovered()
    assert intruder.sid != client.sid


def test_emits_with_a_callback_and_volatile_emits_are_not_recoverable():
    app, socketio, _ = make_app()
    client = client_with_an_offset(app, socketio)
    sid = client.sid
    socketio.emit("volatile", 1, volatile=True)
    socketio.emit("asked", 1, to=sid, callback=lambda *args: None)
    received = client.get_received()
    assert [(each["name"], each["args"]) for each in received] == [
        ("volatile", [1]), ("asked", [1])]
    client.drop()
    socketio.emit("volatile", 2, volatile=True)
    client.reconnect()
    assert client.is_recovered()
    assert client.get_received() == []


def test_a_handler_reply_is_recoverable_too():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("reply", "first")
    assert names_and_args(client.get_received()) == [("replied", ["first"])]
    client.drop()
    other = socketio.test_client(app)
    other.emit("reply", "not mine")
    client.reconnect()
    assert client.is_recovered()
    assert client.get_received() == []
    assert names_and_args(other.get_received()) == [("replied", ["not mine"])]


def test_binary_events_are_replayed():
    app, socketio, _ = make_app()
    client = client_with_an_offset(app, socketio)
    client.drop()
    socketio.emit("blob", {"data": b"\x00\x01"}, "text")
    client.reconnect()
    assert names_and_args(client.get_received()) == [("blob", [{"data": b"\x00\x01"}, "text"])]


@pytest.mark.parametrize(("missed", "recovered"), [(3, True), (4, False)])
def test_recovery_needs_every_missed_event_in_the_log(missed, recovered):
    app, socketio, _ = make_app({"max_packets": 3})
    client = client_with_an_offset(app, socketio)
    client.drop()
    for number in range(2, 2 + missed):
        socketio.emit("news", number)
    client.reconnect()
    assert client.is_recovered() is recovered
    expected = [[number] for number in range(2, 2 + missed)] if recovered else []
    assert [each["args"] for each in client.get_received()] == expected


def test_a_refused_recovery_replays_nothing_and_restores_nothing():
    app, socketio, _ = make_app()
    refuse = []

    @socketio.on("connect", namespace="/guarded")
    def guarded(auth=None):
        if refuse:
            return False
        return None

    client = socketio.test_client(app, namespace="/guarded")
    socketio.emit("news", 1, namespace="/guarded")
    client.get_received("/guarded")
    client.drop()
    socketio.emit("news", 2, namespace="/guarded")
    refuse.append(True)
    client.reconnect()
    assert not client.is_connected("/guarded")
    assert client.get_received("/guarded") == []
    assert socketio.server.recovery.was_recovered(client._namespaces.get("/guarded"),
                                                  "/guarded") is False


def test_auth_reaches_the_connect_handler_without_pid_and_offset():
    app, socketio, seen = make_app()
    client = client_with_an_offset(app, socketio, auth={"token": "t"})
    client.drop()
    client.reconnect()
    assert client.is_recovered()
    assert seen[-1][3] == {"token": "t"}
    assert seen[-1][2] is True


@pytest.mark.parametrize(("skip", "expected"), [(True, ["connect"]),
                                                (False, ["connect", "connect"])])
def test_skip_middlewares_skips_before_event_hooks_for_a_recovered_connect(skip, expected):
    app, socketio, _ = make_app({"skip_middlewares": skip})
    hooked = []

    @socketio.before_event
    def hook(event, args):
        if event == "connect":
            hooked.append(event)

    client = client_with_an_offset(app, socketio)
    client.drop()
    client.reconnect()
    assert client.is_recovered()
    assert hooked == expected


def test_a_before_hook_can_still_refuse_when_middlewares_are_not_skipped():
    app, socketio, _ = make_app({"skip_middlewares": False})
    refusing = []

    @socketio.before_event
    def hook(event, args):
        if event == "connect" and refusing:
            raise EventRefused("go away")

    client = client_with_an_offset(app, socketio)
    client.drop()
    socketio.emit("news", 2)
    refusing.append(True)
    client.reconnect()
    assert not client.is_connected()
    assert client.connect_error == {"message": "go away"}
    assert client.get_received() == []


def test_each_namespace_recovers_on_its_own():
    app, socketio, _ = make_app()

    @socketio.on("connect", namespace="/chat")
    def chat_connect():
        pass

    client = socketio.test_client(app)
    client.connect("/chat")
    socketio.emit("news", 1)
    socketio.emit("news", "c1", namespace="/chat")
    client.get_received()
    client.get_received("/chat")
    client.drop()
    socketio.emit("news", "c2", namespace="/chat")
    client.reconnect()
    assert client.is_recovered() and client.is_recovered("/chat")
    assert client.get_received() == []
    assert names_and_args(client.get_received("/chat")) == [("news", ["c2"])]


def test_options_are_checked():
    assert RecoveryOptions.from_option(None) is None
    assert RecoveryOptions.from_option(False) is None
    assert RecoveryOptions.from_option(True) == RecoveryOptions()
    with pytest.raises(TypeError, match="maxDisconnectionDuration"):
        RecoveryOptions.from_option({"maxDisconnectionDuration": 1})
    with pytest.raises(ValueError, match="max_disconnection_duration"):
        RecoveryOptions.from_option({"max_disconnection_duration": 0})
    with pytest.raises(ValueError, match="max_packets"):
        RecoveryOptions.from_option({"max_packets": 0})
    with pytest.raises(TypeError, match="True or a dict"):
        SocketIO(Flask(__name__), connection_state_recovery="yes")


def test_split_auth():
    assert split_auth(None) == (None, None, None)
    assert split_auth({"token": 1}) == ({"token": 1}, None, None)
    assert split_auth({"pid": "p", "offset": "o"}) == (None, "p", "o")
    assert split_auth({"pid": "p", "token": 1}) == ({"token": 1}, "p", None)


def test_with_always_connect_the_missed_events_follow_the_reply_too():
    app, socketio, seen = make_app(always_connect=True)
    client = client_with_an_offset(app, socketio)
    sid = client.sid
    client.drop()
    socketio.emit("news", 2)
    client.reconnect()
    assert client.is_recovered() and client.sid == sid
    assert seen[-1] == ("connect", sid, True, None)
    assert names_and_args(client.get_received()) == [("news", [2])]


def test_what_the_connect_handler_emits_comes_after_the_missed_events():
    app, socketio, _ = make_app()

    @socketio.on("connect", namespace="/greet")
    def greet():
        emit("hello", request.recovered)

    client = socketio.test_client(app, namespace="/greet")
    client.get_received("/greet")
    socketio.emit("news", 1, namespace="/greet")
    client.get_received("/greet")
    client.drop()
    socketio.emit("news", 2, namespace="/greet")
    client.reconnect()
    assert names_and_args(client.get_received("/greet")) == [("news", [2]), ("hello", [True])]


def test_an_emit_that_cannot_be_encoded_is_not_kept():
    app, socketio, _ = make_app()
    client = client_with_an_offset(app, socketio)
    client.drop()
    other = socketio.test_client(app)  # the namespace has a connection: encoded first
    with pytest.raises(TypeError):
        socketio.emit("news", object())
    with pytest.raises(TypeError):  # python-socketio's own emit, unchecked
        socketio.server.emit("news", object())
    socketio.emit("news", 2)
    assert socketio.server.recovery.logged_events == 2
    client.reconnect()
    assert client.is_recovered()
    assert names_and_args(client.get_received()) == [("news", [2])]
    assert names_and_args(other.get_received()) == [("news", [2])]
