"""Sending: module-level emit/send/call and room functions, SocketIO methods from routes
and background tasks, acknowledgements both ways, bad input."""

from __future__ import annotations

import pytest
import socketio.exceptions
from flask import Flask, current_app, request

import flask_socketio
from flask_socketio import (
    SocketIO,
    call,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
    send,
)

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    return app, SocketIO(app, **options)


def names(client, namespace=None) -> list:
    return [(event.name, event.args) for event in client.get_received(namespace)]


def test_public_functions_are_functions_after_the_server_exists():
    app, socketio_ = make_app()
    socketio_.test_client(app)
    for name in ("emit", "send", "call", "join_room", "leave_room", "close_room", "rooms",
                 "disconnect"):
        assert callable(getattr(flask_socketio, name)), name
    assert flask_socketio.rooms is rooms


# -- module-level emit ---------------------------------------------------------------------


def test_emit_goes_to_the_sender_only_by_default():
    app, socketio_ = make_app()
    socketio_.on_event("hello", lambda data: emit("reply", data, 2))
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    alice.emit("hello", 1)
    assert names(alice) == [("reply", [1, 2])]
    assert names(bob) == []


def test_emit_without_arguments_and_with_several():
    app, socketio_ = make_app()

    @socketio_.on("go")
    def go():
        emit("none")
        emit("three", 1, "two", {"three": 3})

    client = socketio_.test_client(app)
    client.emit("go")
    assert names(client) == [("none", []), ("three", [1, "two", {"three": 3}])]


def test_emit_broadcast_reaches_everyone_in_the_namespace_including_the_sender():
    app, socketio_ = make_app()
    socketio_.on_event("shout", lambda text: emit("heard", text, broadcast=True))
    socketio_.on_event("connect", lambda: None, namespace="/other")
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    carol = socketio_.test_client(app, namespace="/other")
    alice.emit("shout", "hi")
    assert names(alice) == [("heard", ["hi"])]
    assert names(bob) == [("heard", ["hi"])]
    assert names(carol, "/other") == []


def test_emit_broadcast_include_self_false_skips_the_sender():
    app, socketio_ = make_app()
    socketio_.on_event("shout", lambda: emit("heard", broadcast=True, include_self=False))
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    alice.emit("shout")
    assert names(alice) == []
    assert names(bob) == [("heard", [])]


def test_emit_skip_sid():
    app, socketio_ = make_app()
    socketio_.on_event("shout", lambda skip: emit("heard", broadcast=True, skip_sid=skip))
    alice, bob, carol = (socketio_.test_client(app) for _ in range(3))
    alice.emit("shout", bob.sid)
    assert names(alice) == [("heard", [])]
    assert names(bob) == []
    assert names(carol) == [("heard", [])]


@pytest.mark.parametrize("keyword", ["to", "room"])
def test_emit_to_a_room(keyword):
    app, socketio_ = make_app()

    @socketio_.on("join")
    def on_join(room):
        join_room(room)

    @socketio_.on("say")
    def say(room, text):
        emit("said", text, **{keyword: room})

    alice, bob, carol = (socketio_.test_client(app) for _ in range(3))
    alice.emit("join", "r")
    bob.emit("join", "r")
    carol.emit("say", "r", "hello")
    assert names(alice) == [("said", ["hello"])]
    assert names(bob) == [("said", ["hello"])]
    assert names(carol) == []


def test_emit_to_a_room_include_self_false():
    app, socketio_ = make_app()
    socketio_.on_event("join", lambda room: join_room(room))
    socketio_.on_event("say", lambda room: emit("said", to=room, include_self=False))
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    alice.emit("join", "r")
    bob.emit("join", "r")
    alice.emit("say", "r")
    assert names(alice) == []
    assert names(bob) == [("said", [])]


