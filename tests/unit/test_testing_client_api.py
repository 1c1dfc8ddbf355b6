"""The test client's Flask-SocketIO-compatible API, identity and server-side state."""

from __future__ import annotations

import warnings

import pytest
from flask import Flask, request, session

from flask_socketio import SocketIO, emit, join_room, leave_room, send
from flask_socketio.testing import SessionChange, SocketIOTestClient


def make_app(**options):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    socketio = SocketIO(app, **options)

    @socketio.on("connect")
    def connect(auth):
        emit("welcome", {"query": request.args.get("who"),
                         "header": request.headers.get("X-Team"), "auth": auth})

    @socketio.on("connect", namespace="/chat")
    def connect_chat(auth):
        emit("welcome", "chat")

    @socketio.on("echo")
    def echo(*args):
        emit("echo", *args)

    @socketio.on("echo", namespace="/chat")
    def echo_chat(*args):
        emit("echo", *args)

    @socketio.on("message")
    def message(data):
        send(data)

    @socketio.on("json")
    def json_message(data):
        send(data, json=True)

    @socketio.on("one")
    def one():
        return "only"

    @socketio.on("several")
    def several(a, b):
        return a, b, a + b

    @socketio.on("nothing")
    def nothing():
        return None

    @socketio.on("sid")
    def sid():
        return request.sid

    @socketio.on("sid", namespace="/chat")
    def sid_chat():
        return request.sid

    @socketio.on("join")
    def join(room):
        join_room(room)

    @socketio.on("leave")
    def leave(room):
        leave_room(room)

    @socketio.on("remember")
    def remember(key, value):
        session[key] = value

    @socketio.on("forget")
    def forget(key):
        del session[key]

    @socketio.on("recall")
    def recall(key):
        return session.get(key)

    return app, socketio


def test_test_client_returns_a_connected_socketio_test_client():
    app, socketio = make_app()
    client = socketio.test_client(app)
    assert isinstance(client, SocketIOTestClient)
    assert client.is_connected()
    assert client.is_connected("/")
    assert not client.is_connected("/chat")


def test_get_received_has_the_peer_dict_shape_and_clears():
    app, socketio = make_app()
    client = socketio.test_client(app, query_string="who=ann", headers={"X-Team": "red"},
                                  auth={"token": "t"})
    received = client.get_received()
    assert received == [{"name": "welcome",
                         "args": [{"query": "ann", "header": "red", "auth": {"token": "t"}}],
                         "namespace": "/"}]
    assert type(received[0]) is not dict and isinstance(received[0], dict)
    assert set(received[0]) == {"name", "args", "namespace"}
    assert client.get_received() == []


def test_query_string_may_start_with_a_question_mark():
    app, socketio = make_app()
    client = socketio.test_client(app, query_string="?who=bob")
    assert client.get_received()[0]["args"][0]["query"] == "bob"


def test_emit_with_several_arguments_reaches_the_handler_as_arguments():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.get_received()
    assert client.emit("echo", 1, "two", {"three": [3]}) is None
    assert client.get_received() == [
        {"name": "echo", "args": [1, "two", {"three": [3]}], "namespace": "/"}]


def test_send_message_args_are_the_data_itself():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.get_received()
    client.send("hello")
    client.send({"a": 1}, json=True)
    assert client.get_received() == [
        {"name": "message", "args": "hello", "namespace": "/"},
        {"name": "json", "args": {"a": 1}, "namespace": "/"},
    ]


def test_emit_with_callback_returns_one_value_or_a_list():
    app, socketio = make_app()
    client = socketio.test_client(app)
    assert client.emit("one", callback=True) == "only"
    assert client.emit("several", 2, 3, callback=True) == [2, 3, 5]
    assert client.emit("nothing", callback=True) == []


def test_emit_accepts_and_ignores_the_servers_addressing_keywords():
    # Flask-SocketIO's test client takes any keyword and ignores it; its own suite
    # calls client.emit(..., broadcast=True). The server handler decides who hears it.
    app, socketio = make_app()
    client = socketio.test_client(app)
    other = socketio.test_client(app)
    client.get_received()
    other.get_received()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.emit("echo", "a", broadcast=True)
        assert client.emit("several", 1, 2, callback=True, to="room", room="room",
                           include_self=False, skip_sid=client.sid,
                           ignore_queue=True) == [1, 2, 3]
    client.assert_received("echo", "a")
    other.assert_nothing_received()


