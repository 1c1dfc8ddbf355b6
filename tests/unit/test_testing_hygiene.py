"""Hygiene: disconnect runs the server's real path, nothing is patched or kept, and
10,000 clients made and dropped leave no growth anywhere."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import tracemalloc
import weakref
from pathlib import Path

import pytest
import socketio as python_socketio
from flask import Flask, request, session

from flask_socketio import ConnectionRefusedError, SocketIO, call, disconnect, emit, join_room
from flask_socketio.testing import SocketIOTestClient
from flask_socketio.testing.plugin import MAX_TRANSCRIPTS
from flask_socketio.testing.scheduler import current_scheduler

pytestmark = pytest.mark.socketio_leak_guard

#: Set to ``inner`` in the process the memory test runs itself in.
MEMORY_RUN = "HYGIENE_MEMORY_RUN"


def make_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    socketio = SocketIO(app)
    disconnected = []

    @socketio.on("connect")
    def connect(auth):
        if auth == "refuse":
            raise ConnectionRefusedError("no")
        session["auth"] = auth

    @socketio.on("connect", namespace="/side")
    def connect_side():
        join_room("side room")

    @socketio.on("disconnect")
    def on_disconnect(reason):
        disconnected.append(("/", request.sid, reason, sorted(map(str, socketio.server.rooms(
            request.sid)))))

    @socketio.on("disconnect", namespace="/side")
    def on_disconnect_side(reason):
        disconnected.append(("/side", request.sid, reason, None))

    @socketio.on("work")
    def work(number, confirm=True):
        join_room(f"room {number % 7}")
        join_room("everyone")
        session["number"] = number
        emit("worked", number, to="everyone")
        return call("confirm", number, timeout=30) if confirm else number

    @socketio.on("leave_me")
    def leave_me():
        disconnect()

    return app, socketio, disconnected


def server_state(socketio, tasks_before=frozenset()):
    """What the server and the in-process transport hold, counted."""
    server = socketio.server
    engine = server.eio.attached
    scheduler = engine.scheduler
    return {
        "environ": len(server.environ),
        "rooms": sum(len(room) for rooms in server.manager.rooms.values()
                     for room in rooms.values()),
        "namespaces with rooms": sum(len(rooms) for rooms in server.manager.rooms.values()),
        "pending callbacks": sum(len(c) for c in server.manager.callbacks.values()),
        "engine sockets": len(engine.sockets),
        "tasks": len([task for task in scheduler.tasks if task not in tasks_before]),
        "timers": scheduler.timer_count,
        "failures": len(scheduler.failures),
    }


EMPTY = {"environ": 0, "rooms": 0, "namespaces with rooms": 0, "pending callbacks": 0,
         "engine sockets": 0, "tasks": 0, "timers": 0, "failures": 0}


@pytest.fixture
def state():
    """``state(socketio)``: :func:`server_state`, not counting tasks other tests left."""
    tasks_before = set(current_scheduler().tasks)
    return lambda socketio: server_state(socketio, tasks_before)


# -- the real disconnect path -------------------------------------------------------


def test_disconnect_runs_the_server_disconnect_path(state):
    app, socketio, disconnected = make_app()
    client = socketio.test_client(app, auth="a")
    client.on("confirm", lambda number: number)
    client.emit("work", 1)
    sid = client.sid
    assert state(socketio)["rooms"] > 0
    client.disconnect()
    assert disconnected == [("/", sid, socketio.reason.CLIENT_DISCONNECT,
                             sorted([sid, "room 1", "everyone"]))]
    assert socketio.server.environ == {}
    assert socketio.server.manager.rooms == {} or all(
        not rooms for rooms in socketio.server.manager.rooms.values())
    assert state(socketio) == EMPTY


def test_disconnect_of_one_namespace_cleans_only_its_rooms():
    app, socketio, disconnected = make_app()
    client = socketio.test_client(app, auth="a")
    client.connect("/side")
    side_sid = client.get_sid("/side")
    assert "side room" in client.rooms("/side")
    client.disconnect("/side")
    assert disconnected == [("/side", side_sid, socketio.reason.CLIENT_DISCONNECT, None)]
    assert "side room" not in socketio.server.manager.rooms.get("/side", {})
    assert client.eio_sid in socketio.server.environ
    assert client.rooms() == [client.sid]


def test_close_disconnects_every_namespace(state):
    app, socketio, disconnected = make_app()
    client = socketio.test_client(app, auth="a")
    client.connect("/side")
    client.close()
    assert {entry[0] for entry in disconnected} == {"/", "/side"}
    assert state(socketio) == EMPTY


def test_a_server_disconnect_cleans_up_too(state):
    app, socketio, disconnected = make_app()
    client = socketio.test_client(app, auth="a")
    client.emit("leave_me")
    assert disconnected[0][2] == socketio.reason.SERVER_DISCONNECT
    assert state(socketio) == EMPTY


def test_shutdown_disconnects_in_process_clients(state):
    app, socketio, disconnected = make_app()
    clients = [socketio.test_client(app, auth=n) for n in range(3)]
    socketio.server.eio.shutdown()
    assert len(disconnected) == 3
    assert not any(client.is_connected() for client in clients)
    assert state(socketio) == EMPTY


# -- nothing patched, nothing kept --------------------------------------------------


def test_nothing_is_patched():
    def snapshot(socketio):
        server = socketio.server
        return (dict(vars(python_socketio.Server)), dict(vars(type(server))),
                {k for k, v in vars(server).items() if callable(v) and hasattr(type(server), k)})

    app, socketio, _ = make_app()
    before = snapshot(socketio)
    client = socketio.test_client(app, auth="a")
    client.on("confirm", lambda number: number)
    client.emit("work", 1)
    assert snapshot(socketio) == before
    assert before[2] == set()  # no instance attribute shadows a server method


def test_dropped_clients_are_not_kept():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="a")
    client.emit("work", 1)
    client.receive("confirm").ack(1)
    client.disconnect()
    ref = weakref.ref(client)
    del client
    for _ in range(MAX_TRANSCRIPTS):  # the plugin keeps the last few for transcripts
        socketio.test_client(app, auth="refuse")
    gc.collect()
    assert ref() is None
    assert not [value for name, value in vars(SocketIOTestClient).items()
                if isinstance(value, (list, dict, set)) and value
                and name != "__annotations__"]  # no class-level registry


# -- 10,000 clients -----------------------------------------------------------------


def cycle(app, socketio, number, confirm=True):
    """One client's life: connect, work (rooms, session, acks both ways), leave."""
    kind = number % 4
    if kind == 3:
        client = socketio.test_client(app, auth="refuse")
        assert not client.is_connected()
        return
    client = socketio.test_client(app, auth=number)
    client.on("confirm", lambda value: value)
    assert client.emit("work", number, confirm, callback=True) == number
    assert client.receive("worked").args == [number]
    if kind == 0:
        client.disconnect()
    elif kind == 1:
        client.close()
    else:
        client.emit("leave_me")
        assert client.disconnect_reason == "io server disconnect"


