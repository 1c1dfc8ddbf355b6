"""SocketIO options: merged across SocketIO()/init_app, passed down, typos rejected."""

from __future__ import annotations

import json as stdlib_json
import logging
import types
import uuid

import engineio
import flask
import pytest
import socketio
from flask import Flask, current_app, request

from flask_socketio import Namespace, SocketIO, emit

pytestmark = pytest.mark.socketio_leak_guard


def make_app(name: str = "options") -> Flask:
    app = Flask(name)
    app.config["SECRET_KEY"] = "secret"
    return app


def network(socketio_: SocketIO) -> engineio.Server:
    """The python-engineio server under the extension (where engineio options land)."""
    return socketio_.server.eio.network


def handshake(app: Flask, path: str = "/socket.io/", **kwargs) -> flask.Response:
    return app.test_client().get(path, query_string={"EIO": "4", "transport": "polling"},
                                 **kwargs)


def open_packet(response) -> dict:
    """The Engine.IO OPEN packet of a polling handshake response."""
    body = response.get_data(as_text=True)
    assert body.startswith("0"), body
    return stdlib_json.loads(body[1:])


# -- constructor and init_app ------------------------------------------------------------


def test_constructor_with_app_serves_it():
    app = make_app()
    socketio_ = SocketIO(app)

    @socketio_.on("ping")
    def ping():
        return "pong"

    assert app.extensions["socketio"] is socketio_
    client = socketio_.test_client(app)
    assert client.emit("ping", callback=True) == "pong"


def test_init_app_style_registers_handlers_declared_before_the_app():
    socketio_ = SocketIO()

    @socketio_.on("ping")
    def ping():
        return "pong"

    app = make_app()
    socketio_.init_app(app)
    assert app.extensions["socketio"] is socketio_
    client = socketio_.test_client(app)
    assert client.emit("ping", callback=True) == "pong"


def test_handlers_registered_after_init_app_work():
    app = make_app()
    socketio_ = SocketIO(app)
    client = socketio_.test_client(app)

    @socketio_.on("late")
    def late(value):
        return value * 2

    assert client.emit("late", 21, callback=True) == 42


def test_options_are_merged_across_constructor_and_init_app():
    socketio_ = SocketIO(ping_interval=7, cookie="first", always_connect=True)
    app = make_app()
    socketio_.init_app(app, ping_timeout=3, cookie="second")
    eio = network(socketio_)
    assert eio.ping_interval == 7  # from the constructor
    assert eio.ping_timeout == 3  # from init_app
    assert eio.cookie == "second"  # init_app wins
    assert socketio_.server.always_connect is True
    assert open_packet(handshake(app)) | {"sid": None} == {
        "sid": None, "upgrades": ["websocket"], "pingTimeout": 3000, "pingInterval": 7000,
        "maxPayload": 1000000}


def test_manage_session_given_to_the_constructor_survives_init_app():
    socketio_ = SocketIO(manage_session=False)
    socketio_.init_app(make_app())
    assert socketio_.manage_session is False
    socketio_.init_app(make_app(), manage_session=True)
    assert socketio_.manage_session is True


def test_async_mode_is_exposed_like_the_peer():
    assert SocketIO().async_mode is None
    app = make_app()
    socketio_ = SocketIO(app, async_mode="threading")
    assert socketio_.async_mode == "threading"
    assert SocketIO(make_app()).async_mode == "gevent"


def test_one_instance_serves_two_apps():
    socketio_ = SocketIO()

    @socketio_.on("whoami")
    def whoami():
        emit("app", current_app.name)
        return current_app.config["COLOUR"], request.args.get("user")

    first, second = make_app("first"), make_app("second")
    first.config["COLOUR"] = "red"
    second.config["COLOUR"] = "blue"
    socketio_.init_app(first)
    socketio_.init_app(second)
    assert first.extensions["socketio"] is socketio_
    assert second.extensions["socketio"] is socketio_

    client1 = socketio_.test_client(first, query_string="user=ann")
    client2 = socketio_.test_client(second, query_string="user=bob")
    assert client1.emit("whoami", callback=True) == ["red", "ann"]
    assert client2.emit("whoami", callback=True) == ["blue", "bob"]
    client1.assert_received("app", "first")
    client2.assert_received("app", "second")

    # The two apps share the one server: a broadcast reaches the clients of both.
    with first.app_context():
        socketio_.emit("news", "hello")
    client1.assert_received("news", "hello")
    client2.assert_received("news", "hello")

    # Both apps serve Socket.IO over HTTP too.
    assert handshake(first).status_code == 200
    assert handshake(second).status_code == 200


