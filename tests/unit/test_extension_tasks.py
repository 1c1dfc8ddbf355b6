"""Background work: start_background_task, sleep, stop; the virtual clock of the tests."""

from __future__ import annotations

import pytest
from flask import Flask, current_app

from flask_socketio import SocketIO, emit
from flask_socketio.testing.scheduler import current_scheduler

pytestmark = pytest.mark.socketio_leak_guard


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    return app, SocketIO(app, **options)


def test_background_task_runs_with_args_and_kwargs():
    app, socketio = make_app()
    client = socketio.test_client(app)
    results = []

    def work(a, b, *, scale):
        results.append((a + b) * scale)
        socketio.emit("done", results[-1])

    task = socketio.start_background_task(work, 1, 2, scale=10)
    task.join()
    assert results == [30]
    client.assert_received("done", 30)
    assert not task.is_alive()


def test_background_task_sleeps_on_the_virtual_clock(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    ticks = []

    def ticker():
        for number in range(3):
            socketio.sleep(10)
            ticks.append(socketio_clock.now)
            socketio.emit("tick", number)

    start = socketio_clock.now
    task = socketio.start_background_task(ticker)
    socketio_clock.advance(25)
    assert [t - start for t in ticks] == [10, 20]
    assert [event.args for event in client.get_received()] == [[0], [1]]
    assert task.is_alive()
    socketio_clock.advance(5)
    assert [event.args for event in client.get_received()] == [[2]]
    assert not task.is_alive()


def test_socketio_sleep_in_the_test_moves_the_clock_and_runs_tasks():
    app, socketio = make_app()
    client = socketio.test_client(app)
    clock = current_scheduler().clock

    def later():
        socketio.sleep(3)
        socketio.emit("later")

    socketio.start_background_task(later)
    before = clock.now
    socketio.sleep(3)
    assert clock.now - before == pytest.approx(3)
    client.assert_received("later")


def test_sleep_zero_yields_to_other_tasks():
    app, socketio = make_app()
    order = []

    def worker(name):
        for step in range(2):
            order.append((name, step))
            socketio.sleep(0)

    first = socketio.start_background_task(worker, "a")
    second = socketio.start_background_task(worker, "b")
    first.join()
    second.join()
    assert order == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]


def test_background_task_started_from_a_handler_with_app_context():
    app, socketio = make_app()
    app.config["GREETING"] = "hi"

    def greet(sid):
        socketio.sleep(1)
        with app.app_context():
            socketio.emit("greeting", current_app.config["GREETING"], to=sid)

    @socketio.on("start")
    def start():
        from flask import request

        socketio.start_background_task(greet, request.sid)
        emit("started")

    client = socketio.test_client(app)
    other = socketio.test_client(app)
    client.emit("start")
    assert [event.name for event in client.get_received()] == ["started"]
    socketio.sleep(1)
    client.assert_received("greeting", "hi")
    other.assert_nothing_received()


def test_background_task_exception_reaches_the_test():
    app, socketio = make_app()
    client = socketio.test_client(app)

    def failing():
        raise ValueError("task failed")

    socketio.start_background_task(failing)
    with pytest.raises(ValueError, match="task failed"):
        client.emit("anything")
    assert client.is_connected()


def test_background_task_can_wait_for_a_client_answer(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.on("poll", lambda: "still here")
    answers = []

    def poller():
        for _ in range(2):
            socketio.sleep(30)
            answers.append(socketio.call("poll", to=client.sid, timeout=5))

    task = socketio.start_background_task(poller)
    socketio_clock.advance(60)
    task.join()
    assert answers == ["still here", "still here"]


def test_background_work_needs_a_server():
    socketio = SocketIO()
    with pytest.raises(RuntimeError, match="init_app"):
        socketio.start_background_task(lambda: None)
    with pytest.raises(RuntimeError, match="init_app"):
        socketio.sleep(1)


def test_stop_without_run_is_an_error():
    app, socketio = make_app()
    with pytest.raises(RuntimeError, match="not running"):
        socketio.stop()
