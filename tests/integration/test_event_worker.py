"""The native engine runs a connection's events in a worker greenlet of its own (no
greenlet per event), yet as a greenlet per event would: in order, a handler that
waits does not stall the connection's reads nor its next events, and each event
starts with a fresh ``contextvars`` context."""

from __future__ import annotations

import contextvars
import threading

import pytest
from flask import Flask

from flask_socketio import SocketIO, call, emit
from flask_socketio.testing import LiveServer

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="unset")


def make_app() -> tuple[Flask, SocketIO, dict]:
    app = Flask(__name__)
    socketio = SocketIO(app)
    state: dict = {"seen": [], "released": None}

    @socketio.on("seq")
    def seq(n):
        state["seen"].append(n)

    @socketio.on("seen")
    def seen():
        return list(state["seen"])

    @socketio.on("wait_for_release")
    def wait_for_release():
        import gevent.event

        state["released"] = event = gevent.event.Event()
        return event.wait(timeout=5)

    @socketio.on("release")
    def release():
        state["released"].set()
        return "released"

    @socketio.on("ask")
    def ask(question):
        return call("question", question, timeout=5)

    @socketio.on("mark")
    def mark(value):
        before = MARK.get()
        MARK.set(value)
        return before

    @socketio.on("echo")
    def echo(data):
        emit("echo", data)

    return app, socketio, state


@pytest.fixture(params=[["websocket"], ["polling"]], ids=["websocket", "polling"])
def live(request):
    app, socketio, state = make_app()
    with LiveServer(app) as server:
        yield server, state, request.param


def test_events_of_a_connection_are_handled_in_order(live):
    server, state, transports = live
    client = server.client(transports=transports)
    for n in range(200):
        client.emit("seq", n)
    assert client.call("seen") == list(range(200))


def test_a_waiting_handler_does_not_hold_up_the_next_events(live):
    server, state, transports = live
    client = server.client(transports=transports)
    results = {}
    waiter = threading.Thread(
        target=lambda: results.setdefault("wait", client.call("wait_for_release",
                                                              timeout=10)))
    waiter.start()
    try:
        for _ in range(100):  # the first handler must be waiting before the release
            if state["released"] is not None:
                break
            threading.Event().wait(0.05)
        assert client.call("release", timeout=10) == "released"
    finally:
        waiter.join(15)
    assert results["wait"] is True


def test_a_handler_calling_back_the_same_client_does_not_stall_reads(live):
    server, state, transports = live
    client = server.client(transports=transports)
    client.on("question", lambda question: f"answer to {question}")
    for n in range(3):
        assert client.call("ask", n, timeout=10) == f"answer to {n}"


def test_every_event_starts_with_a_fresh_context(live):
    server, state, transports = live
    client = server.client(transports=transports)
    assert client.call("mark", "first") == "unset"
    assert client.call("mark", "second") == "unset"
