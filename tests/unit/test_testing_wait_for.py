"""In-process waits move the virtual clock: ``wait_for`` and ``receive(timeout=)``."""

from __future__ import annotations

import time

import pytest
from flask import Flask, request

from flask_socketio import SocketIO


def make_app():
    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("every")
    def every(period, count):
        sid = request.sid

        def tick():
            for number in range(count):
                socketio.sleep(period)
                socketio.emit("tick", number, to=sid)

        socketio.start_background_task(tick)

    return app, socketio


def test_wait_for_moves_the_clock_only_as_far_as_needed(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("every", 10, 5)
    started = time.monotonic()
    ticks = client.wait_for("tick", count=2, within=60)
    assert [tick.args for tick in ticks] == [[0], [1]]
    assert socketio_clock.now == 20
    assert time.monotonic() - started < 1
    socketio_clock.advance(30)  # let the ticker finish
    assert len(client.get_received()) == 3


def test_wait_for_too_few_moves_the_clock_by_within_and_says_so(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("every", 10, 1)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="waited for 2 'tick' event.*for 15s "
                                           r"\(in-process clock\); 1 arrived"):
        client.wait_for("tick", count=2, within=15)
    assert socketio_clock.now == 15
    assert time.monotonic() - started < 1


def test_wait_for_takes_what_already_arrived_without_moving_the_clock(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("every", 0, 3)
    assert len(client.wait_for("tick", count=3, within=0)) == 3
    assert socketio_clock.now == 0


def test_wait_for_needs_a_positive_count():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.raises(ValueError, match="count"):
        client.wait_for("tick", count=0)


def test_receive_with_a_timeout_moves_the_virtual_clock(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("every", 3, 1)
    started = time.monotonic()
    assert client.receive("tick", timeout=5).args == [0]
    assert socketio_clock.now == 3  # stopped when the event came
    assert time.monotonic() - started < 1


def test_receive_with_a_timeout_that_passes_raises_without_real_waiting(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("every", 30, 1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.receive("tick", timeout=5)
    assert socketio_clock.now == 5
    assert time.monotonic() - started < 1
    client.assert_received("tick", 0, timeout=30)
    assert socketio_clock.now == 30


def test_refute_received_with_a_timeout_watches_the_virtual_clock(socketio_clock):
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("every", 30, 1)
    started = time.monotonic()
    client.refute_received("tick", timeout=10)  # nothing within 10 virtual seconds
    assert socketio_clock.now == 10
    with pytest.raises(AssertionError, match="expected no 'tick'"):
        client.refute_received("tick", timeout=60)  # it comes at 30
    assert socketio_clock.now == 30  # stopped there
    assert time.monotonic() - started < 1
