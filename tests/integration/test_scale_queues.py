"""Several server processes sharing a real broker (Redis, RabbitMQ), clients on each.

Each node is ``tests/integration/apps/node.py`` in a process of its own, on its own
port, with gevent's monkey-patching; the clients are python-socketio's, over
WebSocket and HTTP long-polling. What one node does (broadcast, room emit,
``close_room``, ``join_room(sid=...)``, ``disconnect(sid)``) must reach the clients
of the others, and so must a write-only emitter running in another process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from .processes import APPS, Client, connect_on_queue, free_port, wait_for_redis

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def broker_url(request, kind: str, channel: str):
    """The URL of a real broker (``valkey://``: the Redis server through the valkey
    client; ``streams``: ``redis+streams://``); the test's RabbitMQ exchange or Redis
    stream is deleted after."""
    if kind == "valkey":
        pytest.importorskip("valkey")
        url = request.getfixturevalue("redis_url").replace("redis://", "valkey://", 1)
    elif kind == "streams":
        url = request.getfixturevalue("redis_url").replace("redis://", "redis+streams://", 1)
    else:
        url = request.getfixturevalue(f"{kind}_url")
    yield url
    if kind == "streams":
        import redis

        with redis.Redis.from_url(request.getfixturevalue("redis_url")) as connection:
            connection.delete(channel)
    if kind == "amqp":
        import kombu

        with kombu.Connection(url, connect_timeout=5) as connection:
            kombu.Exchange(channel, type="fanout", channel=connection.channel()).delete()


@pytest.fixture(params=["redis", "valkey", "amqp", "streams"])
def queue_url(request, channel):
    yield from broker_url(request, request.param, channel)


def run_emitter(url: str, channel: str, calls: list, options: dict | None = None) -> None:
    """Run the write-only emitter (``apps/emitter.py``) in a process of its own."""
    result = subprocess.run([sys.executable, str(APPS / "emitter.py"), url, channel,
                             json.dumps(calls)], capture_output=True, text=True, timeout=30,
                            env={**os.environ,
                                 "MESSAGE_QUEUE_OPTIONS": json.dumps(options or {})})
    assert result.returncode == 0 and "done" in result.stdout, (
        f"emitter failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


def test_nodes_share_broadcasts_rooms_and_disconnects(processes, clients, queue_url, channel):
    node_a, node_b, node_c = processes.nodes(3, queue_url, channel)
    a, b, b2, c = connect_on_queue(
        clients,
        (node_a, "websocket", "a"),
        (node_b, "polling", "b"),
        (node_b, "websocket", "b2"),
        (node_c, "polling", "c"),
    )

    # A broadcast issued on A reaches every node's clients.
    assert a.call("broadcast", {"n": 1}) is True
    for client in (a, b, b2, c):
        assert client.receive("news") == ({"n": 1},)

    # A room with members on B and C; an emit to it from A.
    assert b.call("join", "lobby") == "lobby"
    assert c.call("join", "lobby") == "lobby"
    assert a.call("to_room", "lobby", "hi lobby") is True
    assert b.receive("room_news") == ("hi lobby",)
    assert c.receive("room_news") == ("hi lobby",)

    # join_room(sid=...) on A puts b2, a client of B, in the room; A's next room
    # emit (published after the join, on the same connection) reaches it.
    assert a.call("join_other", b2.sid, "lobby") is True
    assert a.call("to_room", "lobby", "welcome b2") is True
    for client in (b, b2, c):
        assert client.receive("room_news") == ("welcome b2",)
    a.assert_nothing("room_news", wait=0.2)

    # close_room on C empties the room on every node: C's next room emit reaches
    # nobody, the broadcast after it arrives with nothing before it.
    assert c.call("close", "lobby") is True
    assert c.call("to_room", "lobby", "anyone?") is True
    assert c.call("broadcast", "after close") is True
    for client in (a, b, b2, c):
        before = client.collect("room_news", 1, timeout=5, until="news")
        assert before == [], f"{client.name} still in the closed room: {before}"

    # disconnect(sid) on A for a client of B.
    assert a.call("kick", b.sid) is True
    assert b.disconnected.wait(5), "b was not disconnected by node A"

    # A write-only emitter in another process: broadcast, a room, join and
    # disconnect a client of another node.
    run_emitter(queue_url, channel, [
        ["emit", ["news", "from the emitter"], {}],
        ["server.enter_room", [c.sid, "vip"], {"namespace": "/"}],
        ["emit", ["room_news", "vip only"], {"to": "vip"}],
        ["close_room", ["vip"], {}],
        ["emit", ["room_news", "vip closed"], {"to": "vip"}],
        ["send", ["just for c"], {"to": c.sid}],
        ["server.disconnect", [c.sid], {"namespace": "/"}],
    ])
    for client in (a, b2, c):
        assert client.receive("news") == ("from the emitter",)
    assert c.receive("room_news") == ("vip only",)
    assert c.receive("message") == ("just for c",)
    assert c.disconnected.wait(5), "the emitter did not disconnect c"
    assert ("room_news", ("vip closed",)) not in c.received
    a.assert_nothing("room_news", wait=0.2)
    b2.assert_nothing("room_news", wait=0.2)
    for node in (node_a, node_b, node_c):
        assert node.process.is_alive()
        assert node.status()["unpublished"] == 0


N = 200


def test_order_per_connection_is_kept(processes, clients, queue_url, channel):
    node_a, node_b = processes.nodes(2, queue_url, channel)
    local, remote_ws, remote_polling = connect_on_queue(
        clients,
        (node_a, "websocket", "local"),
        (node_b, "websocket", "remote websocket"),
        (node_b, "polling", "remote polling"),
    )

    # N broadcasts from a task of A, back to back.
    assert local.call("stream", N, 0) is True
    for client in (local, remote_ws, remote_polling):
        numbers = [args[0] for args in client.collect("seq", N, timeout=20)]
        assert numbers == list(range(N)), f"{client.name}: {numbers[:20]}..."

    # N messages from a write-only emitter, one to a sid, all in order.
    run_emitter(queue_url, channel,
                [["emit", ["seq", number], {"to": remote_polling.sid}] for number in range(N)])
    numbers = [args[0] for args in remote_polling.collect("seq", N, timeout=20)]
    assert numbers == list(range(N))
    remote_ws.assert_nothing("seq", wait=0.2)


def test_sentinel_url_finds_the_master(processes, clients, channel, tmp_path):
    """``redis+sentinel://`` asks a Sentinel (run by the test, with a Redis of its
    own) for the master, and the nodes share broadcasts through it."""
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        if IN_CI:
            pytest.fail("redis-server is not installed; CI must provide it", pytrace=False)
        pytest.skip("redis-server is not installed")
    master_port, sentinel_port = free_port(), free_port()
    master = processes.start("redis master", [
        redis_server, "--port", str(master_port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(tmp_path)])
    wait_for_redis(master, master_port)
    config = tmp_path / "sentinel.conf"
    config.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                      f"sentinel monitor {channel} 127.0.0.1 {master_port} 1\n")
    sentinel = processes.start("redis sentinel", [redis_server, str(config), "--sentinel"])
    wait_for_redis(sentinel, sentinel_port)

    url = f"redis+sentinel://127.0.0.1:{sentinel_port}/0/{channel}"
    node_a, node_b = processes.nodes(2, url, channel)
    a, b = connect_on_queue(
        clients, (node_a, "websocket", "a"), (node_b, "polling", "b"))
    assert a.call("broadcast", "through sentinel") is True
    for client in (a, b):
        assert client.receive("news") == ("through sentinel",)
    run_emitter(url, channel, [["emit", ["news", "emitter via sentinel"], {}]])
    assert a.receive("news") == ("emitter via sentinel",)
    assert b.receive("news") == ("emitter via sentinel",)


def test_rediss_url_with_queue_options(processes, clients, channel, tmp_path):
    """``rediss://`` (TLS) to a Redis of the test's own, its CA certificate given
    through ``message_queue_options``."""
    redis_server, openssl = shutil.which("redis-server"), shutil.which("openssl")
    if redis_server is None or openssl is None:
        if IN_CI:
            pytest.fail("redis-server and openssl are needed; CI must provide them",
                        pytrace=False)
        pytest.skip("redis-server or openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    server = processes.start("redis tls", [
        redis_server, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
        "--tls-cert-file", str(cert), "--tls-key-file", str(key),
        "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
        "--save", "", "--appendonly", "no", "--dir", str(tmp_path)])
    server.wait_for_output("Ready to accept connections")
    url = f"rediss://127.0.0.1:{port}/0"
    options = {"ssl_ca_certs": str(cert)}
    node_a, node_b = processes.nodes(
        2, url, channel, env={"MESSAGE_QUEUE_OPTIONS": json.dumps(options)})
    a, b = connect_on_queue(
        clients, (node_a, "websocket", "a"), (node_b, "websocket", "b"))
    assert a.call("broadcast", "over TLS") is True
    for client in (a, b):
        assert client.receive("news") == ("over TLS",)
    run_emitter(url, channel, [["emit", ["news", "emitter over TLS"], {}]], options)
    for client in (a, b):
        assert client.receive("news") == ("emitter over TLS",)


SENDERS = 5
MESSAGES = 1_000  # in all, MESSAGES // SENDERS per sender


@pytest.fixture(params=["redis", "valkey", "amqp", "streams", "memory"])
def three_nodes(request, processes, channel):
    """``(url, nodes)``: three nodes sharing a queue; ``memory://`` nodes share one
    process, the others have one each. ``valkey://`` is the Redis server through
    the valkey client (no valkey-server here)."""
    if request.param == "memory":
        url = f"memory://{channel}"
        yield url, processes.nodes_in_one_process(3, url, channel)
        return
    for url in broker_url(request, request.param, channel):
        yield url, processes.nodes(3, url, channel)


def test_per_sender_order_across_three_nodes(clients, three_nodes, capsys):
    """5 senders on 3 nodes interleave 1,000 room emits (their handler re-emits each
    to the room); every member, on every node and both transports, gets every
    sender's messages once, in the order that sender sent them."""
    queue_url, nodes = three_nodes
    transports = ("websocket", "polling")
    members = [Client(node.url, transport, f"{transport} on node{index}")
               for index, node in enumerate(nodes) for transport in transports]
    clients.extend(members)
    senders = members[:SENDERS]
    for node in nodes:
        if not queue_url.startswith("memory://"):  # memory:// has no queue_status
            node.wait_for_queue("connected")
    for member in members:
        assert member.call("join", "r1") == "r1"

    per_sender = MESSAGES // SENDERS
    started = time.monotonic()
    for number in range(per_sender):
        for index, sender in enumerate(senders):
            sender.sio.emit("to_room", ("r1", [index, number]))
    expected = {index: list(range(per_sender)) for index in range(SENDERS)}
    failures = []
    for member in members:
        got = [args[0] for args in member.collect("room_news", MESSAGES, timeout=60)]
        seen: dict[int, list[int]] = {index: [] for index in range(SENDERS)}
        for index, number in got:
            seen[index].append(number)
        if seen != expected:
            failures.append(f"{member.name}: " + "; ".join(
                f"sender {index}: {len(numbers)} messages, first {numbers[:12]}"
                for index, numbers in seen.items() if numbers != expected[index]))
    took = time.monotonic() - started
    with capsys.disabled():
        print(f"\n[order {queue_url.split(':')[0]}] {MESSAGES} room emits from {SENDERS} "
              f"senders, {len(members)} members on 3 nodes: {len(failures)} out of order "
              f"or incomplete, {took:.1f} s")
    assert not failures, "\n".join(failures)