def test_emit_to_another_sid_and_to_a_list_of_rooms():
    app, socketio_ = make_app()
    socketio_.on_event("dm", lambda sid: emit("dm", "psst", to=sid))
    socketio_.on_event("many", lambda sids: emit("many", to=sids))
    alice, bob, carol = (socketio_.test_client(app) for _ in range(3))
    alice.emit("dm", bob.sid)
    assert names(bob) == [("dm", ["psst"])]
    assert names(alice) == []
    alice.emit("many", [bob.sid, carol.sid])
    assert names(bob) == [("many", [])]
    assert names(carol) == [("many", [])]
    assert names(alice) == []


def test_emit_to_another_namespace():
    app, socketio_ = make_app()
    socketio_.on_event("relay", lambda text: emit("relayed", text, namespace="/chat",
                                                  broadcast=True))
    socketio_.on_event("connect", lambda: None, namespace="/chat")
    client = socketio_.test_client(app)
    client.connect("/chat")
    client.emit("relay", "x")
    assert names(client) == []
    assert names(client, "/chat") == [("relayed", ["x"])]


def test_emit_and_send_to_another_namespace_reach_the_same_client():
    # The seed: "send(message, namespace='/chat')" from a handler of '/' goes to the
    # sender's '/chat' connection, whose sid differs from its '/' sid in Socket.IO 5.
    app, socketio_ = make_app()
    socketio_.on_event("connect", lambda: None, namespace="/chat")

    @socketio_.on("message")
    def handle_message(message):
        send(message, namespace="/chat")
        emit("my response", message, namespace="/chat")

    client, other = socketio_.test_client(app), socketio_.test_client(app)
    client.connect("/chat")
    other.connect("/chat")
    client.send("hi")
    assert client.get_sid("/chat") != client.sid
    assert names(client, "/chat") == [("message", "hi"), ("my response", ["hi"])]
    assert names(client) == []
    assert names(other, "/chat") == []


def test_emit_to_a_namespace_the_sender_did_not_join_reaches_nobody():
    app, socketio_ = make_app()
    socketio_.on_event("connect", lambda: None, namespace="/chat")
    socketio_.on_event("go", lambda: emit("x", namespace="/chat"))
    client, other = socketio_.test_client(app), socketio_.test_client(app, namespace="/chat")
    client.emit("go")
    assert names(other, "/chat") == []


def test_include_self_false_in_another_namespace_skips_the_sender_there():
    app, socketio_ = make_app()
    socketio_.on_event("connect", lambda: None, namespace="/chat")
    socketio_.on_event("go", lambda: emit("x", namespace="/chat", broadcast=True,
                                          include_self=False))
    client, other = socketio_.test_client(app), socketio_.test_client(app)
    client.connect("/chat")
    other.connect("/chat")
    client.emit("go")
    assert names(client, "/chat") == []
    assert names(other, "/chat") == [("x", [])]


def test_room_functions_and_call_in_another_namespace_address_the_sender_there():
    app, socketio_ = make_app()
    socketio_.on_event("connect", lambda: None, namespace="/chat")

    @socketio_.on("go")
    def go():
        join_room("r", namespace="/chat")
        in_rooms = rooms(namespace="/chat")
        leave_room("r", namespace="/chat")
        answer = call("q", namespace="/chat", timeout=5)
        disconnect(namespace="/chat")
        return [sorted(in_rooms), answer]

    client = socketio_.test_client(app)
    client.connect("/chat")
    chat_sid = client.get_sid("/chat")
    client.on("q", lambda: "answered in /chat", namespace="/chat")
    assert client.emit("go", callback=True) == [sorted([chat_sid, "r"]), "answered in /chat"]
    assert not client.is_connected("/chat")
    assert client.is_connected()


def test_emit_in_a_namespace_defaults_to_the_handler_namespace():
    app, socketio_ = make_app()
    socketio_.on_event("ping", lambda: emit("pong"), namespace="/ns")
    client = socketio_.test_client(app, namespace="/ns")
    client.emit("ping", namespace="/ns")
    assert names(client, "/ns") == [("pong", [])]


def test_emit_ignore_queue_still_delivers_without_a_queue():
    app, socketio_ = make_app()
    socketio_.on_event("go", lambda: emit("went", broadcast=True, ignore_queue=True))
    client = socketio_.test_client(app)
    client.emit("go")
    assert names(client) == [("went", [])]


