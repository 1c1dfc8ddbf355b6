"""Security: refusals leak nothing, sessions stay per connection, queues carry JSON only.

Cross-origin handshakes and oversized bodies are tested live in test_live_hygiene.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pickle
import time
import uuid

import flask
import pytest
import redis
import socketio as python_socketio

from flask_socketio import SocketIO, emit, join_room
from flask_socketio.queues import MemoryManager
from flask_socketio.testing.live import LiveServer

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options):
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = "test secret"
    socketio = SocketIO(app, **options)

    @socketio.on("connect")
    def connect(auth):
        flask.session["visits"] = flask.session.get("visits", 0) + 1
        flask.g.user = auth
        join_room("members")
        if auth == "refuse":
            flask.session["half_connected"] = True
            join_room("vip")
            raise python_socketio.exceptions.ConnectionRefusedError(
                "not allowed", {"retry": False})
        if auth == "builtin":
            raise ConnectionRefusedError("internal detail: db at 10.0.0.5")
        if auth == "crash":
            raise KeyError("password=hunter2")

    @socketio.on("set")
    def set_value(key, value):
        flask.session[key] = value

    @socketio.on("get")
    def get_value(key):
        return flask.session.get(key, "<none>")

    @socketio.on("whoami")
    def whoami():
        return getattr(flask.g, "user", "<none>")

    @socketio.on("echo")
    def echo(value):
        emit("echo", value)
        return value

    return app, socketio


# -- connect refusals ---------------------------------------------------------------------


def test_a_refusal_sends_only_what_the_handler_gave_and_leaves_no_state():
    app, socketio = make_app()
    server = socketio.server
    member = socketio.test_client(app, auth="ann")
    refused = socketio.test_client(app, auth="refuse")
    assert not refused.is_connected()
    assert refused.connect_error == {"message": "not allowed", "data": {"retry": False}}
    # nothing of the refused connection is left: no rooms, no sid, no environ
    assert list(server.manager.get_participants("/", "vip")) == []
    assert [sid for sid, _ in server.manager.get_participants("/", "members")] == [member.sid]
    assert refused.eio_sid not in server.environ
    assert server._connect_deadlines.keys() <= {member.eio_sid}
    # a new connection of the same client starts from a clean session
    refused.connect(auth=None)
    assert refused.is_connected()
    assert refused.emit("get", "half_connected", callback=True) == "<none>"
    assert refused.emit("get", "visits", callback=True) == 1
    assert refused.emit("whoami", callback=True) == "<none>"  # g is per event


@pytest.mark.parametrize("auth", ["builtin", "crash"])
def test_a_refusal_does_not_leak_exception_text(auth, caplog):
    app, socketio = make_app()
    client = socketio.test_client(app, auth=auth, raise_server_exceptions=False)
    assert not client.is_connected()
    shown = json.dumps(client.connect_error)
    assert "10.0.0.5" not in shown and "hunter2" not in shown
    assert client.connect_error["message"]
    assert client.eio_sid not in socketio.server.environ


def test_a_refusal_over_the_network_leaks_nothing():
    app, socketio = make_app()
    with LiveServer(app) as server:
        refused = server.client(auth="refuse", transports=["websocket"])
        assert not refused.is_connected()
        assert refused.connect_error == {"message": "not allowed", "data": {"retry": False}}
        crashed = server.client(auth="crash", transports=["polling"])
        assert "hunter2" not in json.dumps(crashed.connect_error)
        member = server.client(auth="bob")
        assert member.call("get", "half_connected") == "<none>"
        assert server.call_in_server(
            lambda: list(socketio.server.manager.get_participants("/", "vip"))) == []


# -- managed sessions -----------------------------------------------------------------------


def test_one_connections_session_is_never_visible_to_another():
    app, socketio = make_app()
    ann = socketio.test_client(app, auth="ann")
    bob = socketio.test_client(app, auth="bob")
    ann.emit("set", "secret", "ann's")
    assert ann.emit("get", "secret", callback=True) == "ann's"
    assert bob.emit("get", "secret", callback=True) == "<none>"
    bob.emit("set", "secret", "bob's")
    assert ann.emit("get", "secret", callback=True) == "ann's"


def test_two_connections_of_one_browser_session_get_separate_copies():
    app, socketio = make_app()

    @app.route("/login/<name>")
    def login(name):
        flask.session["user"] = name
        return "ok"

    http = app.test_client()
    http.get("/login/ann")
    tab1 = socketio.test_client(app, flask_test_client=http)
    tab2 = socketio.test_client(app, flask_test_client=http)
    assert tab1.emit("get", "user", callback=True) == "ann"
    assert tab2.emit("get", "user", callback=True) == "ann"
    tab1.emit("set", "user", "mallory")
    assert tab2.emit("get", "user", callback=True) == "ann"
    # and nothing a handler changes goes back into the browser's cookie
    assert http.get_cookie("session") is not None
    with http.session_transaction() as cookie_session:
        assert cookie_session["user"] == "ann"


def test_sessions_stay_apart_over_the_network():
    app, socketio = make_app()
    with LiveServer(app) as server:
        ann = server.client(auth="ann", transports=["websocket"])
        bob = server.client(auth="bob", transports=["polling"])
        ann.call("set", "secret", "ann's")
        bob.call("set", "secret", "bob's")
        assert ann.call("get", "secret") == "ann's"
        assert bob.call("get", "secret") == "bob's"


# -- message queues carry JSON, never pickles -------------------------------------------------

MANAGER_MODULES = ["socketio.pubsub_manager", "socketio.redis_manager",
                   "socketio.kombu_manager", "socketio.kafka_manager",
                   "socketio.zmq_manager", "flask_socketio.queues"]


@pytest.mark.parametrize("module_name", MANAGER_MODULES)
def test_no_queue_manager_imports_pickle(module_name):
    source = inspect.getsource(importlib.import_module(module_name))
    assert "pickle" not in source


def test_what_a_node_publishes_is_json():
    url = f"memory://{uuid.uuid4().hex}"
    app, socketio = make_app(message_queue=url)
    client = socketio.test_client(app, auth="ann")
    published = []
    manager = socketio.server.manager
    original = MemoryManager._publish

    def record(data):
        published.append(json.dumps(data))  # what _publish puts on the bus
        original(manager, data)

    manager._publish = record
    try:
        with app.app_context():
            socketio.emit("news", {"n": 1, "bytes": b"\x00\x01"}, to="members")
            socketio.close_room("members")
    finally:
        del manager._publish
    assert published
    for message in published:
        assert isinstance(json.loads(message), dict)
    client.close()


class _Trap:
    fired = False

    def __reduce__(self):
        return (_spring, ())


def _spring():
    _Trap.fired = True
    return "sprung"


def test_a_pickle_on_the_queue_is_ignored_not_loaded():
    url = f"memory://{uuid.uuid4().hex}"
    app, socketio = make_app(message_queue=url)
    client = socketio.test_client(app, auth="ann")
    manager = socketio.server.manager
    message = {"method": "emit", "event": "news", "data": "x", "namespace": "/",
               "room": None, "host_id": "attacker"}
    manager._inbox.put(pickle.dumps(_Trap()))
    manager._inbox.put(pickle.dumps(message))
    manager._inbox.put(json.dumps(message))  # a well-formed one still works
    assert client.receive("news", timeout=2).args == ["x"]
    assert not _Trap.fired
    client.assert_nothing_received()


def test_redis_queue_messages_are_json(redis_url):
    channel = f"security-{uuid.uuid4().hex}"
    listener = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel)
    try:
        emitter = SocketIO(message_queue=redis_url, channel=channel)
        emitter.emit("news", {"n": 1}, to="room")
        emitter.close_room("room")
        messages = []
        deadline = time.monotonic() + 5
        while len(messages) < 2 and time.monotonic() < deadline:
            message = listener.get_message(timeout=0.5)
            if message is not None:
                messages.append(message["data"])
        assert len(messages) == 2, messages
        for data in messages:
            assert not data.startswith(b"\x80"), "a pickle"
            assert json.loads(data)["method"] in ("emit", "close_room")
    finally:
        listener.close()
        if "emitter" in locals():  # its Redis client: nothing else closes it
            emitter.server.manager.redis.close()
