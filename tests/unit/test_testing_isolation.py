"""Isolation by construction: every task and sleep of a SocketIO under test runs on the
virtual clock, whoever started it and whenever; each test starts with a fresh clock."""

from __future__ import annotations

import time

import gevent
import greenlet
import pytest
from flask import Flask

from flask_socketio import SocketIO
from flask_socketio.testing.scheduler import BusyLoopError, current_scheduler

from .test_testing_plugin import QUIET

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _stop_the_tickers():
    """The app factory's ticker never ends: stop it before the leak guard looks."""
    yield
    for task in current_scheduler().tasks:
        if "ticker" in task.name:
            task.kill()


def create_app(ticks: list[float] | None = None) -> tuple[Flask, SocketIO]:
    """An app factory that starts a ticking background task, as apps often do."""
    app = Flask(__name__)
    socketio = SocketIO(app)

    def ticker() -> None:
        while True:
            socketio.sleep(1)
            if ticks is not None:
                ticks.append(current_scheduler().clock.now)
            socketio.emit("tick")

    socketio.ticker = socketio.start_background_task(ticker)  # type: ignore[attr-defined]
    return app, socketio


def test_a_task_started_in_an_app_factory_inside_a_test_runs_on_the_clock(socketio_clock):
    ticks: list[float] = []
    app, socketio = create_app(ticks)  # no test client yet
    socketio_clock.advance(3)
    assert ticks == [1, 2, 3]
    client = socketio.test_client(app)
    socketio_clock.advance(2)
    assert len(client.get_received()) == 2


def test_a_task_started_before_the_test_moves_to_the_clock_at_the_first_client(monkeypatch):
    # An app built outside any test (at import time, say): its task is a gevent
    # greenlet that has not run yet; the first test client moves it to the clock.
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    ticks: list[float] = []
    app, socketio = create_app(ticks)
    monkeypatch.undo()
    client = socketio.test_client(app)
    clock = current_scheduler().clock
    clock.advance(3)
    assert ticks == [1, 2, 3]
    assert [event.name for event in client.get_received()] == ["tick"] * 3
    gevent.sleep(0.01)  # the gevent greenlet it was is gone: nothing else ticks
    assert ticks == [1, 2, 3]


def test_a_gevent_greenlet_of_the_test_thread_never_spins_the_virtual_clock(monkeypatch):
    # Already running in gevent before the server came under test: its sleeps stay
    # real gevent sleeps (before, they moved the virtual clock: a busy loop).
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    app, socketio = create_app()
    monkeypatch.undo()
    slept = []

    def real_sleeper() -> None:
        for _ in range(3):
            socketio.sleep(0.01)
            slept.append(time.monotonic())

    runner = gevent.spawn(real_sleeper)
    gevent.sleep(0)  # it starts, in gevent, before any test client
    try:
        socketio.test_client(app)
        clock = current_scheduler().clock
        started = time.monotonic()
        runner.join(timeout=5)
        assert len(slept) == 3 and runner.dead
        assert time.monotonic() - started >= 0.015  # it really slept
        assert clock.now == 0  # and never touched the test's clock
    finally:
        # The app's ticker had started in gevent too (by the same gevent.sleep):
        # it stays a gevent greenlet, ticking on this thread's hub after the test.
        ticker = socketio.ticker  # type: ignore[attr-defined]
        assert isinstance(ticker, gevent.Greenlet), type(ticker)
        ticker.kill(block=True, timeout=5)
        assert ticker.dead


def test_sleep_by_the_test_before_any_client_moves_the_clock():
    app, socketio = create_app()
    clock = current_scheduler().clock
    started = time.monotonic()
    socketio.sleep(2)
    assert clock.now == 2
    assert time.monotonic() - started < 1  # no real waiting