def test_emit_callback_fires_in_the_handler_context_when_the_client_acks():
    app, socketio_ = make_app()
    acked = []

    def ack(*args):
        acked.append((args, request.sid, request.namespace, current_app.name))

    @socketio_.on("ask", namespace="/q")
    def ask():
        emit("question", "how many?", callback=ack)

    client = socketio_.test_client(app, namespace="/q")
    client.emit("ask", namespace="/q")
    question = client.receive("question", namespace="/q")
    assert question.wants_ack
    assert acked == []
    question.ack(42, "done")
    assert acked == [((42, "done"), client.get_sid("/q"), "/q", app.name)]


def test_emit_callback_is_answered_by_a_client_handler():
    app, socketio_ = make_app()
    acked = []
    socketio_.on_event("ask", lambda: emit("question", 20, callback=acked.append))
    client = socketio_.test_client(app)
    client.on("question", lambda value: value + 1)
    client.emit("ask")
    assert acked == [21]


# -- module-level send ---------------------------------------------------------------------


def test_send_message_and_json():
    app, socketio_ = make_app()

    @socketio_.on("message")
    def on_message(message):
        send(message)
        send({"echo": message}, json=True)

    client = socketio_.test_client(app)
    client.send("text")
    assert client.get_received() == [
        {"name": "message", "args": "text", "namespace": "/"},
        {"name": "json", "args": {"echo": "text"}, "namespace": "/"},
    ]


def test_send_with_room_broadcast_namespace_and_callback():
    app, socketio_ = make_app()
    acked = []
    socketio_.on_event("join", lambda room: join_room(room))
    socketio_.on_event("to_room", lambda room: send("room msg", to=room, include_self=False))
    socketio_.on_event("to_all", lambda: send("all msg", broadcast=True))
    socketio_.on_event("to_ns", lambda: send("ns msg", namespace="/n", broadcast=True))
    socketio_.on_event("with_ack", lambda: send("ack me", callback=acked.append))
    socketio_.on_event("connect", lambda: None, namespace="/n")
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    bob.connect("/n")
    alice.emit("join", "r")
    bob.emit("join", "r")
    alice.emit("to_room", "r")
    assert names(alice) == [] and names(bob) == [("message", "room msg")]
    alice.emit("to_all")
    assert names(alice) == [("message", "all msg")] and names(bob) == [("message", "all msg")]
    alice.emit("to_ns")
    assert names(bob, "/n") == [("message", "ns msg")]
    alice.emit("with_ack")
    alice.receive("message").ack("got it")
    assert acked == ["got it"]


# -- module-level call -----------------------------------------------------------------------


def test_call_waits_for_the_client_handler_answer():
    app, socketio_ = make_app()

    @socketio_.on("start")
    def start(a, b):
        total = call("add", a, b, timeout=5)
        emit("result", total)
        return total

    client = socketio_.test_client(app)
    client.on("add", lambda a, b: a + b)
    assert client.emit("start", 2, 3, callback=True) == 5
    client.assert_received("result", 5)
    client.assert_received("add", 2, 3)


def test_call_answered_by_hand():
    app, socketio_ = make_app()
    results = []
    socketio_.on_event("start", lambda: results.append(call("question", timeout=5)))
    client = socketio_.test_client(app)
    client.emit("start")
    assert results == []  # the handler is waiting
    client.receive("question").ack("yes", "really")
    assert results == [("yes", "really")]


def test_call_times_out_when_the_client_does_not_answer(socketio_clock):
    app, socketio_ = make_app()
    outcome = []

    @socketio_.on("start")
    def start():
        started = socketio_clock.now
        try:
            call("question", timeout=5)
        except socketio.exceptions.TimeoutError:
            outcome.append(("timed out", socketio_clock.now - started))

    client = socketio_.test_client(app)
    client.emit("start")
    assert outcome == []
    socketio_clock.advance(4.9)
    assert outcome == []
    socketio_clock.advance(0.2)
    assert outcome == [("timed out", pytest.approx(5))]
    assert client.receive("question").wants_ack


