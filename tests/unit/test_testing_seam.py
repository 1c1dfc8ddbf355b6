"""The toolkit talks to the extension through one named seam (``SocketIO.toolkit_seam``).

What a test client uses of a ``SocketIO`` is :class:`flask_socketio.toolkit_seam.ToolkitSeam`:
the server, the path and the bridge's per-connection hooks. No module of the toolkit
reaches into the extension's private members or its bridge. And the toolkit's fast
paths (slotted received events, tasks handed to a worker without the hub) keep what
they replaced.
"""

from __future__ import annotations

import copy
import pickle
import re
from pathlib import Path

import pytest
from flask import Flask, session

from flask_socketio import SocketIO
from flask_socketio.testing.records import ReceivedEvent
from flask_socketio.toolkit_seam import ToolkitSeam

TESTING = Path(__file__).resolve().parents[2] / "flask_socketio" / "testing"


def make_app(**options):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    socketio = SocketIO(app, **options)

    @socketio.on("remember")
    def remember(value):
        session["value"] = value

    return app, socketio


def test_the_seam_names_the_server_path_and_session_mode():
    app, socketio = make_app(path="/ws/io", manage_session=False)
    seam = socketio.toolkit_seam()
    assert isinstance(seam, ToolkitSeam)
    assert seam.server is socketio.server
    assert seam.path == "/ws/io"
    assert seam.manages_session() is False
    socketio.manage_session = True
    assert seam.manages_session() is True  # read when asked, not when made


def test_the_seam_needs_a_server():
    with pytest.raises(RuntimeError, match="init_app"):
        SocketIO().toolkit_seam()


def test_observe_sessions_and_request_replaced_act_on_the_connection_of_an_environ():
    app, socketio = make_app()
    client = socketio.test_client(app)
    environ = client._socket.environ
    seen = []
    asked = []

    def source(asked_for):
        asked.append(asked_for)
        return lambda *change: seen.append(change)

    socketio.toolkit_seam().observe_sessions(source)  # (replaces the client's)
    connection = socketio.bridge.connection(environ)  # made when first needed
    assert asked == [environ]
    client.emit("remember", 7)
    assert seen and seen[-1][0] == "remember" and seen[-1][3]["value"] == 7
    assert connection.route  # worked out by the first event
    socketio.toolkit_seam().request_replaced(environ)
    assert connection.route is None


def test_the_client_uses_the_seam_it_was_given():
    app, socketio = make_app(path="custom")
    client = socketio.test_client(app)
    assert client._socket.environ["PATH_INFO"] == "/custom"
    client.emit("remember", 1)
    assert [change.key for change in client.session_changes] == ["value"]


def test_no_toolkit_module_reaches_into_the_extension():
    private = re.compile(r"\._require_server\b|\.bridge\b|socketio\._[a-z]")
    offenders = [f"{path.name}:{number}: {line.strip()}"
                 for path in sorted(TESTING.glob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if private.search(line)]
    assert offenders == []


def test_a_received_event_copies_and_pickles_with_its_fields():
    record = ReceivedEvent("echo", [1], "/", 3, responder=None)  # type: ignore[arg-type]
    record.is_acked = True
    for twin in (copy.copy(record), copy.deepcopy(record)):
        assert twin == record and type(twin) is ReceivedEvent
        assert (twin.ack_id, twin.is_acked, twin.name) == (3, True, "echo")
    plain = ReceivedEvent("echo", [1], "/", None, responder=print)
    assert pickle.loads(pickle.dumps(plain)) == {"name": "echo", "args": [1], "namespace": "/"}


def test_tasks_run_straight_from_run_pending_keep_the_scheduler_s_order():
    """One task to start and an idle worker: run_pending hands it over without the hub,
    and the worker comes back; a task that blocks, starts another or fails still goes
    through the hub, in the same order as before."""
    from flask_socketio.testing.scheduler import Scheduler

    scheduler = Scheduler()
    log = []
    scheduler.start_background_task(log.append, "warm")  # makes an idle worker
    scheduler.run_pending()

    def sleeper():
        log.append("sleep")
        scheduler.sleep(5)
        log.append("woke")

    def spawner():
        log.append("spawn")
        scheduler.start_background_task(log.append, "child")

    def failing():
        raise ValueError("boom")

    for target in (spawner, sleeper, failing):
        scheduler.start_background_task(target)
        scheduler.run_pending()
        scheduler.start_background_task(log.append, f"after {target.__name__}")
        scheduler.run_pending()
    assert log == ["warm", "spawn", "child", "after spawner", "sleep", "after sleeper",
                   "after failing"]
    assert [str(exc) for _, exc in scheduler.pop_failures()] == ["boom"]
    scheduler.clock.advance(5)
    assert log[-1] == "woke" and scheduler.tasks == []
    assert len(scheduler._idle) >= 1  # workers are reused, not made per task
    scheduler.retire()  # ends its hub and workers
