"""Message queue URLs and the in-memory queue shared by SocketIO instances."""

import uuid

import pytest
import socketio as python_socketio
from flask import Flask

from flask_socketio import SocketIO, close_room, disconnect, emit, join_room
from flask_socketio.queues import MemoryManager, client_manager_for


def queue_url():
    return f"memory://{uuid.uuid4().hex}"


def make_node(url):
    app = Flask(__name__)
    socketio = SocketIO(app, message_queue=url)

    @socketio.on("join")
    def on_join(room):
        join_room(room)

    @socketio.on("shout")
    def on_shout(message, room):
        emit("shout", message, to=room)

    @socketio.on("close")
    def on_close(room):
        close_room(room)

    @socketio.on("kick")
    def on_kick(sid):
        disconnect(sid=sid, namespace="/")

    return app, socketio


def test_room_emit_reaches_clients_on_another_node():
    url = queue_url()
    (app1, node1), (app2, node2) = make_node(url), make_node(url)
    alice, bob = node1.test_client(app1), node2.test_client(app2)
    carol = node2.test_client(app2)
    alice.emit("join", "lobby")
    bob.emit("join", "lobby")
    alice.emit("shout", "hello", "lobby")
    alice.assert_received("shout", "hello")
    bob.assert_received("shout", "hello")
    carol.assert_nothing_received()


def test_write_only_emitter_reaches_every_node():
    url = queue_url()
    (app1, node1), (app2, node2) = make_node(url), make_node(url)
    first, second = node1.test_client(app1), node2.test_client(app2)
    emitter = SocketIO(message_queue=url)
    assert emitter.server.manager.write_only
    emitter.emit("news", {"n": 1})
    first.assert_received("news", {"n": 1})
    second.assert_received("news", {"n": 1})


def test_close_room_and_remote_disconnect_cross_nodes():
    url = queue_url()
    (app1, node1), (app2, node2) = make_node(url), make_node(url)
    alice, bob = node1.test_client(app1), node2.test_client(app2)
    bob.emit("join", "lobby")
    alice.emit("close", "lobby")
    bob.get_received()
    assert "lobby" not in bob.rooms()
    alice.emit("kick", bob.sid)
    bob.get_received()
    assert not bob.is_connected()
    assert bob.disconnect_reason == "io server disconnect"


def test_queue_names_are_isolated():
    (app1, node1), (app2, node2) = make_node(queue_url()), make_node(queue_url())
    first, second = node1.test_client(app1), node2.test_client(app2)
    node1.emit("news", 1)
    first.assert_received("news", 1)
    second.assert_nothing_received()


def test_queue_payloads_must_be_json():
    url = queue_url()
    (app1, node1), _ = make_node(url), make_node(url)
    node1.test_client(app1)
    with pytest.raises(TypeError, match="news"):
        node1.emit("news", object())


@pytest.mark.parametrize(("url", "manager_class"), [
    ("redis://127.0.0.1:6379/0", python_socketio.RedisManager),
    ("rediss://127.0.0.1:6379/0", python_socketio.RedisManager),
    ("valkey://127.0.0.1:6379/0", python_socketio.RedisManager),
    ("redis+sentinel://127.0.0.1:26379/0", python_socketio.RedisManager),
    ("amqp://guest:guest@127.0.0.1:5672//", python_socketio.KombuManager),
    ("memory://x", MemoryManager),
])
def test_url_schemes_pick_the_manager(url, manager_class):
    manager = client_manager_for({"message_queue": url, "channel": "c"})
    assert isinstance(manager, manager_class)
    assert manager.channel == "c"


def test_options_reach_the_client_library():
    manager = client_manager_for({"message_queue": "redis://127.0.0.1:6379/0",
                                  "message_queue_options": {"socket_timeout": 3}})
    assert manager.redis_options == {"socket_timeout": 3}


def test_bad_url_is_a_clear_error():
    with pytest.raises(ValueError, match="must be a URL"):
        client_manager_for({"message_queue": "localhost:6379"})


def test_missing_client_library_names_the_package():
    with pytest.raises(RuntimeError, match="pip install kafka-python"):
        client_manager_for({"message_queue": "kafka://127.0.0.1:9092"})


def _wait_for_subscribers(redis_url, channel, count):
    import time

    import redis

    connection = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if dict(connection.pubsub_numsub(channel)).get(channel.encode(), 0) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{count} subscribers never joined {channel!r}")


def test_redis_queue_reaches_in_process_clients_on_two_nodes(redis_url):
    channel = f"test-{uuid.uuid4().hex}"

    def node():
        app = Flask(__name__)
        socketio = SocketIO(app, message_queue=redis_url, channel=channel)

        @socketio.on("shout")
        def on_shout(message):
            emit("shout", message, broadcast=True)

        return app, socketio

    (app1, node1), (app2, node2) = node(), node()
    alice, bob = node1.test_client(app1), node2.test_client(app2)
    _wait_for_subscribers(redis_url, channel, 2)
    alice.emit("shout", "over redis")
    alice.assert_received("shout", "over redis")
    assert bob.receive("shout", timeout=5).args == ["over redis"]
    emitter = SocketIO(message_queue=redis_url, channel=channel)
    emitter.emit("news", 7)
    assert alice.receive("news", timeout=5).args == [7]
    assert bob.receive("news", timeout=5).args == [7]


def test_write_only_option_is_honoured_with_an_app():
    app = Flask(__name__)
    socketio = SocketIO(app, message_queue=queue_url(), write_only=True)
    assert socketio.server.manager.write_only
    assert not SocketIO(Flask(__name__), message_queue=queue_url()).server.manager.write_only


def test_gevent_is_the_default_async_mode():
    assert SocketIO(Flask(__name__)).server.async_mode == "gevent"
    assert SocketIO(Flask(__name__), async_mode="threading").server.async_mode == "threading"
