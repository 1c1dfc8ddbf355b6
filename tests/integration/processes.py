"""Server processes and Socket.IO clients for the live scale and deployment tests.

Every process is started through a :class:`ProcessGroup`, which stops them all at the
end of the test (terminate, wait with a timeout, kill) and shows their output when
the test fails. Nothing here monkey-patches: the clients are python-socketio's
threaded ``Client``; the server processes patch themselves.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import engineio
import engineio.payload
import requests
import socketio

# python-engineio's client rejects a long-polling response of more than 16 packets
# ("Unexpected packet from server, aborting"); a burst of emits is sent in one.
engineio.payload.Payload.max_decode_packets = 100_000
ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
SERVING = re.compile(r"Serving Flask-SocketIO app on http://([\d.]+):(\d+)")


class ServerProcess:
    """A subprocess whose output (stdout and stderr together) is kept and watched."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str] | None = None,
                 pass_fds: tuple[int, ...] = (), cwd: Path = ROOT) -> None:
        self.name = name
        self.argv = argv
        self.lines: list[str] = []
        self._changed = threading.Condition()
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1",
                    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        full_env.pop("CI_COVERAGE", None)
        full_env.update(env or {})
        self.process = subprocess.Popen(argv, cwd=cwd, env=full_env, pass_fds=pass_fds,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        errors="replace")
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name=f"output of {name}")
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def log(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    @property
    def pid(self) -> int:
        return self.process.pid

    def is_alive(self) -> bool:
        return self.process.poll() is None

    def wait_for_output(self, pattern: str | re.Pattern[str], timeout: float = 20) -> re.Match:
        """The first match of ``pattern`` in a line of output; fails fast if the
        process exits first."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    match = regex.search(line)
                    if match:
                        return match
                seen = len(self.lines)
                remaining = deadline - time.monotonic()
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"{self.name} exited ({self.process.returncode}) "
                                         f"before printing {regex.pattern!r}:\n{self.log}")
                if remaining <= 0:
                    raise AssertionError(f"{self.name} did not print {regex.pattern!r} "
                                         f"within {timeout} s:\n{self.log}")
                self._changed.wait(min(remaining, 0.2))

    def stop(self, timeout: float = 5) -> int:
        """Terminate, wait up to ``timeout`` seconds, then kill. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


class ProcessGroup:
    """The processes of one test; :meth:`stop_all` ends them (the fixture calls it)."""

    def __init__(self) -> None:
        self.processes: list[ServerProcess] = []

    def start(self, name: str, argv: list[str], **options: Any) -> ServerProcess:
        process = ServerProcess(name, argv, **options)
        self.processes.append(process)
        return process

    def nodes(self, count: int, message_queue: str, channel: str,
              app: str = "node.py", prefix: str = "node",
              env: dict[str, str] | None = None) -> list[Node]:
        """``count`` server nodes (``tests/integration/apps/node.py``), each on a port
        of its own, started together.

        python-socketio subscribes a node to the queue when its first client
        connects: connect clients, then :meth:`Node.wait_for_queue`."""
        started = [self.start(f"{prefix}{index}", [sys.executable, str(APPS / app)],
                              env={"MESSAGE_QUEUE": message_queue, "CHANNEL": channel,
                                   **(env or {})})
                   for index in range(count)]
        nodes = []
        for process in started:
            match = process.wait_for_output(SERVING)
            nodes.append(Node(process, f"http://{match.group(1)}:{match.group(2)}"))
        return nodes

    def nodes_in_one_process(self, count: int, message_queue: str,
                             channel: str) -> list[Node]:
        """``count`` nodes served by one process (``NODES=count``): for
        ``memory://``, which only the nodes of one process share."""
        process = self.start("nodes", [sys.executable, str(APPS / "node.py")],
                             env={"MESSAGE_QUEUE": message_queue, "CHANNEL": channel,
                                  "NODES": str(count)})
        process.wait_for_output(SERVING)
        deadline = time.monotonic() + 20
        while True:
            found = SERVING.findall(process.log)
            if len(found) >= count:
                return [Node(process, f"http://{host}:{port}") for host, port in found[:count]]
            assert process.is_alive() and time.monotonic() < deadline, (
                f"{count} nodes did not start:\n{process.log}")
            time.sleep(0.05)

    def stop_all(self) -> list[str]:
        """Stop every process, newest first; the names of those that had died."""
        died = []
        for process in reversed(self.processes):
            if process.process.poll() is not None:
                died.append(f"{process.name} (exit {process.process.returncode})")
            process.stop()
        return died

    def logs(self) -> str:
        return "\n".join(f"----- {p.name} (pid {p.pid}) -----\n{p.log}"
                         for p in self.processes)


class Node:
    """A running server node: its process and URL."""

    def __init__(self, process: ServerProcess, url: str) -> None:
        self.process = process
        self.url = url

    def status(self) -> dict[str, Any]:
        return requests.get(self.url + "/status", timeout=5).json()

    def wait_for_queue(self, state: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status["state"] == state:
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.process.name}: queue state {status} is not "
                                     f"{state!r} after {timeout} s:\n{self.process.log}")
            time.sleep(0.05)


