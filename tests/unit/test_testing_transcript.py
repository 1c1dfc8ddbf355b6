"""The transcript: every packet in and out, rooms joined and left, session changes, in order."""

from __future__ import annotations

import pytest
from flask import Flask, session

from flask_socketio import (
    ConnectionRefusedError,
    SocketIO,
    call,
    disconnect,
    emit,
    join_room,
    leave_room,
)
from flask_socketio.testing import SessionChange, Transcript, TranscriptEntry

pytestmark = pytest.mark.socketio_leak_guard

MISSING = SessionChange.MISSING


def make_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    socketio = SocketIO(app)

    @socketio.on("connect")
    def connect(auth):
        if auth == "refuse":
            raise ConnectionRefusedError("go away")
        session["user"] = auth

    @socketio.on("connect", namespace="/side")
    def connect_side():
        pass

    @socketio.on("join")
    def join(room):
        join_room(room)
        emit("joined", room, to=room)
        return "ok"

    @socketio.on("leave")
    def leave(room):
        leave_room(room)

    @socketio.on("ask")
    def ask():
        session["answer"] = call("question", timeout=5)

    @socketio.on("kick", namespace="/side")
    def kick():
        disconnect()

    return app, socketio


def rows(client):
    """The transcript as tuples, the client's own sids replaced by names."""
    names = {client.sid: "<sid>", client.get_sid("/side"): "<side sid>"}
    result = []
    for entry in client.transcript:
        args = entry.args
        if isinstance(args, dict) and "sid" in args:
            args = {"sid": names.get(args["sid"], args["sid"])}
        result.append((entry.direction, entry.kind, entry.namespace, entry.event, args,
                       entry.ack_id))
    return result


def test_transcript_records_everything_in_order():
    app, socketio = make_app()
    client = socketio.test_client(app, auth="ann")
    client.on("question", lambda: 42)
    client.emit("join", "lobby", callback=True)
    client.emit("join", "games")
    client.emit("leave", "lobby")
    client.emit("ask")
    assert rows(client) == [
        ("sent", "connect", "/", None, "ann", None),
        ("server", "session", "/", "connect", ("user", MISSING, "ann"), None),
        ("received", "connect", "/", None, {"sid": "<sid>"}, None),
        ("sent", "event", "/", "join", ["lobby"], 1),
        ("server", "join", "/", None, "lobby", None),
        ("received", "event", "/", "joined", ["lobby"], None),
        ("received", "ack", "/", None, ["ok"], 1),
        ("sent", "event", "/", "join", ["games"], None),
        ("server", "join", "/", None, "games", None),
        ("received", "event", "/", "joined", ["games"], None),
        ("sent", "event", "/", "leave", ["lobby"], None),
        ("server", "leave", "/", None, "lobby", None),
        ("sent", "event", "/", "ask", [], None),
        ("received", "event", "/", "question", [], 1),
        ("sent", "ack", "/", "question", [42], 1),
        ("server", "session", "/", "ask", ("answer", MISSING, 42), None),
    ]


def test_transcript_records_the_rooms_left_on_disconnect():
    app, socketio = make_app()
    client = socketio.test_client(app, auth="ann")
    client.emit("join", "games")
    del client.transcript.entries[:]
    client.disconnect()
    assert rows(client) == [
        ("sent", "disconnect", "/", None, None, None),
        ("server", "leave", "/", None, "games", None),
    ]


def test_transcript_records_a_late_ack():
    app, socketio = make_app()
    client = socketio.test_client(app, auth="ann")
    client.emit("ask")
    client.receive("question").ack("later")
    assert rows(client)[-2:] == [
        ("sent", "ack", "/", "question", ["later"], 1),
        ("server", "session", "/", "ask", ("answer", MISSING, "later"), None),
    ]


def test_transcript_records_a_connect_error():
    app, socketio = make_app()
    client = socketio.test_client(app, auth="refuse")
    assert rows(client) == [
        ("sent", "connect", "/", None, "refuse", None),
        ("received", "connect_error", "/", None, {"message": "go away"}, None),
    ]