# -- every python-socketio / python-engineio option is passed down --------------------------

LOGGER = logging.getLogger("tests.socketio")
ENGINEIO_LOGGER = logging.getLogger("tests.engineio")


def _manager() -> socketio.Manager:
    return socketio.Manager()


PASSED_DOWN = [
    # option, value, where it must land
    ("async_mode", "threading", lambda s: s.server.async_mode),
    ("ping_interval", 11, lambda s: network(s).ping_interval),
    ("ping_timeout", 13, lambda s: network(s).ping_timeout),
    ("max_http_buffer_size", 1234, lambda s: network(s).max_http_buffer_size),
    ("allow_upgrades", False, lambda s: network(s).allow_upgrades),
    ("http_compression", False, lambda s: network(s).http_compression),
    ("compression_threshold", 77, lambda s: network(s).compression_threshold),
    ("cookie", "iocookie", lambda s: network(s).cookie),
    ("cors_allowed_origins", ["http://a.example"], lambda s: network(s).cors_allowed_origins),
    ("cors_credentials", False, lambda s: network(s).cors_credentials),
    ("monitor_clients", False, lambda s: network(s).start_service_task),
    ("transports", ["websocket"], lambda s: network(s).transports),
    ("logger", LOGGER, lambda s: s.server.logger),
    ("engineio_logger", ENGINEIO_LOGGER, lambda s: network(s).logger),
    ("async_handlers", False, lambda s: s.server.async_handlers),
    ("always_connect", True, lambda s: s.server.always_connect),
    ("namespaces", ["/a", "/b"], lambda s: s.server.namespaces),
]


@pytest.mark.parametrize(("option", "value", "landed"), PASSED_DOWN,
                         ids=[row[0] for row in PASSED_DOWN])
@pytest.mark.parametrize("where", ["constructor", "init_app"])
def test_server_option_is_passed_down(option, value, landed, where):
    app = make_app()
    if where == "constructor":
        socketio_ = SocketIO(app, **{option: value})
    else:
        socketio_ = SocketIO()
        socketio_.init_app(app, **{option: value})
    assert landed(socketio_) == value
    # And the server still works with it.
    socketio_.on_event("ping", lambda: "pong", namespace="/a")
    client = socketio_.test_client(app, namespace="/a")
    assert client.emit("ping", namespace="/a", callback=True) == "pong"


def test_client_manager_option_is_used():
    manager = _manager()
    app = make_app()
    socketio_ = SocketIO(app, client_manager=manager)

    @socketio_.on("join")
    def join(room):
        from flask_socketio import join_room

        join_room(room)

    assert socketio_.server.manager is manager
    client = socketio_.test_client(app)
    client.emit("join", "lobby")
    assert client.sid in dict(manager.get_participants("/", "lobby"))


def test_message_queue_and_channel_options_pick_the_manager():
    app = make_app()
    socketio_ = SocketIO(app, message_queue="memory://options-test", channel="chan")

    @socketio_.on("shout")
    def shout(text):
        emit("heard", text, broadcast=True)

    manager = socketio_.server.manager
    assert isinstance(manager, socketio.PubSubManager)
    assert manager.channel == "chan"
    alice, bob = socketio_.test_client(app), socketio_.test_client(app)
    alice.emit("shout", "hi")
    bob.assert_received("heard", "hi")


def test_message_queue_option_merges_with_init_app():
    socketio_ = SocketIO(message_queue="memory://options-merge")
    app = make_app()
    socketio_.init_app(app, channel="late")
    assert isinstance(socketio_.server.manager, socketio.PubSubManager)
    assert socketio_.server.manager.channel == "late"
    assert socketio_.test_client(app).is_connected()


def test_serializer_option_msgpack_round_trips_binary_and_structures():
    app = make_app()
    socketio_ = SocketIO(app, serializer="msgpack")

    @socketio_.on("echo")
    def echo(*args):
        emit("echo", *args)
        return list(args)

    from socketio.msgpack_packet import MsgPackPacket

    assert socketio_.server.packet_class is MsgPackPacket
    client = socketio_.test_client(app)
    payload = {"n": 1, "f": 1.5, "blob": b"\x00\xff", "list": [1, "two", None]}
    assert client.emit("echo", payload, b"raw", callback=True) == [payload, b"raw"]
    client.assert_received("echo", payload, b"raw")
    # The packets really were msgpack: the transcript records what crossed.
    assert any(entry.event == "echo" for entry in client.transcript.of_kind("event"))