def test_python_socketio_write_only_managers_reach_the_nodes(processes, clients, queue_url,
                                                              channel):
    """python-socketio's own write-only managers (``RedisManager``, ``KombuManager``)
    publish what our pub/sub nodes read; on ``redis+streams://`` the emitter is
    ``RedisStreamsManager``, used the same way."""
    import socketio as python_socketio

    from flask_socketio.queues import RedisStreamsManager

    node_a, node_b = processes.nodes(2, queue_url, channel)
    a, b = connect_on_queue(
        clients, (node_a, "websocket", "a"), (node_b, "polling", "b"))
    scheme = queue_url.split("://", 1)[0]
    if scheme == "redis+streams":
        emitter = RedisStreamsManager(queue_url, channel=channel, write_only=True)
    elif scheme in ("redis", "valkey"):
        emitter = python_socketio.RedisManager(queue_url, channel=channel, write_only=True)
    else:
        emitter = python_socketio.KombuManager(queue_url, channel=channel, write_only=True)
    try:
        for number in range(20):
            emitter.emit("seq", number)
        emitter.emit("message", "just for b", to=b.sid)
    finally:
        if getattr(emitter, "publisher_connection", None) is not None:
            emitter.publisher_connection.release()
        if getattr(emitter, "redis", None) is not None:
            emitter.redis.close()
    for client in (a, b):
        assert [args[0] for args in client.collect("seq", 20)] == list(range(20))
    assert b.receive("message") == ("just for b",)
    a.assert_nothing("message", wait=0.2)
