"""Flask context in handlers: current_app, g, request from the handshake, sessions."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask, current_app, g, request, session
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from flask_socketio import Namespace, SocketIO, emit
from flask_socketio.testing import SessionChange

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    return app, SocketIO(app, **options)


# -- app context and g -------------------------------------------------------------------


def test_current_app_is_the_connection_app():
    app, socketio = make_app()
    app.config["MARKER"] = "this app"
    socketio.on_event("which", lambda: current_app.config["MARKER"])
    client = socketio.test_client(app)
    assert client.emit("which", callback=True) == "this app"


def test_g_is_fresh_for_every_event():
    app, socketio = make_app()
    seen = []

    @socketio.on("connect")
    def connect():
        g.value = "from connect"

    @socketio.on("look")
    def look():
        seen.append(g.get("value"))
        g.value = "from look"

    client = socketio.test_client(app)
    client.emit("look")
    client.emit("look")
    assert seen == [None, None]


def test_contexts_are_pushed_and_popped_per_event():
    app, socketio = make_app()
    torn_down = []
    app.teardown_appcontext(lambda exc: torn_down.append("app"))
    app.teardown_request(lambda exc: torn_down.append("request"))
    socketio.on_event("ping", lambda: None)
    client = socketio.test_client(app)
    client.emit("ping")  # the first event also opens the managed session
    torn_down.clear()
    client.emit("ping")
    client.emit("ping")
    assert torn_down == ["request", "app", "request", "app"]


def test_before_and_after_request_hooks_are_not_run():
    app, socketio = make_app()
    hooks = []
    app.before_request(lambda: hooks.append("before"))

    @app.after_request
    def after(response):
        hooks.append("after")
        return response

    socketio.on_event("ping", lambda: "pong")
    client = socketio.test_client(app)
    assert client.emit("ping", callback=True) == "pong"
    client.disconnect()
    assert hooks == []


# -- request -----------------------------------------------------------------------------


def test_request_comes_from_the_handshake():
    app, socketio = make_app()
    seen = {}

    @socketio.on("connect")
    def connect(auth):
        seen["connect"] = (request.headers.get("X-Token"), request.args.get("room"),
                           request.event["message"])
        # as Flask-SocketIO's: the connect event's args are (environ, auth)
        seen["connect args"] = (request.event["args"][0] is request.environ,
                                request.event["args"][1:])

    @socketio.on("inspect")
    def inspect_request(*args):
        seen["event"] = {
            "header": request.headers.get("X-Token"),
            "query": request.args.to_dict(),
            "sid": request.sid,
            "namespace": request.namespace,
            "event": request.event["message"],
            "args": list(request.event["args"]),
            "path": request.path,
        }

    client = socketio.test_client(app, query_string="room=lobby&lang=en",
                                  headers={"X-Token": "tok"})
    client.emit("inspect", 1, "two")
    assert seen["connect"] == ("tok", "lobby", "connect")
    assert seen["connect args"] == (True, (None,))
    assert seen["event"] == {
        "header": "tok", "query": {"room": "lobby", "lang": "en"}, "sid": client.sid,
        "namespace": "/", "event": "inspect", "args": [1, "two"], "path": "/socket.io"}


def test_request_query_string_accepts_a_leading_question_mark():
    app, socketio = make_app()
    socketio.on_event("q", lambda: request.args.get("a"))
    client = socketio.test_client(app, query_string="?a=1")
    assert client.emit("q", callback=True) == "1"


def test_request_sid_and_namespace_differ_per_connection_and_namespace():
    app, socketio = make_app()
    socketio.on_event("me", lambda: [request.sid, request.namespace])
    socketio.on_event("me", lambda: [request.sid, request.namespace], namespace="/n")
    alice, bob = socketio.test_client(app), socketio.test_client(app)
    alice.connect("/n")
    assert alice.emit("me", callback=True) == [alice.sid, "/"]
    assert bob.emit("me", callback=True) == [bob.sid, "/"]
    assert alice.emit("me", namespace="/n", callback=True) == [alice.get_sid("/n"), "/n"]
    assert alice.sid != bob.sid


def test_request_in_disconnect_handler_and_class_namespace():
    app, socketio = make_app()
    seen = []

    class Chat(Namespace):
        def on_hello(self):
            seen.append(("hello", request.sid, request.namespace, request.event["message"],
                         request.args.get("user")))

        def on_disconnect(self, reason):
            seen.append(("disconnect", request.sid, request.namespace,
                         request.args.get("user")))

    socketio.on_namespace(Chat("/chat"))
    client = socketio.test_client(app, namespace="/chat", query_string="user=ann")
    sid = client.get_sid("/chat")
    client.emit("hello", namespace="/chat")
    client.disconnect("/chat")
    assert seen == [("hello", sid, "/chat", "hello", "ann"),
                    ("disconnect", sid, "/chat", "ann")]


def test_request_cookies_come_from_the_flask_test_client():
    app, socketio = make_app()
    http = app.test_client()
    http.set_cookie("flavour", "oatmeal")
    socketio.on_event("cookie", lambda: request.cookies.get("flavour"))
    client = socketio.test_client(app, flask_test_client=http)
    assert client.emit("cookie", callback=True) == "oatmeal"


# -- managed sessions (manage_session=True, the default) ----------------------------------


def make_session_app(**options) -> tuple[Flask, SocketIO]:
    app, socketio = make_app(**options)

    @app.route("/login/<user>")
    def login(user):
        session["user"] = user
        return "ok"

    @app.route("/whoami")
    def whoami():
        return {"user": session.get("user"), "counter": session.get("counter")}

    @socketio.on("get")
    def get_session():
        return {"user": session.get("user"), "counter": session.get("counter")}

    @socketio.on("set")
    def set_session(key, value):
        session[key] = value

    return app, socketio


def test_managed_session_starts_as_a_copy_of_the_cookie_session():
    app, socketio = make_session_app()
    http = app.test_client()
    http.get("/login/ann")
    client = socketio.test_client(app, flask_test_client=http)
    assert client.emit("get", callback=True) == {"user": "ann", "counter": None}


def test_managed_session_changes_last_across_events_of_the_connection():
    app, socketio = make_session_app()
    http = app.test_client()
    http.get("/login/ann")
    client = socketio.test_client(app, flask_test_client=http)
    client.emit("set", "counter", 1)
    client.emit("set", "user", "bob")
    assert client.emit("get", callback=True) == {"user": "bob", "counter": 1}
    assert client.session["counter"] == 1
    assert client.session_changes == [
        SessionChange("counter", SessionChange.MISSING, 1, "set"),
        SessionChange("user", "ann", "bob", "set"),
    ]


def test_managed_session_changes_are_invisible_to_other_connections_and_http():
    app, socketio = make_session_app()
    http = app.test_client()
    http.get("/login/ann")
    alice = socketio.test_client(app, flask_test_client=http)
    same_browser = socketio.test_client(app, flask_test_client=http)
    alice.emit("set", "counter", 5)
    assert alice.emit("get", callback=True) == {"user": "ann", "counter": 5}
    assert same_browser.emit("get", callback=True) == {"user": "ann", "counter": None}
    assert http.get("/whoami").json == {"user": "ann", "counter": None}


def test_managed_session_set_in_connect_handler_is_seen_by_later_events():
    app, socketio = make_session_app()

    @socketio.on("connect")
    def connect(auth):
        session["user"] = auth["user"]

    client = socketio.test_client(app, auth={"user": "carol"})
    assert client.emit("get", callback=True) == {"user": "carol", "counter": None}
    assert client.session_changes == [
        SessionChange("user", SessionChange.MISSING, "carol", "connect")]


def test_managed_session_is_per_connection_not_per_namespace():
    app, socketio = make_session_app()
    socketio.on_event("get_user", lambda: session.get("user"), namespace="/n")
    client = socketio.test_client(app)
    client.connect("/n")
    client.emit("set", "user", "dave")
    assert client.emit("get_user", namespace="/n", callback=True) == "dave"


def test_managed_session_without_a_cookie_starts_empty():
    app, socketio = make_session_app()
    client = socketio.test_client(app)
    assert client.emit("get", callback=True) == {"user": None, "counter": None}
    client.emit("set", "counter", 3)
    assert client.emit("get", callback=True) == {"user": None, "counter": 3}


def test_managed_session_is_kept_in_the_environ_under_saved_session():
    # Where Flask-SocketIO keeps it (its own suite reads it there): the handshake
    # environ's 'saved_session', the same object the handlers see as ``session``.
    app, socketio = make_session_app()
    http = app.test_client()
    http.get("/login/ann")
    client = socketio.test_client(app, flask_test_client=http)
    environ = socketio.server.environ[client.eio_sid]
    client.emit("get")
    assert environ["saved_session"] == {"user": "ann"}
    client.emit("set", "counter", 2)
    assert environ["saved_session"] == {"user": "ann", "counter": 2}
    assert client.session is environ["saved_session"]
    environ["saved_session"]["user"] = "eve"  # written there, seen by the handlers
    assert client.emit("get", callback=True) == {"user": "eve", "counter": 2}


def test_unmanaged_session_is_not_saved_in_the_environ():
    app, socketio = make_session_app(manage_session=False)
    client = socketio.test_client(app)
    client.emit("set", "counter", 1)
    assert "saved_session" not in socketio.server.environ[client.eio_sid]


# -- manage_session=False with a server-side session ---------------------------------------


class DictSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid=None):
        def on_update(self_):
            self_.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.modified = False


class DictSessionInterface(SessionInterface):
    """Sessions kept in a dict on the server; the cookie holds only the session id."""

    def __init__(self):
        self.store: dict[str, dict] = {}

    def open_session(self, app, request):
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid and sid in self.store:
            return DictSession(self.store[sid], sid)
        return DictSession(sid=uuid.uuid4().hex)

    def save_session(self, app, session, response):
        self.store[session.sid] = dict(session)
        response.set_cookie(self.get_cookie_name(app), session.sid)


def test_unmanaged_server_side_session_persists_to_http_and_other_connections():
    app, socketio = make_session_app(manage_session=False)
    interface = app.session_interface = DictSessionInterface()
    http = app.test_client()
    http.get("/login/ann")
    assert list(interface.store.values()) == [{"user": "ann"}]

    alice = socketio.test_client(app, flask_test_client=http)
    same_browser = socketio.test_client(app, flask_test_client=http)
    assert alice.emit("get", callback=True) == {"user": "ann", "counter": None}
    alice.emit("set", "counter", 7)
    assert list(interface.store.values()) == [{"user": "ann", "counter": 7}]
    assert http.get("/whoami").json == {"user": "ann", "counter": 7}
    assert same_browser.emit("get", callback=True) == {"user": "ann", "counter": 7}
    assert alice.session["counter"] == 7


def test_unmanaged_session_sees_changes_made_over_http_after_connecting():
    app, socketio = make_session_app(manage_session=False)
    app.session_interface = DictSessionInterface()
    http = app.test_client()
    http.get("/login/ann")
    client = socketio.test_client(app, flask_test_client=http)
    http.get("/login/bob")
    assert client.emit("get", callback=True) == {"user": "bob", "counter": None}


def test_managed_session_over_a_server_side_interface_is_still_a_copy():
    app, socketio = make_session_app(manage_session=True)
    interface = app.session_interface = DictSessionInterface()
    http = app.test_client()
    http.get("/login/ann")
    client = socketio.test_client(app, flask_test_client=http)
    client.emit("set", "counter", 9)
    assert client.emit("get", callback=True) == {"user": "ann", "counter": 9}
    assert list(interface.store.values()) == [{"user": "ann"}]
    assert http.get("/whoami").json == {"user": "ann", "counter": None}


def test_session_in_ack_callbacks_is_the_connection_session():
    app, socketio = make_session_app()
    seen = []

    @socketio.on("ask")
    def ask():
        session["asked"] = True
        emit("question", callback=lambda answer: seen.append((answer, session.get("asked"))))

    client = socketio.test_client(app)
    client.emit("ask")
    client.receive("question").ack("yes")
    assert seen == [("yes", True)]
