"""Connection state recovery across two nodes sharing a ``redis+streams://`` queue:
a client drops off node A and reconnects to node B, which gives it its sid, rooms
and data back, and replays what it missed, whichever node emitted it.

No leak guard here: the Redis listener threads live as long as their servers.
"""

from __future__ import annotations

import time
import uuid

import pytest
from flask import Flask, request, session

from flask_socketio import SocketIO, join_room, rooms

TIMEOUT = 5


def make_node(url, channel, seen):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "cluster"
    socketio = SocketIO(app, message_queue=url, channel=channel,
                        connection_state_recovery={"max_disconnection_duration": 30})

    @socketio.on("connect")
    def on_connect(auth=None):
        seen.append((socketio, request.sid, request.recovered, auth))

    @socketio.on("join")
    def on_join(room):
        join_room(room)
        session["joined"] = room

    @socketio.on("state")
    def on_state():
        return sorted(rooms()), session.get("joined")

    return app, socketio


def wait_until(condition, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@pytest.fixture
def nodes(redis_url):
    url = redis_url.replace("redis://", "redis+streams://", 1)
    channel = f"recovery-{uuid.uuid4().hex}"
    seen = []
    node_a = make_node(url, channel, seen)
    node_b = make_node(url, channel, seen)
    for app, socketio in (node_a, node_b):
        socketio.test_client(app).close()  # starts the listener
        wait_until(lambda socketio=socketio: socketio.queue_status.state == "connected",
                   "a node's listener never started")
    yield node_a, node_b, seen
    import redis

    connection = redis.Redis.from_url(redis_url)
    connection.delete(channel, *connection.keys(f"{channel}:recovery:*"))
    connection.close()


def test_a_client_recovers_on_another_node(nodes):
    (app_a, node_a), (app_b, node_b), seen = nodes
    client = node_a.test_client(app_a, auth={"token": "t"})
    client.emit("join", "blue")
    node_a.emit("news", 0, to="blue")
    client.assert_received("news", 0, timeout=TIMEOUT)
    sid, pid, offset = client.sid, client._pids["/"], client._offsets["/"]

    client.drop()
    node_a.emit("news", 1, to="blue")
    # emits of two nodes have the order in which each node delivers them: here 1
    # reaches node B before node B emits 2
    wait_until(lambda: node_b.server.recovery.logged_events >= 2,
               "node B never read the emit from the stream")
    node_b.emit("news", 2, to="blue")
    node_b.emit("news", 3, to="green")
    node_a.emit("news", 4)
    wait_until(lambda: node_b.server.recovery.logged_events >= 5,
               "node B never read the emits from the stream")
    assert node_a.server.recovery.kept_sessions == 1

    moved = node_b.test_client(app_b, auth={"pid": pid, "offset": offset, "token": "t"})
    assert moved.sid == sid
    assert seen[-1][0] is node_b and seen[-1][1:] == (sid, True, {"token": "t"})
    assert [r.args for r in moved.get_received()] == [[1], [2], [4]]
    assert moved.emit("state", callback=True) == [sorted([sid, "blue"]), "blue"]
    # taken: neither node restores it again
    again = node_a.test_client(app_a, auth={"pid": pid, "offset": offset})
    assert again.sid != sid
    client.close()


@pytest.mark.parametrize("sender", ["node A", "a write-only emitter with the option"])
def test_every_node_logs_an_emit_under_one_offset(nodes, redis_url, sender):
    (app_a, node_a), (app_b, node_b), _ = nodes
    emitter = node_a
    if sender != "node A":
        url = redis_url.replace("redis://", "redis+streams://", 1)
        emitter = SocketIO(message_queue=url, channel=node_a.server.manager.channel,
                           connection_state_recovery=True)
    on_a = node_a.test_client(app_a)
    on_b = node_b.test_client(app_b)
    try:
        emitter.emit("news", "hello")
        on_a.assert_received("news", "hello", timeout=TIMEOUT)
        on_b.assert_received("news", "hello", timeout=TIMEOUT)
    finally:
        if emitter is not node_a:  # its Redis client: nothing else closes it
            emitter.server.manager.redis.close()
    assert on_a._offsets["/"] == on_b._offsets["/"]
    assert node_b.server.recovery.is_offset(on_a._offsets["/"])
