"""Event middleware: before/after-event hooks around every handler, in-process."""

from __future__ import annotations

import pytest
from flask import Flask, g, request, session

from flask_socketio import EventRefused, Namespace, SocketIO, emit

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    socketio = SocketIO(app, **options)

    @socketio.on("echo")
    def echo(*args):
        return ["echo", *args]

    @socketio.on("echo", namespace="/chat")
    def echo_chat(*args):
        return ["chat", *args]

    return app, socketio


def test_before_and_after_hooks_run_around_the_handler_in_its_contexts():
    app, socketio = make_app()
    seen = []

    @socketio.before_event
    def before(event, args):
        g.marker = "from before"
        seen.append(("before", event, args, request.sid, request.namespace,
                     request.event["message"], session.get("user")))

    @socketio.on("look")
    def look():
        seen.append(("handler", g.marker))
        return "looked"

    @socketio.after_event
    def after(event, args, result, error):
        seen.append(("after", event, args, result, error, g.marker, request.sid))

    client = socketio.test_client(app, auth={"token": "t"})
    sid = client.get_sid()
    assert seen == [("before", "connect", ({"token": "t"},), sid, "/", "connect", None),
                    ("after", "connect", ({"token": "t"},), None, None, "from before", sid)]
    seen.clear()
    assert client.emit("look", callback=True) == "looked"
    assert seen == [("before", "look", (), sid, "/", "look", None),
                    ("handler", "from before"),
                    ("after", "look", (), "looked", None, "from before", sid)]
    seen.clear()
    assert client.emit("echo", 1, {"a": 2}, callback=True) == ["echo", 1, {"a": 2}]
    assert [entry[:3] for entry in seen] == [("before", "echo", (1, {"a": 2})),
                                             ("after", "echo", (1, {"a": 2}))]


def test_a_refusing_before_hook_stops_the_handler_and_the_client_gets_an_error_ack():
    app, socketio = make_app()
    ran = []

    @socketio.before_event
    def refuse_secret(event, args):
        if event == "secret":
            raise EventRefused("not allowed")

    @socketio.on("secret")
    def secret():
        ran.append("secret")
        return "the secret"

    client = socketio.test_client(app)
    assert client.emit("secret", callback=True) == {"error": "not allowed"}
    client.emit("secret")  # no ack asked for: nothing sent back
    assert ran == []
    client.assert_nothing_received()
    assert client.emit("echo", 3, callback=True) == ["echo", 3]
    assert client.is_connected()


def test_a_refusal_can_carry_its_own_ack_and_disconnect_the_client():
    app, socketio = make_app()
    disconnects = []

    @socketio.before_event
    def kick(event, args):
        if event == "kick":
            raise EventRefused("bye", ack={"error": "kicked", "code": 7}, disconnect=True)

    @socketio.on("disconnect")
    def gone(reason):
        disconnects.append(reason)

    client = socketio.test_client(app)
    assert client.emit("kick", callback=True) == {"error": "kicked", "code": 7}
    assert not client.is_connected()
    assert disconnects == [SocketIO.reason.SERVER_DISCONNECT]


def test_a_before_hook_refusing_connect_refuses_the_connection():
    app, socketio = make_app()
    connected = []

    @socketio.before_event
    def need_token(event, args):
        if event == "connect" and not (args[0] or {}).get("token"):
            raise EventRefused("token required")

    @socketio.on("connect")
    def on_connect():
        connected.append(request.sid)

    client = socketio.test_client(app)
    assert not client.is_connected()
    assert client.get_connect_error() == {"message": "token required"}
    assert connected == []
    ok = socketio.test_client(app, auth={"token": "x"})
    assert ok.is_connected()
    assert connected == [ok.get_sid()]


def test_a_custom_ack_on_a_refused_connect_is_the_connect_error_data():
    app, socketio = make_app()

    @socketio.before_event
    def refuse(event, args):
        raise EventRefused("banned", ack={"until": 42})

    client = socketio.test_client(app)
    assert client.get_connect_error() == {"message": "banned", "data": {"until": 42}}


def test_hooks_do_not_run_for_disconnect():
    app, socketio = make_app()
    events = []
    socketio.before_event(lambda event, args: events.append(("before", event)))
    socketio.after_event(lambda event, args, result, error: events.append(("after", event)))
    socketio.on_event("disconnect", lambda: events.append(("handler", "disconnect")))
    client = socketio.test_client(app)
    events.clear()
    client.disconnect()
    assert events == [("handler", "disconnect")]


