"""Fixtures of the live scale and deployment tests: server processes, clients, channels."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from .live_app import create_app
from .processes import Client, ProcessGroup
from .support import child_processes, leftovers


@pytest.fixture
def processes() -> Iterator[ProcessGroup]:
    """Start server processes with ``processes.start(...)`` or ``processes.node(...)``;
    all are stopped at the end of the test, and their output is printed (pytest
    shows it when the test fails)."""
    group = ProcessGroup()
    try:
        yield group
    finally:
        group.stop_all()
        print(group.logs())


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    """A list to put :class:`Client` objects in; they are disconnected at the end."""
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def channel() -> str:
    """A queue channel of this test alone, so tests sharing a broker do not mix."""
    return f"flask-socketio-test-{uuid.uuid4().hex[:12]}"


# -- the live suite: nothing left running, a fresh app, one test body per transport ------

#: How the core behaviours are driven: the in-process test client, then live clients
#: (python-socketio's) on a LiveServer over WebSocket only and over long-polling only.
CLIENT_MODES = ("inprocess", "websocket", "polling")


@pytest.fixture(autouse=True)
def _nothing_left_running() -> Iterator[None]:
    """Fail a test that leaves a thread or a child process behind, or monkey-patches."""
    import gevent.monkey

    threads_before = set(threading.enumerate())
    children_before = child_processes()
    yield
    left = leftovers(threads_before, children_before)
    if left:
        pytest.fail("the test left running: " + ", ".join(left), pytrace=False)
    if gevent.monkey.is_anything_patched():
        pytest.fail("gevent monkey-patched the test process", pytrace=False)


@pytest.fixture
def app():
    """A fresh app of :mod:`tests.integration.live_app` (modules may override it)."""
    flask_app, _ = create_app()
    return flask_app


@pytest.fixture(params=CLIENT_MODES)
def client_mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_client(request: pytest.FixtureRequest, client_mode: str, app):
    """Connected clients with one API, whatever ``client_mode`` drives them.

    ``make_client(namespace=None, auth=None, headers=None, query_string=None)`` gives
    a :class:`~flask_socketio.testing.SocketIOTestClient` (``inprocess``) or a
    :class:`~flask_socketio.testing.LiveSocketIOClient` on the ``socketio_server``
    fixture, over ``websocket`` or ``polling`` only. ``make_client.mode`` says which.
    All are closed at teardown.
    """
    if client_mode == "inprocess":
        socketio = app.extensions["socketio"]
        made = []

        def factory(namespace=None, **options):
            client = socketio.test_client(app, namespace=namespace, **options)
            made.append(client)
            return client

        factory.mode = client_mode
        yield factory
        for client in made:
            client.close()
        return
    server = request.getfixturevalue("socketio_server")

    def live_factory(namespace=None, **options):
        return server.client(namespace, transports=[client_mode], **options)

    live_factory.mode = client_mode
    yield live_factory  # the server closes its clients when it stops