def test_json_option_is_used_for_packets(monkeypatch):
    # python-socketio stores the json module on the packet classes: restore them.
    monkeypatch.setattr(socketio.packet.Packet, "json", socketio.packet.Packet.json)
    monkeypatch.setattr(engineio.packet.Packet, "json", engineio.packet.Packet.json)
    dumped: list = []

    def dumps(obj, **kwargs):
        dumped.append(obj)
        return stdlib_json.dumps(obj, default=str, **kwargs)

    custom_json = types.SimpleNamespace(dumps=dumps, loads=stdlib_json.loads)
    app = make_app()
    socketio_ = SocketIO(app, json=custom_json)
    token = uuid.UUID(int=7)

    @socketio_.on("token")
    def send_token():
        emit("token", {"id": token})

    client = socketio_.test_client(app)
    client.emit("token")
    client.assert_received("token", {"id": str(token)})
    assert any(isinstance(obj, list) and obj[:1] == ["token"] for obj in dumped)


def test_json_option_accepts_flask_json(monkeypatch):
    monkeypatch.setattr(socketio.packet.Packet, "json", socketio.packet.Packet.json)
    monkeypatch.setattr(engineio.packet.Packet, "json", engineio.packet.Packet.json)
    app = make_app()
    socketio_ = SocketIO(app, json=flask.json)
    token = uuid.UUID(int=9)

    @socketio_.on("token")
    def send_token():
        emit("token", token)

    client = socketio_.test_client(app)
    client.emit("token")
    client.assert_received("token", str(token))


def test_namespaces_option_refuses_unlisted_namespaces():
    app = make_app()
    socketio_ = SocketIO(app, namespaces=["/", "/listed"])
    client = socketio_.test_client(app)
    client.connect("/listed")
    assert client.is_connected("/listed")
    client.connect("/unlisted")
    assert not client.is_connected("/unlisted")
    assert client.get_connect_error("/unlisted") is not None


def test_always_connect_connects_first_then_disconnects_a_refusal():
    app = make_app()
    socketio_ = SocketIO(app, always_connect=True)

    @socketio_.on("connect")
    def refuse():
        return False

    client = socketio_.test_client(app)
    assert not client.is_connected()
    kinds = [entry.kind for entry in client.transcript if entry.direction == "received"]
    assert kinds[:2] == ["connect", "disconnect"]


def test_custom_path_serves_socketio_there_and_not_at_the_default():
    app = make_app()
    socketio_ = SocketIO(app, path="/custom/io", monitor_clients=False)

    @socketio_.on("ping")
    def ping():
        return "pong"

    assert handshake(app, "/custom/io/").status_code == 200
    assert handshake(app, "/socket.io/").status_code == 404
    client = socketio_.test_client(app)
    assert client.emit("ping", callback=True) == "pong"


def test_resource_is_the_old_name_of_path():
    app = make_app()
    SocketIO(app, resource="legacy", monitor_clients=False)
    assert handshake(app, "/legacy/").status_code == 200


def test_cookie_option_reaches_the_handshake():
    app = make_app()
    SocketIO(app, cookie="iocookie", monitor_clients=False)
    assert handshake(app).headers["Set-Cookie"].startswith("iocookie=")


def test_cors_allowed_origins_option_is_enforced():
    app = make_app()
    SocketIO(app, cors_allowed_origins=["http://ok.example"], monitor_clients=False)
    ok = handshake(app, headers={"Origin": "http://ok.example"})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    assert handshake(app, headers={"Origin": "http://evil.example"}).status_code == 400


def test_transports_option_is_enforced():
    app = make_app()
    SocketIO(app, transports=["websocket"], monitor_clients=False)
    assert handshake(app).status_code == 400


def test_extension_options_are_accepted():
    app = make_app()
    socketio_ = SocketIO(app, channel="chan", message_queue_options={}, write_only=False,
                         manage_session=False)
    assert socketio_.manage_session is False
    # As Flask-SocketIO's, init_app takes the extension's own options out of
    # server_options; the others stay.
    assert socketio_.server_options == {"message_queue_options": {}, "write_only": False}
    assert socketio_.path == "socket.io"


# -- server_options, as Flask-SocketIO's ------------------------------------------------------


def test_server_options_show_constructor_options_before_init_app():
    socketio_ = SocketIO(ping_timeout=10, manage_session=False, path="/io")
    assert socketio_.server_options == {"ping_timeout": 10, "manage_session": False,
                                        "path": "/io"}
    assert socketio_.manage_session is True  # taken from the options by init_app
    app = make_app()
    socketio_.init_app(app)
    assert socketio_.server_options == {"ping_timeout": 10}
    assert socketio_.manage_session is False
    assert socketio_.path == "/io"
    assert handshake(app, path="/io/").status_code == 200