def test_order_every_namespace_first_then_the_namespace_then_after_hooks_in_reverse():
    app, socketio = make_app()
    order = []

    def before(name):
        return lambda event, args: order.append(f"before {name}")

    def after(name):
        return lambda event, args, result, error: order.append(f"after {name}")

    socketio.before_event(before("chat 1"), namespace="/chat")
    socketio.before_event(before("all 1"))
    socketio.before_event(before("root"), namespace="/")
    socketio.before_event(before("all 2"), namespace="*")
    socketio.before_event(before("chat 2"), namespace="/chat")
    socketio.after_event(after("chat 1"), namespace="/chat")
    socketio.after_event(after("all 1"))
    socketio.after_event(after("all 2"))
    socketio.after_event(after("chat 2"), namespace="/chat")
    client = socketio.test_client(app, namespace="/chat")
    order.clear()
    assert client.emit("echo", namespace="/chat", callback=True) == ["chat"]
    assert order == ["before all 1", "before all 2", "before chat 1", "before chat 2",
                     "after chat 2", "after chat 1", "after all 2", "after all 1"]
    client.connect("/")
    order.clear()
    client.emit("echo", callback=True)
    assert order == ["before all 1", "before all 2", "before root",
                     "after all 2", "after all 1"]


def test_after_hooks_see_the_exception_and_the_error_handlers_result():
    app, socketio = make_app()
    seen = []

    @socketio.on("fail")
    def fail():
        raise KeyError("missing")

    @socketio.on_error_default
    def handled(exc):
        return {"handled": str(exc)}

    @socketio.after_event
    def after(event, args, result, error):
        seen.append((event, result, type(error).__name__ if error else None))

    client = socketio.test_client(app)
    seen.clear()
    assert client.emit("fail", callback=True) == {"handled": "'missing'"}
    assert seen == [("fail", {"handled": "'missing'"}, "KeyError")]


def test_a_before_hook_that_fails_goes_to_the_error_handler_and_skips_the_handler():
    app, socketio = make_app()
    ran = []

    @socketio.before_event
    def broken(event, args):
        if event == "echo":
            raise ValueError("hook broke")

    @socketio.on_error_default
    def handled(exc):
        ran.append(str(exc))
        return "error handled"

    client = socketio.test_client(app)
    assert client.emit("echo", 1, callback=True) == "error handled"
    assert ran == ["hook broke"]


def test_refused_events_reach_after_hooks_and_never_the_error_handlers():
    app, socketio = make_app()
    seen = []
    socketio.before_event(lambda event, args: (_ for _ in ()).throw(EventRefused("no")),
                          namespace="/chat")
    socketio.on_error_default(lambda exc: seen.append(("error handler", exc)))
    socketio.after_event(lambda event, args, result, error: seen.append((result, error.message)),
                         namespace="/chat")
    client = socketio.test_client(app)
    client.connect("/chat")
    assert client.get_connect_error("/chat") == {"message": "no"}
    assert seen == [(False, "no")]


def test_an_after_hook_that_fails_is_reported_and_the_ack_stands():
    app, socketio = make_app()
    later = []

    @socketio.after_event
    def second(event, args, result, error):
        later.append(result)

    @socketio.after_event
    def broken(event, args, result, error):
        if event == "echo":
            raise RuntimeError("after broke")

    client = socketio.test_client(app)
    with pytest.raises(RuntimeError, match="after broke"):
        client.emit("echo", 5, callback=True)
    assert later[-1] == ["echo", 5]


def test_a_class_based_namespace_has_its_own_hooks_innermost():
    app, socketio = make_app()
    order = []

    class Chat(Namespace):
        def before_event(self, event, args):
            order.append(f"ns before {event}")
            if event == "blocked":
                raise EventRefused("blocked here")

        def after_event(self, event, args, result, error):
            order.append(f"ns after {event} {result!r}")

        def on_hello(self, name):
            order.append("handler")
            emit("hi", name)
            return "ok"

        def on_blocked(self):
            order.append("blocked handler")

    socketio.on_namespace(Chat("/room"))
    socketio.before_event(lambda event, args: order.append(f"before {event}"))
    socketio.after_event(lambda event, args, result, error: order.append(f"after {event}"))
    client = socketio.test_client(app, namespace="/room")
    assert order == ["before connect", "ns before connect", "ns after connect None",
                     "after connect"]
    order.clear()
    assert client.emit("hello", "ann", namespace="/room", callback=True) == "ok"
    client.assert_received("hi", "ann", namespace="/room")
    assert order == ["before hello", "ns before hello", "handler", "ns after hello 'ok'",
                     "after hello"]
    order.clear()
    assert client.emit("blocked", namespace="/room", callback=True) == {"error": "blocked here"}
    assert order == ["before blocked", "ns before blocked",
                     "ns after blocked {'error': 'blocked here'}", "after blocked"]


