"""The pytest plugin (entry point ``pytest11``): fixtures for testing Socket.IO apps.

As in pytest-flask, your project provides an ``app`` fixture returning the Flask app
(with ``SocketIO(app)`` or ``socketio.init_app(app)`` done). Then:

- ``socketio_client``: a factory of connected in-process clients, closed at teardown::

      def test_echo(socketio_client):
          client = socketio_client(auth={"token": "t"})
          client.emit("echo", 1)
          client.assert_received("echo", 1)

- ``socketio_clock``: the in-process virtual clock (``socketio_clock.advance(10)``).
- ``socketio_emits``: a recorder of every emit the server makes
  (``socketio_emits.assert_emitted("news", "hi", to="lobby")``).
- ``socketio_server``: a started live gevent server running ``app`` (see
  :class:`~flask_socketio.testing.LiveServer`); ``socketio_server.client(...)`` makes
  live clients with the in-process client's API::

      def test_echo_live(socketio_server):
          client = socketio_server.client(transports=["polling"])
          assert client.call("echo", 1) == 1

A failing test shows the transcript of every test client it made (live ones too)
and the log of every live server it started. The ini option
``socketio_receive_timeout`` sets the default receive timeout; the marker
``socketio_leak_guard`` (or the ini option ``socketio_leak_guard = true``) fails a
test that leaves in-process server tasks or threads running.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ..engine.scheduler import VirtualClock, current_scheduler
from . import client as client_module
from . import live as live_module
from . import live_client as live_client_module
from .client import SocketIOTestClient
from .emits import EmitRecorder
from .live import LiveServer
from .records import ReceivedEvent

#: A failing test shows the transcripts of at most this many of its clients (the most
#: recent), so that a test making thousands of clients does not keep them all alive.
MAX_TRANSCRIPTS = 20


class _MadeClients:
    """The clients a test made: how many, and the most recent ones."""

    def __init__(self) -> None:
        self.count = 0
        self.recent: deque[tuple[int, SocketIOTestClient]] = deque(maxlen=MAX_TRANSCRIPTS)
        #: Did every client ask for server exceptions to be logged, not raised?
        self.all_quiet = True
        #: The most recent live clients (:class:`~flask_socketio.testing.LiveSocketIOClient`).
        self.live: deque[Any] = deque(maxlen=MAX_TRANSCRIPTS)

    def add(self, client: SocketIOTestClient) -> None:
        self.count += 1
        self.recent.append((self.count, client))
        self.all_quiet = self.all_quiet and not client.raise_server_exceptions

    def add_live(self, client: Any) -> None:
        """A live client: its transcript is shown too (live servers log their errors)."""
        self.live.append(client)


_CLIENTS = pytest.StashKey[_MadeClients]()
_SERVERS = pytest.StashKey[list[LiveServer]]()
_logger = logging.getLogger("flask_socketio.testing")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flask_socketio", "Flask-SocketIO testing")
    parser.addini("socketio_receive_timeout",
                  "default seconds a test client's receive() waits for events from other "
                  "threads (in-process work never waits)", default="1.0")
    parser.addini("socketio_leak_guard", "fail tests that leave server tasks or threads "
                  "running", type="bool", default=False)
    group.addoption("--socketio-leak-guard", action="store_true", default=False,
                    help="fail tests that leave Socket.IO server tasks or threads running")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "socketio_leak_guard: fail the test if it leaves "
                            "in-process Socket.IO tasks or threads running")
    client_module.DEFAULT_TIMEOUT = float(config.getini("socketio_receive_timeout"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Remember every test client the test makes, to show their transcripts."""
    made = item.stash[_CLIENTS] = _MadeClients()
    client_module.creation_listeners.append(made.add)
    live_client_module.creation_listeners.append(made.add_live)
    try:
        outcome = yield
    finally:
        client_module.creation_listeners.remove(made.add)
        live_client_module.creation_listeners.remove(made.add_live)
    # A server exception no client call has raised yet (a task failing during the
    # test's last clock.advance) belongs to this test, not to the next one.
    failures = current_scheduler().pop_failures()
    if not failures:
        return
    if outcome.excinfo is not None or (made.count and made.all_quiet):
        for source, exc in failures:
            _logger.error("exception in %s", source, exc_info=exc)
        return
    for source, exc in failures[1:]:
        _logger.error("further exception in %s", source, exc_info=exc)
    outcome.force_exception(failures[0][1])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Remember every live server the test starts (fixtures too), to show their logs."""
    servers = item.stash[_SERVERS] = []
    live_module.creation_listeners.append(servers.append)
    try:
        yield
    finally:
        live_module.creation_listeners.remove(servers.append)
        del item.stash[_SERVERS]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for number, server in enumerate(item.stash.get(_SERVERS, []), start=1):
            report.sections.append((f"socketio live server {number} {server!r}: log",
                                    server.log or "(empty)"))
    if report.when != "call":
        return
    made = item.stash.get(_CLIENTS, None)
    if made is None:
        return
    del item.stash[_CLIENTS]  # items live as long as the session: keep no client past its test
    if not report.failed:
        return
    if made.count > len(made.recent):
        report.sections.append(("socketio transcripts", f"{made.count - len(made.recent)} "
                                "earlier clients not shown"))
    for number, client in made.recent:
        report.sections.append((f"socketio transcript: client {number} ({client.eio_sid})",
                                client.transcript.format()))
    for number, client in enumerate(made.live, start=1):
        report.sections.append((f"socketio transcript: live client {number} {client!r}",
                                client.transcript.format()))


@pytest.fixture
def socketio_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., SocketIOTestClient]]:
    """A factory of in-process test clients for the ``app`` fixture's SocketIO.

    ``socketio_client(namespace=None, auth=None, headers=None, query_string=None,
    flask_test_client=None, raise_server_exceptions=True, app=None, socketio=None)``
    returns a connected :class:`SocketIOTestClient`; all are closed at teardown.
    """
    made: list[SocketIOTestClient] = []

    def factory(namespace: str | None = None, *, app: Any = None, socketio: Any = None,
                **kwargs: Any) -> SocketIOTestClient:
        flask_app = app if app is not None else request.getfixturevalue("app")
        extension = socketio if socketio is not None else flask_app.extensions.get("socketio")
        if extension is None:
            raise LookupError("the app fixture's Flask app has no SocketIO: call "
                              "SocketIO(app) or socketio.init_app(app), or pass socketio=")
        test_client = extension.test_client(flask_app, namespace=namespace, **kwargs)
        made.append(test_client)
        return test_client

    yield factory
    for test_client in made:
        test_client.close()


@pytest.fixture
def socketio_server(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """A started :class:`~flask_socketio.testing.LiveServer` serving the ``app`` fixture.

    The real gevent server ``socketio.run`` uses, in a thread of the test process, on
    a free port of 127.0.0.1 (``socketio_server.url``). ``socketio_server.client(
    namespace=None, transports=['websocket'], auth=None, ...)`` makes live clients;
    ``socketio_server.call_in_server(function, ...)`` runs code in the server. It is
    stopped at teardown, which fails if it leaves a thread, greenlet or socket
    behind; a failing test's report shows its log.
    """
    server = LiveServer(request.getfixturevalue("app"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def socketio_emits(request: pytest.FixtureRequest) -> Iterator[EmitRecorder]:
    """Every emit the ``app`` fixture's SocketIO makes during the test (an
    :class:`~flask_socketio.testing.EmitRecorder`)::

        def test_news(socketio_emits):
            publish_news("hi")
            socketio_emits.assert_emitted("news", "hi", to="readers")
    """
    flask_app = request.getfixturevalue("app")
    extension = flask_app.extensions.get("socketio")
    if extension is None:
        raise LookupError("the app fixture's Flask app has no SocketIO: call "
                          "SocketIO(app) or socketio.init_app(app)")
    with EmitRecorder(extension) as recorder:
        yield recorder


@pytest.fixture
def socketio_clock() -> VirtualClock:
    """The clock of in-process servers: ``socketio_clock.advance(seconds)``."""
    return current_scheduler().clock


@pytest.fixture(autouse=True)
def _socketio_leak_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    enabled = (request.node.get_closest_marker("socketio_leak_guard") is not None
               or request.config.getini("socketio_leak_guard")
               or request.config.getoption("--socketio-leak-guard"))
    if not enabled:
        yield
        return
    scheduler = current_scheduler()
    tasks_before = set(scheduler.tasks)
    threads_before = set(threading.enumerate())
    yield
    scheduler.run_pending()
    tasks_left = [task for task in scheduler.tasks
                  if task not in tasks_before and not task.daemon]
    threads_left = [thread for thread in threading.enumerate()
                    if thread not in threads_before and thread.is_alive()]
    for task in tasks_left:
        task.kill()
    if tasks_left or threads_left:
        names = [f"task {task.name}" for task in tasks_left]
        names += [f"thread {thread.name}" for thread in threads_left]
        pytest.fail("the test left Socket.IO work running: " + ", ".join(names),
                    pytrace=False)


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any,
                              right: Any) -> list[str] | None:
    """Readable diffs when received events are compared."""
    if op != "==":
        return None
    if not (_is_received(left) or _is_received(right)):
        return None
    lines = ["received events differ:"]
    left_list = left if isinstance(left, list) else [left]
    right_list = right if isinstance(right, list) else [right]
    for index in range(max(len(left_list), len(right_list))):
        got = left_list[index] if index < len(left_list) else _NOTHING
        want = right_list[index] if index < len(right_list) else _NOTHING
        mark = "  " if got == want else "! "
        lines.append(f"{mark}[{index}] {_describe(got)}")
        if got != want:
            lines.append(f"    expected {_describe(want)}")
    return lines


#: Stands for a missing list item in a diff (shown bare, unlike the string '<nothing>').
_NOTHING = type("Nothing", (), {"__repr__": lambda self: "<nothing>"})()


def _is_received(value: Any) -> bool:
    if isinstance(value, ReceivedEvent):
        return True
    return isinstance(value, list) and any(isinstance(item, ReceivedEvent) for item in value)


def _describe(value: Any) -> str:
    if isinstance(value, dict) and {"name", "args", "namespace"} <= set(value):
        return f"{value['name']!r} args={value['args']!r} namespace={value['namespace']!r}"
    return repr(value)
