"""Rooms and sockets across the cluster, in-process: one node without a queue, and
three nodes sharing a ``memory://`` queue (each node resolves rooms on its own)."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from flask import Flask, current_app, request

from flask_socketio import ClusterTimeoutError, Namespace, SocketIO, emit, join_room, send
from flask_socketio.cluster import messages
from flask_socketio.cluster.node import ClusterMixin

pytestmark = pytest.mark.socketio_leak_guard


def make_node(url=None, name="node"):
    app = Flask(name)
    app.config["NAME"] = name
    socketio = SocketIO(app, message_queue=url) if url else SocketIO(app)

    @socketio.on("connect")
    def on_connect(auth=None):
        if auth:
            socketio.socket_data().update(auth)

    @socketio.on("join")
    def on_join(room):
        join_room(room)

    @socketio.on("shout")
    def on_shout(message, room, excluded):
        emit("shout", message, to=room, exclude=excluded)

    @socketio.on("say")
    def on_say(message, excluded):
        send(message, broadcast=True, exclude=excluded)

    @socketio.on_server_event("sum")
    def on_sum(*numbers):
        return sum(numbers), current_app.config["NAME"]

    class Chat(Namespace):
        def on_shout(self, message, excluded):
            self.emit("shout", message, exclude=excluded)

    socketio.on_namespace(Chat("/chat"))
    return app, socketio


def cluster(count):
    """``count`` nodes on one new memory:// queue, each with one client (``name``
    in its auth data)."""
    url = f"memory://{uuid.uuid4().hex}"
    nodes = [make_node(url, f"node{index}") for index in range(count)]
    clients = [socketio.test_client(app, auth={"name": f"c{index}"})
               for index, (app, socketio) in enumerate(nodes)]
    return [socketio for _, socketio in nodes], clients


@pytest.fixture(params=["one node", "three nodes"])
def layout(request):
    """Three clients: on one node without a queue, or one on each of three nodes."""
    if request.param == "one node":
        app, socketio = make_node()
        clients = [socketio.test_client(app, auth={"name": f"c{index}"}) for index in range(3)]
        return [socketio] * 3, clients
    return cluster(3)


def named_rooms(client):
    return sorted(room for room in client.rooms() if room != client.sid)


def sids(clients):
    return sorted(client.sid for client in clients)


# -- fetch_sockets -----------------------------------------------------------------------

def test_fetch_sockets_finds_every_connection_with_rooms_and_data(layout):
    nodes, (a, b, c) = layout
    b.emit("join", "lobby")
    c.emit("join", "lobby")
    found = nodes[0].fetch_sockets()
    assert sorted(s.sid for s in found) == sids([a, b, c])
    assert found.complete and found.missing_nodes == ()
    by_sid = {s.sid: s for s in found}
    assert sorted(by_sid[b.sid].rooms) == sorted([b.sid, "lobby"])
    assert by_sid[c.sid].data == {"name": "c2"}
    assert by_sid[c.sid].node_id == nodes[2].node_id
    in_lobby = nodes[0].fetch_sockets("lobby", exclude=c.sid)
    assert [s.sid for s in in_lobby] == [b.sid]
    assert sorted(s.sid for s in nodes[1].fetch_sockets(to=[a.sid, c.sid])) == sids([a, c])
    assert nodes[0].fetch_sockets("nobody") == []


def test_fetched_sockets_act_wherever_they_are(layout):
    nodes, (a, b, c) = layout
    remote = next(s for s in nodes[0].fetch_sockets() if s.sid == c.sid)
    remote.emit("note", 1, 2)
    c.assert_received("note", 1, 2)
    remote.join(["x", "y"])
    c.get_received()
    assert named_rooms(c) == ["x", "y"]
    remote.leave("x")
    c.get_received()
    assert named_rooms(c) == ["y"]
    remote.disconnect()
    c.get_received()
    assert not c.is_connected()
    assert a.is_connected() and b.is_connected()


def test_socket_data_is_the_apps_and_goes_with_the_connection():
    app, socketio = make_node()
    client = socketio.test_client(app, auth={"name": "x"})
    sid = client.sid
    assert socketio.socket_data(sid) == {"name": "x"}
    socketio.socket_data(sid)["score"] = 3
    assert socketio.fetch_sockets()[0].data == {"name": "x", "score": 3}
    assert socketio.fetch_sockets()[0].data is not socketio.socket_data(sid)  # a copy
    client.disconnect()
    with pytest.raises(KeyError, match="not connected"):
        socketio.socket_data(sid)
    with pytest.raises(RuntimeError, match="inside a Socket.IO handler"):
        socketio.socket_data()


def test_socket_data_that_is_not_json_is_reported_as_none(caplog):
    app, socketio = make_node()
    client = socketio.test_client(app)
    socketio.socket_data(client.sid)["bad"] = object()
    with caplog.at_level(logging.WARNING, "flask_socketio.cluster"):
        assert socketio.fetch_sockets()[0].data is None
    assert "not JSON" in caplog.text


# -- bulk operations ---------------------------------------------------------------------

def test_sockets_join_leave_and_disconnect_reach_every_node(layout):
    nodes, (a, b, c) = layout
    c.emit("join", "lobby")
    nodes[0].sockets_join(["vip", "gold"], exclude="lobby")
    for client in (a, b, c):
        client.get_received()
    assert named_rooms(a) == ["gold", "vip"] and named_rooms(b) == ["gold", "vip"]
    assert named_rooms(c) == ["lobby"]
    nodes[1].sockets_leave("gold", to="vip")
    nodes[2].disconnect_sockets(to="vip", exclude=b.sid)
    for client in (a, b, c):
        client.get_received()
    assert named_rooms(b) == ["vip"]
    assert not a.is_connected() and a.disconnect_reason == "io server disconnect"
    assert b.is_connected() and c.is_connected()


def test_disconnect_sockets_close_ends_every_namespace(layout):
    nodes, (a, b, c) = layout
    a.connect("/chat")
    b.connect("/chat")
    nodes[2].disconnect_sockets(to=a.sid)  # the sid of '/', so only '/' ends
    a.get_received()
    assert not a.is_connected("/") and a.is_connected("/chat")
    nodes[2].disconnect_sockets(namespace="/chat", close=True, exclude=a.get_sid("/chat"))
    b.get_received()
    assert not b.is_connected("/") and not b.is_connected("/chat")


def test_bulk_operations_check_their_arguments():
    app, socketio = make_node()
    socketio.test_client(app)
    with pytest.raises(ValueError, match="needs the rooms"):
        socketio.sockets_join([])
    with pytest.raises(TypeError, match="a room is a str"):
        socketio.sockets_leave(object())
    with pytest.raises(TypeError, match="exclude"):
        socketio.emit("x", exclude=[1.5])
    for timeout in (0, -1, None, "5"):
        with pytest.raises(ValueError, match="timeout must be a positive number"):
            socketio.fetch_sockets(timeout=timeout)
    with pytest.raises(ValueError, match="timeout"):
        socketio.call_all("q", timeout=0)


# -- exclusion -----------------------------------------------------------------------------

def test_exclude_is_resolved_by_each_node_against_its_own_rooms(layout):
    nodes, (a, b, c) = layout
    b.emit("join", "muted")  # only b's node knows b is muted
    a.emit("join", "lobby")
    c.emit("join", "lobby")
    nodes[0].emit("news", 1, exclude="muted")
    a.assert_received("news", 1)
    c.assert_received("news", 1)
    b.refute_received("news")
    nodes[2].send("hello", exclude="lobby")
    for client in (a, c):
        client.refute_received("message")
    b.assert_received("message", "hello")


def test_exclude_from_handlers_module_send_and_class_namespaces(layout):
    nodes, (a, b, c) = layout
    b.emit("join", "lobby")
    c.emit("join", "lobby")
    a.emit("shout", "hi", "lobby", c.sid)
    b.assert_received("shout", "hi")
    c.refute_received("shout")
    a.refute_received("shout")
    c.emit("say", "all but b", b.sid)
    a.assert_received("message", "all but b")
    c.assert_received("message", "all but b")
    b.refute_received("message")
    for client in (a, b, c):
        client.connect("/chat")
    b.emit("shout", "chat", a.get_sid("/chat"), namespace="/chat")
    b.assert_received("shout", "chat", namespace="/chat")
    c.assert_received("shout", "chat", namespace="/chat")
    a.refute_received("shout", namespace="/chat")


def test_include_self_false_and_skip_sid_join_the_exclusion():
    (app, socketio) = make_node()
    a, b = socketio.test_client(app), socketio.test_client(app)

    @socketio.on("tell")
    def tell():
        emit("told", broadcast=True, include_self=False, exclude="nobody")

    a.emit("tell")
    b.assert_received("told")
    a.refute_received("told")
    socketio.emit("direct", skip_sid=b.sid, exclude="nobody")
    a.assert_received("direct")
    b.refute_received("direct")


# -- acknowledgements from many clients ----------------------------------------------------

def test_call_all_returns_every_clients_answer(layout):
    nodes, clients = layout
    for index, client in enumerate(clients):
        client.on("q", lambda x, i=index: x * 10 + i)
    answers = nodes[1].call_all("q", 4)
    assert answers == {client.sid: 40 + index for index, client in enumerate(clients)}
    assert nodes[0].call_all("q", 1, to="nobody") == {}
    assert set(nodes[0].call_all("q", 1, exclude=clients[0].sid)) == \
        {clients[1].sid, clients[2].sid}


def test_call_all_times_out_with_the_answers_so_far(layout):
    nodes, (a, b, c) = layout
    a.on("q", lambda: "yes")
    c.on("q", lambda: ("two", "values"))
    clock = nodes[0].server.eio.attached.scheduler.clock
    started = clock.now
    with pytest.raises(ClusterTimeoutError) as caught:
        nodes[0].call_all("q", timeout=7)
    assert clock.now - started == pytest.approx(7)
    assert caught.value.answers == {a.sid: "yes", c.sid: ("two", "values")}
    assert caught.value.missing == (b.sid,)
    assert caught.value.missing_nodes == ()
    assert "no answer from" in str(caught.value)


def test_emit_callback_to_a_room_is_called_per_client_with_its_sid(layout):
    nodes, (a, b, c) = layout
    seen = []

    @nodes[0].on("ask_room")
    def ask_room(room):
        def answered(sid, *answer):
            seen.append((request.sid, sid, answer))

        emit("q", to=room, callback=answered)

    for client in (b, c):
        client.emit("join", "lobby")
        client.on("q", lambda client=client: client.sid[:3])
    a.emit("ask_room", "lobby")
    for client in (a, b, c):
        client.get_received()
    assert sorted(seen) == sorted([(a.sid, b.sid, (b.sid[:3],)), (a.sid, c.sid, (c.sid[:3],))])


def test_emit_callback_to_one_sid_keeps_the_answer_alone(layout):
    nodes, (a, b, c) = layout
    got = []
    c.on("q", lambda x: x + 1)
    nodes[0].emit("q", 1, to=c.sid, callback=lambda *answer: got.append(answer))
    c.get_received()
    a.get_received()
    assert got == [(2,)]


# -- server-to-server events ------------------------------------------------------------------

def test_server_side_call_gets_each_other_nodes_answer():
    nodes, _ = cluster(3)
    answers = nodes[0].server_side_call("sum", 1, 2)
    assert answers == {nodes[1].node_id: (3, "node1"), nodes[2].node_id: (3, "node2")}
    assert nodes[0].server_side_call("no handler anywhere") == {}
    got = []
    nodes[2].server_side_emit("sum", 5, callback=lambda node, *answer: got.append(node))
    nodes[0].server_side_call("sum")  # runs the scheduler until node 2's answers are in
    assert sorted(got) == sorted([nodes[0].node_id, nodes[1].node_id])


def test_server_side_emit_runs_on_the_other_nodes_only():
    nodes, _ = cluster(2)
    ran = []
    for index, socketio in enumerate(nodes):
        socketio.on_server_event("note")(lambda text, index=index: ran.append((index, text)))
    nodes[0].server_side_emit("note", "hi")
    nodes[0].server_side_call("sum")
    assert ran == [(1, "hi")]


def test_a_slow_server_handler_is_reported_missing():
    nodes, _ = cluster(3)

    @nodes[2].on_server_event("slow")
    def slow():
        nodes[2].sleep(30)
        return "late"

    nodes[1].on_server_event("slow")(lambda: "quick")
    with pytest.raises(ClusterTimeoutError) as caught:
        nodes[0].server_side_call("slow", timeout=2)
    assert caught.value.answers == {nodes[1].node_id: "quick"}
    assert caught.value.missing == (nodes[2].node_id,)
    nodes[0].sleep(30)  # the late answer comes to a request that is over: ignored


def test_a_node_that_does_not_answer_is_reported_not_waited_for(monkeypatch):
    nodes, (a, b, c) = cluster(3)
    monkeypatch.setattr(nodes[2].server.manager, "apply", lambda message: None)
    clock = nodes[0].server.eio.attached.scheduler.clock
    started = clock.now
    found = nodes[0].fetch_sockets(timeout=3)
    assert clock.now - started == pytest.approx(3)
    assert sorted(s.sid for s in found) == sids([a, b])
    assert found.missing_nodes == (nodes[2].node_id,) and not found.complete
    a.on("q", lambda: 1)
    b.on("q", lambda: 2)
    with pytest.raises(ClusterTimeoutError) as caught:
        nodes[0].call_all("q", timeout=3)
    assert caught.value.answers == {a.sid: 1, b.sid: 2}
    assert caught.value.missing == () and caught.value.missing_nodes == (nodes[2].node_id,)


def test_membership_hello_heartbeat_and_expiry():
    nodes, _ = cluster(3)
    ids = sorted(socketio.node_id for socketio in nodes)
    assert all(socketio.cluster_nodes() == ids for socketio in nodes)
    manager = nodes[0].server.manager
    manager.receive_cluster_message(messages.make("heartbeat", "gone", interval=60))
    assert "gone" in manager.live_nodes()
    manager._peers["gone"] = (0.0, 0.001)  # heard long ago, beating every millisecond
    assert "gone" not in manager.live_nodes()
    manager.receive_cluster_message(messages.make("bye", nodes[1].node_id))
    assert nodes[1].node_id not in manager.live_nodes()


# -- the queue messages ------------------------------------------------------------------------

def published(socketio):
    """Record what a node publishes, as the broker would carry it (JSON)."""
    record = []
    manager = socketio.server.manager
    original = manager._publish

    def publish(message):
        record.append(json.loads(json.dumps(message)))
        original(message)

    manager._publish = publish
    return record


def test_messages_are_versioned_json_with_their_own_method():
    nodes, (a, b) = cluster(2)
    sent = published(nodes[0])
    nodes[0].emit("news", b"\x00bin", exclude="x")
    nodes[0].sockets_join("r", to=b.sid)
    nodes[0].fetch_sockets()
    b.assert_received("news", b"\x00bin")
    ops = [message["op"] for message in sent]
    assert ops == ["emit", "sockets_join", "fetch_sockets"]
    for message in sent:
        assert message["method"] == "flask_socketio.cluster" and message["v"] == 1
        assert message["node"] == nodes[0].node_id
    assert sent[0]["binary"] is True and sent[0]["exclude"] == ["x"]
    assert sent[1]["change"] == ["r"] and sent[1]["rooms"] == [b.sid]


def test_a_message_of_another_version_or_op_is_skipped(caplog):
    nodes, (a, b) = cluster(2)
    manager = nodes[1].server.manager
    future = messages.make("emit", "other", namespace="/", rooms=None, event="x",
                           args=[], binary=False)
    future["v"] = 2
    with caplog.at_level(logging.DEBUG, "flask_socketio.cluster"):
        manager.receive_cluster_message(future)
        manager.receive_cluster_message(messages.make("no such op", "other"))
        manager.receive_cluster_message({"method": messages.METHOD, "v": 1})
    b.refute_received("x")
    assert "version 2 skipped" in caplog.text
    assert "failed" not in caplog.text


def test_python_socketio_messages_still_flow_beside_ours():
    nodes, (a, b) = cluster(2)
    nodes[0].emit("plain", 1)  # python-socketio's own emit message
    nodes[0].emit("excluding", 2, exclude=a.sid)
    b.assert_received("plain", 1)
    b.assert_received("excluding", 2)
    a.assert_received("plain", 1)
    a.refute_received("excluding")


def test_a_write_only_emitter_publishes_but_cannot_collect():
    url = f"memory://{uuid.uuid4().hex}"
    (app, socketio) = make_node(url)
    client = socketio.test_client(app)
    emitter = SocketIO(message_queue=url)
    emitter.emit("news", 1, exclude="nobody")
    emitter.sockets_join("vip")
    client.assert_received("news", 1)
    assert named_rooms(client) == ["vip"]
    emitter.server_side_emit("sum", 1)
    with pytest.raises(RuntimeError, match="write-only"):
        emitter.fetch_sockets()
    with pytest.raises(RuntimeError, match="write-only"):
        emitter.call_all("q")
    emitter.disconnect_sockets()
    client.get_received()
    assert not client.is_connected()


def test_a_custom_client_manager_without_the_cluster_says_so():
    import socketio as python_socketio

    app = Flask(__name__)
    socketio = SocketIO(app, client_manager=python_socketio.Manager())
    assert not isinstance(socketio.server.manager, ClusterMixin)
    with pytest.raises(RuntimeError, match="client manager made by flask_socketio"):
        socketio.fetch_sockets()


# -- real brokers' managers with in-process clients ---------------------------------------------

class FakeKafka:
    """A stand-in for the ``kafka`` module (kafka-python): topics in this process,
    each consumer with its own queue; :meth:`close` ends the consumers' iteration."""

    def __init__(self):
        import queue
        import types

        self.consumers = []
        fake = self

        class KafkaProducer:
            def __init__(self, bootstrap_servers):
                pass

            def send(self, topic, value):
                for consumer in list(fake.consumers):
                    if consumer.topic == topic:
                        consumer.inbox.put(types.SimpleNamespace(topic=topic, value=value))

            def flush(self):
                pass

        class KafkaConsumer:
            def __init__(self, topic, bootstrap_servers):
                self.topic = topic
                self.inbox = queue.Queue()
                fake.consumers.append(self)

            def __iter__(self):
                while (message := self.inbox.get()) is not None:
                    yield message

        self.module = types.SimpleNamespace(KafkaProducer=KafkaProducer,
                                            KafkaConsumer=KafkaConsumer)

    def close(self):
        for consumer in self.consumers:
            consumer.inbox.put(None)


