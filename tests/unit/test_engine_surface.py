"""``socketio.server.eio`` as python-engineio's ``Server``: its settings, its sessions, and
python-socketio's Admin UI instrumentation over in-process clients."""

from __future__ import annotations

import engineio
import pytest
from flask import Flask

from flask_socketio import SocketIO, emit, join_room
from flask_socketio.engine.surface import SETTINGS

pytestmark = pytest.mark.socketio_leak_guard

ENGINES = ["native", "engineio"]


def make(**options):
    app = Flask(__name__)
    return app, SocketIO(app, monitor_clients=False, **options)


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_settings_read_as_on_python_engineio(engine):
    options = dict(ping_interval=(7, 2), ping_timeout=3, max_http_buffer_size=1234,
                   allow_upgrades=False, http_compression=False, compression_threshold=99,
                   cookie="io", cors_allowed_origins=["http://a.example"],
                   cors_credentials=False, transports=["polling"])
    _, socketio = make(engine=engine, **options)
    eio = socketio.server.eio
    # python-socketio runs the handlers itself: its engine gets async_handlers=False
    reference = engineio.Server(async_mode="threading", monitor_clients=False,
                                async_handlers=False, **options)
    for name in SETTINGS:
        if name in ("logger", "json"):
            continue  # objects: python-socketio hands the engine its own
        assert getattr(eio, name) == getattr(reference, name), name
    assert eio.async_mode == "gevent"


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_settings_written_on_the_router_reach_the_network_engine(engine):
    app, socketio = make(engine=engine)
    socketio.server.eio.allow_upgrades = False
    socketio.server.eio.ping_interval = 9
    assert socketio.server.eio.network.allow_upgrades is False
    response = app.test_client().get("/socket.io/", query_string={"EIO": "4",
                                                                  "transport": "polling"})
    body = response.get_data(as_text=True)
    assert '"upgrades":[]' in body and '"pingInterval":9000' in body


def test_the_peers_delayed_init_reads_allow_upgrades_and_cookie():
    socketio = SocketIO(allow_upgrades=False)
    socketio.init_app(Flask(__name__), cookie="foo")
    assert not socketio.server.eio.allow_upgrades
    assert socketio.server.eio.cookie == "foo"


def test_sockets_and_get_socket_include_in_process_sessions():
    app, socketio = make()
    eio = socketio.server.eio
    assert len(eio.sockets) == 0
    client = socketio.test_client(app)
    assert list(eio.sockets) == [client.eio_sid]
    socket = eio._get_socket(client.eio_sid)
    assert socket.sid == client.eio_sid
    assert socket.upgraded is True and socket.closed is False  # in-process is "websocket"
    client.disconnect()
    assert len(eio.sockets) == 0
    with pytest.raises(KeyError):
        eio._get_socket(client.eio_sid)


def test_instrument_serves_the_admin_namespace_to_in_process_clients(socketio_clock):
    app, socketio = make()

    @socketio.on("hello")
    def hello(value):
        join_room("greeters")
        emit("hi", value)

    instrumented = socketio.server.instrument(auth={"username": "admin", "password": "pw"},
                                              server_stats_interval=1)
    try:
        intruder = socketio.test_client(app, namespace="/admin", auth={"username": "x"})
        assert not intruder.is_connected("/admin")
        admin = socketio.test_client(app, namespace="/admin",
                                     auth={"username": "admin", "password": "pw"})
        assert admin.is_connected("/admin")
        socketio_clock.advance(0.2)
        assert "EMIT" in admin.receive("config", namespace="/admin").args[0][
            "supportedFeatures"]
        admin.receive("all_sockets", namespace="/admin")

        admin.get_received("/admin")

        user = socketio.test_client(app)
        connected = admin.receive("socket_connected", namespace="/admin").args[0]
        assert connected["id"] == user.sid and connected["nsp"] == "/"
        user.emit("hello", 1)
        seen = {event.name: event.args for event in admin.get_received("/admin")
                if event.name != "room_joined" or event.args[1] == "greeters"}
        assert seen["event_received"][:3] == ["/", user.sid, ["hello", 1]]
        assert seen["room_joined"][:3] == ["/", "greeters", user.sid]
        assert seen["event_sent"][:3] == ["/", user.sid, ["hi", 1]]

        socketio_clock.advance(1)
        stats = admin.receive("server_stats", namespace="/admin").args[0]
        assert stats["clientsCount"] == 2  # admin and user: the refused intruder is gone
        assert {"name": "/", "socketsCount": 1} in stats["namespaces"]

        user_sid = user.sid
        user.disconnect()
        disconnected = admin.receive("socket_disconnected", namespace="/admin").args
        assert disconnected[:3] == ["/", user_sid, "client disconnect"]
    finally:
        instrumented.shutdown()
        instrumented.uninstrument()  # it patches python-engineio's Socket class
