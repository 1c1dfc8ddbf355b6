"""Tasks of a SocketIO that a test serves live: those the server's thread starts run
for real; those the test's own code starts run on the test's virtual clock."""

from __future__ import annotations

import threading

from flask_socketio.testing import LiveServer
from flask_socketio.testing.scheduler import current_scheduler

from .support import wait_until


def test_server_thread_tasks_are_real_and_test_tasks_are_on_the_clock(app):
    socketio = app.extensions["socketio"]
    ran: dict[str, object] = {}

    def task(name: str) -> None:
        socketio.sleep(0.01)
        ran[name] = threading.current_thread()

    with LiveServer(app) as server:
        server.call_in_server(socketio.start_background_task, task, "server")
        wait_until(lambda: "server" in ran, 5, "the server thread's task")
        assert ran["server"] is not threading.current_thread()

        socketio.start_background_task(task, "test")
        current_scheduler().clock.advance(0.005)
        assert "test" not in ran  # virtual time: not yet
        current_scheduler().clock.advance(0.005)
        assert ran["test"] is threading.current_thread()
