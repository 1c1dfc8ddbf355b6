"""Connection state recovery with the real socket.io-client (>= 4.6) from Node, over
each transport: its transport is closed under it, it reconnects, and gets its sid,
rooms and data back with the broadcasts it missed, ``socket.recovered === true``.
The same client script and the same assertions run against the reference, Node's
socket.io 4.x server with ``connectionStateRecovery`` (``js/recovery_reference.js``).
Across two nodes (processes) on ``redis+streams://``, the client recovers on the
node it did not start on.

Skipped when Node or the packages are missing, failed under ``CI=true``.
"""

from __future__ import annotations

import uuid

import pytest
from flask import Flask, request, session

from flask_socketio import SocketIO, join_room, rooms

from .processes import ProcessGroup
from .support import JS, NODE_MODULES, require_node_modules, run_node


def create_recovery_app(**options) -> tuple[Flask, SocketIO]:
    """The app of these tests (``options`` for ``SocketIO``: a message queue, say)."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "recovery"
    socketio = SocketIO(app, connection_state_recovery={"max_disconnection_duration": 30},
                        **options)
    connects: dict[str, list[bool]] = {}

    @socketio.on("connect")
    def on_connect(auth=None):
        connects.setdefault(request.sid, []).append(request.recovered)

    @socketio.on("join")
    def on_join(room):
        join_room(room)
        return True

    @socketio.on("remember")
    def on_remember(value):
        session["remembered"] = value
        return True

    @socketio.on("recall")
    def on_recall():
        return session.get("remembered")

    @socketio.on("rooms")
    def on_rooms():
        return sorted(rooms())

    @socketio.on("connect_saw")
    def on_connect_saw():
        return connects.get(request.sid)

    @socketio.on("broadcast")
    def on_broadcast(emits):
        for event, value, to in emits:
            socketio.emit(event, value, to=to)
        return True

    @socketio.on("logged")
    def on_logged():
        status = socketio.queue_status
        return {"logged": socketio.server.recovery.logged_events,
                "queue": status.state if status is not None else None}

    @socketio.on("wait_gone")
    def on_wait_gone(sid):
        for _ in range(200):  # at most 10 s
            if not socketio.server.manager.is_connected(sid, "/"):
                return True
            socketio.sleep(0.05)
        return False

    return app, socketio


@pytest.fixture
def app() -> Flask:
    return create_recovery_app()[0]


@pytest.fixture
def reference_url():
    node = require_node_modules("socket.io", "socket.io-client")
    group = ProcessGroup()
    try:
        reference = group.start("reference", [node, str(JS / "recovery_reference.js")],
                                env={"NODE_PATH": str(NODE_MODULES)})
        port = reference.wait_for_output(r"listening on (\d+)").group(1)
        yield f"http://127.0.0.1:{port}"
    finally:
        group.stop_all()


def check_recovery(result: dict, connects_seen: list[bool] | None = None) -> None:
    assert result["firstRecovered"] is False
    assert result["reason"] == "forced close"  # what the client says of engine.close()
    assert result["recoveredNews"] == 1  # nothing arrived while it was away
    assert result["sameId"] is True
    assert result["recovered"] is True
    # the listener gets the offset as its last argument
    values = [args[0] for args in result["news"]]
    assert values == [0, 1, 2, 4]  # not 3: sent to a room it was not in
    assert all(len(args) == 2 and isinstance(args[1], str) for args in result["news"])
    assert len({args[1] for args in result["news"]}) == 4
    assert result["rooms"] == sorted([result["firstId"], "blue"])
    # what the serving node's connect handler saw of this sid (node B: the recovery)
    assert result["connectSaw"] == (connects_seen or [False, True])
    assert result["recalled"] == "kept"


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_socket_io_client_recovers_its_state_and_missed_broadcasts(socketio_server, transport):
    check_recovery(run_node("recovery.js", socketio_server.url, transport))


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_reference_server_passes_the_same_checks(reference_url, transport):
    check_recovery(run_node("recovery.js", reference_url, transport))


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_socket_io_client_recovers_on_another_node_over_redis_streams(redis_url, transport):
    require_node_modules("socket.io-client")
    channel = f"recovery-{uuid.uuid4().hex}"
    url = redis_url.replace("redis://", "redis+streams://", 1)
    group = ProcessGroup()
    try:
        node_a, node_b = group.nodes(2, url, channel, app="recovery_node.py")
        check_recovery(run_node("recovery_move.js", node_a.url, node_b.url, transport),
                       connects_seen=[True])
    finally:
        group.stop_all()
        import redis

        connection = redis.Redis.from_url(redis_url)
        connection.delete(channel, *connection.keys(f"{channel}:recovery:*"))
        connection.close()
