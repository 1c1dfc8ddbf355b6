"""Receiving: message/json/named events, catch-alls, class-based namespaces, connect and
disconnect handlers, refusals."""

from __future__ import annotations

import pytest
from flask import Flask, request

from flask_socketio import ConnectionRefusedError, Namespace, SocketIO, emit, send

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    return app, SocketIO(app, **options)


# -- message, json and named events ----------------------------------------------------------


def test_message_handler_receives_sent_strings():
    app, socketio = make_app()
    seen = []

    @socketio.on("message")
    def handle_message(message):
        seen.append(message)
        send(message)

    client = socketio.test_client(app)
    client.send("hello")
    assert seen == ["hello"]
    assert client.get_received() == [{"name": "message", "args": "hello", "namespace": "/"}]


def test_json_handler_receives_sent_json():
    app, socketio = make_app()
    seen = []

    @socketio.on("json")
    def handle_json(data):
        seen.append(data)
        send(data, json=True)

    client = socketio.test_client(app)
    client.send({"a": [1, 2]}, json=True)
    assert seen == [{"a": [1, 2]}]
    assert client.get_received() == [{"name": "json", "args": {"a": [1, 2]}, "namespace": "/"}]


def test_message_and_json_handlers_are_distinct():
    app, socketio = make_app()
    seen = []
    socketio.on_event("message", lambda data: seen.append(("message", data)))
    socketio.on_event("json", lambda data: seen.append(("json", data)))
    client = socketio.test_client(app)
    client.send("text")
    client.send({"k": 1}, json=True)
    assert seen == [("message", "text"), ("json", {"k": 1})]


def test_named_event_with_several_arguments_and_ack():
    app, socketio = make_app()

    @socketio.on("my event")
    def handle_my_event(first, second):
        emit("my response", {"first": first, "second": second})
        return first + second

    client = socketio.test_client(app)
    assert client.emit("my event", 40, 2, callback=True) == 42
    client.assert_received("my response", {"first": 40, "second": 2})


def test_named_event_in_a_namespace_is_not_seen_by_the_default_namespace():
    app, socketio = make_app()
    seen = []

    @socketio.on("my event", namespace="/test")
    def namespaced(data):
        seen.append(("/test", data))
        emit("my response", data)

    @socketio.on("my event")
    def default(data):
        seen.append(("/", data))

    client = socketio.test_client(app, namespace="/test")
    client.emit("my event", 1, namespace="/test")
    assert seen == [("/test", 1)]
    assert client.get_received("/test") == [
        {"name": "my response", "args": [1], "namespace": "/test"}]
    with pytest.raises(RuntimeError, match="not connected"):  # as Flask-SocketIO's client
        client.get_received()


def test_unhandled_event_is_ignored_and_the_connection_keeps_working():
    app, socketio = make_app()
    socketio.on_event("known", lambda: "ok")
    client = socketio.test_client(app)
    client.emit("nobody listens", 1)
    assert client.emit("known", callback=True) == "ok"
    assert client.is_connected()


def test_handler_return_values_become_the_ack():
    app, socketio = make_app()
    socketio.on_event("none", lambda: None)
    socketio.on_event("one", lambda: {"x": 1})
    socketio.on_event("tuple", lambda: (1, "two"))
    client = socketio.test_client(app)
    assert client.emit("none", callback=True) == []
    assert client.emit("one", callback=True) == {"x": 1}
    assert client.emit("tuple", callback=True) == [1, "two"]


# -- @socketio.event and on_event --------------------------------------------------------------


def test_event_decorator_uses_the_function_name():
    app, socketio = make_app()

    @socketio.event
    def greet(name):
        return f"hello {name}"

    client = socketio.test_client(app)
    assert client.emit("greet", "ann", callback=True) == "hello ann"


