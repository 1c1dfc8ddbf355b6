"""The deployment example (``examples/deployment/app.py``) under gunicorn and uWSGI,
with the configuration files the Deployment docs show, and real clients over
WebSocket, HTTP long-polling, and polling upgraded to WebSocket.

gunicorn serves on a socket the test bound to port 0 (``--bind fd://N``); uWSGI
binds port 0 itself and logs the port it got.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time

import pytest

from .processes import ROOT, Client, ProcessGroup, listening_socket, wait_for_http

EXAMPLE = ROOT / "examples" / "deployment"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@functools.cache
def gunicorn_options(gunicorn: str) -> list[str]:
    """``--no-control-socket`` where gunicorn has a control socket (in ``~/.gunicorn``,
    shared by every gunicorn of the user)."""
    help_text = subprocess.run([gunicorn, "--help"], capture_output=True, text=True,
                               timeout=30).stdout
    return ["--no-control-socket"] if "--no-control-socket" in help_text else []


def require_program(name: str) -> str:
    path = shutil.which(name, path=os.pathsep.join([os.path.dirname(sys.executable),
                                                    os.environ.get("PATH", "")]))
    if path is None:
        message = f"{name} is not installed (scripts/run-tests.sh installs it)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def check_clients(url: str, clients: list[Client]) -> None:
    """WebSocket, polling and an upgraded client: acks, a room, a server pid."""
    websocket = Client(url, "websocket", "websocket")
    polling = Client(url, "polling", "polling")
    upgraded = Client(url, ["polling", "websocket"], "upgraded")
    clients.extend([websocket, polling, upgraded])
    deadline = time.monotonic() + 5
    while upgraded.transport != "websocket":
        assert time.monotonic() < deadline, "the polling client was never upgraded"
        time.sleep(0.05)
    assert (websocket.transport, polling.transport) == ("websocket", "polling")
    payload = {"text": "héllo", "blob": b"\x00\xff" * 100, "many": list(range(50))}
    for client in (websocket, polling, upgraded):
        assert client.call("echo", payload) == payload
    pids = {client.call("join", "room") for client in (websocket, polling, upgraded)}
    assert len(pids) == 1, f"one worker process expected, got {pids}"
    assert websocket.call("say", "room", "to all") is True
    for client in (websocket, polling, upgraded):
        assert client.receive("said") == ({"text": "to all", "pid": pids.copy().pop()},)


@pytest.mark.parametrize("worker_class", [
    "gevent", "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"])
def test_gunicorn(processes: ProcessGroup, clients, worker_class):
    gunicorn = require_program("gunicorn")
    listener = listening_socket()
    try:
        process = processes.start(f"gunicorn -k {worker_class}", [
            gunicorn, "-c", str(EXAMPLE / "gunicorn.conf.py"), *gunicorn_options(gunicorn),
            "--bind", f"fd://{listener.fileno()}", "-k", worker_class,
            "--chdir", str(EXAMPLE), "app:app"], pass_fds=(listener.fileno(),))
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        wait_for_http(process, url)
    finally:
        listener.close()  # gunicorn has its own copy
    check_clients(url, clients)
    assert process.is_alive()


def test_uwsgi(processes: ProcessGroup, clients):
    uwsgi = require_program("uwsgi")
    process = processes.start("uwsgi", [uwsgi, "--ini", str(EXAMPLE / "uwsgi.ini")],
                              env={"PORT": "0"})
    match = process.wait_for_output(r"bound to TCP address 127\.0\.0\.1:(\d+)")
    url = f"http://127.0.0.1:{match.group(1)}"
    wait_for_http(process, url)
    check_clients(url, clients)
    assert process.is_alive()


def test_the_docs_show_every_deployment_file():
    """docs/deployment.rst includes each file of examples/deployment/ as it is."""
    docs = (ROOT / "docs" / "deployment.rst").read_text()
    for path in sorted(EXAMPLE.iterdir()):
        if path.is_file():
            assert f".. literalinclude:: ../examples/deployment/{path.name}" in docs, path.name
