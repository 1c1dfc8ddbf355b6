"""The volatile flag through a real broker (Redis): the emit arrives on the listener's
thread and is dropped there for a stalled client.

No leak guard here: the Redis listener thread lives as long as its server.
"""

from __future__ import annotations

import time
import uuid

from flask import Flask

from flask_socketio import SocketIO


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not true within 5 s"
        time.sleep(0.02)


def test_a_volatile_emit_through_redis_is_dropped_for_a_stalled_client(redis_url):
    import redis

    channel = f"test-{uuid.uuid4().hex}"
    app = Flask(__name__)
    node = SocketIO(app, message_queue=redis_url, channel=channel)
    client = node.test_client(app)
    connection = redis.Redis.from_url(redis_url)
    try:
        wait_for(lambda: dict(connection.pubsub_numsub(channel)).get(channel.encode()))
        emitter = SocketIO(message_queue=redis_url, channel=channel)
        with client.stall():
            emitter.emit("saved", 1)
            emitter.emit("position", 1, volatile=True)  # arrives after "saved"
            wait_for(lambda: node.stats["volatile_dropped"] == 1)
        client.receive("saved", timeout=5)
        emitter.emit("position", 2, volatile=True)
        assert client.receive(timeout=5).args == [2]
        client.assert_nothing_received()
    finally:
        connection.close()
        client.close()
        if "emitter" in locals():  # its Redis client, which nothing else closes
            emitter.server.manager.redis.close()
