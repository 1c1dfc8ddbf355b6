"""Message queue URLs and the in-memory queue shared by SocketIO instances."""

import json
import socket
import sys
import uuid

import pytest
import socketio as python_socketio
from flask import Flask

from flask_socketio import SocketIO, close_room, disconnect, emit, join_room
from flask_socketio.queues import MemoryManager, QueueStatus, client_manager_for


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


def broadcasting_node(url, channel):
    """A node of ``channel`` on queue ``url`` whose ``shout`` handler broadcasts."""
    app = Flask(__name__)
    socketio = SocketIO(app, message_queue=url, channel=channel)

    @socketio.on("shout")
    def on_shout(message):
        emit("shout", message, broadcast=True)

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
    assert manager.redis_options == {"socket_timeout": 3, "socket_connect_timeout": 5}
    manager = client_manager_for({"message_queue": "redis://127.0.0.1:6379/0",
                                  "message_queue_options": {"socket_connect_timeout": 1}})
    assert manager.redis_options == {"socket_connect_timeout": 1}


def test_bad_url_is_a_clear_error():
    with pytest.raises(ValueError, match="must be a URL"):
        client_manager_for({"message_queue": "localhost:6379"})


def test_missing_client_library_names_the_package():
    with pytest.raises(RuntimeError, match="pip install kafka-python"):
        client_manager_for({"message_queue": "kafka://127.0.0.1:9092"})


def _wait_for_subscribers(redis_url, channel, count):
    import time

    import redis

    with redis.Redis.from_url(redis_url) as connection:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if dict(connection.pubsub_numsub(channel)).get(channel.encode(), 0) >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"{count} subscribers never joined {channel!r}")


def test_redis_queue_reaches_in_process_clients_on_two_nodes(redis_url):
    channel = f"test-{uuid.uuid4().hex}"

    (app1, node1), (app2, node2) = (broadcasting_node(redis_url, channel),
                                    broadcasting_node(redis_url, channel))
    alice, bob = node1.test_client(app1), node2.test_client(app2)
    _wait_for_subscribers(redis_url, channel, 2)
    alice.emit("shout", "over redis")
    alice.assert_received("shout", "over redis")
    assert bob.receive("shout", timeout=5).args == ["over redis"]
    emitter = SocketIO(message_queue=redis_url, channel=channel)
    try:
        emitter.emit("news", 7)
        assert alice.receive("news", timeout=5).args == [7]
        assert bob.receive("news", timeout=5).args == [7]
    finally:
        emitter.server.manager.redis.close()  # its Redis client: nothing else closes it


def test_write_only_option_is_honoured_with_an_app():
    app = Flask(__name__)
    socketio = SocketIO(app, message_queue=queue_url(), write_only=True)
    assert socketio.server.manager.write_only
    assert not SocketIO(Flask(__name__), message_queue=queue_url()).server.manager.write_only


def test_gevent_is_the_default_async_mode():
    assert SocketIO(Flask(__name__)).server.async_mode == "gevent"
    assert SocketIO(Flask(__name__), async_mode="threading").server.async_mode == "threading"


@pytest.mark.parametrize(("url", "message"), [
    ("redis://127.0.0.1:notaport/0", "Port could not be cast"),
    ("redis+sentinel://no-port-here/0/service", "redis\\+sentinel://"),
    ("unix://", "names no socket path"),
    ("nosuchbroker://127.0.0.1", "unknown scheme 'nosuchbroker'"),
])
def test_bad_urls_fail_at_start_up(url, message):
    with pytest.raises(ValueError, match=message):
        SocketIO(Flask(__name__), message_queue=url)


def test_missing_valkey_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "valkey", None)
    with pytest.raises(RuntimeError, match="pip install valkey"):
        client_manager_for({"message_queue": "valkey://127.0.0.1:6379/0"})


def test_no_queue_has_no_queue_status():
    assert SocketIO(Flask(__name__)).queue_status is None
    assert SocketIO(Flask(__name__), message_queue=queue_url()).queue_status is None