def connect_on_queue(made: list[Client], *placed: tuple[Node, str, str]) -> list[Client]:
    """A :class:`Client` for each ``(node, transport, name)``, put in ``made`` (the
    ``clients`` fixture's list), returned once each of their nodes has its queue
    connected (python-socketio subscribes a node when its first client connects)."""
    new = [Client(node.url, transport, name) for node, transport, name in placed]
    made.extend(new)
    for node in dict.fromkeys(node for node, _, _ in placed):
        node.wait_for_queue("connected")
    return new


class OrderedEngineIOClient(engineio.Client):
    """python-engineio's client, but each message is handled in the read loop.

    The stock client hands every message to a new thread, so two messages that
    arrived in order can reach the application in either order; the ordering
    tests need the order of the wire.
    """

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class OrderedClient(socketio.Client):
    """python-socketio's client on :class:`OrderedEngineIOClient`."""

    def _engineio_client_class(self) -> type:
        return OrderedEngineIOClient


class Client:
    """A python-socketio client that records every event it receives, in the order
    they arrived (handlers must not block: they run in the client's read loop)."""

    def __init__(self, url: str, transport: str | list[str], name: str = "client",
                 path: str = "socket.io", source: str | None = None, auth: Any = None,
                 answers: dict[str, Any] | None = None, ordered: bool = True) -> None:
        """Connect to ``url`` over ``transport`` (``"websocket"``, ``"polling"``, or a
        list: ``["polling", "websocket"]`` upgrades); ``source`` is a loopback address
        to connect from (``127.0.3.1``), so that a proxy sees different clients;
        ``auth`` is the connect payload; ``answers`` maps events to the functions that
        handle (and acknowledge) them instead of recording them; ``ordered=False``
        uses python-socketio's own client (events in threads of their own, so not
        kept in order), which ends cleanly when the server disconnects it."""
        self.name = name
        self.events: queue.Queue[tuple[str, tuple]] = queue.Queue()
        self.received: list[tuple[str, tuple]] = []
        #: ``(event, args, time.monotonic())`` of every event, as it arrived.
        self.arrivals: list[tuple[str, tuple, float]] = []
        self.disconnected = threading.Event()
        transports = [transport] if isinstance(transport, str) else transport
        options: dict[str, Any] = {}
        self._session: requests.Session | None = None
        self._socket: socket.socket | None = None
        if source is not None:
            options["http_session"] = self._session = session_from(source)
            if "websocket" in transports:
                self._socket = socket_from(source, url)
                options["websocket_extra_options"] = {"socket": self._socket}
        client_class = OrderedClient if ordered else socketio.Client
        self.sio = client_class(reconnection=False, **options)
        self.sio.on("*", self._on_event)
        self.sio.on("disconnect", self._on_disconnect)
        for event, answer in (answers or {}).items():
            self.sio.on(event, answer)
        try:
            self.sio.connect(url, transports=transports, socketio_path=path, wait_timeout=10,
                             auth=auth)
        except BaseException:
            self.close()
            raise
        websocket = getattr(self.sio.eio, "ws", None)
        #: The WebSocket's TCP socket: python-engineio's client leaves it open when the
        #: server closes the connection; :meth:`close` closes it.
        self._websocket_socket = getattr(websocket, "sock", None)

    def _on_event(self, event: str, *args: Any) -> None:
        self.arrivals.append((event, args, time.monotonic()))
        self.events.put((event, args))

    def _on_disconnect(self, *args: Any) -> None:
        self.disconnected.set()

    @property
    def sid(self) -> str:
        return self.sio.get_sid()

    @property
    def transport(self) -> str:
        return self.sio.transport()

    def call(self, event: str, *args: Any, timeout: float = 10) -> Any:
        """Emit ``event`` with ``args`` and wait for the server's acknowledgement."""
        data = args[0] if len(args) == 1 else (tuple(args) if args else None)
        return self.sio.call(event, data, timeout=timeout)

    def receive(self, event: str, timeout: float = 5) -> tuple:
        """The arguments of the next ``event`` (other events are kept in
        :attr:`received`)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no {event!r} within {timeout} s; "
                                     f"received {self.received}")
            try:
                name, args = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            self.received.append((name, args))
            if name == event:
                return args

    def collect(self, event: str, count: int, timeout: float = 10,
                until: str | None = None) -> list[tuple]:
        """The arguments of ``count`` ``event`` events, or of those that came before
        an ``until`` event, waiting up to ``timeout`` seconds in all."""
        found: list[tuple] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                name, args = self.events.get(timeout=remaining)
            except queue.Empty:
                break
            self.received.append((name, args))
            if name == event:
                found.append(args)
            elif until is not None and name == until:
                break
        return found

    def assert_nothing(self, event: str, wait: float = 0.5) -> None:
        got = self.collect(event, 1, timeout=wait)
        assert not got, f"{self.name} received {event!r} {got[0]} but should not have"

    def close(self) -> None:
        self.sio.disconnect()
        # A connection the server closed ends its Engine.IO threads on their own: wait.
        for task in (self.sio.eio.read_loop_task, self.sio.eio.write_loop_task):
            if task is not None and task is not threading.current_thread():
                task.join(5)
        if getattr(self, "_websocket_socket", None) is not None:
            self._websocket_socket.close()
        if self._socket is not None:
            self._socket.close()
        if self._session is not None:
            self._session.close()


def listening_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1:0 and listening, inheritable by a child."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def session_from(source: str) -> requests.Session:
    """A ``requests`` session whose connections come from the address ``source``."""
    from requests.adapters import HTTPAdapter

    class SourceAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["source_address"] = (source, 0)
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.mount("http://", SourceAdapter())
    return session


def socket_from(source: str, url: str) -> socket.socket:
    """A TCP socket from ``source`` connected to ``url``'s host and port, for
    websocket-client's ``socket=`` option (one WebSocket connection)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10,
                                    source_address=(source, 0))
    return sock


def free_port() -> int:
    """A port that was free a moment ago (for redis-server, which cannot take a
    socket from us; the tiny race is accepted for it alone)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_ready(process: ServerProcess, ready: Callable[[], bool],
                   errors: type[Exception] | tuple[type[Exception], ...],
                   timeout: float = 10, interval: float = 0.05) -> None:
    """Poll ``ready()`` (``errors`` it raises count as not yet) until it holds; fail
    with the process's log if it exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except errors:
            pass
        assert process.is_alive(), f"{process.name} exited:\n{process.log}"
        assert time.monotonic() < deadline, f"{process.name} not ready:\n{process.log}"
        time.sleep(interval)


def wait_for_redis(process: ServerProcess, port: int) -> None:
    import redis

    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1) as probe:
        wait_for_ready(process, probe.ping, redis.RedisError)


def wait_for_http(process: ServerProcess, url: str, timeout: float = 20) -> None:
    """Wait until ``url + "/"`` answers 200."""
    wait_for_ready(process, lambda: requests.get(url + "/", timeout=2).status_code == 200,
                   requests.ConnectionError, timeout, interval=0.1)