def test_event_decorator_with_a_namespace():
    app, socketio = make_app()

    @socketio.event(namespace="/chat")
    def greet(name):
        return f"hi {name}"

    client = socketio.test_client(app, namespace="/chat")
    assert client.emit("greet", "bob", callback=True, namespace="/chat") == "hi bob"


def test_event_decorator_returns_the_function():
    app, socketio = make_app()

    def greet():
        return "x"

    assert socketio.event(greet) is greet
    assert socketio.on("other")(greet) is greet


def test_on_event_registers_without_decorator():
    app, socketio = make_app()
    socketio.on_event("add", lambda a, b: a + b)
    socketio.on_event("sub", lambda a, b: a - b, namespace="/math")
    client = socketio.test_client(app)
    client.connect("/math")
    assert client.emit("add", 2, 3, callback=True) == 5
    assert client.emit("sub", 2, 3, callback=True, namespace="/math") == -1


# -- catch-alls --------------------------------------------------------------------------------


def test_catch_all_event_gets_the_event_name_first():
    app, socketio = make_app()
    seen = []

    @socketio.on("*")
    def catch_all(event, *args):
        seen.append((event, args, request.event["message"]))
        return event

    @socketio.on("specific")
    def specific(value):
        seen.append(("specific handler", (value,), request.event["message"]))

    client = socketio.test_client(app)
    assert client.emit("anything", 1, 2, callback=True) == "anything"
    client.emit("specific", 3)
    # request.event of a catch-all, as Flask-SocketIO's: the message is "*", the
    # event's name is the first of the args
    assert seen == [("anything", (1, 2), "*"),
                    ("specific handler", (3,), "specific")]


def test_catch_all_event_does_not_receive_connect_or_disconnect():
    app, socketio = make_app()
    seen = []
    socketio.on_event("*", lambda event, *args: seen.append(event))
    client = socketio.test_client(app)
    client.emit("x")
    client.disconnect()
    assert seen == ["x"]


def test_catch_all_namespace_handler_gets_the_arguments_and_request_names_the_namespace():
    # As Flask-SocketIO: a named event registered for namespace='*' is called with the
    # event's arguments only; request.namespace says which namespace it came from.
    app, socketio = make_app()
    seen = []

    @socketio.on("connect", namespace="*")
    def connect(auth):
        seen.append(("connect", auth, request.namespace))

    @socketio.on("hello", namespace="*")
    def hello(value):
        seen.append(("hello", value, request.namespace))
        emit("hi", request.namespace)
        return request.namespace

    @socketio.on("disconnect", namespace="*")
    def disconnect(reason):
        seen.append(("disconnect", reason, request.namespace))

    client = socketio.test_client(app, namespace="/anything", auth={"k": 1})
    client.connect("/other")
    assert client.is_connected("/anything") and client.is_connected("/other")
    assert client.emit("hello", 1, namespace="/anything", callback=True) == "/anything"
    assert client.emit("hello", 2, namespace="/other", callback=True) == "/other"
    client.assert_received("hi", "/anything", namespace="/anything")
    client.assert_received("hi", "/other", namespace="/other")
    client.disconnect("/other")
    assert seen == [("connect", {"k": 1}, "/anything"), ("connect", None, "/other"),
                    ("hello", 1, "/anything"), ("hello", 2, "/other"),
                    ("disconnect", socketio.reason.CLIENT_DISCONNECT, "/other")]


def test_catch_all_namespace_handler_written_for_flask_socketio():
    # Flask-SocketIO 5.7.0's own suite registers exactly this handler.
    app, socketio = make_app()

    @socketio.on("wildcard", namespace="*")
    def wildcard(data):
        emit("my custom response", data)

    client = socketio.test_client(app, namespace="/whatever")
    client.emit("wildcard", {"a": "b"}, namespace="/whatever")
    client.assert_received("my custom response", {"a": "b"}, namespace="/whatever")


def test_catch_all_connect_without_parameters_in_catch_all_namespace():
    app, socketio = make_app()
    seen = []
    socketio.on_event("connect", lambda: seen.append(request.namespace), namespace="*")
    socketio.test_client(app, namespace="/n")
    assert seen == ["/n"]


