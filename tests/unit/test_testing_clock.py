"""The controllable clock: socketio.sleep and background tasks run on virtual time."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from flask_socketio import SocketIO, emit

pytestmark = pytest.mark.socketio_leak_guard


def make_app():
    app = Flask(__name__)
    socketio = SocketIO(app)
    tasks = []

    def ticker(period, name):
        count = 0
        while True:
            socketio.sleep(period)
            count += 1
            socketio.emit(name, count)

    @socketio.on("start")
    def start(period=10, name="tick"):
        tasks.append(socketio.start_background_task(ticker, period, name))
        emit("started", name)

    return app, socketio, tasks


def test_a_task_emitting_every_10_seconds_is_tested_with_advance(socketio_clock):
    app, socketio, tasks = make_app()
    client = socketio.test_client(app)
    client.emit("start")
    client.get_received()
    started = time.monotonic()
    socketio_clock.advance(9.99)
    client.assert_nothing_received()
    socketio_clock.advance(0.01)
    client.assert_received("tick", 1)
    socketio_clock.advance(30)
    assert [r.args for r in client.get_received()] == [[2], [3], [4]]
    assert time.monotonic() - started < 1  # 40 virtual seconds, at once
    tasks[0].kill()


def test_the_clock_is_the_client_scheduler_clock(socketio_clock):
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    assert client.scheduler.clock is socketio_clock


def test_advance_moves_now(socketio_clock):
    start = socketio_clock.now
    socketio_clock.advance(2.5)
    assert socketio_clock.now == pytest.approx(start + 2.5)
    assert repr(socketio_clock) == f"<VirtualClock now={socketio_clock.now:g}s>"


def test_tasks_of_different_periods_interleave_in_time_order(socketio_clock):
    app, socketio, tasks = make_app()
    client = socketio.test_client(app)
    client.emit("start", 3, "fast")
    client.emit("start", 5, "slow")
    client.get_received()
    socketio_clock.advance(14)
    assert [(r.name, r.args[0]) for r in client.get_received()] == [
        ("fast", 1), ("slow", 1), ("fast", 2), ("fast", 3), ("slow", 2), ("fast", 4)]
    for task in tasks:
        task.kill()


def test_runs_are_deterministic():
    from flask_socketio.testing.scheduler import current_scheduler, retire_scheduler

    def run():
        retire_scheduler()  # each run from the state a test starts in: time 0, no task
        app, socketio, tasks = make_app()
        client = socketio.test_client(app)
        for period in (0.7, 1.1, 1.3):
            client.emit("start", period, f"every {period}")
        client.get_received()
        current_scheduler().clock.advance(10)
        names = [r.name for r in client.get_received()]
        for task in tasks:
            task.kill()
        client.close()
        return names

    first = run()
    assert len(first) == 14 + 9 + 7
    assert all(run() == first for _ in range(3))


def test_socketio_sleep_in_the_test_moves_the_clock(socketio_clock):
    app, socketio, tasks = make_app()
    client = socketio.test_client(app)
    client.emit("start", 1)
    client.get_received()
    start = socketio_clock.now
    socketio.sleep(3)
    assert socketio_clock.now == pytest.approx(start + 3)
    assert len(client.get_received()) == 3
    tasks[0].kill()


def test_a_handler_that_sleeps_finishes_when_the_clock_reaches_it(socketio_clock):
    app, socketio, _ = make_app()

    @socketio.on("slow")
    def slow():
        socketio.sleep(60)
        emit("done")

    client = socketio.test_client(app)
    client.emit("slow")
    client.assert_nothing_received()
    socketio_clock.advance(59)
    client.assert_nothing_received()
    socketio_clock.advance(1)
    client.assert_received("done")


def test_the_clock_cannot_go_backwards(socketio_clock):
    with pytest.raises(ValueError, match="backwards"):
        socketio_clock.advance(-1)


def test_a_task_cannot_move_the_clock(socketio_clock):
    app, socketio, _ = make_app()
    errors = []

    @socketio.on("advance")
    def advance():
        try:
            socketio_clock.advance(1)
        except RuntimeError as exc:
            errors.append(str(exc))

    client = socketio.test_client(app)
    client.emit("advance")
    assert errors == ["a task cannot move the clock: call socketio.sleep() instead"]


def test_two_socketio_instances_share_one_clock(socketio_clock):
    app_one, socketio_one, tasks_one = make_app()
    app_two, socketio_two, tasks_two = make_app()
    one = socketio_one.test_client(app_one)
    two = socketio_two.test_client(app_two)
    one.emit("start", 2, "one")
    two.emit("start", 3, "two")
    one.get_received()
    two.get_received()
    socketio_clock.advance(6)
    assert [r.args[0] for r in one.get_received()] == [1, 2, 3]
    assert [r.args[0] for r in two.get_received()] == [1, 2]
    for task in tasks_one + tasks_two:
        task.kill()


def test_killed_tasks_stop_and_report_it(socketio_clock):
    app, socketio, tasks = make_app()
    client = socketio.test_client(app)
    client.emit("start", 1)
    task = tasks[0]
    assert task.is_alive()
    task.kill()
    assert not task.is_alive()
    socketio_clock.advance(5)
    assert [r.name for r in client.get_received()] == ["started"]
    task.join()  # returns at once
