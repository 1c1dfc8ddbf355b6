"""Broker faults: the queue's Redis server stops in the middle of a stream of
broadcasts and comes back.

The test runs a ``redis-server`` of its own on a Unix socket in the test's temporary
directory (no port to race for), and two server nodes sharing it. Node A broadcasts
a numbered stream; Redis is stopped during the stream and restarted. Expected: no
server process dies; the clients of node A get every message, in order (local
delivery does not need the broker); node B's client misses the messages published
while Redis was down and gets them again within 5 s of its return; both nodes
report the outage (``queue_status``, ``on_queue_status``, a log line).

``test_redis_blip_mid_stream`` runs a Redis of its own on a free port, paused
(SIGSTOP) or restarted for 2 s in the middle of 300 broadcasts: ``redis+streams://``
must deliver 300/300 on every node, in order, once; the pub/sub queue's loss is
measured and printed. The RabbitMQ test has the broker close one node's connections.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .processes import Client, Node, ProcessGroup, connect_on_queue, free_port, wait_for_redis

COUNT = 300
INTERVAL = 0.02  # seconds between two broadcasts: the stream lasts about 6 s
RESUME_LIMIT = 5.0


def start_redis(processes: ProcessGroup, directory: Path, name: str):
    """A ``redis-server`` on ``directory/redis.sock`` only, ready for commands."""
    import redis

    socket_path = directory / "redis.sock"
    process = processes.start(name, [
        shutil.which("redis-server") or "redis-server", "--port", "0",
        "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--save", "", "--appendonly", "no", "--dir", str(directory)])
    deadline = time.monotonic() + 10
    while True:
        try:
            with redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1) as probe:
                if probe.ping():
                    return process, f"unix://{socket_path}"
        except redis.RedisError:
            pass
        assert process.is_alive(), f"redis-server exited:\n{process.log}"
        assert time.monotonic() < deadline, f"redis-server not ready:\n{process.log}"
        time.sleep(0.05)


@pytest.fixture
def redis_server_binary():
    if shutil.which("redis-server") is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("redis-server is not installed; CI must provide it", pytrace=False)
        pytest.skip("redis-server is not installed")


def test_redis_restart_mid_stream(processes, clients, channel, tmp_path,
                                  redis_server_binary, capsys):
    redis_process, url = start_redis(processes, tmp_path, "redis-server")
    node_a, node_b = processes.nodes(2, url, channel)
    local_ws, local_polling, remote = connect_on_queue(
        clients,
        (node_a, "websocket", "A websocket"),
        (node_a, "polling", "A polling"),
        (node_b, "websocket", "B websocket"),
    )

    # The stream runs until B has had a message after the restart: a stream of fixed
    # length could end first on a loaded machine (Redis restarting, B's back-off).
    assert local_ws.call("stream", None, INTERVAL) is True
    time.sleep(1.5)
    redis_process.stop()
    stopped_at = time.monotonic()
    time.sleep(1.5)
    node_b.wait_for_queue("down", timeout=5)
    redis_process, _ = start_redis(processes, tmp_path, "redis-server (restarted)")
    restarted_at = time.monotonic()

    wait_for_seq_after(remote, restarted_at, node_b)
    assert local_ws.call("stop_stream") is True

    # Local delivery on A: everything, in order, outage or not.
    count = len(whole_stream(local_ws))
    assert len(whole_stream(local_polling)) == count
    remote.collect("seq", count, timeout=3, until="stream_done")

    arrived = [(args[0], at) for event, args, at in remote.arrivals if event == "seq"]
    numbers = [number for number, _ in arrived]
    assert numbers == sorted(set(numbers)), f"B received duplicates or disorder: {numbers}"
    remote_times = dict(arrived)
    before = [n for n in numbers if remote_times[n] < stopped_at]
    after = [n for n in numbers if remote_times[n] > restarted_at]
    assert before, "B received nothing before Redis stopped"
    assert after, "B received nothing after Redis restarted"
    resumed_in = remote_times[after[0]] - restarted_at
    lost = count - len(numbers)
    gap = longest_gap([at for _, at in arrived])

    # Both nodes are alive, saw the outage, and are connected again.
    for node in (node_a, node_b):
        assert node.process.is_alive(), f"{node.process.name} died:\n{node.process.log}"
        status = node.wait_for_queue("connected", timeout=5)
        assert status["outages"] >= 1 and "down" in status["changes"], status
        node.process.wait_for_output("message queue redis .* is down", timeout=1)
        node.process.wait_for_output("is connected again after", timeout=1)
    assert node_a.status()["unpublished"] >= 1

    # A's listener is back too: B's broadcast reaches A's clients.
    assert remote.call("broadcast", "after the outage") is True
    for client in (local_ws, local_polling, remote):
        assert client.receive("news") == ("after the outage",)

    with capsys.disabled():
        print(f"\n[redis fault] sent {count}, delivered on the emitting node "
              f"{count}/{count} (x2 clients), on the other node {len(numbers)}/{count} "
              f"(lost {lost}: Redis was down {restarted_at - stopped_at:.1f} s, and B "
              f"resubscribes with back-off), delivery resumed "
              f"{resumed_in:.2f} s after Redis restarted (longest silence on B "
              f"{gap:.2f} s); "
              f"unpublished on A: {node_a.status()['unpublished']}")
    assert resumed_in < RESUME_LIMIT


OUTAGE = 2.0  # seconds Redis is away in the middle of the stream


def start_redis_on(processes: ProcessGroup, port: int, directory: Path, name: str):
    process = processes.start(name, [
        shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
        "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(directory)])
    wait_for_redis(process, port)
    return process


@pytest.mark.parametrize("fault", ["pause", "restart"])
@pytest.mark.parametrize("scheme", ["redis+streams", "redis"])
def test_redis_blip_mid_stream(processes, clients, channel, tmp_path, redis_server_binary,
                               scheme, fault, capsys):
    """300 broadcasts from node A, 20 ms apart; in the middle, the queue's Redis (the
    test's own, on a free port) is paused with SIGSTOP for 2 s and continued, or
    stopped and started again 2 s later (no persistence: it comes back empty). On
    ``redis+streams://`` every client of both nodes gets 300/300, in order, once. On
    pub/sub, node B's loss is measured and printed; in order, without duplicates, is
    required of it too."""
    port = free_port()
    redis_process = start_redis_on(processes, port, tmp_path, "redis-server")
    url = f"{scheme}://127.0.0.1:{port}/0"
    node_a, node_b = processes.nodes(2, url, channel)
    local, remote_ws, remote_polling = connect_on_queue(
        clients,
        (node_a, "websocket", "A websocket"),
        (node_b, "websocket", "B websocket"),
        (node_b, "polling", "B polling"),
    )

    assert local.call("stream", COUNT, INTERVAL) is True
    time.sleep(1.5)
    if fault == "pause":
        os.kill(redis_process.pid, signal.SIGSTOP)
        try:
            time.sleep(OUTAGE)
        finally:
            os.kill(redis_process.pid, signal.SIGCONT)
    else:
        redis_process.stop()
        time.sleep(OUTAGE)
        start_redis_on(processes, port, tmp_path, "redis-server (restarted)")
    back_at = time.monotonic()

    numbers = [args[0] for args in local.collect("seq", COUNT, timeout=20)]
    assert numbers == list(range(COUNT)), f"{local.name} lost or reordered messages"
    received = {}
    for client in (remote_ws, remote_polling):
        got = [args[0] for args in client.collect("seq", COUNT, timeout=15,
                                                  until="stream_done")]
        assert got == sorted(set(got)), f"{client.name}: duplicates or disorder: {got}"
        received[client.name] = got
    for node in (node_a, node_b):
        assert node.process.is_alive(), f"{node.process.name} died:\n{node.process.log}"
    lost = {name: COUNT - len(got) for name, got in received.items()}
    last = max(at for event, _, at in remote_ws.arrivals if event == "seq") - back_at
    with capsys.disabled():
        print(f"\n[redis {fault} {OUTAGE:.0f} s, {scheme}] {COUNT} broadcasts: node A "
              f"{len(numbers)}/{COUNT}, node B " + ", ".join(
                  f"{name} {COUNT - n}/{COUNT} (lost {n})" for name, n in lost.items())
              + f"; unpublished on A {node_a.status()['unpublished']}; B's last message "
              f"{last:.2f} s after Redis was back")
    if scheme == "redis+streams":
        for name, got in received.items():
            assert got == list(range(COUNT)), f"{name} lost {lost[name]} messages"
        assert node_a.status()["unpublished"] == 0


def wait_for_seq_after(client: Client, moment: float, node: Node) -> None:
    """Wait until ``client`` has had a ``seq`` after ``moment`` (its node's log in
    the failure if not within RESUME_LIMIT and a margin)."""
    deadline = moment + RESUME_LIMIT + 10
    while not any(event == "seq" and at > moment for event, _, at in client.arrivals):
        assert time.monotonic() < deadline, (
            f"{client.name} received nothing within {deadline - moment:.0f} s:\n"
            f"{node.process.log}")
        time.sleep(0.05)


def whole_stream(client: Client) -> list[int]:
    """The numbers of a stopped stream ``client`` got: every one, in order."""
    numbers = [args[0] for args in client.collect("seq", 10**6, timeout=20,
                                                  until="stream_done")]
    assert client.received[-1] == ("stream_done", (len(numbers),)), (
        f"{client.name}: {len(numbers)} numbers, then {client.received[-1]}")
    assert numbers == list(range(len(numbers))), f"{client.name} lost or reordered messages"
    return numbers


def longest_gap(times: list[float]) -> float:
    """The longest time between two consecutive arrivals."""
    pairs = zip(times, times[1:], strict=False)
    return max((later - earlier for earlier, later in pairs), default=0.0)


def amqp_connection_ports(pid: int) -> set[int]:
    """Local ports of the TCP connections process ``pid`` has to port 5672 (Linux)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == 5672:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def close_broker_connections(rabbitmqctl: str, ports: set[int]) -> int:
    """Have RabbitMQ close the connections coming from ``ports`` (only those: the
    shared broker and its other clients are left alone). Returns how many."""
    listing = subprocess.run([rabbitmqctl, "-q", "list_connections", "pid", "peer_port"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    closed = 0
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit() and int(fields[1]) in ports:
            subprocess.run([rabbitmqctl, "-q", "close_connection", fields[0],
                            "flask-socketio fault test"], capture_output=True, timeout=30,
                           check=True)
            closed += 1
    return closed


def test_rabbitmq_connection_closed_mid_stream(processes, clients, amqp_url, channel, capsys):
    rabbitmqctl = shutil.which("rabbitmqctl") or shutil.which("/usr/sbin/rabbitmqctl")
    if rabbitmqctl is None:
        pytest.skip("rabbitmqctl is not installed: cannot close one client's connections")
    node_a, node_b = processes.nodes(2, amqp_url, channel)
    try:
        local, remote = connect_on_queue(
            clients, (node_a, "websocket", "A websocket"), (node_b, "polling", "B polling"))
        assert remote.call("broadcast", "warm up") is True  # B's publisher connects too
        assert local.receive("news") == ("warm up",)
        ports = amqp_connection_ports(node_b.process.pid)
        assert len(ports) >= 2, f"node B's AMQP connections not found: {ports}"

        # The stream runs until B has had a message after the closes: how long
        # rabbitmqctl (an Erlang VM per call) takes depends on the machine's load, so
        # a stream of fixed length could end before B is back.
        assert local.call("stream", None, 0.02) is True
        time.sleep(0.5)
        closed = close_broker_connections(rabbitmqctl, ports)
        closed_at = time.monotonic()
        assert closed >= 2
        wait_for_seq_after(remote, closed_at, node_b)
        assert local.call("stop_stream") is True
        numbers = whole_stream(local)
        count = len(numbers)
        remote.collect("seq", count, timeout=5, until="stream_done")
        arrived = [(args[0], at) for event, args, at in remote.arrivals if event == "seq"]
        got = [number for number, _ in arrived]
        assert got == sorted(set(got)), "B received duplicates or disorder"
        after = [at for _, at in arrived if at > closed_at]
        resumed_in = after[0] - closed_at
        gap = longest_gap([at for _, at in arrived])

        status = node_b.status()
        assert status["outages"] >= 1 and "down" in status["changes"], status
        node_b.process.wait_for_output("message queue kombu .* is down", timeout=1)
        # B's publisher reconnects too: its broadcast reaches A.
        assert remote.call("broadcast", "after the drop") is True
        assert local.receive("news") == ("after the drop",)
        assert local.collect("news", 1, timeout=0.5) == []  # once, not twice
        for node in (node_a, node_b):
            assert node.process.is_alive()
        with capsys.disabled():
            print(f"\n[rabbitmq fault] sent {count}, delivered on the emitting node "
                  f"{len(numbers)}/{count}, on node B {len(got)}/{count} after {closed} "
                  f"of its connections were closed by the broker; longest silence on B "
                  f"{gap:.2f} s, first delivery {resumed_in:.2f} s after the last close")
        assert resumed_in < RESUME_LIMIT
    finally:
        import kombu

        with kombu.Connection(amqp_url, connect_timeout=5) as connection:
            kombu.Exchange(channel, type="fanout", channel=connection.channel()).delete()