def test_catch_all_event_in_catch_all_namespace_gets_the_event_name_first():
    app, socketio = make_app()
    seen = []

    @socketio.on("*", namespace="*")
    def anything(event, *args):
        seen.append((event, args, request.namespace))
        emit("echo", [event, *args])
        return [event, request.namespace]

    client = socketio.test_client(app, namespace="/a")
    assert client.emit("ping", 1, 2, namespace="/a", callback=True) == ["ping", "/a"]
    client.assert_received("echo", ["ping", 1, 2], namespace="/a")
    assert seen == [("ping", (1, 2), "/a")]


def test_specific_handlers_win_over_catch_alls():
    app, socketio = make_app()
    socketio.on_event("*", lambda event, *args: "event catch-all", namespace="/ns")
    socketio.on_event("x", lambda: "namespace catch-all", namespace="*")
    socketio.on_event("*", lambda event: "both catch-all", namespace="*")
    socketio.on_event("x", lambda: "specific", namespace="/ns")
    client = socketio.test_client(app, namespace="/ns")
    client.connect("/other")
    assert client.emit("x", namespace="/ns", callback=True) == "specific"
    assert client.emit("y", namespace="/ns", callback=True) == "event catch-all"
    assert client.emit("x", namespace="/other", callback=True) == "namespace catch-all"
    assert client.emit("y", namespace="/other", callback=True) == "both catch-all"


def test_catch_all_namespace_respects_an_explicit_namespaces_option():
    # Registering a namespace='*' handler makes every namespace connectable (python-
    # socketio alone would refuse them all without namespaces='*'), unless the
    # namespaces option lists the accepted ones.
    app, socketio = make_app(namespaces=["/", "/allowed"])
    socketio.on_event("where", lambda: request.namespace, namespace="*")
    client = socketio.test_client(app)
    client.connect("/allowed")
    assert client.emit("where", namespace="/allowed", callback=True) == "/allowed"
    client.connect("/refused")
    assert not client.is_connected("/refused")
    assert client.get_connect_error("/refused") is not None


def test_catch_all_namespace_registered_before_init_app_accepts_any_namespace():
    socketio = SocketIO()
    socketio.on_event("where", lambda: request.namespace, namespace="*")
    app = Flask(__name__)
    socketio.init_app(app)
    client = socketio.test_client(app, namespace="/late")
    assert client.emit("where", namespace="/late", callback=True) == "/late"


def test_catch_all_handlers_with_module_emit_reply_in_the_right_namespace():
    app, socketio = make_app()

    @socketio.on("*", namespace="*")
    def anything(event, *args):
        send(f"{event}@{request.namespace}")

    client = socketio.test_client(app, namespace="/n1")
    client.emit("e", namespace="/n1")
    client.assert_received("message", "e@/n1", namespace="/n1")


# -- class-based namespaces -----------------------------------------------------------------


class ChatNamespace(Namespace):
    def __init__(self, namespace):
        super().__init__(namespace)
        self.calls = []

    def on_connect(self, auth):
        self.calls.append(("connect", auth, request.sid))
        self.emit("welcome", auth)

    def on_disconnect(self, reason):
        self.calls.append(("disconnect", reason))

    def on_my_event(self, data):
        self.calls.append(("my_event", data))
        self.emit("my response", data)
        return "ack", data

    def on_say(self, text):
        self.send(text, to=request.sid)