def test_catch_all_handlers_get_hooks_with_the_real_event_and_namespace():
    app, socketio = make_app()
    seen = []

    @socketio.on("*", namespace="*")
    def anything(event, *args):
        return [event, request.namespace, *args]

    socketio.before_event(lambda event, args: seen.append((event, request.namespace, args)))
    client = socketio.test_client(app, namespace="/anywhere")
    seen.clear()
    assert client.emit("stuff", 1, namespace="/anywhere", callback=True) == [
        "stuff", "/anywhere", 1]
    assert seen == [("stuff", "/anywhere", (1,))]


def test_hooks_registered_before_init_app_and_bad_registrations():
    socketio = SocketIO()
    calls = []

    @socketio.before_event(namespace="/chat")
    def before(event, args):
        calls.append(event)

    app = Flask(__name__)
    socketio.init_app(app)
    socketio.on_event("x", lambda: "x", namespace="/chat")
    client = socketio.test_client(app, namespace="/chat")
    client.emit("x", namespace="/chat")
    assert calls == ["connect", "x"]
    with pytest.raises(ValueError):
        socketio.before_event("not callable")
    with pytest.raises(ValueError):
        socketio.after_event(namespace="chat")


def test_hooks_run_for_events_and_connects_no_handler_takes():
    app, socketio = make_app(namespaces=["/", "/bare"])
    seen = []

    class Quiet(Namespace):
        def before_event(self, event, args):
            seen.append(("quiet", event))

    socketio.on_namespace(Quiet("/quiet"))

    @socketio.before_event
    def refuse_unknown(event, args):
        seen.append((request.namespace, event, args))
        if event == "unknown":
            raise EventRefused("no such event")

    client = socketio.test_client(app, namespace="/bare")
    assert seen == [("/bare", "connect", (None,))]
    assert client.emit("unknown", 1, namespace="/bare", callback=True) == {
        "error": "no such event"}
    client.emit("other", namespace="/bare")  # not refused, not handled: no ack, no error
    assert seen[1:] == [("/bare", "unknown", (1,)), ("/bare", "other", ())]
    seen.clear()
    client.connect("/quiet")
    assert seen == [("/quiet", "connect", (None,)), ("quiet", "connect")]


def test_unhandled_events_reach_the_hooks_only_while_there_can_be_hooks():
    app, socketio = make_app(namespaces=["/", "/bare", "/quiet"])
    assert socketio.server.unhandled_event is None  # no hook: nothing to hand them to
    client = socketio.test_client(app, namespace="/bare")
    seen = []

    @socketio.before_event  # registered once clients exist: from the next event on
    def before(event, args):
        seen.append((request.namespace, event))

    assert socketio.server.unhandled_event is not None
    client.emit("nobody", namespace="/bare")
    assert seen == [("/bare", "nobody")]
    client.disconnect(namespace="/bare")


def test_a_class_based_namespace_turns_the_unhandled_path_on_for_its_own_hooks():
    app, socketio = make_app(namespaces=["/", "/quiet"])
    seen = []

    class Quiet(Namespace):
        def before_event(self, event, args):
            seen.append(event)

    socketio.on_namespace(Quiet("/quiet"))  # after init_app
    assert socketio.server.unhandled_event is not None
    client = socketio.test_client(app, namespace="/quiet")
    assert seen == ["connect"]
    client.disconnect(namespace="/quiet")


def test_hooks_and_namespaces_given_before_init_app_count_too():
    socketio = SocketIO()
    socketio.before_event(lambda event, args: None)
    app = Flask(__name__)
    socketio.init_app(app)
    assert socketio.server.unhandled_event is not None
    plain = SocketIO(Flask(__name__))
    assert plain.server.unhandled_event is None
