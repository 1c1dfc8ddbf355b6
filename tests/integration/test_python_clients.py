"""python-socketio's own ``Client`` and ``SimpleClient``, as users run them, against a LiveServer.

The stock ``Client`` runs each message's handlers in a thread of its own, so events
may be handled out of order: the tests compare what arrived, not the order, unless
one event causes the next. ``ping_interval=1`` bounds a known python-engineio client
race (its writer may exit without sending the CLOSE packet of a polling
disconnect, leaving the last GET open until the server's next ping).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import pytest
import requests
import socketio

from flask_socketio.testing import LiveServer

from .live_app import create_app
from .support import wait_until

TRANSPORTS = ["websocket", "polling"]
TIMEOUT = 5


@pytest.fixture
def app():
    return create_app(ping_interval=1)[0]


class Recorder:
    """A stock python-socketio ``Client`` whose events land in a queue."""

    def __init__(self, server: LiveServer, transport: str, namespaces: list[str] | None = None,
                 auth: Any = None) -> None:
        self.events: queue.Queue[tuple[str, str, tuple]] = queue.Queue()
        self.disconnects: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.connect_errors: list[tuple[str, Any]] = []
        self.http = requests.Session()  # closed here: python-engineio drops its own unclosed
        self.sio = socketio.Client(reconnection=False, handle_sigint=False,
                                   http_session=self.http)
        self.sio.on("*", self._event, namespace="*")
        self.sio.on("disconnect", lambda namespace, *reason: self.disconnects.put(
            (namespace, reason[0] if reason else None)), namespace="*")
        self.sio.on("connect_error", lambda namespace, data: self.connect_errors.append(
            (namespace, data)), namespace="*")
        self.server = server
        self.transport = transport
        self.namespaces = namespaces
        self.auth = auth

    def _event(self, event: str, namespace: str, *args: Any) -> None:
        self.events.put((event, namespace, args))

    def connect(self) -> Recorder:
        self.sio.connect(self.server.url, transports=[self.transport],
                         namespaces=self.namespaces, auth=self.auth, wait_timeout=TIMEOUT)
        return self

    def next(self, event: str) -> tuple:
        """The arguments of the next ``event`` (others received meanwhile are dropped)."""
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            name, _, args = self.events.get(timeout=left)
            if name == event:
                return args
        raise AssertionError(f"no {event!r} within {TIMEOUT}s")

    def close(self) -> None:
        self.sio.shutdown()
        self.http.close()


@pytest.fixture(params=TRANSPORTS)
def connect(request, socketio_server):
    made: list[Recorder] = []

    def factory(**options: Any) -> Recorder:
        recorder = Recorder(socketio_server, request.param, **options)
        made.append(recorder)
        return recorder.connect()

    yield factory
    for recorder in made:
        recorder.close()


def test_client_events_acks_and_call(connect):
    client = connect()
    assert client.sio.transport() == client.transport
    acked = threading.Event()
    answers: list[tuple] = []

    def on_ack(*args: Any) -> None:
        answers.append(args)
        acked.set()

    client.sio.emit("echo", ("a", 1), callback=on_ack)
    assert acked.wait(TIMEOUT)
    assert answers == [("a", 1)]
    assert client.next("echo") == ("a", 1)
    assert client.sio.call("whoami", timeout=TIMEOUT) == client.sio.get_sid()


def test_client_handler_answers_the_server(connect):
    client = connect()
    client.sio.on("question", lambda question: f"{question}!")
    assert client.sio.call("ask", "really", timeout=TIMEOUT) == "really!"


def test_client_namespaces(connect):
    client = connect(namespaces=["/", "/chat"])
    assert client.sio.call("echo", "x", namespace="/chat", timeout=TIMEOUT) == (
        "x", {"namespace": "/chat"})
    assert client.sio.get_sid("/chat") != client.sio.get_sid("/")


def test_client_rooms_and_broadcast(connect):
    blue, also_blue, red = connect(), connect(), connect()
    for client, room in ((blue, "blue"), (also_blue, "blue"), (red, "red")):
        assert client.sio.call("join", room, timeout=TIMEOUT) == [room]
    blue.sio.call("say", ("blue", "hi"), timeout=TIMEOUT)
    for member in (blue, also_blue):
        assert member.next("said") == ({"room": "blue", "text": "hi",
                                        "from": blue.sio.get_sid()},)
    red.sio.call("shout", "to the others", timeout=TIMEOUT)
    assert blue.next("shouted") == ("to the others",)
    assert also_blue.next("shouted") == ("to the others",)
    red.sio.call("echo", "sync", timeout=TIMEOUT)
    received = []
    while not red.events.empty():
        received.append(red.events.get_nowait()[0])
    assert "said" not in received and "shouted" not in received


def test_client_auth_refusal(connect):
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(auth={"token": "wrong"})
    assert connect(auth={"token": "secret"}).sio.connected


def test_client_connect_error_data(socketio_server):
    recorder = Recorder(socketio_server, "websocket", auth={"token": "wrong"})
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            recorder.connect()
        assert recorder.connect_errors == [("/", {"message": "bad token"})]
    finally:
        recorder.close()


def test_client_session_and_background_task(connect):
    client = connect()
    assert client.sio.call("remember", ("color", "green"), timeout=TIMEOUT) is True
    assert client.sio.call("recall", "color", timeout=TIMEOUT) == "green"
    assert client.sio.call("ticks", 3, timeout=TIMEOUT) is True
    ticks = sorted(client.next("tick")[0] for _ in range(3))
    assert ticks == [0, 1, 2]


def test_client_server_side_disconnect(connect):
    client = connect()
    client.sio.emit("kick")
    assert client.disconnects.get(timeout=TIMEOUT) == (
        "/", socketio.Client.reason.SERVER_DISCONNECT)
    wait_until(lambda: not client.sio.connected, TIMEOUT, "the client saw the disconnect")


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_simple_client(socketio_server, transport, http):
    with socketio.SimpleClient(reconnection=False, handle_sigint=False,
                               http_session=http) as client:
        client.connect(socketio_server.url, transports=[transport], wait_timeout=TIMEOUT)
        assert client.transport == transport
        client.emit("echo", ["simple", 2])
        assert client.receive(timeout=TIMEOUT) == ["echo", ["simple", 2]]
        assert client.call("echo", "called", timeout=TIMEOUT) == "called"
        assert client.receive(timeout=TIMEOUT) == ["echo", "called"]
        assert client.call("whoami", timeout=TIMEOUT) == client.sid
        client.emit("ticks", 2)
        assert sorted(client.receive(timeout=TIMEOUT)[1] for _ in range(2)) == [0, 1]
        client.emit("kick")
        assert client.receive(timeout=TIMEOUT) == ["bye", "kicked"]
        wait_until(lambda: not client.connected, TIMEOUT, "the client saw the disconnect")
        with pytest.raises(socketio.exceptions.DisconnectedError):
            client.receive(timeout=TIMEOUT)


def test_simple_client_namespace_and_refusal(socketio_server, http):
    with socketio.SimpleClient(reconnection=False, handle_sigint=False,
                               http_session=http) as client:
        client.connect(socketio_server.url, namespace="/chat", transports=["websocket"],
                       wait_timeout=TIMEOUT)
        assert client.call("echo", "in chat", timeout=TIMEOUT) == ("in chat",
                                                                    {"namespace": "/chat"})
    with socketio.SimpleClient(reconnection=False, handle_sigint=False,
                               http_session=http) as refused, \
            pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(socketio_server.url, namespace="/private", transports=["websocket"],
                        wait_timeout=TIMEOUT)