def test_class_based_namespace_handles_events():
    app, socketio = make_app()
    chat = ChatNamespace("/chat")
    socketio.on_namespace(chat)
    client = socketio.test_client(app, namespace="/chat", auth={"token": "t"})
    client.assert_received("welcome", {"token": "t"}, namespace="/chat")
    assert client.emit("my_event", {"n": 1}, namespace="/chat", callback=True) == [
        "ack", {"n": 1}]
    client.assert_received("my response", {"n": 1}, namespace="/chat")
    client.emit("say", "hello", namespace="/chat")
    client.assert_received("message", "hello", namespace="/chat")
    sid = client.get_sid("/chat")
    client.disconnect("/chat")
    assert chat.calls == [("connect", {"token": "t"}, sid), ("my_event", {"n": 1}),
                          ("disconnect", SocketIO.reason.CLIENT_DISCONNECT)]


def test_class_based_namespace_hyphenated_events_map_to_underscores():
    app, socketio = make_app()

    class Hyphens(Namespace):
        def on_my_event(self, value):
            return value + 1

    socketio.on_namespace(Hyphens("/h"))
    client = socketio.test_client(app, namespace="/h")
    assert client.emit("my-event", 1, namespace="/h", callback=True) == 2


def test_class_based_namespace_methods_without_auth_or_reason():
    app, socketio = make_app()
    calls = []

    class Plain(Namespace):
        def on_connect(self):
            calls.append("connect")

        def on_disconnect(self):
            calls.append("disconnect")

    socketio.on_namespace(Plain("/p"))
    client = socketio.test_client(app, namespace="/p", auth={"ignored": True})
    client.disconnect("/p")
    assert calls == ["connect", "disconnect"]


def test_class_based_namespace_registered_before_init_app():
    socketio = SocketIO()

    class Early(Namespace):
        def on_ping(self):
            return "pong"

    socketio.on_namespace(Early("/early"))
    app = Flask(__name__)
    socketio.init_app(app)
    client = socketio.test_client(app, namespace="/early")
    assert client.emit("ping", namespace="/early", callback=True) == "pong"


def test_class_based_namespace_refuses_with_false():
    app, socketio = make_app()

    class Refusing(Namespace):
        def on_connect(self, auth):
            return bool(auth)

    socketio.on_namespace(Refusing("/r"))
    client = socketio.test_client(app, namespace="/r")
    assert not client.is_connected("/r")
    assert client.get_connect_error("/r") is not None
    client.connect("/r", auth={"ok": 1})
    assert client.is_connected("/r")


def test_class_based_catch_all_namespace_methods_get_the_arguments_only():
    # As a decorated namespace='*' handler: request.namespace names the namespace.
    app, socketio = make_app()

    class Everywhere(Namespace):
        def on_connect(self, auth):
            self.emit("welcome", [auth, request.namespace], namespace=request.namespace)

        def on_where(self, value):
            return [value, request.namespace]

    socketio.on_namespace(Everywhere("*"))
    client = socketio.test_client(app, namespace="/somewhere", auth="a")
    client.assert_received("welcome", ["a", "/somewhere"], namespace="/somewhere")
    assert client.emit("where", 5, namespace="/somewhere", callback=True) == [
        5, "/somewhere"]


def test_class_based_namespace_call_and_close_room():
    app, socketio = make_app()

    class Rooms(Namespace):
        def on_join(self, room):
            from flask_socketio import join_room, rooms

            join_room(room)
            return sorted(r for r in rooms() if r != request.sid)

        def on_close(self, room):
            self.close_room(room)

        def on_ask(self):
            return self.call("question", "?", to=request.sid, timeout=5)

    socketio.on_namespace(Rooms("/rooms"))
    client = socketio.test_client(app, namespace="/rooms")
    client.on("question", lambda text: text + "!", namespace="/rooms")
    assert client.emit("join", "r1", namespace="/rooms", callback=True) == ["r1"]
    client.emit("close", "r1", namespace="/rooms")
    assert "r1" not in client.rooms("/rooms")
    assert client.emit("ask", namespace="/rooms", callback=True) == "?!"


