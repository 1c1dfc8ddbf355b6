"""The chat example (examples/chat), in-process: notices with names, a member list
per room, posting only to joined rooms, a quiet tab close, a warned default key."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def chat():
    spec = importlib.util.spec_from_file_location("chat_example",
                                                  ROOT / "examples" / "chat" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app_and_socketio(chat):
    return chat.create_app({"SECRET_KEY": "test"})


def events(client, name):
    # As in Flask-SocketIO, get_received() unwraps the arguments of "message" events.
    return [event["args"] if name == "message" else event["args"][0]
            for event in client.get_received() if event["name"] == name]


def join(client, username, room):
    assert client.emit("join", {"username": username, "room": room}, callback=True) == {
        "ok": True}


def test_joining_names_the_user_and_sends_the_member_list(app_and_socketio):
    app, socketio = app_and_socketio
    alice, bob = socketio.test_client(app), socketio.test_client(app)
    join(alice, "alice", "blue")
    alice.get_received()
    join(bob, "bob", "blue")
    received = alice.get_received()
    assert [e["name"] for e in received] == ["status", "users"]
    assert received[0]["args"][0] == {"room": "blue", "msg": "bob joined blue"}
    assert received[1]["args"][0] == {"room": "blue", "users": ["alice", "bob"]}


def test_posting_to_a_room_not_joined_is_refused_and_reaches_nobody(app_and_socketio):
    app, socketio = app_and_socketio
    alice, carol = socketio.test_client(app), socketio.test_client(app)
    join(alice, "alice", "blue")
    join(carol, "carol", "red")
    alice.get_received()
    assert carol.emit("text", {"room": "blue", "msg": "sneaky"}, callback=True) == {
        "ok": False, "error": "join blue before posting to it"}
    assert alice.get_received() == []
    assert alice.emit("text", {"room": "blue", "msg": "hi"}, callback=True) == {"ok": True}
    assert events(alice, "message") == [{"room": "blue", "username": "alice", "msg": "hi"}]


@pytest.mark.parametrize("bad", [None, {}, {"username": "", "room": "x"},
                                 {"username": "a", "room": 5}])
def test_a_malformed_join_is_an_error_answer(app_and_socketio, bad):
    app, socketio = app_and_socketio
    client = socketio.test_client(app)
    reply = client.emit("join", bad, callback=True)
    assert reply["ok"] is False and "must be a non-empty string" in reply["error"]


def test_closing_a_tab_tells_each_room_who_left_and_logs_no_error(app_and_socketio, caplog):
    app, socketio = app_and_socketio
    alice, bob = socketio.test_client(app), socketio.test_client(app)
    join(alice, "alice", "blue")
    join(bob, "bob", "blue")
    join(bob, "bob", "green")
    alice.get_received()
    with caplog.at_level("DEBUG"):
        bob.disconnect()
    assert alice.get_received() == [
        {"name": "status", "args": [{"room": "blue", "msg": "bob left blue"}],
         "namespace": "/"},
        {"name": "users", "args": [{"room": "blue", "users": ["alice"]}], "namespace": "/"},
    ]
    assert not [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]


def test_leaving_tells_the_room(app_and_socketio):
    app, socketio = app_and_socketio
    alice, bob = socketio.test_client(app), socketio.test_client(app)
    join(alice, "alice", "blue")
    join(bob, "bob", "blue")
    alice.get_received()
    assert bob.emit("leave", {"room": "blue"}, callback=True) == {"ok": True}
    assert events(alice, "status") == [{"room": "blue", "msg": "bob left blue"}]
    assert bob.emit("leave", {"room": "blue"}, callback=True) == {
        "ok": False, "error": "you are not in blue"}


def test_without_a_secret_key_a_random_one_is_used_with_a_warning(chat, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.warns(UserWarning, match="SECRET_KEY is not set"):
        first, _ = chat.create_app()
    with pytest.warns(UserWarning):
        second, _ = chat.create_app()
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] != second.config["SECRET_KEY"]
    monkeypatch.setenv("SECRET_KEY", "from the environment")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app, _ = chat.create_app()
    assert app.config["SECRET_KEY"] == "from the environment"
