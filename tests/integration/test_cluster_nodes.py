"""Rooms and sockets across live nodes: ``fetch_sockets``, bulk joins, leaves and
disconnects, emits that exclude rooms, acks from many clients, server-to-server
events; on one node without a queue and on three nodes (``tests/integration/apps/
node.py`` processes) sharing Redis, Valkey, RabbitMQ, ``redis+streams://`` or
``memory://``; a node that is frozen (its requests time out and name it) or killed
(forgotten once its heartbeats stop); python-socketio's stock server on the same
channel."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from .processes import APPS, SERVING, Client, Node
from .test_scale_queues import broker_url, run_emitter


@pytest.fixture(params=["redis", "valkey", "amqp", "streams"])
def cluster_url(request, channel):
    yield from broker_url(request, request.param, channel)


def wait_for_members(nodes, count, timeout=15):
    deadline = time.monotonic() + timeout
    for node in nodes:
        while len(node.status()["nodes"]) != count:
            assert time.monotonic() < deadline, (
                f"{node.process.name} knows {node.status()['nodes']}, not {count} nodes")
            time.sleep(0.05)


def named_client(url, index):
    """Client ``c<index>``: ``{"name": "c<index>"}`` as auth, and ``question``
    answered with its name."""
    name = f"c{index}"
    return Client(url, ["websocket", "polling"][index % 2], name, auth={"name": name},
                  answers={"question": lambda *args: name}, ordered=False)


def make_clients(nodes, clients, queued=True):
    """One named client per node; the queues connected, every node knowing the others."""
    made = [named_client(node.url, index) for index, node in enumerate(nodes)]
    clients.extend(made)
    if queued:
        for node in nodes:
            if node.status()["state"] is not None:  # memory:// has no broker to reach
                node.wait_for_queue("connected")
        wait_for_members(nodes, len(nodes))
    return made


def cluster_behaviours(a, b, c, node_ids):
    """Each cluster operation, asked of the node of ``a``; ``c`` is on the third node."""
    everyone = {a.sid, b.sid, c.sid}
    assert b.call("join", "lobby") == "lobby"
    assert c.call("join", "lobby") == "lobby"

    found = a.call("fetch", None, 5)
    assert found["missing_nodes"] == []
    assert set(found["sockets"]) == everyone
    assert found["sockets"][c.sid] == {"rooms": sorted([c.sid, "lobby"]),
                                       "data": {"name": "c2"}, "node": node_ids[2]}
    assert set(a.call("fetch", "lobby", 5, a.sid)["sockets"]) == {b.sid, c.sid}
    assert set(a.call("fetch", "lobby", 5, c.sid)["sockets"]) == {b.sid}

    # Exclusion: each node resolves "lobby" against its own rooms.
    assert a.call("emit_except", "not lobby", None, "lobby") is True
    assert a.receive("news_except") == ("not lobby",)
    assert a.call("emit_except", "lobby but c", "lobby", [c.sid]) is True
    assert b.receive("news_except") == ("not lobby",) or b.received[-1] == (
        "news_except", ("lobby but c",))
    for client in (b, c):
        client.assert_nothing("news_except", wait=0.3)
    assert ("news_except", ("lobby but c",)) in b.received
    assert all(name != "news_except" for name, _ in c.received)

    # Bulk joins and leaves.
    assert a.call("bulk", "join", ["vip", "gold"], None, "lobby") is True
    assert set(a.call("fetch", "vip", 5)["sockets"]) == {a.sid}
    assert a.call("bulk", "join", "vip", c.sid) is True
    assert a.call("bulk", "leave", "gold", None) is True
    assert set(a.call("fetch", "vip", 5)["sockets"]) == {a.sid, c.sid}
    assert a.call("fetch", "gold", 5)["sockets"] == {}

    # Acks from many clients.
    assert a.call("call_all", None, 10) == {"answers": {a.sid: "c0", b.sid: "c1", c.sid: "c2"}}
    assert a.call("call_all", "lobby", 10) == {"answers": {b.sid: "c1", c.sid: "c2"}}
    assert a.call("emit_callback", "lobby") is True
    deadline = time.monotonic() + 5
    while len(answers := a.call("callback_answers")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(answers) == sorted([[b.sid, "c1"], [c.sid, "c2"]])

    # Server-to-server events: the other nodes answer.
    assert a.call("server_call", "whoami", 5)["answers"].keys() == set(node_ids[1:])

    # Bulk disconnect, sparing b.
    assert a.call("bulk", "disconnect", False, "lobby", b.sid) is True
    assert c.disconnected.wait(5), "c was not disconnected"
    assert not b.disconnected.is_set()
    assert set(a.call("fetch", None, 5)["sockets"]) == {a.sid, b.sid}


def test_three_nodes_share_rooms_and_sockets(processes, clients, cluster_url, channel):
    nodes = processes.nodes(3, cluster_url, channel)
    a, b, c = make_clients(nodes, clients)
    cluster_behaviours(a, b, c, [node.status()["node_id"] for node in nodes])
    # A write-only emitter uses the operations that need no answer.
    run_emitter(cluster_url, channel, [
        ["sockets_join", ["from emitter"], {"exclude": a.sid}],
        ["emit", ["news_except", "emitter"], {"to": "from emitter"}],
        ["disconnect_sockets", [], {"to": "from emitter"}],
    ])
    assert b.receive("news_except") == ("emitter",)
    assert b.disconnected.wait(5)
    a.assert_nothing("news_except", wait=0.3)
    for node in nodes:
        assert node.process.is_alive()
        assert node.status()["unpublished"] == 0
        assert "Traceback" not in node.process.log


def test_one_node_without_a_queue(processes, clients, channel):
    nodes = processes.nodes(1, "", channel)
    a, b, c = make_clients(nodes * 3, clients, queued=False)
    node_id = nodes[0].status()["node_id"]
    cluster_behaviours_one_node(a, b, c, node_id)


def cluster_behaviours_one_node(a, b, c, node_id):
    assert b.call("join", "lobby") == "lobby"
    assert c.call("join", "lobby") == "lobby"
    found = a.call("fetch", None, 5)
    assert set(found["sockets"]) == {a.sid, b.sid, c.sid} and found["missing_nodes"] == []
    assert found["sockets"][b.sid]["data"] == {"name": "c1"}
    assert a.call("emit_except", "x", "lobby", b.sid) is True
    assert c.receive("news_except") == ("x",)
    b.assert_nothing("news_except", wait=0.3)
    assert a.call("call_all", "lobby", 10) == {"answers": {b.sid: "c1", c.sid: "c2"}}
    assert a.call("server_call", "whoami", 1) == {"answers": {}}
    assert a.call("bulk", "disconnect", True, c.sid) is True  # close: c's WebSocket
    assert c.disconnected.wait(5)
    assert set(a.call("fetch", None, 5)["sockets"]) == {a.sid, b.sid}
    assert a.call("bulk", "disconnect", False, "lobby") is True
    assert b.disconnected.wait(5)
    assert set(a.call("fetch", None, 5)["sockets"]) == {a.sid}


def test_three_nodes_on_memory_in_one_process(processes, clients, channel):
    nodes = processes.nodes_in_one_process(3, "memory://cluster", channel)
    a, b, c = make_clients(nodes, clients)
    cluster_behaviours(a, b, c, [node.status()["node_id"] for node in nodes])


@pytest.fixture(params=["redis", "amqp"])
def broker(request, channel):
    yield from broker_url(request, request.param, channel)


def test_a_frozen_node_is_named_and_a_dead_one_forgotten(processes, clients, broker,
                                                          channel):
    # A node is forgotten 2 heartbeats and a second after it was last heard: from
    # 5 s after it froze on (the last beat up to 4 s before), long after both
    # requests below (1 s each) have asked it, even on a loaded machine.
    nodes = processes.nodes(3, broker, channel, env={"CLUSTER_HEARTBEAT": "4"})
    a, b, c = make_clients(nodes, clients)
    ids = [node.status()["node_id"] for node in nodes]
    frozen = nodes[2].process.process
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        found = a.call("fetch", None, 1)
        assert time.monotonic() - started < 1 + 3
        assert found["missing_nodes"] == [ids[2]]
        assert set(found["sockets"]) == {a.sid, b.sid}
        answers = a.call("call_all", None, 1)
        assert answers["answers"] == {a.sid: "c0", b.sid: "c1"}
        assert answers["missing_nodes"] == [ids[2]]
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    wait_for_members(nodes[:1], 3)  # forgotten while frozen, known again once it beats
    assert set(a.call("fetch", None, 5)["sockets"]) == {a.sid, b.sid, c.sid}

    os.kill(frozen.pid, signal.SIGKILL)
    frozen.wait(5)
    deadline = time.monotonic() + 20  # 2 heartbeats of 4 s and a second
    while len(nodes[0].status()["nodes"]) != 2:
        assert time.monotonic() < deadline, "the dead node was never forgotten"
        time.sleep(0.1)
    started = time.monotonic()
    found = a.call("fetch", None, 10)
    assert found["missing_nodes"] == [] and set(found["sockets"]) == {a.sid, b.sid}
    assert time.monotonic() - started < 5  # not waiting (10 s) for the dead node


def test_a_slow_server_event_handler_is_named(processes, clients, broker, channel):
    fast = processes.nodes(2, broker, channel)
    slow = processes.nodes(1, broker, channel, prefix="slow",
                           env={"SERVER_EVENT_DELAY": "10"})
    nodes = fast + slow
    a, _, _ = make_clients(nodes, clients)
    ids = [node.status()["node_id"] for node in nodes]
    started = time.monotonic()
    answer = a.call("server_call", "whoami", 1.5)
    assert time.monotonic() - started < 1.5 + 5  # not waiting for the slow one (10 s)
    assert list(answer["answers"]) == [ids[1]]
    assert answer["missing_nodes"] == [ids[2]]


def test_a_stock_python_socketio_node_on_the_channel(processes, clients, redis_url, channel):
    nodes = processes.nodes(2, redis_url, channel)
    a, b = make_clients(nodes, clients)  # ours listen once they serve a client
    ours = wait_for_subscribers(redis_url, channel, 1)
    stock_process = processes.start("stock", [sys.executable, str(APPS / "stock_node.py")],
                                    env={"MESSAGE_QUEUE": redis_url, "CHANNEL": channel})
    match = stock_process.wait_for_output(SERVING)
    stock = Node(stock_process, f"http://{match.group(1)}:{match.group(2)}")
    s = Client(stock.url, "websocket", "stock client")
    clients.append(s)
    # python-socketio subscribes from a background thread after it serves: wait
    # until all three nodes listen, or a broadcast can go out before the stock one does.
    wait_for_subscribers(redis_url, channel, ours + 1)
    # The stock node takes python-socketio's messages as before...
    assert a.call("broadcast", "from ours") is True
    for client in (a, b, s):
        assert client.receive("news") == ("from ours",)
    assert s.call("broadcast", "from stock") is True
    for client in (a, b, s):
        assert client.receive("news") == ("from stock",)
    # ...skips ours, which our nodes handle among themselves, not waiting for it.
    started = time.monotonic()
    found = a.call("fetch", None, 10)
    assert time.monotonic() - started < 5  # not waiting (10 s) for the stock node
    assert set(found["sockets"]) == {a.sid, b.sid} and found["missing_nodes"] == []
    assert a.call("emit_except", "ours only", None, a.sid) is True
    assert b.receive("news_except") == ("ours only",)
    s.assert_nothing("news_except", wait=0.3)
    assert a.call("call_all", None, 5) == {"answers": {a.sid: "c0", b.sid: "c1"}}
    assert a.call("server_call", "whoami", 5)["answers"].keys() == {
        nodes[1].status()["node_id"]}
    assert s.call("join", "room") == "room"  # the stock node still works
    assert s.call("broadcast", "still here") is True
    assert a.receive("news") == ("still here",)
    assert stock_process.is_alive()
    assert "Traceback" not in stock_process.log and "error" not in stock_process.log.lower()


def wait_for_subscribers(redis_url: str, channel: str, count: int, timeout: float = 10) -> int:
    """Wait until at least ``count`` connections subscribe to the Redis pub/sub
    ``channel``; return how many do."""
    import redis

    connection = redis.Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + timeout
        while (subscribed := dict(connection.pubsub_numsub(channel))
               .get(channel.encode(), 0)) < count:
            assert time.monotonic() < deadline, (
                f"{subscribed} of {count} nodes subscribed to {channel!r} within {timeout} s")
            time.sleep(0.05)
        return subscribed
    finally:
        connection.close()