def test_call_to_another_client_and_namespace():
    app, socketio_ = make_app()
    socketio_.on_event("connect", lambda: None, namespace="/n")
    socketio_.on_event("ask", lambda sid: call("q", to=sid, namespace="/n", timeout=5))
    alice, bob = socketio_.test_client(app), socketio_.test_client(app, namespace="/n")
    bob.on("q", lambda: "bob answers", namespace="/n")
    assert alice.emit("ask", bob.get_sid("/n"), callback=True) == "bob answers"


def test_call_unanswered_timeout_from_the_extension_method(socketio_clock):
    app, socketio_ = make_app()
    client = socketio_.test_client(app)
    with app.test_request_context(), pytest.raises(socketio.exceptions.TimeoutError):
        socketio_.call("silence", to=client.sid, timeout=3)
    assert socketio_clock.now >= 3


# -- rooms ---------------------------------------------------------------------------------


def test_join_leave_and_rooms():
    app, socketio_ = make_app()

    @socketio_.on("join")
    def on_join(room):
        join_room(room)
        return sorted(r for r in rooms() if r != request.sid)

    @socketio_.on("leave")
    def on_leave(room):
        leave_room(room)
        return sorted(r for r in rooms() if r != request.sid)

    client = socketio_.test_client(app)
    assert client.emit("join", "a", callback=True) == ["a"]
    assert client.emit("join", "b", callback=True) == ["a", "b"]
    assert client.emit("leave", "a", callback=True) == ["b"]
    assert set(client.rooms()) == {client.sid, "b"}
    joins = [(e.kind, e.args) for e in client.transcript if e.kind in ("join", "leave")]
    assert joins == [("join", "a"), ("join", "b"), ("leave", "a")]


def test_room_functions_with_explicit_sid_and_namespace():
    app, socketio_ = make_app()
    socketio_.on_event("connect", lambda: None, namespace="/n")

    @socketio_.on("put")
    def put(sid, room):
        join_room(room, sid=sid, namespace="/n")
        return rooms(sid=sid, namespace="/n")

    @socketio_.on("take")
    def take(sid, room):
        leave_room(room, sid, "/n")
        return rooms(sid, "/n")

    alice, bob = socketio_.test_client(app), socketio_.test_client(app, namespace="/n")
    bob_sid = bob.get_sid("/n")
    assert sorted(alice.emit("put", bob_sid, "r", callback=True)) == sorted([bob_sid, "r"])
    assert "r" in bob.rooms("/n")
    assert alice.emit("take", bob_sid, "r", callback=True) == [bob_sid]


def test_close_room_empties_it():
    app, socketio_ = make_app()
    socketio_.on_event("join", lambda room: join_room(room))
    socketio_.on_event("close", lambda room: close_room(room))
    socketio_.on_event("say", lambda room: emit("said", to=room))
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    alice.emit("join", "r")
    bob.emit("join", "r")
    alice.emit("close", "r")
    assert "r" not in alice.rooms() and "r" not in bob.rooms()
    alice.emit("say", "r")
    assert names(alice) == [] and names(bob) == []


def test_close_room_in_another_namespace():
    app, socketio_ = make_app()
    socketio_.on_event("connect", lambda: None, namespace="/n")
    socketio_.on_event("join", lambda room: join_room(room), namespace="/n")
    socketio_.on_event("close", lambda room: close_room(room, namespace="/n"))
    client = socketio_.test_client(app)
    client.connect("/n")
    client.emit("join", "r", namespace="/n")
    assert "r" in client.rooms("/n")
    client.emit("close", "r")
    assert "r" not in client.rooms("/n")


def test_rooms_are_left_on_disconnect():
    app, socketio_ = make_app()
    socketio_.on_event("join", lambda room: join_room(room))
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    alice.emit("join", "r")
    alice.disconnect()
    with app.app_context():
        socketio_.emit("said", to="r")
    assert names(bob) == []
    assert socketio_.server.manager.rooms["/"].get("r") in (None, {})


