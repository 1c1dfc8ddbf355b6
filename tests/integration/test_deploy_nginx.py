"""nginx in front of two Socket.IO processes sharing a Redis queue, with the
``examples/deployment/nginx.conf`` the Deployment docs show.

The test runs its own nginx (Debian's package) with a prefix directory of its own,
on a socket the test bound to port 0 and hands over the way nginx hands sockets to
a new binary (the ``NGINX`` environment variable), so no port is raced for. Its
only changes to the example file are the port numbers. The two app processes are
``examples/deployment/app.py`` run by ``socketio.run`` on port 0.

``ip_hash`` keeps a client on one process by the first three bytes of its IPv4
address; the clients connect from different loopback addresses (127.0.N.1) so that
both processes get some.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest
import requests

from .processes import SERVING, Client, ProcessGroup, listening_socket, session_from
from .test_deploy_servers import EXAMPLE, IN_CI


@pytest.fixture
def nginx_binary() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                     else None)
    if path is None:
        message = "nginx is not installed (scripts/run-tests.sh installs Debian's nginx)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def start_nginx(processes: ProcessGroup, nginx: str, prefix, backends: list[int]) -> str:
    """nginx serving ``examples/deployment/nginx.conf`` with the ports replaced."""
    listener = listening_socket()
    port = listener.getsockname()[1]
    config = (EXAMPLE / "nginx.conf").read_text()
    for placeholder, real in [("127.0.0.1:8080", f"127.0.0.1:{port}"),
                              ("127.0.0.1:5000", f"127.0.0.1:{backends[0]}"),
                              ("127.0.0.1:5001", f"127.0.0.1:{backends[1]}")]:
        assert placeholder in config, f"{placeholder} is no longer in nginx.conf"
        config = config.replace(placeholder, real)
    for directory in ("logs", "temp"):
        (prefix / directory).mkdir()
    (prefix / "nginx.conf").write_text(config)
    try:
        process = processes.start("nginx", [
            nginx, "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"),
            "-e", str(prefix / "logs" / "error.log")],
            env={"NGINX": f"{listener.fileno()};"}, pass_fds=(listener.fileno(),))
    finally:
        listener.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            if requests.get(url + "/", timeout=2).status_code == 200:
                return url
        except requests.ConnectionError:
            pass
        error_log = prefix / "logs" / "error.log"
        assert process.is_alive(), (f"nginx exited:\n{process.log}\n"
                                    f"{error_log.read_text() if error_log.exists() else ''}")
        assert time.monotonic() < deadline, "nginx is not serving"
        time.sleep(0.05)


def sources_by_backend(url: str, count: int = 2) -> dict[int, str]:
    """A loopback source address that ip_hash sends to each backend process (by pid)."""
    found: dict[int, str] = {}
    for third in range(1, 64):
        source = f"127.0.{third}.1"
        with session_from(source) as session:
            pid = session.get(url + "/", timeout=5).json()["pid"]
        found.setdefault(pid, source)
        if len(found) == count:
            return found
    raise AssertionError(f"ip_hash sent 63 client networks to {found} only")


def test_nginx_ip_hash_two_processes_redis_queue(processes, clients, redis_url, channel,
                                                 nginx_binary, tmp_path):
    app_processes = [
        processes.start(f"app{index}", [sys.executable, str(EXAMPLE / "app.py")],
                        env={"PORT": "0", "MESSAGE_QUEUE": redis_url,
                             "SOCKETIO_CHANNEL": channel})
        for index in range(2)]
    ports = [int(process.wait_for_output(SERVING).group(2)) for process in app_processes]
    url = start_nginx(processes, nginx_binary, tmp_path, ports)
    (pid1, source1), (pid2, source2) = sorted(sources_by_backend(url).items())

    # Polling clients keep their session: every request of each reaches its process.
    polling1 = Client(url, "polling", "polling via process 1", source=source1)
    polling2 = Client(url, "polling", "polling via process 2", source=source2)
    clients.extend([polling1, polling2])
    for _ in range(10):
        assert polling1.call("pid") == pid1
        assert polling2.call("pid") == pid2
    assert polling1.transport == polling2.transport == "polling"

    # WebSocket upgrades pass through nginx, direct or after polling.
    websocket = Client(url, "websocket", "websocket via process 1", source=source1)
    upgraded = Client(url, ["polling", "websocket"], "upgraded via process 2", source=source2)
    clients.extend([websocket, upgraded])
    deadline = time.monotonic() + 5
    while upgraded.transport != "websocket":
        assert time.monotonic() < deadline, "the upgrade did not pass through nginx"
        time.sleep(0.05)
    assert websocket.transport == "websocket"
    assert websocket.call("pid") == pid1 and upgraded.call("pid") == pid2
    assert upgraded.call("echo", {"big": "x" * 100_000}) == {"big": "x" * 100_000}

    # A room spans both processes (through the Redis queue).
    members = [polling1, polling2, websocket, upgraded]
    assert [client.call("join", "room") for client in members] == [pid1, pid2, pid1, pid2]
    assert websocket.call("say", "room", "from 1") is True
    assert upgraded.call("say", "room", "from 2") is True
    for client in members:
        said = [client.receive("said")[0], client.receive("said")[0]]
        assert sorted(said, key=lambda m: m["text"]) == [
            {"text": "from 1", "pid": pid1}, {"text": "from 2", "pid": pid2}], client.name
    for process in app_processes:
        assert process.is_alive()