def test_sleep_on_a_server_made_outside_the_test_moves_the_clock(monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    app = Flask(__name__)
    socketio = SocketIO(app)
    monkeypatch.undo()
    started = time.monotonic()
    socketio.sleep(5)
    assert current_scheduler().clock.now == 5
    assert time.monotonic() - started < 1


def test_a_task_busy_waiting_with_sleep_zero_is_an_error_not_a_hang(socketio_clock):
    app = Flask(__name__)
    socketio = SocketIO(app)
    client = socketio.test_client(app)
    state = {"done": False}

    def wait_for_time_to_pass() -> None:
        started = time.monotonic()
        while not state["done"] and time.monotonic() - started < 30:
            socketio.sleep(0)

    socketio.start_background_task(wait_for_time_to_pass)
    started = time.monotonic()
    with pytest.raises(BusyLoopError, match="wait_for_time_to_pass.*sleep\\(0\\)"):
        client.emit("anything")
    assert time.monotonic() - started < 10


def test_sleep_zero_loops_that_make_progress_are_not_busy_loops(socketio_clock):
    app = Flask(__name__)
    socketio = SocketIO(app)
    socketio.test_client(app)
    queue = socketio.server.eio.create_queue()
    got = []

    def producer() -> None:
        for number in range(5):
            socketio.sleep(1)
            queue.put(number)

    def consumer() -> None:
        while len(got) < 5:
            if queue.empty():
                socketio.sleep(0.5)
            else:
                got.append(queue.get())
                socketio.sleep(0)

    socketio.start_background_task(producer)
    socketio.start_background_task(consumer)
    socketio_clock.advance(6)
    assert got == [0, 1, 2, 3, 4]


def test_a_task_that_sends_while_yielding_is_not_a_busy_loop(monkeypatch):
    from flask_socketio.testing import scheduler as scheduler_module

    monkeypatch.setattr(scheduler_module, "SPIN_LIMIT", 50)
    app = Flask(__name__)
    socketio = SocketIO(app)
    client = socketio.test_client(app)

    def stream():
        for number in range(200):  # 4x the limit: each round sends a packet
            socketio.emit("n", number)
            socketio.sleep(0)

    socketio.start_background_task(stream)
    assert len(client.wait_for("n", count=200, within=0)) == 200


def test_ownership_is_per_greenlet_not_per_thread():
    app, socketio = create_app()
    router = socketio.server.eio
    assert router.runs_on_attached_engine()
    seen = []
    greenlet.greenlet(lambda: seen.append(router.runs_on_attached_engine())).switch()
    assert seen == [False]  # another greenlet of this same thread is not the test


ISOLATION_TESTS = '''
import pytest
from flask_socketio.testing.scheduler import current_scheduler

from conftest import create_app

left = {}


def test_a_leaves_a_task_sleeping(socketio_clock):
    app, socketio = create_app()
    client = socketio.test_client(app)

    def doomed():
        socketio.sleep(5)
        raise RuntimeError("test A's task ran in test B")

    left["task"] = socketio.start_background_task(doomed)
    socketio_clock.advance(3)
    left["app"] = (app, socketio, client)


def test_b_starts_clean(socketio_clock):
    assert socketio_clock.now == 0
    assert current_scheduler().tasks == []
    assert not left["task"].is_alive()
    app, socketio, client = left["app"]  # the same server, now on test B's clock
    socketio_clock.advance(10)  # A's task would have raised by now
    client.emit("ping")
    socketio.sleep(1)
    assert socketio_clock.now == 11

    @socketio.on("crash")
    def crash():
        raise KeyError("seen by test B")

    with pytest.raises(KeyError, match="seen by test B"):
        client.emit("crash")  # A's client: its handler errors reach test B
'''


def test_a_test_never_sees_the_tasks_or_the_time_of_the_test_before(pytester, monkeypatch):
    from flask_socketio.testing import client as client_module

    monkeypatch.setattr(client_module, "DEFAULT_TIMEOUT", client_module.DEFAULT_TIMEOUT)
    pytester.makeconftest('''
from flask import Flask
from flask_socketio import SocketIO


def create_app():
    app = Flask(__name__)
    return app, SocketIO(app)
''')
    pytester.makepyfile(ISOLATION_TESTS)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=2, errors=1)  # A's teardown reports its leftover task
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_a_leaves_a_task_sleeping*",
                                 "*left Socket.IO work running: task *doomed*"])
    pytester.makeini("[pytest]\nsocketio_leak_guard = false\n")
    pytester.runpytest(*QUIET).assert_outcomes(passed=2)


def test_a_memory_queue_of_module_level_servers_keeps_delivering_in_later_tests(pytester,
                                                                                monkeypatch):
    from flask_socketio.testing import client as client_module

    monkeypatch.setattr(client_module, "DEFAULT_TIMEOUT", client_module.DEFAULT_TIMEOUT)
    pytester.makepyfile('''
import uuid
import pytest
from flask import Flask
from flask_socketio import SocketIO, join_room

URL = "memory://" + uuid.uuid4().hex
apps = []
for _ in range(2):
    app = Flask(__name__)
    node = SocketIO(app, message_queue=URL)
    node.on("join")(lambda room: join_room(room))
    apps.append((app, node))


@pytest.mark.parametrize("round", [1, 2, 3])
def test_delivery_through_the_queue(round):
    (app1, node1), (app2, node2) = apps
    bob = node2.test_client(app2)
    bob.emit("join", "lobby")
    node1.emit("news", round, to="lobby")
    bob.assert_received("news", round)
    bob.disconnect()
''')
    pytester.runpytest(*QUIET).assert_outcomes(passed=3)