def test_transcript_records_a_server_disconnect_per_namespace():
    app, socketio = make_app()
    client = socketio.test_client(app, namespace="/side")
    client.emit("kick", namespace="/side")
    assert rows(client) == [
        ("sent", "connect", "/side", None, None, None),
        ("received", "connect", "/side", None, {"sid": client.transcript.entries[1].args["sid"]},
         None),
        ("sent", "event", "/side", "kick", [], None),
        ("received", "disconnect", "/side", None, None, None),
    ]


def test_transcript_records_an_engineio_close_by_the_server():
    app, socketio = make_app()
    client = socketio.test_client(app, auth="ann")
    socketio.server.eio.disconnect(client.eio_sid)
    last = client.transcript.entries[-1]
    assert (last.direction, last.kind, last.namespace, last.args) == (
        "received", "disconnect", "/", "server disconnect")


def test_each_client_has_its_own_transcript():
    app, socketio = make_app()
    ann = socketio.test_client(app, auth="ann")
    bob = socketio.test_client(app, auth="bob")
    ann.emit("join", "lobby")
    bob.emit("join", "lobby")
    # bob's join reaches ann as an event, never as bob's room change
    ann_rows = rows(ann)
    assert [r for r in ann_rows if r[1] == "join"] == [("server", "join", "/", None, "lobby",
                                                        None)]
    assert ann_rows[-1] == ("received", "event", "/", "joined", ["lobby"], None)
    assert ann.transcript.of_kind("session")[0].args == ("user", MISSING, "ann")
    assert bob.transcript.of_kind("session")[0].args == ("user", MISSING, "bob")


def test_transcript_format_is_one_readable_line_per_entry():
    app, socketio = make_app()
    client = socketio.test_client(app, auth="ann")
    client.on("question", lambda: 42)
    client.emit("join", "lobby", callback=True)
    client.emit("ask")
    lines = client.transcript.format().splitlines()
    assert len(lines) == len(client.transcript)
    assert lines[0] == "-> connect       / 'ann'"
    assert lines[1] == "** session       / 'connect' ('user', <missing>, 'ann')"
    assert lines[2].startswith("<- connect       / {'sid': ")
    assert lines[3] == "-> event         / 'join' ['lobby'] (ack id 1)"
    assert lines[4] == "** join          / 'lobby'"
    assert lines[6] == "<- ack           / ['ok'] (ack id 1)"
    assert "-> ack           / 'question' [42] (ack id 1)" in lines


def test_transcript_entries_and_container():
    transcript = Transcript()
    assert len(transcript) == 0
    assert transcript.format() == "(nothing happened)"
    transcript.add("sent", "event", "/chat", "hello", ["world"], 3)
    transcript.add("server", "join", "/chat", args="room")
    entry = transcript.entries[0]
    assert entry == TranscriptEntry("sent", "event", "/chat", "hello", ["world"], 3)
    assert str(entry) == "-> event         /chat 'hello' ['world'] (ack id 3)"
    assert list(transcript) == transcript.entries
    assert transcript.of_kind("join") == [TranscriptEntry("server", "join", "/chat", None,
                                                          "room", None)]
    with pytest.raises(AttributeError):
        entry.kind = "ack"  # entries are frozen


def test_session_changes_cost_no_copy_while_the_session_is_empty(monkeypatch):
    from flask_socketio import context

    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("noop")
    def on_noop():
        pass

    @socketio.on("keep")
    def on_keep(value):
        session["kept"] = [value]

    @socketio.on("grow")
    def on_grow(value):
        session["kept"].append(value)  # changed in place: seen thanks to the copy

    client = socketio.test_client(app)
    copies = []
    real_deepcopy = context.copy.deepcopy
    monkeypatch.setattr(context.copy, "deepcopy",
                        lambda value, *rest: copies.append(value) or real_deepcopy(value, *rest))
    client.emit("noop")
    assert copies == []
    client.emit("keep", 1)
    client.emit("grow", 2)
    monkeypatch.undo()
    changes = [(change.key, change.old, change.new, change.event)
               for change in client.session_changes]
    assert changes == [("kept", SessionChange.MISSING, [1], "keep"),
                       ("kept", [1], [1, 2], "grow")]
