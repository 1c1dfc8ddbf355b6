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

The plugin is inert until a test uses Socket.IO: one of these fixtures, a test
client, a live server, a ``SocketIO`` made by the test's own code, the ``socketio``
marker, or the ``socketio_activate`` ini option. From then on, each test ends with
its in-process tasks cancelled and its scheduler replaced (a fresh virtual clock at
0); a test that left tasks running fails, naming them (the leak guard, on unless the
``socketio_leak_guard`` ini option is false). A failing test shows the transcript of
every test client it made (live ones too) and the log of every live server it
started. The ini option ``socketio_receive_timeout`` sets the default receive timeout.

Only :mod:`pytest` is imported until then, so that projects in the same environment
that never use the plugin pay nothing for it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .client import SocketIOTestClient
    from .emits import EmitRecorder
    from .live import LiveServer
    from .scheduler import VirtualClock

#: A failing test shows the transcripts of at most this many of its clients (the most
#: recent), so that a test making thousands of clients does not keep them all alive.
MAX_TRANSCRIPTS = 20

_logger = logging.getLogger("flask_socketio.testing")


class _MadeClients:
    """The clients a test made: how many, and the most recent ones."""

    def __init__(self) -> None:
        self.count = 0
        self.recent: deque[tuple[int, SocketIOTestClient]] = deque(maxlen=MAX_TRANSCRIPTS)
        #: Did every client ask for server exceptions to be logged, not raised?
        self.all_quiet = True
        #: The most recent live clients (:class:`~flask_socketio.testing.LiveSocketIOClient`).
        self.live: deque[Any] = deque(maxlen=MAX_TRANSCRIPTS)
        #: The live servers the test started.
        self.servers: list[LiveServer] = []

    def add(self, client: SocketIOTestClient) -> None:
        self.count += 1
        self.recent.append((self.count, client))
        self.all_quiet = self.all_quiet and not client.raise_server_exceptions

    def add_live(self, client: Any) -> None:
        """A live client: its transcript is shown too (live servers log their errors)."""
        self.live.append(client)


