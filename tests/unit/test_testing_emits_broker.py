"""The broadcast recorder with a real broker: emits arrive on the listener's thread.

No leak guard here: the Redis listener thread lives as long as its server.
"""

from __future__ import annotations

import uuid

from flask_socketio import SocketIO
from flask_socketio.testing import capture_emits

from .test_testing_emits import create_app


def test_emits_arriving_through_redis_are_waited_for(redis_url):
    """A real broker delivers on a listener thread: ``timeout`` waits for it."""
    import time

    import redis

    channel = f"test-{uuid.uuid4().hex}"
    app, node = create_app(message_queue=redis_url, channel=channel)
    node.test_client(app).close()  # starts the listener
    connection = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 5
    while not dict(connection.pubsub_numsub(channel)).get(channel.encode()):
        assert time.monotonic() < deadline, "the listener never subscribed"
        time.sleep(0.02)
    with capture_emits(node) as emits:
        emitter = SocketIO(message_queue=redis_url, channel=channel)
        emitter.emit("news", 7, to="nobody")
        emitter.server.manager.redis.close()  # its Redis client: nothing else closes it
        [record] = emits.assert_emitted("news", 7, to="nobody", timeout=5)
    assert record.from_queue and record.sids == ()