def _until(condition, timeout=5):
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not true in time"
        time.sleep(0.02)


def test_kafka_nodes_with_a_fake_broker(monkeypatch):
    import sys

    import socketio.kafka_manager

    fake = FakeKafka()
    monkeypatch.setitem(sys.modules, "kafka", fake.module)
    monkeypatch.setattr(socketio.kafka_manager, "kafka", fake.module)
    try:
        nodes = []
        for index in range(2):
            app = Flask(__name__)
            node = SocketIO(app, message_queue="kafka://127.0.0.1:9092",
                            channel=f"cluster-{uuid.uuid4().hex}" if not nodes
                            else nodes[0][1].server.manager.channel)
            node.on_server_event("whoami")(lambda index=index: f"node{index}")
            nodes.append((app, node))
        (app1, node1), (app2, node2) = nodes
        alice, bob = node1.test_client(app1), node2.test_client(app2)
        _until(lambda: len(node1.cluster_nodes()) == 2 and len(node2.cluster_nodes()) == 2)

        assert sorted(s.sid for s in node1.fetch_sockets()) == sids([alice, bob])
        node1.emit("news", 1, exclude=alice.sid)
        assert bob.receive("news", timeout=5).args == [1]
        alice.refute_received("news")
        node1.sockets_join("vip", to=bob.sid)
        _until(lambda: "vip" in node1.fetch_sockets(bob.sid)[0].rooms)
        assert node1.server_side_call("whoami") == {node2.node_id: "node1"}
    finally:
        fake.close()