class _Active:
    """The plugin's per-test work, registered with pytest once a test uses Socket.IO."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.made = _MadeClients()
        self.threads_before = set(threading.enumerate())
        #: Did the current test's call phase run under :meth:`pytest_runtest_call`?
        self.call_wrapped = False

    # -- what a test makes -------------------------------------------------------------

    def client_made(self, client: SocketIOTestClient) -> None:
        self.made.add(client)

    def live_client_made(self, client: Any) -> None:
        self.made.add_live(client)

    def server_made(self, server: LiveServer) -> None:
        self.made.servers.append(server)

    # -- the hooks -----------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item,
                                nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        self.made = _MadeClients()
        self.threads_before = set(threading.enumerate())
        self.call_wrapped = False
        try:
            return (yield)
        finally:
            self.made = _MadeClients()  # keep no client past its test

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """A server exception no client call has raised yet (a task failing during the
        test's last ``clock.advance``) belongs to this test, not to the next one."""
        self.call_wrapped = True
        failed = True
        try:
            yield
            failed = False
        finally:
            self._raise_leftover_failures(test_failed=failed)

    def _raise_leftover_failures(self, test_failed: bool) -> None:
        failures = _pop_failures()
        if not failures:
            return
        made = self.made
        if test_failed or (made.count and made.all_quiet):
            for source, exc in failures:
                _logger.error("exception in %s", source, exc_info=exc)
            return
        for source, exc in failures[1:]:
            _logger.error("further exception in %s", source, exc_info=exc)
        raise failures[0][1]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item,
                                nextitem: pytest.Item | None) -> Generator[None, None, None]:
        """After the fixtures' teardown: cancel what the test left running, give the
        next test a fresh scheduler, and fail the test if the leak guard is on."""
        yield
        if not self.call_wrapped:  # activated during this test's call
            self._raise_leftover_failures(test_failed=False)
        tasks_left = _retire_scheduler()
        if not _leak_guard_on(item):
            if tasks_left:
                _logger.info("cancelled Socket.IO tasks the test left running: %s",
                             ", ".join(task.name for task in tasks_left))
            return
        threads_left = [thread for thread in threading.enumerate()
                        if thread not in self.threads_before and thread.is_alive()
                        and not thread.daemon]
        if tasks_left or threads_left:
            names = [f"task {task.name}" for task in tasks_left]
            names += [f"thread {thread.name}" for thread in threads_left]
            pytest.fail("the test left Socket.IO work running: " + ", ".join(names)
                        + " (tasks were cancelled; the socketio_leak_guard ini option "
                          "turns this check off)", pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
        report = yield
        made = self.made
        if report.failed:
            for number, server in enumerate(made.servers, start=1):
                report.sections.append((f"socketio live server {number} {server!r}: log",
                                        server.log or "(empty)"))
        if report.when != "call" or not report.failed:
            return report
        if made.count > len(made.recent):
            report.sections.append(("socketio transcripts", f"{made.count - len(made.recent)} "
                                    "earlier clients not shown"))
        for number, client in made.recent:
            report.sections.append((f"socketio transcript: client {number} ({client.eio_sid})",
                                    client.transcript.format()))
        for number, client in enumerate(made.live, start=1):
            report.sections.append((f"socketio transcript: live client {number} {client!r}",
                                    client.transcript.format()))
        return report


def _pop_failures() -> list[tuple[str, BaseException]]:
    scheduler_module = sys.modules.get("flask_socketio.testing.scheduler")
    if scheduler_module is None:
        return []
    failures: list[tuple[str, BaseException]] = (
        scheduler_module.current_scheduler().pop_failures())
    return failures


def _retire_scheduler() -> list[Any]:
    scheduler_module = sys.modules.get("flask_socketio.testing.scheduler")
    return [] if scheduler_module is None else scheduler_module.retire_scheduler()


def _leak_guard_on(item: pytest.Item) -> bool:
    return bool(item.get_closest_marker("socketio_leak_guard") is not None
                or item.config.getoption("--socketio-leak-guard")
                or item.config.getini("socketio_leak_guard"))


class _Session:
    """One pytest run's plugin state (pytester nests runs in one process)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.active: _Active | None = None
        import greenlet

        #: The greenlet running the tests: only its code is "the test's own code".
        self.test_greenlet = greenlet.getcurrent()

    def activate(self) -> _Active:
        if self.active is None:
            self.active = _Active(self.config)
            self.config.pluginmanager.register(self.active, "flask_socketio-active")
        return self.active

    def in_test(self) -> bool:
        if "PYTEST_CURRENT_TEST" not in os.environ:
            return False
        import greenlet

        return greenlet.getcurrent() is self.test_greenlet


_sessions: list[_Session] = []


def _session() -> _Session | None:
    return _sessions[-1] if _sessions else None


def _activating(record: Callable[[_Active, Any], None]) -> Callable[[Any], None]:
    """A listener that turns the per-test work on and hands it what was just made."""

    def listener(made: Any) -> None:
        session = _session()
        if session is not None:
            record(session.activate(), made)

    return listener


_on_test_client = _activating(_Active.client_made)
_on_live_client = _activating(_Active.live_client_made)
_on_live_server = _activating(_Active.server_made)


def _on_adopted(router: Any) -> None:
    session = _session()
    if session is not None and session.in_test():
        session.activate()


def _in_test() -> bool:
    session = _session()
    return session is not None and session.in_test()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flask_socketio", "Flask-SocketIO testing")
    parser.addini("socketio_receive_timeout",
                  "default seconds a test client's receive() waits for events from other "
                  "threads (in-process work never waits)", default="1.0")
    parser.addini("socketio_leak_guard", "fail tests that leave Socket.IO server tasks "
                  "(or non-daemon threads) running (on by default)", type="bool",
                  default=True)
    parser.addini("socketio_activate", "do the plugin's per-test work in every test, "
                  "not only from the first test that uses Socket.IO", type="bool",
                  default=False)
    group.addoption("--socketio-leak-guard", action="store_true", default=False,
                    help="fail tests that leave Socket.IO server tasks or threads running, "
                         "whatever the socketio_leak_guard ini option says")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "socketio_leak_guard: fail the test if it leaves "
                            "in-process Socket.IO tasks or threads running")
    config.addinivalue_line("markers", "socketio: the test uses Socket.IO (turns on the "
                            "plugin's per-test work from its first such test)")
    from ..engine import adoption
    from . import hooks

    session = _Session(config)
    _sessions.append(session)
    timeout = float(config.getini("socketio_receive_timeout"))
    hooks.receive_timeout = timeout
    client_module = sys.modules.get("flask_socketio.testing.client")
    if client_module is not None:
        client_module.DEFAULT_TIMEOUT = timeout  # type: ignore[attr-defined]
    # Into the modules as they are now: a nested (pytester) run may have re-imported them.
    for listeners, listener in _listeners(hooks, adoption):
        if listener not in listeners:
            listeners.append(listener)
    adoption.in_test = _in_test
    adoption.make_engine = _make_engine
    if config.getini("socketio_activate"):
        session.activate()


def _make_engine(id_factory: Callable[[], str]) -> Any:
    """The engine an adopted server attaches: the in-process one."""
    from .inprocess import InProcessEngine

    return InProcessEngine(id_factory)


def _listeners(hooks: Any, adoption: Any) -> tuple[tuple[list[Any], Callable[..., Any]], ...]:
    return ((hooks.test_clients, _on_test_client), (hooks.live_clients, _on_live_client),
            (hooks.live_servers, _on_live_server), (adoption.adopted, _on_adopted))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``socketio`` marker turns the per-test work on before the first test runs."""
    session = _session()
    if session is None or session.active is not None:
        return
    if any(item.get_closest_marker(name) is not None for item in items
           for name in ("socketio", "socketio_leak_guard")):
        session.activate()


def pytest_unconfigure(config: pytest.Config) -> None:
    from ..engine import adoption
    from . import hooks

    session = _sessions.pop() if _sessions else None
    if session is not None and session.active is not None:
        config.pluginmanager.unregister(session.active)
    if not _sessions:
        for listeners, listener in _listeners(hooks, adoption):
            if listener in listeners:
                listeners.remove(listener)
        adoption.in_test = None
        adoption.make_engine = None
        hooks.receive_timeout = None
    else:  # the end of a nested (pytester) run: the outer run's setting again
        hooks.receive_timeout = float(_sessions[-1].config.getini("socketio_receive_timeout"))


def _activate_for(request: pytest.FixtureRequest) -> _Active | None:
    session = _session()
    return None if session is None else session.activate()


@pytest.fixture
def socketio_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., SocketIOTestClient]]:
    """A factory of in-process test clients for the ``app`` fixture's SocketIO.

    ``socketio_client(namespace=None, auth=None, headers=None, query_string=None,
    flask_test_client=None, raise_server_exceptions=True, app=None, socketio=None)``
    returns a connected :class:`SocketIOTestClient`; all are closed at teardown.
    """
    _activate_for(request)
    made: list[SocketIOTestClient] = []

    def factory(namespace: str | None = None, *, app: Any = None, socketio: Any = None,
                **kwargs: Any) -> SocketIOTestClient:
        flask_app = app if app is not None else request.getfixturevalue("app")
        extension = socketio if socketio is not None else flask_app.extensions.get("socketio")
        if extension is None:
            raise LookupError("the app fixture's Flask app has no SocketIO: call "
                              "SocketIO(app) or socketio.init_app(app), or pass socketio=")
        test_client: SocketIOTestClient = extension.test_client(
            flask_app, namespace=namespace, **kwargs)
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
    from .live import LiveServer

    _activate_for(request)
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
    from .emits import EmitRecorder

    _activate_for(request)
    flask_app = request.getfixturevalue("app")
    extension = flask_app.extensions.get("socketio")
    if extension is None:
        raise LookupError("the app fixture's Flask app has no SocketIO: call "
                          "SocketIO(app) or socketio.init_app(app)")
    _put_under_test(extension)
    with EmitRecorder(extension) as recorder:
        yield recorder


