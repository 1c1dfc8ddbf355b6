"""The core behaviours, one test body each, run in-process and live over each transport.

``make_client`` (see conftest) gives the in-process test client, or a live client on
a LiveServer over WebSocket only or over long-polling only, all with one API. Live,
"nothing received" is asserted after a round trip (``call``), since a server sends
on one connection in order.
"""

from __future__ import annotations

import pytest

from flask_socketio.testing import ANY

from .support import wait_until


def test_echo_event_and_ack(make_client):
    client = make_client()
    assert client.is_connected()
    assert client.emit("echo", "hello", {"n": 1}, callback=True) == ["hello", {"n": 1}]
    client.assert_received("echo", "hello", {"n": 1})
    client.assert_nothing_received()


def test_emit_without_callback_then_receive(make_client):
    client = make_client()
    assert client.emit("echo", 42) is None
    record = client.receive("echo", timeout=5)
    assert (record.name, record.args, record.namespace) == ("echo", [42], "/")


def test_binary_payloads_round_trip(make_client):
    client = make_client()
    blob = bytes(range(256)) * 4
    nested = {"nested": [b"\x00\xff"]}
    assert client.call("echo", blob, nested) == [blob, nested]
    client.assert_received("echo", blob, nested)


def test_call_returns_the_single_ack_value(make_client):
    client = make_client()
    sid = client.call("whoami")
    assert sid == client.sid
    assert client.call("echo") == []


def test_server_asks_the_client_with_call(make_client):
    client = make_client()
    client.on("question", lambda question: f"answer to {question}")
    assert client.call("ask", "life", timeout=5) == "answer to life"
    client.assert_received("question", "life")


def test_server_emit_with_callback_gets_the_client_ack(make_client):
    client = make_client()
    client.on("question", lambda question: question.upper())
    assert client.call("ask_later", "why") is True
    client.assert_received("question", "why")
    client.receive("answer", timeout=5)  # the server's callback emitted it


def test_a_received_event_acked_by_the_test(make_client):
    client = make_client()
    assert client.call("ask_later", "later?") is True
    question = client.receive("question", timeout=5)
    assert question.wants_ack
    question.ack("yes", 2)
    assert client.receive("answer", timeout=5).args == ["yes", 2]


def test_namespaces_are_separate(make_client):
    chat = make_client("/chat")
    assert chat.is_connected("/chat")
    assert not chat.is_connected("/")
    assert chat.call("echo", "hi", namespace="/chat") == ["hi", {"namespace": "/chat"}]
    chat.assert_received("echo", "hi", {"namespace": "/chat"}, namespace="/chat")
    chat.assert_nothing_received("/")


def test_a_second_namespace_on_the_same_connection(make_client):
    client = make_client()
    client.connect("/chat")
    assert client.is_connected("/") and client.is_connected("/chat")
    assert client.get_sid("/chat") not in (None, client.sid)
    assert client.call("echo", 1, namespace="/chat") == [1, {"namespace": "/chat"}]
    assert client.call("echo", 2) == 2
    client.disconnect("/chat")
    assert client.is_connected("/") and not client.is_connected("/chat")
    assert client.call("echo", 3) == 3


def test_refused_namespace_gets_its_connect_error(make_client):
    client = make_client()
    client.connect("/private")
    assert not client.is_connected("/private")
    assert client.get_connect_error("/private") == {"message": "members only"}
    assert client.is_connected("/")


def test_unknown_namespace_gets_an_object_connect_error(make_client):
    client = make_client()
    client.connect("/nowhere")
    assert not client.is_connected("/nowhere")
    assert client.get_connect_error("/nowhere") == {"message": ANY}
    assert client.is_connected("/")


def test_auth_refusal_is_a_connect_error(make_client):
    refused = make_client(auth={"token": "wrong"})
    assert not refused.is_connected()
    assert refused.connect_error == {"message": "bad token"}
    welcome = make_client(auth={"token": "secret"})
    assert welcome.is_connected()
    assert welcome.connect_error is None


def test_rooms_join_leave_and_room_emits(make_client):
    alice, bob, carol = make_client(), make_client(), make_client()
    assert alice.call("join", "blue") == ["blue"]
    assert bob.call("join", "blue") == ["blue"]
    assert carol.call("join", "red") == ["red"]
    assert sorted(alice.rooms()) == sorted([alice.sid, "blue"])
    assert alice.call("say", "blue", "hello blue") is True
    for member in (alice, bob):
        member.assert_received("said", {"room": "blue", "text": "hello blue", "from": alice.sid})
    carol.call("echo", "sync")
    carol.receive("echo", timeout=5)
    carol.assert_nothing_received()
    assert bob.call("leave", "blue") == []
    assert alice.call("say", "blue", "again") is True
    alice.receive("said", timeout=5)
    bob.call("echo", "sync")
    bob.receive("echo", timeout=5)
    bob.assert_nothing_received()


def test_broadcast_reaches_the_others_only(make_client):
    sender, first, second = make_client(), make_client(), make_client()
    assert sender.call("shout", "hey all") is True
    first.assert_received("shouted", "hey all")
    second.assert_received("shouted", "hey all")
    sender.call("echo", "sync")
    sender.receive("echo", timeout=5)
    sender.assert_nothing_received()


def test_managed_session_is_kept_across_events(make_client):
    client = make_client()
    assert client.call("recall", "name") == []  # a handler returning None acks nothing
    assert client.call("remember", "name", "ada") is True
    assert client.call("recall", "name") == "ada"
    other = make_client()
    assert other.call("recall", "name") == []  # one session per connection


def test_background_task_emits_to_the_client(make_client):
    client = make_client()
    assert client.call("ticks", 3) is True
    assert [client.receive("tick", timeout=5).args for _ in range(3)] == [[0], [1], [2]]


def test_server_side_disconnect(make_client):
    client = make_client()
    client.emit("kick")
    client.assert_received("bye", "kicked")
    wait_until(lambda: not client.is_connected(), 5, "the server disconnected the client")
    assert client.disconnect_reason == "io server disconnect"
    with pytest.raises(RuntimeError, match="not connected"):
        client.emit("echo", 1)


def test_client_side_disconnect_and_reconnect(make_client):
    client = make_client()
    client.disconnect()
    assert not client.is_connected()
    assert client.disconnect_reason == "io client disconnect"
    client.connect()
    assert client.is_connected()
    assert client.call("echo", "back") == "back"


def test_get_received_returns_and_forgets(make_client):
    client = make_client()
    client.call("echo", 1)
    client.call("echo", 2)
    assert [event["args"] for event in client.get_received()] == [[1], [2]]
    assert client.get_received() == []


def test_receive_times_out_when_nothing_comes(make_client):
    client = make_client()
    with pytest.raises(TimeoutError):
        client.receive("never", timeout=0.2)


def test_client_handler_return_value_answers_server_call(make_client):
    client = make_client()
    seen = []

    @client.on("question")
    def answer(question):
        seen.append(question)
        return "handled", question

    assert client.call("ask", "q1", timeout=5) == ["handled", "q1"]
    assert seen == ["q1"]
