"""A long-polling client closed by the server notices at once, with the default
ping interval (25 s): the pending GET is answered, not left to the next ping.

Real clients: python-socketio's ``Client`` and socket.io-client v4 (Node), against
our server (native engine) and, as the oracle, python-engineio's (``engine=
'engineio'``). Two ways the server closes: ``disconnect()`` in a handler (a Socket.IO
DISCONNECT, then the client closes the Engine.IO session) and the server shutting
down (an Engine.IO CLOSE packet on the pending GET).

Known and left alone (it is the client's): after a CLOSE packet, python-engineio's
client empties its send queue before its writer thread has taken the CLOSE it just
queued, so its writer, and ``Client.wait()``, sit out the writer's queue timeout
(``max(ping_interval, ping_timeout) + 5`` s) against either server; its disconnect
handler and ``connected`` are not delayed, and are what is checked here.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
import requests
import socketio

from flask_socketio.testing import LiveServer

from .live_app import create_app
from .support import JS, NODE_MODULES, require_node_modules

#: Seconds within which the client must see the disconnect (the ping interval is 25).
NOTICE = 3.0

ENGINES = {"native": {}, "engineio": {"engine": "engineio"}}


@pytest.fixture(params=list(ENGINES))
def server(request):
    app, _ = create_app(**ENGINES[request.param])  # default ping_interval: 25 s
    live = LiveServer(app).start()
    yield live
    live.stop()


class PythonClient:
    def __init__(self, server: LiveServer) -> None:
        self.http = requests.Session()
        self.sio = socketio.Client(reconnection=False, handle_sigint=False,
                                   http_session=self.http)
        self.disconnected = threading.Event()
        self.reasons: list[str] = []

        @self.sio.on("disconnect")
        def on_disconnect(reason: str = "") -> None:
            self.reasons.append(reason)
            self.disconnected.set()

        self.sio.connect(server.url, transports=["polling"], wait_timeout=5)

    def close(self) -> None:
        self.sio.shutdown()
        # python-engineio's writer may be sitting out its queue timeout after a CLOSE
        # packet (see the module's docstring): wake it, so no thread is left behind.
        eio = self.sio.eio
        eio.queue.put(None)
        for task in (eio.write_loop_task, eio.read_loop_task):
            if task is not None:
                task.join(5)
        self.http.close()


@pytest.fixture
def python_client(server):
    made: list[PythonClient] = []
    yield lambda: made.append(PythonClient(server)) or made[-1]
    for client in made:
        client.close()


def test_python_client_disconnected_in_a_handler_notices_at_once(server, python_client):
    client = python_client()
    assert client.sio.call("echo", "warm", timeout=5) == "warm"
    started = time.monotonic()
    client.sio.emit("kick")
    assert client.disconnected.wait(NOTICE), "no disconnect within 3 s"
    assert client.reasons == [socketio.Client.reason.SERVER_DISCONNECT]
    deadline = started + NOTICE
    while client.sio.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not client.sio.connected


def test_python_client_of_a_server_shutting_down_notices_at_once(server, python_client):
    client = python_client()
    assert client.sio.call("echo", "warm", timeout=5) == "warm"
    time.sleep(0.2)  # its next GET is pending
    stopper = threading.Thread(target=server.stop)
    started = time.monotonic()
    stopper.start()
    try:
        assert client.disconnected.wait(NOTICE), "no disconnect within 3 s"
        assert time.monotonic() - started < NOTICE
        assert not client.sio.connected
    finally:
        stopper.join(15)


def node_client(server: LiveServer, mode: str) -> subprocess.Popen[str]:
    node = require_node_modules("socket.io-client")
    return subprocess.Popen([node, str(JS / "polling_close.js"), server.url, mode],
                            env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)


def node_result(process: subprocess.Popen[str]) -> str:
    try:
        output, _ = process.communicate(timeout=25)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"node did not finish:\n{output}") from None
    assert process.returncode == 0, output
    return output.strip().splitlines()[-1]


def test_node_client_disconnected_in_a_handler_notices_at_once(server):
    result = json.loads(node_result(node_client(server, "kick")))
    assert result["reason"] == "io server disconnect"
    assert result["ms"] < NOTICE * 1000


def test_node_client_of_a_server_shutting_down_notices_at_once(server):
    process = node_client(server, "wait")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # {"ready": true}
        assert json.loads(line) == {"ready": True}, line
        time.sleep(0.2)  # its next GET is pending
        server.stop()
        result = json.loads(node_result(process))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert result["reason"] == "transport close"
    assert result["ms"] < NOTICE * 1000 + 200