@pytest.fixture
def socketio_clock(request: pytest.FixtureRequest) -> VirtualClock:
    """The clock of in-process servers: ``socketio_clock.advance(seconds)``.

    If the project has an ``app`` fixture, its ``SocketIO`` is put under test, so that
    tasks it started before any test client run on this clock.
    """
    from .scheduler import current_scheduler

    _activate_for(request)
    try:
        app = request.getfixturevalue("app")
    except LookupError:  # pytest.FixtureLookupError: the project has no app fixture
        app = None
    _put_under_test(getattr(app, "extensions", {}).get("socketio") if app is not None else None)
    return current_scheduler().clock


def _put_under_test(extension: Any) -> None:
    """The ``SocketIO``'s tasks and sleeps run on the test's clock from now on."""
    server = getattr(extension, "server", None)
    if server is not None and hasattr(server.eio, "attach"):
        from .inprocess import in_process_engine

        in_process_engine(server.eio)


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: Any,
                              right: Any) -> list[str] | None:
    """Readable diffs when received events are compared."""
    if op != "==":
        return None
    records = sys.modules.get("flask_socketio.testing.records")
    if records is None:  # no event was ever received
        return None
    received_event = records.ReceivedEvent
    if not (_is_received(left, received_event) or _is_received(right, received_event)):
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


def _is_received(value: Any, received_event: type) -> bool:
    if isinstance(value, received_event):
        return True
    return isinstance(value, list) and any(isinstance(item, received_event) for item in value)


def _describe(value: Any) -> str:
    if isinstance(value, dict) and {"name", "args", "namespace"} <= set(value):
        return f"{value['name']!r} args={value['args']!r} namespace={value['namespace']!r}"
    return repr(value)