# -- disconnect ----------------------------------------------------------------------------


def test_disconnect_the_sender():
    app, socketio_ = make_app()
    socketio_.on_event("bye", lambda: disconnect())
    client = socketio_.test_client(app)
    client.emit("bye")
    assert not client.is_connected()
    assert client.disconnect_reason == "io server disconnect"


def test_disconnect_another_client_in_a_namespace():
    app, socketio_ = make_app()
    left = []
    socketio_.on_event("connect", lambda: None, namespace="/n")
    socketio_.on_event("disconnect", lambda reason: left.append(reason), namespace="/n")
    socketio_.on_event("kick", lambda sid: disconnect(sid=sid, namespace="/n"))
    alice = socketio_.test_client(app)
    bob = socketio_.test_client(app)
    bob.connect("/n")
    alice.emit("kick", bob.get_sid("/n"))
    assert not bob.is_connected("/n")
    assert bob.is_connected()
    assert alice.is_connected()
    assert left == [SocketIO.reason.SERVER_DISCONNECT]


def test_disconnect_silent_is_accepted():
    app, socketio_ = make_app()
    socketio_.on_event("bye", lambda: disconnect(silent=True))
    client = socketio_.test_client(app)
    client.emit("bye")
    assert not client.is_connected()


# -- the SocketIO methods outside handlers: Flask routes and background tasks ----------------


def test_socketio_emit_without_to_broadcasts_to_the_namespace():
    app, socketio_ = make_app()
    socketio_.on_event("connect", lambda: None, namespace="/other")

    @app.route("/notify")
    def notify():
        socketio_.emit("some event", {"data": 42})
        return "sent"

    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    carol = socketio_.test_client(app, namespace="/other")
    assert app.test_client().get("/notify").text == "sent"
    assert names(alice) == [("some event", [{"data": 42}])]
    assert names(bob) == [("some event", [{"data": 42}])]
    assert names(carol, "/other") == []


def test_socketio_emit_inside_a_handler_without_to_also_broadcasts():
    app, socketio_ = make_app()
    socketio_.on_event("go", lambda: socketio_.emit("all", 1))
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    alice.emit("go")
    assert names(alice) == [("all", [1])]
    assert names(bob) == [("all", [1])]


def test_socketio_methods_from_a_flask_route():
    app, socketio_ = make_app()
    socketio_.on_event("join", lambda room: join_room(room))
    socketio_.on_event("connect", lambda: None, namespace="/n")
    acked = []

    @app.route("/emit/<room>")
    def emit_route(room):
        socketio_.emit("to room", room, to=room)
        socketio_.emit("to n", room, namespace="/n")
        return "ok"

    @app.route("/send/<sid>")
    def send_route(sid):
        socketio_.send("direct", to=sid)
        socketio_.send({"j": 1}, json=True, to=sid, callback=acked.append)
        return "ok"

    @app.route("/call/<sid>")
    def call_route(sid):
        return {"answer": socketio_.call("question", "q?", to=sid, timeout=5)}

    @app.route("/close/<room>")
    def close_route(room):
        socketio_.close_room(room)
        return "ok"

    http = app.test_client()
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    bob.connect("/n")
    alice.emit("join", "r")
    bob.on("question", lambda text: text.upper())

    http.get("/emit/r")
    assert names(alice) == [("to room", ["r"])]
    assert names(bob) == []
    assert names(bob, "/n") == [("to n", ["r"])]

    http.get(f"/send/{alice.sid}")
    alice.assert_received("message", "direct")
    alice.receive("json").ack("thanks")
    assert acked == ["thanks"]

    assert http.get(f"/call/{bob.sid}").json == {"answer": "Q?"}
    assert names(bob) == [("question", ["q?"])]

    http.get("/close/r")
    assert "r" not in alice.rooms()