def test_decorated_handler_wins_over_class_method_for_the_same_event():
    # As python-socketio and the peer document: the standalone function is invoked.
    app, socketio = make_app()

    class Both(Namespace):
        def on_ping(self):
            return "from the class"

        def on_other(self):
            return "class only"

    socketio.on_namespace(Both("/both"))
    socketio.on_event("ping", lambda: "from the decorator", namespace="/both")
    client = socketio.test_client(app, namespace="/both")
    assert client.emit("ping", namespace="/both", callback=True) == "from the decorator"
    assert client.emit("other", namespace="/both", callback=True) == "class only"


def test_on_namespace_rejects_what_is_not_a_namespace():
    app, socketio = make_app()
    with pytest.raises(ValueError):
        socketio.on_namespace(object())


# -- connect handlers --------------------------------------------------------------------------


def test_connect_handler_with_auth_receives_it():
    app, socketio = make_app()
    seen = []

    @socketio.on("connect")
    def connect(auth):
        seen.append(auth)
        emit("connected", auth)

    client = socketio.test_client(app, auth={"token": "abc"})
    client.assert_received("connected", {"token": "abc"})
    socketio.test_client(app)
    assert seen == [{"token": "abc"}, None]


def test_connect_handler_without_auth_runs_once_even_when_auth_is_sent():
    app, socketio = make_app()
    calls = []

    @socketio.on("connect")
    def connect():
        calls.append(request.sid)
        emit("connected")

    client = socketio.test_client(app, auth={"token": "abc"})
    assert client.is_connected()
    client.assert_received("connected")
    assert calls == [client.sid]


def test_connect_handler_in_a_namespace():
    app, socketio = make_app()

    @socketio.on("connect", namespace="/chat")
    def connect():
        emit("my response", {"data": "Connected"})

    client = socketio.test_client(app, namespace="/chat")
    client.assert_received("my response", {"data": "Connected"}, namespace="/chat")


@pytest.mark.parametrize("auth", [None, {"token": "abc"}])
def test_type_error_inside_connect_handler_with_auth_surfaces_once(auth):
    app, socketio = make_app()
    calls = []

    @socketio.on("connect")
    def connect(auth):
        calls.append(auth)
        raise TypeError("bug inside the handler")

    with pytest.raises(TypeError, match="bug inside the handler"):
        socketio.test_client(app, auth=auth)
    assert calls == [auth]


@pytest.mark.parametrize("auth", [None, {"token": "abc"}])
def test_type_error_inside_connect_handler_without_auth_surfaces_once(auth):
    app, socketio = make_app()
    calls = []

    @socketio.on("connect")
    def connect():
        calls.append("called")
        len(5)  # a TypeError from inside the handler, not from how it is called

    with pytest.raises(TypeError, match="has no len"):
        socketio.test_client(app, auth=auth)
    assert calls == ["called"]


def test_type_error_inside_connect_handler_refuses_when_not_raised(caplog):
    app, socketio = make_app()
    calls = []

    @socketio.on("connect")
    def connect(auth):
        calls.append(auth)
        raise TypeError("bug inside the handler")

    client = socketio.test_client(app, raise_server_exceptions=False)
    assert calls == [None]
    assert not client.is_connected()
    assert client.connect_error is not None
    assert "bug inside the handler" in caplog.text


def test_connect_refused_with_false():
    app, socketio = make_app()

    @socketio.on("connect")
    def connect(auth):
        return auth == {"password": "right"}

    refused = socketio.test_client(app, auth={"password": "wrong"})
    assert not refused.is_connected()
    assert refused.connect_error == {"message": "Connection rejected by server"}
    accepted = socketio.test_client(app, auth={"password": "right"})
    assert accepted.is_connected()


def test_connect_refused_with_connection_refused_error_one_argument():
    app, socketio = make_app()

    @socketio.on("connect")
    def connect():
        raise ConnectionRefusedError("unauthorized!")

    client = socketio.test_client(app)
    assert not client.is_connected()
    assert client.connect_error == {"message": "unauthorized!"}