def test_emit_warns_about_other_ignored_keywords():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.get_received()
    with pytest.warns(UserWarning, match="ignores the keyword.*calback"):
        assert client.emit("one", calback=True) is None
    assert client.get_received() == []


def test_send_with_callback_returns_the_ack():
    app, socketio = make_app()

    @socketio.on("message", namespace="/acks")
    def acked(data):
        return data.upper()

    client = socketio.test_client(app, namespace="/acks")
    assert client.send("shout", callback=True, namespace="/acks") == "SHOUT"


def test_call_is_emit_with_callback():
    app, socketio = make_app()
    client = socketio.test_client(app)
    assert client.call("several", 1, 1) == [1, 1, 2]


def test_namespaces_are_connected_and_received_separately():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/chat")
    assert client.is_connected("/chat") and client.is_connected()
    client.emit("echo", "root")
    client.emit("echo", "room", namespace="/chat")
    assert client.get_received("/chat") == [
        {"name": "welcome", "args": ["chat"], "namespace": "/chat"},
        {"name": "echo", "args": ["room"], "namespace": "/chat"},
    ]
    assert [r["args"] for r in client.get_received()] == [
        [{"query": None, "header": None, "auth": None}], ["root"]]


def test_connect_to_a_namespace_only():
    app, socketio = make_app()
    client = socketio.test_client(app, namespace="/chat")
    assert client.is_connected("/chat")
    assert not client.is_connected()
    assert client.sid is None
    assert client.get_received("/chat")[0]["args"] == ["chat"]


def test_disconnect_one_namespace_keeps_the_others():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/chat")
    eio_sid = client.eio_sid
    client.disconnect("/chat")
    assert not client.is_connected("/chat")
    assert client.is_connected()
    assert client.eio_sid == eio_sid
    assert eio_sid in socketio.server.environ
    client.disconnect()
    assert not client.is_connected()
    assert eio_sid not in socketio.server.environ


def test_reconnect_after_disconnect_opens_a_new_session():
    app, socketio = make_app()
    client = socketio.test_client(app)
    first_eio, first_sid = client.eio_sid, client.sid
    client.disconnect()
    client.connect(auth={"again": True})
    assert client.is_connected()
    assert client.eio_sid != first_eio
    assert client.sid != first_sid
    assert client.get_received()[-1]["args"][0]["auth"] == {"again": True}


def test_eio_sid_is_the_server_engineio_session():
    app, socketio = make_app()
    client = socketio.test_client(app)
    assert isinstance(client.eio_sid, str)
    assert client.eio_sid in socketio.server.environ
    assert socketio.server.manager.eio_sid_from_sid(client.sid, "/") == client.eio_sid


def test_sid_and_get_sid_are_what_handlers_see_as_request_sid():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/chat")
    assert client.emit("sid", callback=True) == client.sid == client.get_sid()
    assert client.emit("sid", callback=True, namespace="/chat") == client.get_sid("/chat")
    assert client.get_sid("/chat") != client.sid
    assert client.get_sid("/nowhere") is None


def test_rooms_come_from_the_server_manager():
    app, socketio = make_app()
    client = socketio.test_client(app)
    assert client.rooms() == [client.sid]
    client.emit("join", "lobby")
    client.emit("join", "games")
    assert sorted(client.rooms()) == sorted([client.sid, "lobby", "games"])
    assert sorted(client.rooms()) == sorted(socketio.server.rooms(client.sid))
    client.emit("leave", "lobby")
    assert sorted(client.rooms()) == sorted([client.sid, "games"])
    socketio.close_room("games")
    assert client.rooms() == [client.sid]


def test_rooms_of_another_namespace():
    app, socketio = make_app()

    @socketio.on("join", namespace="/chat")
    def join_chat(room):
        join_room(room)

    client = socketio.test_client(app)
    client.connect("/chat")
    client.emit("join", "news", namespace="/chat")
    assert sorted(client.rooms("/chat")) == sorted([client.get_sid("/chat"), "news"])
    assert client.rooms() == [client.sid]


def test_session_is_what_handlers_see():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("remember", "color", "blue")
    assert client.session["color"] == "blue"
    assert client.emit("recall", "color", callback=True) == "blue"