def test_socketio_call_from_a_route_times_out(socketio_clock):
    app, socketio_ = make_app()

    @app.route("/call/<sid>")
    def call_route(sid):
        try:
            socketio_.call("question", to=sid, timeout=2)
        except socketio.exceptions.TimeoutError:
            return "timeout"
        return "answered"

    client = socketio_.test_client(app)
    before = socketio_clock.now
    assert app.test_client().get(f"/call/{client.sid}").text == "timeout"
    assert socketio_clock.now - before == pytest.approx(2)


def test_socketio_methods_from_a_background_task(socketio_clock):
    app, socketio_ = make_app()
    socketio_.on_event("join", lambda room: join_room(room))
    answers = []

    def ticker(count):
        for number in range(count):
            socketio_.sleep(10)
            socketio_.emit("tick", number)
        socketio_.send("to room", to="r")
        answers.append(socketio_.call("question", to=alice.sid, timeout=5))
        socketio_.close_room("r")

    alice = socketio_.test_client(app)
    alice.on("question", lambda: "answer")
    alice.emit("join", "r")
    task = socketio_.start_background_task(ticker, 2)
    socketio_clock.advance(9)
    assert names(alice) == []
    socketio_clock.advance(1)
    assert names(alice) == [("tick", [0])]
    socketio_clock.advance(10)
    task.join()
    assert names(alice) == [("tick", [1]), ("message", "to room"), ("question", [])]
    assert answers == ["answer"]
    assert "r" not in alice.rooms()


def test_socketio_emit_callback_outside_a_handler_runs_in_the_app_context():
    app, socketio_ = make_app()
    acked = []

    def ack(value):
        acked.append((value, current_app.name))

    client = socketio_.test_client(app)
    socketio_.emit("question", to=client.sid, callback=ack)
    client.receive("question").ack("yes")
    assert acked == [("yes", app.name)]


def test_socketio_emit_include_self_false_from_a_handler():
    app, socketio_ = make_app()
    socketio_.on_event("go", lambda: socketio_.emit("others", include_self=False))
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    alice.emit("go")
    assert names(alice) == []
    assert names(bob) == [("others", [])]


# -- acknowledgements both ways --------------------------------------------------------------


def test_acks_both_ways_in_one_exchange():
    app, socketio_ = make_app()
    server_got = []

    @socketio_.on("hello")
    def hello(name):
        emit("who", callback=server_got.append)
        return f"hello {name}"

    client = socketio_.test_client(app)
    client.on("who", lambda: "i am the client")
    assert client.emit("hello", "server", callback=True) == "hello server"
    assert server_got == ["i am the client"]


def test_client_call_is_emit_with_callback():
    app, socketio_ = make_app()
    socketio_.on_event("double", lambda x: x * 2)
    client = socketio_.test_client(app)
    assert client.call("double", 4) == 8


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("function", [emit, send, call, join_room, leave_room, close_room,
                                      rooms, disconnect])
def test_module_functions_reject_unknown_keyword_arguments(function):
    app, socketio_ = make_app()
    errors = []

    @socketio_.on("go")
    def go():
        try:
            function("x", bogus_option=1)
        except TypeError as exc:
            errors.append(str(exc))

    client = socketio_.test_client(app)
    client.emit("go")
    assert len(errors) == 1 and "bogus_option" in errors[0]


@pytest.mark.parametrize("method", ["emit", "send", "call", "close_room"])
def test_socketio_methods_reject_unknown_keyword_arguments(method):
    app, socketio_ = make_app()
    with pytest.raises(TypeError, match="bogus_option"):
        getattr(socketio_, method)("x", bogus_option=1)


def test_emit_broadcast_is_not_a_socketio_method_keyword():
    # socketio.emit broadcasts without ``to``; the peer's ``broadcast`` keyword is for
    # the module-level functions.
    app, socketio_ = make_app()
    with pytest.raises(TypeError, match="broadcast"):
        socketio_.emit("x", broadcast=True)


class NotSerializable:
    pass