def test_connect_refused_with_connection_refused_error_payload():
    app, socketio = make_app()

    @socketio.on("connect", namespace="/private")
    def connect(auth):
        raise ConnectionRefusedError("unauthorized!", {"retry": False, "code": 401})

    client = socketio.test_client(app)
    client.connect("/private")
    assert not client.is_connected("/private")
    assert client.get_connect_error("/private") == {
        "message": "unauthorized!", "data": {"retry": False, "code": 401}}
    assert client.is_connected()  # the default namespace is unaffected


def test_connection_refused_error_is_not_routed_to_error_handlers():
    app, socketio = make_app()
    handled = []
    socketio.on_error_default(handled.append)

    @socketio.on("connect")
    def connect():
        raise ConnectionRefusedError("no")

    client = socketio.test_client(app)
    assert not client.is_connected()
    assert client.connect_error == {"message": "no"}
    assert handled == []


def test_builtin_connection_refused_error_also_refuses():
    app, socketio = make_app()

    @socketio.on("connect")
    def connect():
        raise builtins_connection_refused_error("go away")

    client = socketio.test_client(app)
    assert not client.is_connected()
    assert client.connect_error is not None


def builtins_connection_refused_error(message: str) -> Exception:
    import builtins

    return builtins.ConnectionRefusedError(message)


def test_refused_client_can_retry():
    app, socketio = make_app()
    attempts = []

    @socketio.on("connect")
    def connect(auth):
        attempts.append(auth)
        if not auth:
            raise ConnectionRefusedError("need auth")

    client = socketio.test_client(app)
    assert client.connect_error == {"message": "need auth"}
    client.connect(auth={"ok": True})
    assert client.is_connected()
    assert attempts == [None, {"ok": True}]


# -- disconnect handlers --------------------------------------------------------------------


def test_disconnect_handler_with_reason_client_side():
    app, socketio = make_app()
    reasons = []

    @socketio.on("disconnect")
    def disconnect(reason):
        reasons.append((reason, request.sid))

    client = socketio.test_client(app)
    sid = client.sid
    client.disconnect()
    assert reasons == [(SocketIO.reason.CLIENT_DISCONNECT, sid)]


def test_disconnect_handler_with_reason_server_side():
    app, socketio = make_app()
    reasons = []

    @socketio.on("disconnect", namespace="/chat")
    def on_disconnect(reason):
        reasons.append(reason)

    @socketio.on("kick", namespace="/chat")
    def kick():
        from flask_socketio import disconnect

        disconnect()

    client = socketio.test_client(app, namespace="/chat")
    client.emit("kick", namespace="/chat")
    assert not client.is_connected("/chat")
    assert client.get_disconnect_reason("/chat") == "io server disconnect"
    assert reasons == [SocketIO.reason.SERVER_DISCONNECT]


def test_disconnect_handler_without_reason():
    app, socketio = make_app()
    calls = []

    @socketio.on("disconnect")
    def disconnect():
        calls.append(request.sid)

    client = socketio.test_client(app)
    sid = client.sid
    client.disconnect()
    assert calls == [sid]


def test_type_error_inside_disconnect_handler_surfaces_once():
    app, socketio = make_app()
    calls = []

    @socketio.on("disconnect")
    def disconnect(reason):
        calls.append(reason)
        raise TypeError("bug in disconnect")

    client = socketio.test_client(app)
    with pytest.raises(TypeError, match="bug in disconnect"):
        client.disconnect()
    assert calls == [SocketIO.reason.CLIENT_DISCONNECT]


def test_disconnect_handlers_run_per_namespace():
    app, socketio = make_app()
    seen = []
    socketio.on_event("disconnect", lambda: seen.append("/"))
    socketio.on_event("disconnect", lambda: seen.append("/chat"), namespace="/chat")
    client = socketio.test_client(app)
    client.connect("/chat")
    client.disconnect("/chat")
    assert seen == ["/chat"]
    client.disconnect()
    assert seen == ["/chat", "/"]