def test_redis_nodes_with_in_process_clients(redis_url):
    channel = f"cluster-{uuid.uuid4().hex}"
    nodes = []
    for index in range(2):
        app = Flask(__name__)
        app.config["NAME"] = f"node{index}"
        node = SocketIO(app, message_queue=redis_url, channel=channel)
        node.on_server_event("whoami")(lambda: current_app.config["NAME"])
        nodes.append((app, node))
    (app1, node1), (app2, node2) = nodes
    alice, bob = node1.test_client(app1), node2.test_client(app2)
    _until(lambda: len(node1.cluster_nodes()) == 2 and len(node2.cluster_nodes()) == 2)
    found = node2.fetch_sockets()
    assert sorted(s.sid for s in found) == sids([alice, bob]) and found.complete
    node2.emit("news", 2, exclude=bob.sid)
    assert alice.receive("news", timeout=5).args == [2]
    bob.refute_received("news")
    assert node1.server_side_call("whoami") == {node2.node_id: "node1"}


def test_the_emit_recorder_sees_emits_that_exclude_rooms():
    from flask_socketio.testing import capture_emits

    nodes, (a, b) = cluster(2)
    b.emit("join", "muted")
    with capture_emits(nodes[0]) as sent, capture_emits(nodes[1]) as arrived:
        nodes[0].emit("news", 1, exclude="muted")
        b.refute_received("news")
        a.assert_received("news", 1)
    [here] = sent.assert_emitted("news", 1, to=None)
    assert here.sids == (a.sid,) and not here.from_queue
    [there] = arrived.assert_emitted("news", 1, to=None)
    assert there.sids == () and there.skip_sid == [b.sid] and there.from_queue