def test_session_is_per_connection():
    app, socketio = make_app()
    one = socketio.test_client(app)
    two = socketio.test_client(app)
    one.emit("remember", "color", "blue")
    assert "color" not in two.session
    assert two.emit("recall", "color", callback=True) == []  # None acks with no arguments


def test_session_changes_record_key_old_new_and_event():
    app, socketio = make_app()

    @socketio.on("connect", namespace="/profile")
    def connect_profile():
        session["visits"] = 1

    client = socketio.test_client(app, namespace="/profile")
    client.connect("/")
    client.emit("remember", "color", "blue")
    client.emit("remember", "color", "green")
    client.emit("remember", "color", "green")  # no change: nothing recorded
    client.emit("forget", "color")
    missing = SessionChange.MISSING
    assert [(c.key, c.old, c.new, c.event) for c in client.session_changes] == [
        ("visits", missing, 1, "connect"),
        ("color", missing, "blue", "remember"),
        ("color", "blue", "green", "remember"),
        ("color", "green", missing, "forget"),
    ]
    assert repr(missing) == "<missing>"


def test_session_changes_are_snapshots_not_live_objects():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("remember", "items", [1])
    client.emit("remember", "items", [1, 2])
    assert [c.new for c in client.session_changes] == [[1], [1, 2]]
    assert client.session_changes[1].old == [1]


def test_session_starts_from_the_flask_session_without_managed_sessions():
    app, socketio = make_app(manage_session=False)

    @app.route("/login")
    def login():
        session["user"] = "ann"
        return "ok"

    http = app.test_client()
    http.get("/login")
    client = socketio.test_client(app, flask_test_client=http)
    assert client.session["user"] == "ann"
    assert client.emit("recall", "user", callback=True) == "ann"


def test_context_manager_closes_the_client():
    app, socketio = make_app()
    with socketio.test_client(app) as client:
        eio_sid = client.eio_sid
        assert client.is_connected()
    assert not client.is_connected()
    assert eio_sid not in socketio.server.environ
    client.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        client.connect()


def test_test_client_class_is_the_injection_point():
    class MyClient(SocketIOTestClient):
        pass

    app, socketio = make_app()
    socketio.test_client_class = MyClient
    assert type(socketio.test_client(app)) is MyClient


def test_a_test_client_class_gets_the_arguments_by_keyword_as_flask_socketio_passes_them():
    seen = {}

    class KeywordClient(SocketIOTestClient):
        def __init__(self, app, socketio, **kwargs):
            seen.update(kwargs)
            super().__init__(app, socketio, **kwargs)

    app, socketio = make_app()
    socketio.test_client_class = KeywordClient
    client = socketio.test_client(app, query_string="a=1", auth={"token": "t"})
    assert client.is_connected()
    assert seen == {"namespace": None, "query_string": "a=1", "headers": None,
                    "auth": {"token": "t"}, "flask_test_client": None}
    client.disconnect()


def test_the_default_client_gets_every_argument_of_test_client():
    app, socketio = make_app()
    http = app.test_client()
    client = socketio.test_client(app, namespace="/", query_string="?q=2",
                                  headers={"X-Test": "yes"}, auth={"token": "t"},
                                  flask_test_client=http, timeout=3.5)
    environ = client._socket.environ
    assert environ["QUERY_STRING"] == "q=2" and environ["HTTP_X_TEST"] == "yes"
    assert client.flask_test_client is http and client.timeout == 3.5
    assert client._auth["/"] == {"token": "t"}
    client.disconnect()


def test_repr_names_the_session_and_namespaces():
    app, socketio = make_app()
    client = socketio.test_client(app)
    assert client.eio_sid in repr(client) and "'/'" in repr(client)


def test_connecting_a_connected_namespace_does_nothing():
    app, socketio = make_app()
    client = socketio.test_client(app)
    sid = client.sid
    client.connect()
    assert client.is_connected() and client.sid == sid
    assert len(socketio.server.environ) == 1
    assert client.connect_error is None
    assert [entry.kind for entry in client.transcript].count("connect") == 2  # sent, got


def test_the_peer_constructor_and_import_paths():
    import flask_socketio
    from flask_socketio.test_client import SocketIOTestClient as from_peer_module

    app, socketio = make_app()
    client = SocketIOTestClient(app, socketio, "/chat", None, {"X-Team": "blue"}, None, None)
    assert client.is_connected("/chat")
    assert flask_socketio.SocketIOTestClient is SocketIOTestClient is from_peer_module