def test_writes_to_server_options_before_init_app_are_honoured():
    socketio_ = SocketIO(cookie="c")
    socketio_.server_options["allow_upgrades"] = False
    socketio_.server_options["ping_interval"] = 9
    app = make_app()
    socketio_.init_app(app)
    assert socketio_.server_options == {"cookie": "c", "allow_upgrades": False,
                                        "ping_interval": 9}
    assert socketio_.server.eio.allow_upgrades is False
    opened = open_packet(handshake(app))
    assert opened["upgrades"] == [] and opened["pingInterval"] == 9000


def test_a_misspelt_option_written_to_server_options_is_an_error_at_init_app():
    socketio_ = SocketIO()
    socketio_.server_options["alow_upgrades"] = False
    with pytest.raises(TypeError, match="alow_upgrades"):
        socketio_.init_app(make_app())


def test_server_options_hold_the_client_manager_made_for_a_message_queue():
    # Flask-SocketIO's suite reads server_options['client_manager'].write_only.
    app = make_app()
    with_app = SocketIO(app, message_queue="memory://server-options-1")
    assert with_app.server_options["client_manager"] is with_app.server.manager
    assert not with_app.server_options["client_manager"].write_only
    late = SocketIO(make_app())
    late.init_app(make_app(), message_queue="memory://server-options-2")
    assert not late.server_options["client_manager"].write_only
    emitter = SocketIO(message_queue="memory://server-options-3")
    assert emitter.server_options["client_manager"].write_only
    emitter_late = SocketIO()
    emitter_late.init_app(None, message_queue="memory://server-options-4")
    assert emitter_late.server_options["client_manager"].write_only
    assert "client_manager" not in SocketIO(make_app()).server_options


def test_the_client_manager_made_for_a_queue_is_kept_by_a_second_init_app():
    socketio_ = SocketIO(message_queue="memory://server-options-5", channel="c1")
    manager = socketio_.server_options["client_manager"]
    socketio_.init_app(make_app())
    assert socketio_.server_options["client_manager"] is socketio_.server.manager
    assert socketio_.server.manager.channel == "c1"
    assert socketio_.server.manager is not manager  # write_only changed: a listener now
    second = socketio_.server.manager
    socketio_.init_app(make_app())
    assert socketio_.server.manager is second


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["constructor", "constructor_without_app", "init_app"])
def test_unknown_option_is_a_type_error_naming_it(where):
    app = make_app()
    with pytest.raises(TypeError, match="'ping_intervall'"):
        if where == "constructor":
            SocketIO(app, ping_intervall=5)
        elif where == "constructor_without_app":
            SocketIO(ping_intervall=5)
        else:
            SocketIO().init_app(app, ping_intervall=5)
    assert "socketio" not in app.extensions


def test_several_unknown_options_are_all_named():
    with pytest.raises(TypeError) as info:
        SocketIO(make_app(), cors_allowed_origin="*", pingTimeout=3)
    assert "'cors_allowed_origin'" in str(info.value)
    assert "'pingTimeout'" in str(info.value)


NAMESPACE_TAKERS = {
    "on": lambda s, c, ns: s.on("event", namespace=ns),
    "event": lambda s, c, ns: s.event(namespace=ns)(print),
    "on_event": lambda s, c, ns: s.on_event("event", print, namespace=ns),
    "on_error": lambda s, c, ns: s.on_error(ns),
    "on_namespace": lambda s, c, ns: s.on_namespace(Namespace(ns)),
    "emit": lambda s, c, ns: s.emit("event", namespace=ns),
    "send": lambda s, c, ns: s.send("data", namespace=ns),
    "call": lambda s, c, ns: s.call("event", to=c.sid, namespace=ns),
    "close_room": lambda s, c, ns: s.close_room("room", namespace=ns),
    "test_client": lambda s, c, ns: s.test_client(c.app, namespace=ns),
    "client.connect": lambda s, c, ns: c.connect(ns),
    "client.emit": lambda s, c, ns: c.emit("event", namespace=ns),
}


@pytest.mark.parametrize("namespace", ["chat", "chat/"])
@pytest.mark.parametrize("taker", sorted(NAMESPACE_TAKERS))
def test_namespace_without_leading_slash_is_a_value_error(taker, namespace):
    app = make_app()
    socketio_ = SocketIO(app)
    client = socketio_.test_client(app)
    with pytest.raises(ValueError, match="must start with '/'"):
        NAMESPACE_TAKERS[taker](socketio_, client, namespace)
    assert client.is_connected()
