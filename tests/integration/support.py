"""Helpers of the live tests: bounded waits, Node.js and Chromium, leftover checks,
a live server with the Admin UI instrumentation, a WebSocket upgrade by hand."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS = Path(__file__).resolve().parent / "js"
NODE_MODULES = ROOT / "node_modules"
CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def wait_until(condition: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
    """Poll ``condition`` until it is true (returned) or ``timeout`` seconds pass (fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout:g}s: {what or condition}")
        time.sleep(0.01)


def missing(reason: str) -> None:
    """Skip the test, or fail it under ``CI=true`` (CI must provide everything)."""
    if IN_CI:
        pytest.fail(f"{reason}; CI must provide it (bash scripts/run-tests.sh installs it)",
                    pytrace=False)
    pytest.skip(f"{reason} (bash scripts/run-tests.sh installs it)")


def require_node_modules(*packages: str) -> str:
    """The ``node`` executable, once ``packages`` are in the repo's node_modules."""
    node = shutil.which("node")
    if node is None:
        missing("Node.js (node) is not installed")
    for package in packages:
        if not (NODE_MODULES / package / "package.json").is_file():
            missing(f"npm package {package!r} is missing from {NODE_MODULES}")
    return node  # type: ignore[return-value]


def require_chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(f"Chromium is not installed at {CHROMIUM}")
    return CHROMIUM


def run_node(script: str, *args: str, timeout: float = 30) -> Any:
    """Run ``tests/integration/js/<script>`` with Node; return the JSON it prints last.

    The script resolves packages from the repo's node_modules (``NODE_PATH``); it is
    killed after ``timeout`` seconds. A non-zero exit fails the test with its output.
    """
    node = require_node_modules("socket.io-client")
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    try:
        done = subprocess.run([node, str(JS / script), *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"node {script} {' '.join(args)} did not finish within "
                             f"{timeout:g}s:\n{exc.stdout}\n{exc.stderr}") from None
    if done.returncode != 0:
        raise AssertionError(f"node {script} {' '.join(args)} exited {done.returncode}:\n"
                             f"{done.stdout}\n{done.stderr}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise AssertionError(f"node {script} printed nothing:\n{done.stderr}")
    return json.loads(lines[-1])


def child_processes() -> set[int]:
    """The pids of this process's children (Linux /proc; empty elsewhere)."""
    me = str(os.getpid())
    children = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return children
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == me:
            children.add(int(entry.name))
    return children


def leftovers(threads_before: set[threading.Thread], children_before: set[int],
              timeout: float = 5.0) -> list[str]:
    """What the test left running (threads, child processes), after a bounded grace."""
    deadline = time.monotonic() + timeout
    while True:
        threads = [thread for thread in threading.enumerate()
                   if thread not in threads_before and thread.is_alive()]
        children = child_processes() - children_before
        if not (threads or children) or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return ([f"thread {thread.name}" for thread in threads]
            + [f"process {pid}" for pid in sorted(children)])


@contextmanager
def instrumented_server(app: Any, admin: Any) -> Iterator[Any]:
    """A started :class:`~flask_socketio.testing.LiveServer` of ``app``, whose server
    ``admin`` instruments (``socketio.instrument()``); the instrumentation is
    undone and the server stopped at the end."""
    from flask_socketio.testing import LiveServer

    server = LiveServer(app).start()
    try:
        yield server
    finally:
        try:
            if admin.stats_task is not None:
                server.call_in_server(admin.shutdown)
        finally:
            admin.uninstrument()  # it patches python-engineio's Socket class
            server.stop()


def websocket_upgrade(port: int, extensions: str | None = None,
                      timeout: float = 5) -> tuple[socket.socket, dict[str, str]]:
    """Open a Socket.IO WebSocket on 127.0.0.1:``port`` by hand, offering
    ``extensions``: the socket, right after the 101 response, and that response's
    headers (names in lower case)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
    if extensions:
        request += f"Sec-WebSocket-Extensions: {extensions}\r\n"
    sock.sendall((request + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, f"the server closed during the handshake: {head!r}"
        head += chunk
    lines = head.decode().split("\r\n")
    assert lines[0].startswith("HTTP/1.1 101"), lines[0]
    fields = (line.partition(":") for line in lines[1:] if line)
    return sock, {name.lower(): value.strip() for name, _, value in fields}
