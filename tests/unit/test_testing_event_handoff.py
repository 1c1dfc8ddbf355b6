"""An event's handler runs in the in-process reader's task when a task of its own would
run next anyway: one task per event instead of two, and nothing else changes (order,
blocking handlers, failures, the names the leak guard shows)."""

from __future__ import annotations

import pytest
from flask import Flask
from socketio import packet

from flask_socketio import SocketIO, emit
from flask_socketio.testing import scheduler as scheduler_module


@pytest.fixture
def app_and_socketio():
    app = Flask(__name__)
    socketio = SocketIO(app)
    return app, socketio


def count_tasks(monkeypatch):
    started: list[str] = []
    original = scheduler_module.Scheduler.start_background_task

    def counting(self, target, *args, **kwargs):
        started.append(getattr(target, "__qualname__", repr(target)))
        return original(self, target, *args, **kwargs)

    monkeypatch.setattr(scheduler_module.Scheduler, "start_background_task", counting)
    return started


def test_an_event_costs_one_task(app_and_socketio, monkeypatch):
    app, socketio = app_and_socketio

    @socketio.on("echo")
    def on_echo(data):
        emit("echo", data)

    client = socketio.test_client(app)
    started = count_tasks(monkeypatch)
    client.emit("echo", 1)
    assert client.get_received() == [{"name": "echo", "args": [1], "namespace": "/"}]
    assert started == ["InProcessSocket._read"]


def test_a_blocked_handler_does_not_stop_the_next_events(app_and_socketio):
    app, socketio = app_and_socketio
    gate = socketio.server.eio.create_event()
    order = []

    @socketio.on("wait")
    def on_wait():
        order.append("waiting")
        gate.wait()
        order.append("released")
        emit("done")

    @socketio.on("open")
    def on_open():
        order.append("open")
        gate.set()

    client = socketio.test_client(app)
    client.emit("wait")
    assert order == ["waiting"]
    client.emit("open")
    assert order == ["waiting", "open", "released"]
    assert [event["name"] for event in client.get_received()] == ["done"]


def test_events_sent_together_run_in_order_each_in_a_task(app_and_socketio, monkeypatch):
    app, socketio = app_and_socketio
    order = []

    @socketio.on("step")
    def on_step(n):
        order.append(n)
        socketio.sleep(0)
        order.append(-n)

    client = socketio.test_client(app)
    started = count_tasks(monkeypatch)
    for n in (1, 2, 3):  # three events read in one pass of the reader
        client._send(packet.EVENT, "/", data=["step", n])
    client._sync()
    # the first two get tasks of their own (more was still to be read), and so does
    # the last (their tasks were ready before it): the order stays as it always was
    assert order == [1, 2, 3, -1, -2, -3]
    assert started == ["InProcessSocket._read"] + ["ProtocolServer._handle_event_internal"] * 3


def test_a_blocked_handler_is_named_as_its_own_task_would_be(app_and_socketio):
    app, socketio = app_and_socketio
    gate = socketio.server.eio.create_event()

    @socketio.on("wait")
    def on_wait():
        gate.wait()

    client = socketio.test_client(app)
    client.emit("wait")
    names = [task.name for task in client.scheduler.tasks]
    assert names == ["ProtocolServer._handle_event_internal"]
    gate.set()
    client.emit("wait")  # a second one, after the first ended
    gate.set()
    client._sync()
    assert client.scheduler.tasks == []


def test_a_handler_failure_is_raised_in_the_test(app_and_socketio):
    app, socketio = app_and_socketio

    @socketio.on("boom")
    def on_boom():
        raise KeyError("boom")

    client = socketio.test_client(app)
    with pytest.raises(KeyError):
        client.emit("boom")
    assert client.is_connected()