def test_ten_thousand_clients_leave_no_growth(state):
    app, socketio, disconnected = make_app()
    for number in range(200):  # warm up caches, lazily built tables and free lists
        cycle(app, socketio, number)
    disconnected.clear()
    gc.collect()
    assert state(socketio) == EMPTY
    objects_before = len(gc.get_objects())
    # CPU time, not wall time: the machine's other work does not count
    started = time.process_time()
    for number in range(10_000):
        cycle(app, socketio, number, confirm=number % 10 == 0)
    elapsed = time.process_time() - started
    disconnected.clear()
    gc.collect()
    assert state(socketio) == EMPTY
    growth = len(gc.get_objects()) - objects_before
    assert growth < 200, f"{growth} objects more after 10,000 clients"
    assert elapsed < 60, f"10,000 clients took {elapsed:.1f} s of CPU"  # ~0.5 ms each here


def test_client_cycles_leave_no_memory_growth(state):
    if os.environ.get(MEMORY_RUN) != "inner":
        # Measured in a process of its own: in this one, threads earlier tests left
        # (a broker's listener reconnecting, a live server winding down) allocate
        # while the memory is traced, and would count as this test's growth.
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cov", "-p", "no:benchmark",
             "-p", "no:hypothesispytest",
             f"{__file__}::test_client_cycles_leave_no_memory_growth"],
            env={**os.environ, MEMORY_RUN: "inner"}, capture_output=True, text=True,
            timeout=300, cwd=Path(__file__).parents[2])
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 passed" in result.stdout, result.stdout
        return
    app, socketio, disconnected = make_app()
    tracemalloc.start()
    try:
        # warm up while tracing, so what stays for good (caches, the pytest plugin's
        # last few transcripts) is traced in both snapshots
        # (two rounds: what was left to be allocated once is done by the end of the
        # first; a leak keeps growing in the second)
        for number in range(600):
            cycle(app, socketio, number)
        disconnected.clear()
        gc.collect()
        before = tracemalloc.take_snapshot()
        for number in range(500):
            cycle(app, socketio, number)
        disconnected.clear()
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 16 * 1024, f"{growth} bytes more after 500 clients"  # < 32 B each
    assert state(socketio) == EMPTY