def closed_port():
    """A local port nobody listens on (bound, never listening: connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def test_failed_publish_is_counted_logged_and_reported(caplog):
    with closed_port() as sock:
        port = sock.getsockname()[1]
        socketio = SocketIO(message_queue=f"redis://127.0.0.1:{port}/0",
                            message_queue_options={"socket_connect_timeout": 1})
        changes = []
        socketio.on_queue_status(changes.append)
        assert socketio.queue_status.state == "connecting"
        socketio.emit("news", 1)
        socketio.emit("news", 2)
    status = socketio.queue_status
    assert isinstance(status, QueueStatus)
    assert (status.state, status.outages, status.unpublished) == ("down", 1, 2)
    assert "ConnectionError" in status.error
    assert [change.state for change in changes] == ["down"]  # once per outage
    assert "message queue redis (channel 'flask-socketio') is down" in caplog.text


def test_status_listeners_given_before_init_app_are_kept():
    socketio = SocketIO()
    seen = []
    socketio.on_queue_status(seen.append)
    socketio.init_app(Flask(__name__), message_queue="redis://127.0.0.1:6379/0")
    manager = socketio.server.manager
    manager._update_status("connected")
    manager._update_status("connected")
    manager._update_status("down", OSError("gone"))
    manager._update_status("connected")
    assert [status.state for status in seen] == ["connected", "down", "connected"]
    assert seen[-1].error is None and seen[-1].outages == 1 and seen[1].error == "OSError: gone"


def test_an_ended_listener_is_restarted():
    manager = client_manager_for({"message_queue": "redis://127.0.0.1:6379/0"})
    manager.server = python_socketio.Server(async_mode="threading")
    runs = []

    def listen():
        runs.append(1)
        yield from ()

    class Stop(Exception):
        pass

    def sleep(seconds):
        if len(runs) == 3:
            raise Stop
        assert seconds <= manager.retry_max

    manager._listen = listen
    manager._sleep = sleep
    with pytest.raises(Stop):
        manager._thread()
    assert len(runs) == 3
    assert manager.status.state == "down" and "stopped" in manager.status.error


def test_kombu_publish_gives_up_quickly_when_the_broker_is_away():
    import time

    with closed_port() as sock:
        manager = client_manager_for({
            "message_queue": f"amqp://guest:guest@127.0.0.1:{sock.getsockname()[1]}//",
            "message_queue_options": {"connect_timeout": 1}}, write_only=True)
        started = time.monotonic()
        manager._publish({"method": "emit"})
        assert time.monotonic() - started < 1  # not Kombu's default of retrying for seconds
        assert manager.status.state == "down" and manager.status.unpublished == 1
        started = time.monotonic()
        for _ in range(100):  # within publish_retry_interval: no new attempt
            manager._publish({"method": "emit"})
        assert time.monotonic() - started < 0.5
    assert manager.status.unpublished == 101


def test_a_publish_that_works_again_clears_an_outage_the_listener_did_not_see():
    manager = client_manager_for({"message_queue": "redis://127.0.0.1:6379/0"})
    manager._listening(True)
    manager._publish_failed(OSError("broken pipe"))
    assert manager.status.state == "down"

    published = []

    class FakeRedis:
        def publish(self, channel, message):
            published.append((channel, message))
            return 1

    manager.redis, manager.connected = FakeRedis(), True
    manager._publish_failed_at = float("-inf")
    manager._publish({"method": "emit"})
    assert published == [("flask-socketio", '{"method": "emit"}')]
    assert manager.status.state == "connected" and manager.status.error is None


def test_a_redis_subscription_that_ends_is_retried_after_the_back_off():
    manager = client_manager_for({"message_queue": "redis://127.0.0.1:6379/0"})
    delays = []

    class FakePubSub:
        def subscribe(self, channel):
            pass

        def listen(self):
            return iter(())

        def close(self):
            pass

    class Stop(Exception):
        pass

    def connect():
        manager.pubsub = FakePubSub()

    def sleep(seconds):
        delays.append(seconds)
        if len(delays) == 4:
            raise Stop

    manager._redis_connect, manager._sleep = connect, sleep
    with pytest.raises(Stop):
        next(manager._listen())
    assert delays == [0.2, 0.4, 0.8, 1.0]
    assert manager.status.state == "down" and "subscription ended" in manager.status.error


# -- publishing in order ----------------------------------------------------------------


def recording_manager(pause_first: float = 0.0):
    """A Redis manager on a threading server whose batches are recorded, not sent;
    the first batch takes ``pause_first`` seconds (a broker round trip)."""
    import threading
    import time

    manager = client_manager_for({"message_queue": "redis://127.0.0.1:6379/0"})
    manager.server = python_socketio.Server(async_mode="threading")
    batches, sending = [], threading.Event()

    def send_batch(messages, patient):
        sending.set()
        if not batches:
            time.sleep(pause_first)
        batches.append((list(messages), patient, threading.current_thread().name))

    manager._send_batch = send_batch
    return manager, batches, sending


def test_a_nodes_publishes_leave_in_order_from_one_task_in_batches():
    manager, batches, sending = recording_manager(pause_first=0.3)
    manager._start_publisher()
    try:
        check_publisher_order(manager, batches, sending)
    finally:
        manager.stop_publisher()
        manager.publisher.join(5)
    assert not manager.publisher.is_alive()


def check_publisher_order(manager, batches, sending):
    import threading
    import time

    manager._publish({"n": "first"})
    assert sending.wait(5)  # the publisher is in its first (slow) round trip

    def emitter(name):
        for number in range(50):
            manager._publish({"from": name, "n": number})

    threads = [threading.Thread(target=emitter, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    deadline = time.monotonic() + 5
    while sum(len(batch) for batch, _, _ in batches) < 201 and time.monotonic() < deadline:
        time.sleep(0.01)
    sent = [json.loads(message) for batch, _, _ in batches for message in batch]
    assert len(sent) == 201 and sent[0] == {"n": "first"}
    for name in ("t0", "t1", "t2", "t3"):
        assert [m["n"] for m in sent if m.get("from") == name] == list(range(50))
    # what queued during the first round trip left in one batch, from one task
    assert len(batches) == 2, [len(batch) for batch, _, _ in batches]
    assert {patient for _, patient, _ in batches} == {True}
    assert len({thread for _, _, thread in batches}) == 1
    assert threading.current_thread().name not in {thread for _, _, thread in batches}


def test_without_a_publisher_a_publish_is_sent_by_the_caller():
    import threading

    manager, batches, _ = recording_manager()
    manager._publish({"n": 1})
    assert batches == [(['{"n": 1}'], False, threading.current_thread().name)]


def test_publishes_past_the_pending_bound_are_counted_not_queued():
    manager, batches, _ = recording_manager()
    manager.max_pending = 3
    manager._wake_publisher = lambda: None  # a publisher that does not run
    for number in range(5):
        manager._publish({"n": number})
    assert [json.loads(m)["n"] for m in manager._pending] == [0, 1, 2]
    assert manager.status.unpublished == 2


def test_a_message_that_is_not_json_fails_in_the_emitter():
    manager, _, _ = recording_manager()
    manager._wake_publisher = lambda: None
    with pytest.raises(TypeError):
        manager._publish({"data": object()})
    assert not manager._pending


# -- redis+streams:// -------------------------------------------------------------------


def streams_url(redis_url, **query):
    from urllib.parse import urlencode

    url = redis_url.replace("redis://", "redis+streams://", 1)
    return url + ("?" + urlencode(query) if query else "")


def test_streams_urls_pick_the_streams_manager():
    from flask_socketio.queues import RedisStreamsManager

    manager = client_manager_for({"message_queue": "redis+streams://127.0.0.1:6379/2?maxlen=50",
                                  "channel": "c"})
    assert isinstance(manager, RedisStreamsManager)
    assert (manager.redis_url, manager.maxlen, manager.channel) == (
        "redis://127.0.0.1:6379/2", 50, "c")
    assert manager.redis_options == {"socket_connect_timeout": 5, "socket_timeout": 10}
    unix = client_manager_for({"message_queue": "unix+streams:///tmp/redis.sock?db=1"})
    assert (unix.redis_url, unix.maxlen) == ("unix:///tmp/redis.sock?db=1", 10_000)
    valkey = client_manager_for({"message_queue": "valkey+streams://127.0.0.1:6379/0"})
    assert valkey.redis_url == "valkey://127.0.0.1:6379/0"


@pytest.mark.parametrize(("url", "message"), [
    ("redis+streams://127.0.0.1:6379/0?maxlen=0", "maxlen must be a positive"),
    ("redis+streams://127.0.0.1:6379/0?maxlen=many", "maxlen must be a positive"),
    ("unix+streams://", "names no socket path"),
    ("redis+streams://127.0.0.1:port/0", "Port could not be cast"),
])
def test_bad_streams_urls_fail_at_start_up(url, message):
    with pytest.raises(ValueError, match=message):
        SocketIO(Flask(__name__), message_queue=url)


def test_a_batch_sent_twice_is_read_once():
    from flask_socketio.queues import RedisStreamsManager

    seen = {}
    entries = [{b"publisher": b"a", b"seq": b"0", b"message": b"m0"},
               {b"publisher": b"a", b"seq": b"1", b"message": b"m1"},
               {b"publisher": b"a", b"seq": b"0", b"message": b"m0"},  # the batch again
               {b"publisher": b"a", b"seq": b"1", b"message": b"m1"},
               {b"publisher": b"b", b"seq": b"0", b"message": b"n0"},
               {b"message": b"from another producer"},
               {b"publisher": b"a", b"seq": b"2", b"message": b"m2"}]
    read = [RedisStreamsManager._first_time(fields, seen) for fields in entries]
    assert [m for m in read if m is not None] == [b"m0", b"m1", b"n0",
                                                   b"from another producer", b"m2"]
    assert list(seen) == [b"b", b"a"]  # the most recent publisher last


def test_a_listener_remembers_the_most_recent_publishers(monkeypatch):
    from flask_socketio.queues import RedisStreamsManager, streams

    monkeypatch.setattr(streams, "REMEMBERED_PUBLISHERS", 3)
    seen = {}
    for publisher, number in ((b"a", 1), (b"b", 1), (b"c", 1), (b"a", 2), (b"d", 1)):
        RedisStreamsManager._first_time({b"publisher": publisher, b"seq": str(number),
                                         b"message": b"m"}, seen)
    assert seen == {b"c": 1, b"a": 2, b"d": 1}  # b, the least recent, forgotten


def test_streams_queue_reaches_in_process_clients_and_python_socketio_emitters(redis_url):
    import redis

    from flask_socketio.queues import RedisStreamsManager

    channel = f"test-{uuid.uuid4().hex}"
    url = streams_url(redis_url, maxlen=100)
    try:
        (app1, node1), (app2, node2) = (broadcasting_node(url, channel),
                                        broadcasting_node(url, channel))
        alice, bob = node1.test_client(app1), node2.test_client(app2)
        for socketio in (node1, node2):
            _wait_for(lambda s=socketio: s.queue_status.is_connected)
        alice.emit("shout", "over a stream")
        alice.assert_received("shout", "over a stream")
        assert bob.receive("shout", timeout=5).args == ["over a stream"]
        # a write-only SocketIO, and the manager alone as python-socketio's are used
        emitters = (SocketIO(message_queue=url, channel=channel).server.manager,
                    RedisStreamsManager(url, channel=channel, write_only=True))
        try:
            for number, emitter in enumerate(emitters, 1):
                emitter.emit("news", number)
            for client in (alice, bob):
                assert client.receive("news", timeout=5).args == [1]
                assert client.receive("news", timeout=5).args == [2]
        finally:
            for emitter in emitters:
                emitter.redis.close()  # its Redis client: nothing else closes it
        with redis.Redis.from_url(redis_url) as connection:
            entries = [entry for entry in connection.xrange(channel)
                       if b'"flask_socketio.cluster"' not in entry[1][b"message"]]
        assert len(entries) == 3  # the cluster's hello messages aside
        assert set(entries[0][1]) == {b"message", b"publisher", b"seq"}
    finally:
        with redis.Redis.from_url(redis_url) as connection:
            connection.delete(channel)


def _wait_for(condition, timeout=5):
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not true in time"
        time.sleep(0.02)


def test_a_listener_resumes_after_the_last_entry_it_read_and_tells_of_gaps(redis_url, caplog):
    import redis

    channel = f"test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    manager = client_manager_for({"message_queue": streams_url(redis_url, maxlen=2),
                                  "channel": channel})
    try:
        assert manager._resume_from(client, None) == "0-0"  # no stream yet
        first = client.xadd(channel, {"message": "a"})
        assert manager._resume_from(client, None) == first  # the end, the first time
        assert manager._resume_from(client, first) == first
        assert manager.status.gaps == 0
        for letter in "bcdefghijklmnopqrstuvwxyz":  # trimmed past `first`
            client.xadd(channel, {"message": letter}, maxlen=2, approximate=False)
        assert manager._resume_from(client, first) == first
        assert manager.status.gaps == 1 and "trimmed" in caplog.text
        client.delete(channel)  # a Redis restart without persistence
        client.xadd(channel, {"message": "new"}, id="1-1")
        assert manager._resume_from(client, first) == "0-0"
        assert manager.status.gaps == 2 and "gone or new" in caplog.text
    finally:
        client.delete(channel)