def test_a_client_that_leaves_before_answering_counts_as_not_answering():
    nodes, (a, b) = cluster(2)
    a.on("q", lambda: "here")  # b never answers, and leaves after a second
    b_sid = b.sid

    def kick_b():
        nodes[1].sleep(1)
        nodes[1].disconnect_sockets(to=b_sid)

    nodes[1].start_background_task(kick_b)
    with pytest.raises(ClusterTimeoutError) as caught:
        nodes[0].call_all("q", timeout=4)
    assert caught.value.answers == {a.sid: "here"}
    assert caught.value.missing == (b_sid,)
    assert not b.is_connected()


def test_malformed_cluster_messages_are_logged_and_hurt_nothing(caplog):
    nodes, (a, b) = cluster(2)
    manager = nodes[0].server.manager
    bad = [messages.make("emit", "other", rooms={"a": 1}, event="x", args=[]),
           messages.make("sockets_join", "other", change=5),
           messages.make("fetch_sockets", "other", request=["not", "an", "id"]),
           messages.make("sockets", "other", to=manager.node_id, request="gone", sockets=5),
           messages.make("emit", "other", args="not a list", binary=True, event="x"),
           {"method": messages.METHOD, "v": 1, "op": "hello", "node": 5}]
    with caplog.at_level(logging.ERROR, "flask_socketio.cluster"):
        for message in bad:
            manager.receive_cluster_message(message)
    assert caplog.text.count("failed") == 3
    assert sorted(s.sid for s in nodes[0].fetch_sockets()) == sids([a, b])
    a.assert_nothing_received()
    nodes[1].emit("still", 1, exclude=b.sid)
    a.assert_received("still", 1)
