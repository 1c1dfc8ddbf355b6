"""Waiting and asserting: receive() is exact in-process, assertions say what arrived."""

from __future__ import annotations

import pytest
from flask import Flask, request

from flask_socketio import SocketIO, emit, send
from flask_socketio.testing import ANY

pytestmark = pytest.mark.socketio_leak_guard


def make_app():
    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("burst")
    def burst(*names):
        for name in names:
            emit(name, name.upper())

    @socketio.on("burst", namespace="/side")
    def burst_side(*names):
        for name in names:
            emit(name, "side")

    @socketio.on("later")
    def later(delay, *names):
        sid = request.sid

        def task():
            socketio.sleep(delay)
            for name in names:
                socketio.emit(name, delay, to=sid)
                socketio.sleep(0)

        socketio.start_background_task(task)

    @socketio.on("profile")
    def profile():
        emit("profile", {"id": 7, "token": "random", "tags": ["a", "b"]}, "extra")

    @socketio.on("message")
    def message(data):
        send(data)

    return app, socketio


def test_receive_returns_the_next_event():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("burst", "a", "b")
    first = client.receive()
    assert first == {"name": "a", "args": ["A"], "namespace": "/"}
    assert (first.name, first.args, first.namespace) == ("a", ["A"], "/")
    assert client.receive().name == "b"


def test_receive_by_event_name_leaves_the_others_in_order():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("burst", "a", "b", "c")
    assert client.receive("b").name == "b"
    assert [r.name for r in client.get_received()] == ["a", "c"]


def test_receive_by_namespace():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/side")
    client.emit("burst", "x")
    client.emit("burst", "x", namespace="/side")
    assert client.receive("x", namespace="/side").args == ["side"]
    assert client.receive("x").args == ["X"]  # None is '/', as in get_received()
    with pytest.raises(TimeoutError):
        client.receive(namespace="/side")


def test_receive_runs_pending_background_work_first():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("later", 0, "one", "two", "three")
    # the task yields between emits: receive() runs it to the end, no timeout needed
    assert [client.receive().name for _ in range(3)] == ["one", "two", "three"]


def test_receive_is_exact_and_does_not_move_the_clock():
    app, socketio = make_app()
    client = socketio.test_client(app)
    clock = client.scheduler.clock
    start = clock.now
    client.emit("later", 5, "tick")
    with pytest.raises(TimeoutError):
        client.receive("tick")
    assert clock.now == start
    clock.advance(5)
    assert client.receive("tick").args == [5]


def test_receive_timeout_error_says_what_arrived_instead():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("burst", "other")
    with pytest.raises(TimeoutError) as info:
        client.receive("wanted")
    message = str(info.value)
    assert "expected event 'wanted'" in message
    assert "'other'" in message
    assert client.receive().name == "other"  # not consumed by the failed wait


def test_receive_with_an_explicit_timeout_still_raises_timeout_error():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.raises(TimeoutError, match="expected event 'never' on namespace '/'"):
        client.receive("never", namespace="/", timeout=0.01)


def test_assert_received_checks_arguments_and_returns_the_record():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("profile")
    record = client.assert_received("profile", {"id": 7, "token": "random",
                                                "tags": ["a", "b"]}, "extra")
    assert record.name == "profile"
    client.assert_nothing_received()


def test_assert_received_with_any():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("profile")
    client.emit("profile")
    client.emit("profile")
    client.assert_received("profile", ANY, "extra")
    client.assert_received("profile", {"id": 7, "token": ANY, "tags": ANY}, ANY)
    with pytest.raises(AssertionError):
        client.assert_received("profile", {"id": 8, "token": ANY, "tags": ANY}, ANY)


def test_assert_received_mismatch_says_expected_and_received():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("profile")
    with pytest.raises(AssertionError) as info:
        client.assert_received("profile", {"id": 8})
    message = str(info.value)
    assert "expected event 'profile' on namespace '/' with arguments [{'id': 8}]" in message
    assert "args[0]['id']: expected 8, got 7" in message
    assert "args: expected 1 items, got 2" in message
    assert "args[0]['token']: unexpected (got 'random')" in message


def test_assert_received_of_nothing_is_an_assertion_error():
    app, socketio = make_app()
    client = socketio.test_client(app)
    with pytest.raises(AssertionError, match="expected event 'absent'"):
        client.assert_received("absent")


def test_assert_received_argument_count_matters():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("profile")
    with pytest.raises(AssertionError):
        client.assert_received("profile", ANY)


def test_assert_received_for_messages_takes_the_data_itself():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.send({"text": "hi"})
    client.assert_received("message", {"text": ANY})


def test_assert_nothing_received():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.assert_nothing_received()
    client.emit("burst", "noise")
    with pytest.raises(AssertionError, match="(?s)expected nothing.*'noise'"):
        client.assert_nothing_received()
    client.get_received()
    client.assert_nothing_received()


def test_assert_nothing_received_runs_pending_work_first():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.emit("later", 0, "queued")
    with pytest.raises(AssertionError, match="'queued'"):
        client.assert_nothing_received()
    client.get_received()


def test_assert_nothing_received_per_namespace():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/side")
    client.emit("burst", "x", namespace="/side")
    client.assert_nothing_received("/")
    with pytest.raises(AssertionError):
        client.assert_nothing_received("/side")
    client.assert_nothing_received()  # None is '/'
    with pytest.raises(AssertionError, match="'/side'"):
        client.assert_nothing_received(ANY)