@pytest.mark.parametrize("serializer", ["default", "msgpack"])
def test_non_serializable_payload_is_a_type_error_naming_the_event_at_emit(serializer):
    app, socketio_ = make_app(serializer=serializer)
    errors = []

    @socketio_.on("go")
    def go():
        for attempt in (lambda: emit("bad event", NotSerializable()),
                        lambda: emit("bad event", 1, {"nested": NotSerializable()}),
                        lambda: send(NotSerializable()),
                        lambda: call("bad event", NotSerializable(), timeout=1)):
            try:
                attempt()
            except TypeError as exc:
                errors.append(str(exc))
        return "still alive"

    client = socketio_.test_client(app)
    assert client.emit("go", callback=True) == "still alive"
    assert len(errors) == 4
    assert all("'bad event'" in error for error in errors[:2] + errors[3:])
    assert "'message'" in errors[2]
    assert names(client) == []


def test_non_serializable_payload_fails_at_emit_even_with_no_recipient():
    app, socketio_ = make_app()
    with pytest.raises(TypeError, match="'lonely'"):
        socketio_.emit("lonely", {1, 2}, to="an empty room")
    with pytest.raises(TypeError, match="'lonely'"):
        socketio_.emit("lonely", NotSerializable())


MODULE_FUNCTIONS_WITH_NAMESPACE = {
    "emit": lambda ns: emit("x", namespace=ns),
    "emit broadcast": lambda ns: emit("x", namespace=ns, broadcast=True),
    "send": lambda ns: send("x", namespace=ns),
    "call": lambda ns: call("x", namespace=ns, timeout=1),
    "join_room": lambda ns: join_room("r", namespace=ns),
    "leave_room": lambda ns: leave_room("r", namespace=ns),
    "close_room": lambda ns: close_room("r", namespace=ns),
    "rooms": lambda ns: rooms(namespace=ns),
    "disconnect": lambda ns: disconnect(namespace=ns),
}


@pytest.mark.parametrize("function", sorted(MODULE_FUNCTIONS_WITH_NAMESPACE))
def test_module_functions_reject_a_namespace_without_leading_slash(function):
    app, socketio_ = make_app()
    errors = []

    @socketio_.on("go")
    def go():
        try:
            MODULE_FUNCTIONS_WITH_NAMESPACE[function]("chat")
        except ValueError as exc:
            errors.append(str(exc))
        return "alive"

    client = socketio_.test_client(app)
    assert client.emit("go", callback=True) == "alive"
    assert len(errors) == 1 and "must start with '/'" in errors[0]
    assert client.is_connected()


def test_module_functions_outside_a_handler_say_so():
    app, socketio_ = make_app()
    with pytest.raises(RuntimeError, match="handler"), app.app_context():
        emit("x")
    with pytest.raises(RuntimeError), app.test_request_context():
        join_room("r")


def test_call_without_recipient_outside_a_handler_is_an_error():
    app, socketio_ = make_app()
    with pytest.raises(ValueError, match="recipient"):
        socketio_.call("x")


# -- payload kinds and isolation -------------------------------------------------------------


def test_binary_payloads_round_trip_with_the_default_serializer():
    app, socketio_ = make_app()

    @socketio_.on("blob")
    def blob(data, meta):
        emit("blob", data[::-1], {"size": len(data), "meta": meta})
        return data

    client = socketio_.test_client(app)
    assert client.emit("blob", b"\x00\x01\x02", {"k": b"v"}, callback=True) == b"\x00\x01\x02"
    client.assert_received("blob", b"\x02\x01\x00", {"size": 3, "meta": {"k": b"v"}})


def test_two_socketio_instances_are_independent():
    first_app, first = make_app()
    second_app, second = make_app()
    first.on_event("who", lambda: "first")
    second.on_event("who", lambda: "second")
    one, two = first.test_client(first_app), second.test_client(second_app)
    assert one.emit("who", callback=True) == "first"
    assert two.emit("who", callback=True) == "second"
    first.emit("news")
    assert names(one) == [("news", [])]
    assert names(two) == []


def test_msgpack_payload_it_cannot_carry_is_a_type_error_at_emit():
    socketio = SocketIO(Flask(__name__), serializer="msgpack")
    with pytest.raises(TypeError, match="'big'"):
        socketio.emit("big", 2 ** 70)
