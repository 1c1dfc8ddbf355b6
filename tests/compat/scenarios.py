"""The differential corpus: small uses of Flask-SocketIO's public API, one function each.

Every scenario builds its own app, drives it through the public API only, and
returns what a test would look at (received events, acks, what handlers saw,
exception types).  ``corpus_runner.py`` runs them with the peer and with us;
``test_differential.py`` asserts the two results are equal, except where a scenario
declares ``differs=`` (a deliberate difference, listed in docs/compat.rst) or
``known=`` (an incompatibility still open, strict-xfailed until it is fixed).
"""

from __future__ import annotations

import json as stdlib_json
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, request, session
from flask import json as flask_json

import flask_socketio as fs
from flask_socketio import (
    ConnectionRefusedError,
    Namespace,
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


@dataclass(frozen=True)
class Scenario:
    name: str
    function: Callable[[], Any]
    #: A deliberate difference: the reason, which docs/compat.rst also gives.
    differs: str | None = None
    #: An incompatibility not fixed yet (issue 12): the results must differ until it is.
    known: str | None = None


SCENARIOS: dict[str, Scenario] = {}


def scenario(differs: str | None = None, known: str | None = None):
    def register(function: Callable[[], Any]) -> Callable[[], Any]:
        SCENARIOS[function.__name__] = Scenario(function.__name__, function, differs, known)
        return function
    return register


# -- helpers -----------------------------------------------------------------------------

def make(**options: Any) -> tuple[Flask, SocketIO]:
    app = Flask("compat")
    app.config["SECRET_KEY"] = "compat-secret"
    return app, SocketIO(app, **options)


def outcome(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``{"ok": value}`` or ``{"raises": exception type}``."""
    try:
        return {"ok": function(*args, **kwargs)}
    except Exception as exc:
        return {"raises": type(exc).__name__}


def received(*clients: Any, namespace: str | None = None) -> list[Any]:
    return [client.get_received(namespace) for client in clients]


# == connect ==============================================================================

@scenario()
def connect_default_namespace():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect():
        seen.append([request.namespace, isinstance(request.sid, str), request.event["message"]])
        emit("welcome", {"n": 1})

    client = sio.test_client(app)
    return [seen, client.is_connected(), client.is_connected("/"), client.get_received()]


@scenario()
def connect_auth_given():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect(auth):
        seen.append(auth)

    client = sio.test_client(app, auth={"token": "t1"})
    return [seen, client.is_connected()]


@scenario()
def connect_auth_absent():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect(auth):
        seen.append(auth)

    sio.test_client(app)
    return seen


@scenario()
def connect_handler_without_parameter_gets_auth_dropped():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect():
        seen.append("called")

    client = sio.test_client(app, auth={"a": 1})
    return [seen, client.is_connected()]


@scenario()
def connect_refused_with_false():
    app, sio = make()

    @sio.on("connect")
    def on_connect():
        return False

    client = sio.test_client(app)
    return [client.is_connected(), outcome(client.emit, "x")]


@scenario()
def connect_refused_with_exception_args():
    app, sio = make()

    @sio.on("connect")
    def on_connect():
        raise ConnectionRefusedError("nope", {"code": 7})

    client = sio.test_client(app)
    return [client.is_connected()]


@scenario()
def connect_refused_on_namespace_only():
    app, sio = make()

    @sio.on("connect", namespace="/chat")
    def on_chat():
        return False

    client = sio.test_client(app)
    client.connect("/chat")
    return [client.is_connected(), client.is_connected("/chat")]


@scenario()
def connect_query_string_and_headers():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect():
        seen.append([request.args.to_dict(flat=False), request.headers.get("X-Custom")])

    sio.test_client(app, query_string="a=1&a=2&b=x", headers={"X-Custom": "v"})
    sio.test_client(app, query_string="?c=3")
    return seen


@scenario()
def connect_request_path():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect():
        seen.append([request.path, request.full_path])

    sio.test_client(app, query_string="a=1")
    return seen


@scenario()
def connect_request_event_args():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect(auth):
        seen.append([len(request.event["args"]), request.event["args"][-1]])

    sio.test_client(app, auth={"x": 1})
    return seen


@scenario()
def connect_unregistered_namespace():
    app, sio = make()

    @sio.on("x", namespace="/known")
    def on_x():
        pass

    client = sio.test_client(app, namespace="/unknown")
    return [client.is_connected("/unknown"), client.is_connected()]


@scenario()
def connect_several_namespaces_one_client():
    app, sio = make()
    seen = []

    @sio.on("connect", namespace="/a")
    def on_a():
        seen.append(request.namespace)
        emit("hello-a")

    @sio.on("connect", namespace="/b")
    def on_b():
        seen.append(request.namespace)
        emit("hello-b")

    client = sio.test_client(app, namespace="/a")
    client.connect("/b")
    return [seen, client.is_connected("/a"), client.is_connected("/b"), client.is_connected(),
            client.get_received("/a"), client.get_received("/b")]


@scenario()
def connect_request_context():
    app, sio = make()
    seen = {}

    @sio.on("connect")
    def on_connect(auth):
        seen["event"] = request.event["message"]
        seen["app"] = request.environ["flask.app"] is app
        seen["method"] = request.method

    sio.test_client(app, auth={"x": 1})
    return seen


@scenario()
def connect_emits_before_returning():
    app, sio = make()

    @sio.on("connect")
    def on_connect():
        send("text")
        send({"j": 1}, json=True)
        emit("custom", (1, 2))

    return sio.test_client(app).get_received()


# == disconnect ===========================================================================

@scenario()
def disconnect_by_client_with_reason():
    app, sio = make()
    seen = []

    @sio.on("disconnect")
    def on_disconnect(reason):
        seen.append([request.namespace, reason])

    client = sio.test_client(app)
    client.disconnect()
    return [seen, client.is_connected()]


@scenario()
def disconnect_handler_without_reason():
    app, sio = make()
    seen = []

    @sio.on("disconnect")
    def on_disconnect():
        seen.append(request.namespace)

    client = sio.test_client(app)
    client.disconnect()
    return seen


@scenario()
def disconnect_by_server_in_handler():
    app, sio = make()
    seen = []

    @sio.on("bye")
    def on_bye():
        disconnect()

    @sio.on("disconnect")
    def on_disconnect(reason):
        seen.append(reason)

    client = sio.test_client(app)
    client.emit("bye")
    return [seen, client.is_connected(), outcome(client.emit, "x")]


@scenario()
def disconnect_other_client_by_sid():
    app, sio = make()
    sids = []

    @sio.on("connect")
    def on_connect():
        sids.append(request.sid)

    @sio.on("kick")
    def on_kick():
        disconnect(sid=sids[0])

    first, second = sio.test_client(app), sio.test_client(app)
    second.emit("kick")
    return [first.is_connected(), second.is_connected()]


@scenario()
def disconnect_one_namespace():
    app, sio = make()
    seen = []

    @sio.on("disconnect", namespace="/chat")
    def on_disconnect(reason):
        seen.append([request.namespace, reason])

    @sio.on("connect", namespace="/chat")
    def on_connect():
        pass

    client = sio.test_client(app)
    client.connect("/chat")
    client.disconnect("/chat")
    return [seen, client.is_connected(), client.is_connected("/chat")]


@scenario()
def disconnect_when_not_connected():
    app, sio = make()
    client = sio.test_client(app)
    client.disconnect()
    return [outcome(client.disconnect), outcome(client.disconnect, "/other")]


@scenario()
def disconnect_silent_keyword():
    app, sio = make()

    @sio.on("bye")
    def on_bye():
        disconnect(silent=True)

    client = sio.test_client(app)
    client.emit("bye")
    return client.is_connected()


@scenario()
def reconnect_same_client():
    app, sio = make()
    count = []

    @sio.on("connect")
    def on_connect():
        count.append(1)
        emit("hi", len(count))

    client = sio.test_client(app)
    client.disconnect()
    client.connect()
    return [len(count), client.is_connected(), client.get_received()]


# == module-level emit / send ============================================================

def two_clients(**options: Any):
    app, sio = make(**options)
    sids: list[str] = []

    @sio.on("connect")
    def on_connect():
        sids.append(request.sid)

    return app, sio, sids


@scenario()
def emit_replies_to_sender_only():
    app, sio, _ = two_clients()

    @sio.on("ping")
    def on_ping(data):
        emit("pong", data)

    a, b = sio.test_client(app), sio.test_client(app)
    a.emit("ping", {"v": 1})
    return received(a, b)


@scenario()
def emit_broadcast():
    app, sio, _ = two_clients()

    @sio.on("shout")
    def on_shout(data):
        emit("heard", data, broadcast=True)

    a, b = sio.test_client(app), sio.test_client(app)
    a.emit("shout", "x")
    return received(a, b)


@scenario()
def emit_broadcast_include_self_false():
    app, sio, _ = two_clients()

    @sio.on("shout")
    def on_shout(data):
        emit("heard", data, broadcast=True, include_self=False)

    a, b = sio.test_client(app), sio.test_client(app)
    a.emit("shout", "x")
    return received(a, b)


@scenario()
def emit_to_room_and_room_alias():
    app, sio, _ = two_clients()

    @sio.on("join")
    def on_join(room):
        join_room(room)

    @sio.on("tell")
    def on_tell(room, keyword):
        emit("told", keyword, **{keyword: room})

    a, b, c = sio.test_client(app), sio.test_client(app), sio.test_client(app)
    a.emit("join", "r")
    b.emit("join", "r")
    c.emit("tell", "r", "to")
    c.emit("tell", "r", "room")
    return received(a, b, c)


@scenario()
def emit_to_room_include_self_false():
    app, sio, _ = two_clients()

    @sio.on("join")
    def on_join():
        join_room("r")
        emit("joined", to="r", include_self=False)

    a, b = sio.test_client(app), sio.test_client(app)
    a.emit("join")
    b.emit("join")
    return received(a, b)


@scenario()
def emit_to_sid():
    app, sio, sids = two_clients()

    @sio.on("dm")
    def on_dm():
        emit("for-first", "hi", to=sids[0])

    a, b = sio.test_client(app), sio.test_client(app)
    b.emit("dm")
    return received(a, b)


@scenario()
def emit_skip_sid_one_and_list():
    app, sio, sids = two_clients()

    @sio.on("go")
    def on_go():
        emit("one", broadcast=True, skip_sid=sids[0])
        emit("many", broadcast=True, skip_sid=[sids[0], sids[1]])

    a, b, c = sio.test_client(app), sio.test_client(app), sio.test_client(app)
    c.emit("go")
    return received(a, b, c)


@scenario(differs="emit()/send() from a handler with namespace= reach the same client's "
                  "connection to that namespace; the peer addresses the sender's sid of the "
                  "handler's namespace, which does not exist in the other one, so nobody receives"
                  " it.")
def emit_namespace_override():
    app, sio = make()

    @sio.on("connect", namespace="/chat")
    def on_chat():
        pass

    @sio.on("go", namespace="/chat")
    def on_go():
        emit("to-root", 1, namespace="/")
        emit("to-chat", 2)

    client = sio.test_client(app)
    client.connect("/chat")
    client.emit("go", namespace="/chat")
    return [client.get_received(), client.get_received("/chat")]


@scenario()
def emit_argument_shapes():
    app, sio = make()

    @sio.on("go")
    def on_go():
        emit("none")
        emit("one", 1)
        emit("tuple", (1, 2))
        emit("one-tuple", (1,))
        emit("list", [1, 2])
        emit("nested", {"a": [1, {"b": None}]})
        emit("binary", b"\x00\x01")
        emit("mixed", ({"bin": b"\xff"}, "text"))

    client = sio.test_client(app)
    client.emit("go")
    return client.get_received()


@scenario(differs="Several positional arguments after the event name are sent as several "
                  "arguments, as python-socketio does; the peer's module-level emit() passes "
                  "the second one on as to= and fails with TypeError (it wants a tuple).")
def emit_several_positional_arguments():
    app, sio = make()

    @sio.on("go")
    def on_go():
        emit("two", 1, "b")

    client = sio.test_client(app)
    return outcome(client.emit, "go")


@scenario()
def emit_with_callback_from_handler():
    app, sio = make()
    calls = []

    @sio.on("go")
    def on_go():
        emit("ask", 1, callback=lambda *args: calls.append(args))

    client = sio.test_client(app)
    client.emit("go")
    return [client.get_received(), calls]


@scenario()
def emit_ignore_queue_keyword():
    app, sio = make()

    @sio.on("go")
    def on_go():
        emit("a", 1, ignore_queue=True)
        send("b", ignore_queue=True)

    client = sio.test_client(app)
    client.emit("go")
    return client.get_received()


@scenario()
def send_text_and_json():
    app, sio = make()

    @sio.on("message")
    def on_message(message):
        send(message)
        send({"echo": message}, json=True)

    @sio.on("json")
    def on_json(data):
        send(data, json=True)

    client = sio.test_client(app)
    client.send("hello")
    client.send({"a": 1}, json=True)
    return client.get_received()


@scenario()
def send_broadcast_and_to():
    app, sio, sids = two_clients()

    @sio.on("go")
    def on_go():
        send("all", broadcast=True)
        send("others", broadcast=True, include_self=False)
        send("first", to=sids[0])
        send({"j": 1}, json=True, broadcast=True, skip_sid=sids[0])

    a, b = sio.test_client(app), sio.test_client(app)
    b.emit("go")
    return received(a, b)


@scenario(differs="emit()/send() from a handler with namespace= reach the same client's "
                  "connection to that namespace; the peer addresses the sender's sid of the "
                  "handler's namespace, which does not exist in the other one, so nobody receives"
                  " it.")
def send_namespace_keyword():
    app, sio = make()

    @sio.on("connect", namespace="/n")
    def on_n():
        pass

    @sio.on("go")
    def on_go():
        send("x", namespace="/n")

    client = sio.test_client(app)
    client.connect("/n")
    client.emit("go")
    return [client.get_received(), client.get_received("/n")]


@scenario()
def emit_outside_request_context():
    app, sio = make()
    with app.app_context():
        return [outcome(emit, "x"), outcome(send, "x")]


# == SocketIO methods ====================================================================

@scenario()
def socketio_emit_to_all_outside_handlers():
    app, sio = make()
    a, b = sio.test_client(app), sio.test_client(app)
    sio.emit("news", {"n": 1})
    sio.send("plain")
    sio.send({"j": 1}, json=True)
    return received(a, b)


@scenario()
def socketio_emit_keywords():
    app, sio, sids = two_clients()

    @sio.on("join")
    def on_join():
        join_room("r")

    @sio.on("connect", namespace="/n")
    def on_n():
        pass

    a, b = sio.test_client(app), sio.test_client(app)
    a.emit("join")
    b.connect("/n")
    sio.emit("to-sid", to=sids[1])
    sio.emit("to-room", to="r")
    sio.emit("room-alias", room="r")
    sio.emit("skip", skip_sid=sids[0])
    sio.emit("ns", 5, namespace="/n")
    sio.send("sent-to", to=sids[0])
    return [received(a, b), b.get_received("/n")]


@scenario(differs="include_self=False outside a handler has no sender to leave out and is "
                  "ignored; the peer raises RuntimeError (no request context).")
def socketio_emit_include_self_false_outside_request():
    app, sio = make()
    sio.test_client(app)
    return outcome(sio.emit, "x", include_self=False)


@scenario()
def socketio_emit_from_handler_include_self_false():
    app, sio, _ = two_clients()

    @sio.on("go")
    def on_go():
        sio.emit("all-but-me", include_self=False)
        sio.send("text-all-but-me", include_self=False)

    a, b = sio.test_client(app), sio.test_client(app)
    a.emit("go")
    return received(a, b)


@scenario()
def socketio_emit_callback_outside_context():
    app, sio, sids = two_clients()
    client = sio.test_client(app)
    sio.emit("ask", to=sids[0], callback=lambda *args: None)
    events = client.get_received()
    return [[event["name"], event["args"]] for event in events]


@scenario(differs="call() works with the test client (answer with client.on() or "
                  "ReceivedEvent.ack()); unanswered it raises TimeoutError. The peer's test "
                  "client turns off async handlers, so call() raises RuntimeError there.")
def socketio_call_unanswered_times_out():
    app, sio, sids = two_clients()
    sio.test_client(app)
    return outcome(sio.call, "ask", 1, to=sids[0], timeout=0.2)


@scenario()
def socketio_close_room():
    app, sio = make()

    @sio.on("join")
    def on_join():
        join_room("r")

    a = sio.test_client(app)
    a.emit("join")
    sio.close_room("r")
    sio.emit("after", to="r")
    return a.get_received()


@scenario()
def socketio_sleep_and_background_task():
    app, sio, sids = two_clients()
    done = threading.Event()
    results = []

    def task(x, y=0):
        sio.sleep(0.01)
        results.append(x + y)
        sio.emit("from-task", x + y)
        done.set()

    client = sio.test_client(app)
    handle = sio.start_background_task(task, 1, y=2)
    handle.join()
    return [results, done.is_set(), client.get_received(), sio.sleep(0)]


@scenario()
def socketio_background_task_from_handler():
    app, sio = make()
    finished = threading.Event()

    @sio.on("start")
    def on_start():
        def work():
            sio.emit("done", "bg")
            finished.set()
        sio.start_background_task(work)

    client = sio.test_client(app)
    client.emit("start")
    for _ in range(500):
        if finished.is_set():
            break
        sio.sleep(0.01)
    time.sleep(0.05)
    return client.get_received()


# == rooms ===============================================================================

@scenario()
def rooms_join_leave():
    app, sio = make()
    seen = []

    @sio.on("go")
    def on_go():
        mine = request.sid
        label = lambda rs: sorted("<own>" if r == mine else r for r in rs)  # noqa: E731
        seen.append(label(rooms()))
        join_room("a")
        join_room("b")
        seen.append(label(rooms()))
        leave_room("a")
        seen.append(label(rooms()))
        leave_room("never-joined")
        seen.append(label(rooms()))

    sio.test_client(app).emit("go")
    return seen


@scenario()
def rooms_with_sid_and_namespace_keywords():
    app, sio, sids = two_clients()
    seen = []

    @sio.on("connect", namespace="/n")
    def on_n():
        sids.append(request.sid)

    @sio.on("go")
    def on_go():
        join_room("r", sid=sids[0])
        join_room("rn", sid=sids[-1], namespace="/n")
        seen.append(sorted(r for r in rooms(sid=sids[0]) if r != sids[0]))
        seen.append(sorted(r for r in rooms(sid=sids[-1], namespace="/n") if r != sids[-1]))
        leave_room("r", sid=sids[0])
        seen.append(sorted(r for r in rooms(sid=sids[0]) if r != sids[0]))
        emit("in-rn", namespace="/n", to="rn")

    a, b = sio.test_client(app), sio.test_client(app)
    a.connect("/n")
    b.emit("go")
    return [seen, a.get_received("/n")]


@scenario()
def rooms_close_room_module_level():
    app, sio = make()

    @sio.on("join")
    def on_join():
        join_room("r")

    @sio.on("close")
    def on_close():
        close_room("r")
        emit("after-close", to="r")

    a, b = sio.test_client(app), sio.test_client(app)
    a.emit("join")
    b.emit("close")
    return received(a, b)


@scenario()
def rooms_server_enter_room():
    app, sio, sids = two_clients()
    a = sio.test_client(app)
    sio.server.enter_room(sids[0], "r")
    sio.emit("x", to="r")
    sio.server.leave_room(sids[0], "r")
    sio.emit("y", to="r")
    return a.get_received()


# == handler registration and acks =======================================================

@scenario()
def register_on_event_and_event_decorator():
    app, sio = make()

    def plain(data):
        emit("plain", data)

    sio.on_event("plain", plain)
    sio.on_event("plain-ns", plain, namespace="/n")

    @sio.event
    def decorated(data):
        emit("decorated", data)

    @sio.event(namespace="/n")
    def decorated_ns(data):
        emit("decorated_ns", data)

    client = sio.test_client(app)
    client.connect("/n")
    client.emit("plain", 1)
    client.emit("decorated", 2)
    client.emit("plain-ns", 3, namespace="/n")
    client.emit("decorated_ns", 4, namespace="/n")
    return [client.get_received(), client.get_received("/n")]


@scenario()
def handlers_registered_before_init_app():
    sio = SocketIO()

    @sio.on("echo")
    def on_echo(data):
        emit("echo", data)

    app = Flask("compat")
    sio.init_app(app)

    @sio.on("late")
    def on_late():
        emit("late")

    client = sio.test_client(app)
    client.emit("echo", "x")
    client.emit("late")
    return client.get_received()


@scenario()
def ack_return_value_shapes():
    app, sio = make()
    values = {"none": None, "one": 1, "tuple": (1, "b"), "list": [1, 2], "dict": {"a": 1},
              "binary": b"\x01"}

    @sio.on("ask")
    def on_ask(key):
        return values[key]

    client = sio.test_client(app)
    return {key: client.emit("ask", key, callback=True) for key in values}


@scenario()
def ack_not_requested_returns_none():
    app, sio = make()

    @sio.on("ask")
    def on_ask():
        return "answer"

    client = sio.test_client(app)
    return [client.emit("ask"), client.emit("ask", callback=False)]


@scenario()
def ack_for_send_message_and_json():
    app, sio = make()

    @sio.on("message")
    def on_message(message):
        return message.upper()

    @sio.on("json")
    def on_json(data):
        return data, "extra"

    client = sio.test_client(app)
    return [client.send("hi", callback=True), client.send({"a": 1}, json=True, callback=True)]


@scenario()
def unknown_event_is_ignored():
    app, sio = make()
    client = sio.test_client(app)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = [client.emit("nobody-listens", 1, callback=True), client.get_received()]
    # ours warns (NoAckWarning, a UserWarning) naming the event; the peer is silent
    said = [str(warning.message) for warning in caught
            if issubclass(warning.category, UserWarning)]
    assert all("nobody-listens" in text for text in said), said
    return result


@scenario()
def request_event_data():
    app, sio = make()
    seen = []

    @sio.on("ev")
    def on_ev(*args):
        seen.append([request.event, request.namespace])

    client = sio.test_client(app)
    client.emit("ev", 1, {"b": 2})
    return seen


@scenario()
def handler_multiple_arguments_and_none():
    app, sio = make()
    seen = []

    @sio.on("ev")
    def on_ev(*args):
        seen.append(list(args))

    client = sio.test_client(app)
    client.emit("ev")
    client.emit("ev", None)
    client.emit("ev", 1, "two", [3])
    client.emit("ev", b"\x00bin")
    return seen


@scenario()
def handler_wrong_arity_is_an_error():
    app, sio = make()

    @sio.on("ev")
    def on_ev(one):
        return one

    client = sio.test_client(app)
    return outcome(client.emit, "ev", 1, 2, callback=True)


# == catch-all handlers ==================================================================

@scenario()
def catch_all_event_default_namespace():
    app, sio = make()
    seen = []

    @sio.on("*")
    def any_event(event, *args):
        seen.append([event, list(args), request.namespace])
        return "caught"

    @sio.on("specific")
    def specific(data):
        seen.append(["specific", data])

    client = sio.test_client(app)
    ack = client.emit("anything", 1, 2, callback=True)
    client.emit("specific", 3)
    client.send("text")
    return [seen, ack]


@scenario()
def catch_all_request_event_message():
    app, sio = make()
    seen = []

    @sio.on("*")
    def any_event(event, *args):
        seen.append(request.event["message"])

    sio.test_client(app).emit("anything", 1)
    return seen


@scenario()
def catch_all_event_in_namespace():
    app, sio = make()
    seen = []

    @sio.on("*", namespace="/n")
    def any_event(event, data):
        seen.append([event, data, request.namespace])

    client = sio.test_client(app, namespace="/n")
    client.emit("e", 1, namespace="/n")
    return [seen, client.is_connected("/n")]


@scenario()
def catch_all_namespace_named_event():
    app, sio = make(namespaces="*")
    seen = []

    @sio.on("ev", namespace="*")
    def on_ev(data):
        seen.append([data, request.namespace])
        return data

    client = sio.test_client(app, namespace="/any")
    ack = client.emit("ev", 5, namespace="/any", callback=True)
    return [seen, ack]


@scenario(differs="A handler for event '*' on namespace '*' gets the event name, then the "
                  "event's arguments (request.namespace names the namespace); on the peer it "
                  "is never called with python-socketio 5.18 (the test client cannot connect).")
def catch_all_event_and_namespace():
    app, sio = make(namespaces="*")
    seen = []

    @sio.on("*", namespace="*")
    def everything(*args):
        seen.append([list(args), request.namespace])

    client = sio.test_client(app, namespace="/x")
    client.emit("ev", 1, namespace="/x")
    return seen


@scenario()
def catch_all_namespace_connect_and_disconnect():
    app, sio = make(namespaces="*")
    seen = []

    @sio.on("connect", namespace="*")
    def on_connect(auth):
        seen.append(["connect", request.namespace, auth])

    @sio.on("disconnect", namespace="*")
    def on_disconnect(reason):
        seen.append(["disconnect", request.namespace, reason])

    client = sio.test_client(app, namespace="/p", auth={"k": 1})
    client.connect("/q")
    client.disconnect("/p")
    return [seen, client.is_connected("/q")]


@scenario(differs="A handler for namespace='*' makes the server accept connections to any "
                  "namespace (unless the namespaces option lists them); the peer also needs "
                  "namespaces='*', and without it refuses every namespace but '/'.")
def catch_all_namespace_accepts_any_namespace():
    app, sio = make()

    @sio.on("connect", namespace="*")
    def on_connect(*args):
        pass

    client = sio.test_client(app, namespace="/whatever")
    return client.is_connected("/whatever")


@scenario()
def specific_namespace_wins_over_catch_all_namespace():
    app, sio = make(namespaces="*")
    seen = []

    @sio.on("connect", namespace="*")
    def any_connect(*args):
        seen.append(["any", request.namespace])

    @sio.on("connect", namespace="/s")
    def s_connect():
        seen.append(["s", request.namespace])

    client = sio.test_client(app, namespace="/s")
    client.connect("/t")
    return seen


# == class-based namespaces ==============================================================

class ChatNamespace(Namespace):
    def __init__(self, namespace: str, log: list) -> None:
        super().__init__(namespace)
        self.log = log

    def on_connect(self, auth=None):
        self.log.append(["connect", request.namespace, auth])
        self.emit("welcome", "w")
        self.send("text")

    def on_disconnect(self, reason):
        self.log.append(["disconnect", reason])

    def on_echo(self, data):
        emit("echo", data)
        return data

    def on_join(self, room):
        join_room(room)
        self.emit("in-room", room, room=room)

    def on_close(self, room):
        self.close_room(room)


@scenario()
def class_namespace_events():
    app, sio = make()
    log = []
    sio.on_namespace(ChatNamespace("/chat", log))
    client = sio.test_client(app, namespace="/chat", auth={"a": 1})
    ack = client.emit("echo", {"x": 1}, namespace="/chat", callback=True)
    client.emit("join", "r", namespace="/chat")
    client.emit("close", "r", namespace="/chat")
    sio.emit("after-close", namespace="/chat", to="r")
    client.emit("unknown", namespace="/chat")
    events = client.get_received("/chat")
    client.disconnect("/chat")
    return [log, ack, events]


@scenario()
def class_namespace_before_init_app():
    sio = SocketIO()
    log = []
    sio.on_namespace(ChatNamespace("/chat", log))
    app = Flask("compat")
    sio.init_app(app)
    client = sio.test_client(app, namespace="/chat")
    return [client.is_connected("/chat"), client.get_received("/chat"), log]


@scenario()
def class_namespace_emit_keywords():
    app, sio, _ = two_clients()

    class Ns(Namespace):
        def on_go(self):
            self.emit("everyone", 1)
            self.emit("others", 2, include_self=False)
            self.send("msg", include_self=False)
            self.emit("root", 3, namespace="/")

    sio.on_namespace(Ns("/n"))
    a = sio.test_client(app, namespace="/n")
    b = sio.test_client(app, namespace="/n")
    a.connect()
    a.emit("go", namespace="/n")
    return [received(a, b, namespace="/n"), a.get_received()]


@scenario()
def class_namespace_error_method():
    app, sio = make()

    class Ns(Namespace):
        def on_fail(self):
            raise ValueError("x")

        def error(self, exc):
            return ["handled", type(exc).__name__]

    sio.on_namespace(Ns("/e"))
    client = sio.test_client(app, namespace="/e")
    return client.emit("fail", namespace="/e", callback=True)


@scenario()
def class_namespace_refuses_connection():
    app, sio = make()

    class Ns(Namespace):
        def on_connect(self):
            raise ConnectionRefusedError("no")

    sio.on_namespace(Ns("/r"))
    client = sio.test_client(app, namespace="/r")
    return client.is_connected("/r")


@scenario()
def on_namespace_rejects_non_namespace():
    app, sio = make()
    import socketio as python_socketio

    return [outcome(sio.on_namespace, object()),
            outcome(sio.on_namespace, python_socketio.Namespace("/raw"))]


# == error handlers ======================================================================

@scenario()
def error_handler_per_namespace():
    app, sio = make()
    seen = []

    @sio.on("fail", namespace="/n")
    def on_fail():
        raise KeyError("k")

    @sio.on_error("/n")
    def handle(exc):
        seen.append([type(exc).__name__, request.namespace, request.event["message"]])
        return "handled-n"

    client = sio.test_client(app, namespace="/n")
    return [client.emit("fail", namespace="/n", callback=True), seen]


@scenario()
def error_handler_default():
    app, sio = make()
    seen = []

    @sio.on("fail")
    def on_fail():
        raise ZeroDivisionError

    @sio.on("fail", namespace="/n")
    def on_fail_n():
        raise LookupError

    @sio.on_error_default
    def handle(exc):
        seen.append([type(exc).__name__, request.namespace])
        return "default"

    client = sio.test_client(app)
    client.connect("/n")
    return [client.emit("fail", callback=True), client.emit("fail", namespace="/n",
                                                             callback=True), seen]


@scenario()
def error_handler_for_root_via_on_error_without_namespace():
    app, sio = make()

    @sio.on("fail")
    def on_fail():
        raise RuntimeError

    @sio.on_error()
    def handle(exc):
        return "root-handled"

    client = sio.test_client(app)
    return client.emit("fail", callback=True)


@scenario()
def error_without_handler_reaches_test():
    app, sio = make()

    @sio.on("fail")
    def on_fail():
        raise ArithmeticError("boom")

    client = sio.test_client(app)
    return [outcome(client.emit, "fail"), client.is_connected()]


@scenario()
def error_handler_must_be_callable():
    app, sio = make()
    return [outcome(sio.on_error("/n"), "not callable"), outcome(sio.on_error_default, 3)]


@scenario()
def error_in_connect_handler_goes_to_error_handler():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect():
        raise ValueError("connect failed")

    @sio.on_error_default
    def handle(exc):
        seen.append(type(exc).__name__)

    client = sio.test_client(app)
    return [seen, client.is_connected()]


@scenario()
def error_handler_reraises():
    app, sio = make()

    @sio.on("fail")
    def on_fail():
        raise IndexError

    @sio.on_error_default
    def handle(exc):
        raise exc

    client = sio.test_client(app)
    return outcome(client.emit, "fail")


# == sessions ============================================================================

@scenario()
def managed_session_across_events():
    app, sio = make()

    @sio.on("set")
    def on_set(value):
        session["v"] = value

    @sio.on("get")
    def on_get():
        return session.get("v")

    a, b = sio.test_client(app), sio.test_client(app)
    a.emit("set", "A")
    return [a.emit("get", callback=True), b.emit("get", callback=True)]


@scenario()
def managed_session_stored_in_environ():
    app, sio = make()

    @sio.on("set")
    def on_set():
        session["k"] = "v"

    client = sio.test_client(app)
    client.emit("set")
    return dict(sio.server.environ[client.eio_sid]["saved_session"])


@scenario()
def managed_session_sees_http_session_and_does_not_write_back():
    app, sio = make()

    @app.route("/login")
    def login():
        session["user"] = "ann"
        return ""

    @app.route("/who")
    def who():
        return session.get("user", "") + "|" + session.get("socket", "")

    @sio.on("who")
    def on_who():
        session["socket"] = "set-by-socket"
        return session.get("user")

    http = app.test_client()
    http.get("/login")
    client = sio.test_client(app, flask_test_client=http)
    ack = client.emit("who", callback=True)
    return [ack, http.get("/who").get_data(as_text=True)]


@scenario()
def unmanaged_session():
    app, sio = make(manage_session=False)

    @app.route("/login")
    def login():
        session["user"] = "bob"
        return ""

    @sio.on("who")
    def on_who():
        session["n"] = session.get("n", 0) + 1
        return [session.get("user"), session["n"]]

    http = app.test_client()
    http.get("/login")
    client = sio.test_client(app, flask_test_client=http)
    return [client.emit("who", callback=True), client.emit("who", callback=True),
            sio.manage_session]


@scenario()
def flask_test_client_cookies_reach_connect():
    app, sio = make()
    seen = []

    @app.route("/c")
    def set_cookie():
        response = app.response_class("")
        response.set_cookie("flavour", "oat")
        return response

    @sio.on("connect")
    def on_connect():
        seen.append(request.cookies.get("flavour"))

    http = app.test_client()
    http.get("/c")
    sio.test_client(app, flask_test_client=http)
    sio.test_client(app)
    return seen


# == init_app and options ================================================================

def option_view(options: dict) -> dict:
    return {key: (value if isinstance(value, str | int | float | bool | type(None) | list)
                  else type(value).__name__) for key, value in sorted(options.items())}


@scenario()
def options_visible_before_init_app():
    sio = SocketIO(cors_allowed_origins="*", ping_interval=7)
    return [option_view(sio.server_options), sio.server is None]


@scenario()
def options_merged_by_init_app():
    sio = SocketIO(ping_interval=7, manage_session=False)
    app = Flask("compat")
    sio.init_app(app, ping_timeout=9, cors_allowed_origins=["http://a"])
    return [option_view(sio.server_options), sio.manage_session,
            app.extensions["socketio"] is sio]


@scenario()
def options_written_before_init_app_are_honoured():
    sio = SocketIO()
    sio.server_options["allow_upgrades"] = False
    app = Flask("compat")
    sio.init_app(app)
    return [option_view(sio.server_options), sio.server.eio.allow_upgrades]


@scenario()
def options_reach_the_engine():
    app, sio = make(ping_interval=7, ping_timeout=3, allow_upgrades=False, cookie="c",
                    max_http_buffer_size=1000)
    eio = sio.server.eio
    return [eio.ping_interval, eio.ping_timeout, eio.allow_upgrades, eio.cookie,
            eio.max_http_buffer_size]


@scenario()
def options_message_queue_creates_client_manager():
    import socketio as python_socketio

    sio = SocketIO(message_queue="redis://127.0.0.1:6379/15", channel="c1")
    manager = sio.server_options["client_manager"]
    # Our manager is a subclass of python-socketio's: compare what a test can rely on.
    return [isinstance(manager, python_socketio.RedisManager), manager.channel,
            manager.write_only, sorted(sio.server_options)]


@scenario(differs="The test client works with a message queue configured (events go through the "
                  "queue as live); the peer's refuses with RuntimeError.")
def test_client_refuses_message_queue():
    app = Flask("compat")
    sio = SocketIO(app, message_queue="redis://127.0.0.1:6379/15")
    return outcome(sio.test_client, app)


@scenario()
def options_path_and_resource():
    results = []
    for key, value in (("path", "/custom"), ("resource", "other")):
        app = Flask("compat")
        sio = SocketIO(app, **{key: value})
        http = app.test_client()
        probe = "/" + value.lstrip("/") + "/?EIO=4&transport=polling"
        results.append([key, http.get(probe).status_code,
                        http.get("/socket.io/?EIO=4&transport=polling").status_code,
                        sio.test_client(app).is_connected()])
    return results


@scenario()
def options_json_module():
    class Upper:
        @staticmethod
        def dumps(*args, **kwargs):
            return stdlib_json.dumps(*args, **kwargs).upper()

        @staticmethod
        def loads(*args, **kwargs):
            return stdlib_json.loads(*args, **kwargs)

    app, sio = make(json=Upper)
    app2, sio2 = make(json=flask_json)

    @sio.on("go")
    def on_go():
        emit("e", {"k": "v"})

    @sio2.on("go")
    def on_go2():
        emit("e", {"k": "v"})

    client, client2 = sio.test_client(app), sio2.test_client(app2)
    client.emit("go")
    client2.emit("go")
    return [client.get_received(), client2.get_received()]


@scenario()
def extension_attributes():
    app, sio = make()
    sio_late = SocketIO()
    return [app.extensions["socketio"] is sio, sio.server is not None, sio_late.server,
            isinstance(sio.handlers, list), sio.manage_session,
            callable(app.wsgi_app)]


@scenario()
def http_routes_still_served():
    app, sio = make()

    @app.route("/")
    def index():
        return "page"

    response = app.test_client().get("/")
    return [response.status_code, response.get_data(as_text=True)]


@scenario()
def engineio_handshake_over_http():
    app, sio = make(ping_interval=11)
    response = app.test_client().get("/socket.io/?EIO=4&transport=polling")
    body = response.get_data(as_text=True)
    handshake = stdlib_json.loads(body[1:])
    return [response.status_code, body[0], sorted(handshake), handshake["pingInterval"],
            handshake["upgrades"]]


# == the test client =====================================================================

@scenario()
def test_client_get_received_shapes():
    app, sio = make()

    @sio.on("go")
    def on_go():
        send("text")
        send(["a", "list"], json=True)
        send({"d": 1})
        emit("noargs")
        emit("args", (1, [2]))

    client = sio.test_client(app)
    client.emit("go")
    events = client.get_received()
    return [events, [sorted(event) for event in events], type(events).__name__,
            client.get_received()]


@scenario()
def test_client_get_received_per_namespace():
    app, sio = make()

    @sio.on("connect", namespace="/n")
    def on_n():
        emit("in-n")

    @sio.on("connect")
    def on_root():
        emit("in-root")

    client = sio.test_client(app)
    client.connect("/n")
    return [client.get_received("/n"), client.get_received("/"), client.get_received("/n")]


@scenario()
def test_client_get_received_when_not_connected():
    app, sio = make()

    @sio.on("connect", namespace="/refuse")
    def refuse():
        return False

    client = sio.test_client(app)
    client.connect("/refuse")
    other = sio.test_client(app, namespace="/refuse")
    return [outcome(client.get_received, "/never"), outcome(client.get_received, "/refuse"),
            outcome(other.get_received), outcome(other.get_received, "/refuse")]


@scenario(differs="get_received() on a namespace that was connected and then disconnected "
                  "(by the server or by the client) returns what arrived before, then []; "
                  "the peer raises RuntimeError('not connected'), and what arrived is lost. "
                  "A namespace never connected raises as with the peer.")
def test_client_get_received_after_disconnect_returns_what_arrived():
    app, sio = make()

    @sio.on("leave")
    def leave():
        emit("goodbye", "see you")
        disconnect()

    @sio.on("connect", namespace="/n")
    def on_n():
        pass

    client = sio.test_client(app)
    client.connect("/n")
    client.get_received()
    client.emit("leave")
    client.disconnect("/n")
    return [client.is_connected(), outcome(client.get_received), outcome(client.get_received),
            outcome(client.get_received, "/n")]


@scenario()
def test_client_eio_sid():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect():
        seen.append(request.sid)

    a, b = sio.test_client(app), sio.test_client(app)
    return [isinstance(a.eio_sid, str), a.eio_sid != b.eio_sid, a.eio_sid in seen,
            a.eio_sid in sio.server.environ]


@scenario()
def test_client_emit_on_unconnected_namespace():
    app, sio = make()
    client = sio.test_client(app)
    return [outcome(client.emit, "x", namespace="/other"),
            outcome(client.send, "x", namespace="/other")]


@scenario()
def test_client_is_connected_variants():
    app, sio = make()

    @sio.on("connect", namespace="/n")
    def on_n():
        pass

    client = sio.test_client(app, namespace="/n")
    return [client.is_connected(), client.is_connected("/n"), client.is_connected("/x"),
            client.is_connected(None)]


@scenario()
def test_client_constructed_directly():
    app, sio = make()

    @sio.on("connect")
    def on_connect(auth):
        emit("auth", auth)

    client = fs.SocketIOTestClient(app, sio, auth={"z": 1})
    return [client.is_connected(), client.get_received(),
            isinstance(sio.test_client(app), fs.SocketIOTestClient)]


@scenario()
def test_client_emit_ignores_broadcast_keyword():
    app, sio = make()

    @sio.on("ev")
    def on_ev(data):
        return data

    client = sio.test_client(app)
    return outcome(client.emit, "ev", 1, broadcast=True, callback=True)


@scenario()
def test_client_emit_binary_and_nested():
    app, sio = make()

    @sio.on("echo")
    def on_echo(*args):
        emit("echo", args)
        return args

    client = sio.test_client(app)
    ack = client.emit("echo", {"b": b"\x01\x02", "l": [b"\x03"]}, "s", callback=True)
    return [ack, client.get_received()]


@scenario()
def test_client_clients_do_not_share_queues():
    app, sio = make()

    @sio.on("me")
    def on_me(tag):
        emit("you", tag)

    clients = [sio.test_client(app) for _ in range(3)]
    for index, client in enumerate(clients):
        client.emit("me", index)
    return [client.get_received() for client in clients]


@scenario()
def test_client_callback_counter_and_acks_in_order():
    app, sio = make()
    count = [0]

    @sio.on("n")
    def on_n():
        count[0] += 1
        return count[0]

    client = sio.test_client(app)
    return [client.emit("n", callback=True) for _ in range(3)]


@scenario()
def test_client_server_disconnect_reflected():
    app, sio = make()

    @sio.on("connect", namespace="/n")
    def on_n():
        pass

    @sio.on("kick", namespace="/n")
    def on_kick():
        disconnect()

    client = sio.test_client(app)
    client.connect("/n")
    client.emit("kick", namespace="/n")
    return [client.is_connected(), client.is_connected("/n"), outcome(client.disconnect, "/n")]


@scenario(differs="call() works with the test client (answer with client.on() or "
                  "ReceivedEvent.ack()); unanswered it raises TimeoutError. The peer's test "
                  "client turns off async handlers, so call() raises RuntimeError there.")
def call_inside_handler_unanswered():
    app, sio = make()

    @sio.on("go")
    def on_go():
        return outcome(call, "ask", timeout=0.2)

    client = sio.test_client(app)
    return client.emit("go", callback=True)


@scenario()
def module_level_close_room_and_rooms_outside_context():
    app, sio = make()
    with app.app_context():
        return [outcome(rooms), outcome(close_room, "r"), outcome(join_room, "r")]


@scenario(differs="async_mode is 'gevent' (the embedded server's); the peer picks from what is "
                  "installed ('threading' in its venv here).")
def socketio_async_mode():
    app, sio = make()
    return [sio.async_mode, sio.server.async_mode]


@scenario(differs="An unknown SocketIO option is a TypeError naming it; the peer passes it on to "
                  "python-socketio, which ignores it, so a misspelt option silently does nothing.")
def misspelt_option():
    app = Flask("compat")
    return outcome(SocketIO, app, ping_intervall=5)


@scenario(differs="A namespace that does not start with '/' is a ValueError naming it, wherever "
                  "one is given (on(), emit(), the test client); the peer registers a handler "
                  "no client can reach and emits to nobody, silently.")
def namespace_without_leading_slash():
    app, sio = make()
    results = [outcome(lambda: callable(sio.on("x", namespace="chat")(lambda: None))),
               outcome(sio.emit, "x", namespace="chat")]
    client = sio.test_client(app)
    results.append(outcome(client.is_connected, "chat"))
    return results


# == more of the same surface ============================================================

@scenario()
def class_namespace_python_socketio_methods():
    app, sio = make()
    seen = []

    class Ns(Namespace):
        def on_go(self):
            sid = request.sid
            self.enter_room(sid, "r")
            seen.append(sorted(r for r in self.rooms(sid) if r != sid))
            self.leave_room(sid, "r")
            seen.append(sorted(r for r in self.rooms(sid) if r != sid))

        def on_leave(self):
            self.disconnect(request.sid)

    sio.on_namespace(Ns("/n"))
    client = sio.test_client(app, namespace="/n")
    client.emit("go", namespace="/n")
    client.emit("leave", namespace="/n")
    return [seen, client.is_connected("/n")]


@scenario(differs="python-socketio's per-connection session (save_session(), get_session(), "
                  "session()) works with the test client; the peer's test client has no "
                  "Engine.IO session behind it, so they raise KeyError there.")
def python_socketio_session_api():
    app, sio = make()

    class Ns(Namespace):
        def on_go(self):
            sid = request.sid
            self.save_session(sid, {"k": 1})
            first = self.get_session(sid)
            with self.session(sid) as stored:
                stored["k"] = 2
            return [first, self.get_session(sid)]

    sio.on_namespace(Ns("/n"))
    client = sio.test_client(app, namespace="/n")
    return client.emit("go", namespace="/n", callback=True)


@scenario()
def class_namespace_trigger_event_override():
    app, sio = make()
    seen = []

    class Everything(Namespace):
        def trigger_event(self, event, *args):
            seen.append([event, len(args)])
            if event not in ("connect", "disconnect"):
                return "any:" + event
            return super().trigger_event(event, *args)

    sio.on_namespace(Everything("/all"))
    client = sio.test_client(app, namespace="/all")
    ack = client.emit("whatever", 1, namespace="/all", callback=True)
    return [seen, ack, client.is_connected("/all")]


@scenario()
def class_namespace_with_socketio_error_handler():
    app, sio = make()

    class Ns(Namespace):
        def on_fail(self):
            raise KeyError

    @sio.on_error("/n")
    def handle(exc):
        return ["from on_error", type(exc).__name__]

    sio.on_namespace(Ns("/n"))
    client = sio.test_client(app, namespace="/n")
    return client.emit("fail", namespace="/n", callback=True)


@scenario(differs="An event whose name has hyphens reaches the on_ method with underscores "
                  "in their place ('my-event' calls on_my_event); the peer looks for a method "
                  "named 'on_my-event', which cannot exist, and drops the event.")
def class_namespace_event_name_with_hyphen():
    app, sio = make()

    class Ns(Namespace):
        def on_my_event(self):
            return "underscore"

    sio.on_namespace(Ns("/n"))
    client = sio.test_client(app, namespace="/n")
    return [client.emit("my_event", namespace="/n", callback=True),
            outcome(client.emit, "my-event", namespace="/n", callback=True)]


@scenario()
def test_client_connect_second_namespace_with_arguments():
    app, sio = make()
    seen = []

    @sio.on("connect", namespace="/n")
    def on_n(auth):
        seen.append([auth, request.args.get("q"), request.headers.get("X-H")])

    @sio.on("where", namespace="/n")
    def where():
        return request.args.get("q")

    @sio.on("where")
    def where_root():
        return [request.args.get("q"), request.headers.get("X-H")]

    client = sio.test_client(app, query_string="q=root")
    before = client.emit("where", callback=True)
    client.connect("/n", query_string="q=second", headers={"X-H": "h"}, auth={"a": 2})
    return [before, seen, client.emit("where", namespace="/n", callback=True),
            client.emit("where", callback=True)]


@scenario(differs="connect() of another namespace without query_string= or headers= keeps "
                  "the client's (one Engine.IO session, one handshake, as a real client); the "
                  "peer's test client makes a new handshake environ at each connect(), so "
                  "every namespace's request then has no query string and no headers.")
def test_client_connect_second_namespace_without_arguments():
    app, sio = make()

    @sio.on("where", namespace="/n")
    def where_n():
        return request.args.get("q")

    @sio.on("where")
    def where_root():
        return request.args.get("q")

    client = sio.test_client(app, query_string="q=root", headers={"X-H": "h"})
    client.connect("/n")
    return [client.emit("where", callback=True), client.emit("where", namespace="/n",
                                                              callback=True)]


@scenario(differs="The managed session survives connect() of another namespace (with or "
                  "without a new query string); the peer's test client replaces the "
                  "handshake environ, where it keeps the session, so the session is lost.")
def test_client_connect_second_namespace_keeps_managed_session():
    app, sio = make()

    @sio.on("remember")
    def remember(value):
        session["value"] = value

    @sio.on("recall")
    def recall():
        return session.get("value")

    @sio.on("connect", namespace="/n")
    def on_n():
        pass

    client = sio.test_client(app)
    client.emit("remember", "kept")
    client.connect("/n", query_string="q=1")
    return client.emit("recall", callback=True)


@scenario()
def server_disconnect_outside_handlers():
    app, sio, sids = two_clients()
    seen = []

    @sio.on("disconnect")
    def on_disconnect(reason):
        seen.append(reason)

    client = sio.test_client(app)
    sio.server.disconnect(sids[0])
    return [seen, client.is_connected()]


@scenario()
def error_in_disconnect_handler_goes_to_error_handler():
    app, sio = make()
    seen = []

    @sio.on("disconnect")
    def on_disconnect(reason):
        raise ValueError("in disconnect")

    @sio.on_error_default
    def handle(exc):
        seen.append([type(exc).__name__, request.event["message"]])

    client = sio.test_client(app)
    client.disconnect()
    return [seen, client.is_connected()]


@scenario()
def managed_session_shared_across_namespaces():
    app, sio = make()

    @sio.on("connect", namespace="/n")
    def on_n():
        pass

    @sio.on("set")
    def on_set():
        session["where"] = "root"

    @sio.on("get", namespace="/n")
    def on_get():
        return session.get("where")

    client = sio.test_client(app)
    client.connect("/n")
    client.emit("set")
    return client.emit("get", namespace="/n", callback=True)


@scenario(differs="The module-level emit(), send() and the room functions outside a "
                  "Socket.IO handler (in an HTTP route, say) raise RuntimeError saying "
                  "so; the peer fails with an AttributeError on request.namespace.")
def socketio_emit_from_http_route():
    app, sio = make()

    @app.route("/notify")
    def notify():
        sio.emit("notice", {"from": "http"})
        return "sent"

    @app.route("/module-emit")
    def module_emit():
        return str(outcome(emit, "x"))

    client = sio.test_client(app)
    http = app.test_client()
    body = http.get("/notify").get_data(as_text=True)
    return [body, client.get_received(), http.get("/module-emit").get_data(as_text=True)]


@scenario()
def join_room_in_connect_handler():
    app, sio = make()

    @sio.on("connect")
    def on_connect(auth):
        join_room(auth["room"])
        emit("joined", auth["room"], to=auth["room"])

    a = sio.test_client(app, auth={"room": "r1"})
    b = sio.test_client(app, auth={"room": "r1"})
    c = sio.test_client(app, auth={"room": "r2"})
    sio.emit("to-r1", to="r1")
    return received(a, b, c)


@scenario()
def send_with_callback_from_handler():
    app, sio = make()
    calls = []

    @sio.on("go")
    def on_go():
        send("please ack", callback=lambda *args: calls.append(args))

    client = sio.test_client(app)
    client.emit("go")
    return [client.get_received(), calls]


@scenario()
def connect_handler_return_values():
    results = []
    for value in (True, None, 1, 0, "", False):
        app, sio = make()
        sio.on("connect")(lambda value=value: value)
        results.append(sio.test_client(app).is_connected())
    return results


@scenario()
def disconnect_inside_connect_handler():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect():
        disconnect()

    @sio.on("disconnect")
    def on_disconnect(reason):
        seen.append(reason)

    client = sio.test_client(app)
    return [client.is_connected(), seen]


@scenario()
def namespace_none_and_root_are_the_same():
    app, sio = make()

    @sio.on("a", namespace=None)
    def on_a():
        return "a"

    @sio.on("b", namespace="/")
    def on_b():
        return request.namespace

    client = sio.test_client(app, namespace="/")
    return [client.emit("a", callback=True), client.emit("b", namespace="/", callback=True),
            client.is_connected(None)]


@scenario()
def namespaces_option_restricts_connections():
    app, sio = make(namespaces=["/", "/a"])

    @sio.on("connect", namespace="/b")
    def on_b():
        pass

    @sio.on("connect", namespace="/a")
    def on_a():
        pass

    client = sio.test_client(app)
    client.connect("/a")
    client.connect("/b")
    return [client.is_connected("/a"), client.is_connected("/b")]


@scenario()
def always_connect_option_with_refusal():
    app, sio = make(always_connect=True)

    @sio.on("connect")
    def on_connect():
        emit("early")
        return False

    client = sio.test_client(app)
    return client.is_connected()


@scenario()
def emit_to_list_of_rooms():
    app, sio, _ = two_clients()

    @sio.on("join")
    def on_join(room):
        join_room(room)

    @sio.on("go")
    def on_go():
        emit("both", to=["r1", "r2"])

    a, b, c = sio.test_client(app), sio.test_client(app), sio.test_client(app)
    a.emit("join", "r1")
    b.emit("join", "r2")
    c.emit("go")
    return received(a, b, c)


@scenario()
def close_room_with_namespace_keyword():
    app, sio = make()

    @sio.on("connect", namespace="/n")
    def on_n():
        join_room("r")

    @sio.on("close")
    def on_close():
        close_room("r", namespace="/n")
        emit("after", namespace="/n", to="r")

    client = sio.test_client(app)
    client.connect("/n")
    client.emit("close")
    return client.get_received("/n")


@scenario()
def server_emit_to_root_reaches_only_root_connections():
    app, sio = make()

    @sio.on("connect", namespace="/n")
    def on_n():
        pass

    only_n = sio.test_client(app, namespace="/n")
    both = sio.test_client(app)
    both.connect("/n")
    sio.emit("root-news")
    sio.emit("n-news", namespace="/n")
    return [outcome(only_n.get_received, "/n"), both.get_received(), both.get_received("/n")]


@scenario()
def options_accepted_by_the_server():
    app, sio = make(cors_allowed_origins=["http://x"], cors_credentials=False, logger=False,
                    engineio_logger=False, async_handlers=True, ping_interval=(5, 1),
                    max_http_buffer_size=2048, http_compression=False, cookie=None,
                    always_connect=False, monitor_clients=False)
    client = sio.test_client(app)
    return [client.is_connected(), option_view(sio.server_options)]


@scenario()
def init_app_twice_keeps_the_latest_app():
    sio = SocketIO()
    first, second = Flask("first"), Flask("second")
    sio.init_app(first)
    sio.init_app(second)

    @sio.on("which")
    def which():
        return request.environ["flask.app"].name

    return [first.extensions["socketio"] is sio, second.extensions["socketio"] is sio,
            sio.test_client(second).emit("which", callback=True)]


@scenario(differs="A class-based Namespace('*') gets the events of every namespace "
                  "(request.namespace names it); the peer never calls its methods "
                  "(python-socketio passes the namespace where it expects the sid) and "
                  "acknowledges with ['', 400].")
def class_namespace_catch_all():
    app, sio = make(namespaces="*")
    seen = []

    class Everywhere(Namespace):
        def on_connect(self, *args):
            seen.append(["connect", request.namespace])

        def on_ping(self, *args):
            seen.append(["ping", list(args), request.namespace])
            return "pong"

    sio.on_namespace(Everywhere("*"))
    client = sio.test_client(app, namespace="/any")
    connected = client.is_connected("/any")
    ack = outcome(client.emit, "ping", 1, namespace="/any", callback=True)
    return [connected, ack, seen]


@scenario()
def unmanaged_session_writes_stay_out_of_http():
    app, sio = make(manage_session=False)

    @app.route("/read")
    def read():
        return str(session.get("from_socket"))

    @sio.on("write")
    def write():
        session["from_socket"] = "yes"

    http = app.test_client()
    http.get("/read")
    client = sio.test_client(app, flask_test_client=http)
    client.emit("write")
    return http.get("/read").get_data(as_text=True)


@scenario()
def test_client_connect_again_without_auth():
    app, sio = make()
    seen = []

    @sio.on("connect")
    def on_connect(auth):
        seen.append(["/", auth])

    @sio.on("connect", namespace="/n")
    def on_n(auth):
        seen.append(["/n", auth])

    client = sio.test_client(app, auth={"token": 1})
    client.connect("/n")
    client.disconnect()
    client.connect()
    return [seen, client.is_connected(), client.is_connected("/n")]
