"""What makes a test client's connect/disconnect cheap keeps it correct (issue 14).

Each test guards one of the shortcuts of the in-process client's connection cycle:
a client freed without the cyclic GC, the handshake environs built once, the control
packets encoded once, the timer cancelled without a re-heapify, the stall lock made
only when a socket stalls.
"""

from __future__ import annotations

import dis
import gc
import sys
import weakref

import pytest
from flask import Flask, session
from socketio import packet as sio_packet

from flask_socketio import SocketIO
from flask_socketio.testing import client as client_module
from flask_socketio.testing.scheduler import Scheduler


def make_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "cycle"
    socketio = SocketIO(app)
    seen = []

    @socketio.on("connect")
    def on_connect(auth=None):
        session["user"] = auth
        seen.append(("connect", auth))

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        seen.append(("disconnect", reason))

    @socketio.on("connect", namespace="/chat")
    def on_chat_connect(auth=None):
        seen.append(("connect /chat", auth))

    return app, socketio, seen


@pytest.fixture
def unwatched(monkeypatch):
    """No pytest plugin keeping the test's clients (for their transcripts)."""
    monkeypatch.setattr(client_module, "creation_listeners", [])


def test_a_disconnected_client_is_freed_without_the_cyclic_gc(unwatched):
    # An app whose connect handler pushes no request context (one does: the Flask
    # routing of its first request keeps a traceback, Flask's own cycle).
    app = Flask(__name__)
    socketio = SocketIO(app)
    socketio.test_client(app).disconnect()  # warm up: imports, caches
    gc.collect()
    gc.disable()
    try:
        client = socketio.test_client(app)
        assert socketio.bridge.connection(client._socket.environ).session_observer
        client.disconnect()
        ref = weakref.ref(client)
        socket_ref = weakref.ref(client._socket)
        del client
        assert ref() is None  # freed by reference counting alone
        assert socket_ref() is None
    finally:
        gc.enable()


def test_the_session_observer_does_not_keep_the_client_alive(unwatched):
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="x")
    environ = client._socket.environ
    observer = socketio.bridge.connection(environ).session_observer
    ref = weakref.ref(client)
    client.disconnect()
    del client
    gc.collect()
    assert ref() is None
    observer("event", "/", {}, {"k": 1})  # a connection outliving its client: ignored


def test_session_changes_are_still_recorded_through_the_weak_observer():
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="alice")
    assert [(change.key, change.new) for change in client.session_changes] == [
        ("user", "alice")]
    client.disconnect()


def test_a_closed_socket_forgets_its_client_but_the_client_heard_the_close():
    app, socketio, seen = make_app()
    client = socketio.test_client(app)
    socket = client._socket
    client.disconnect()
    assert seen[-1] == ("disconnect", "client disconnect")
    assert socket.is_closed and not client.is_connected()
    assert client.disconnect_reason == "io client disconnect"
    assert socket.peer is not client
    socket.deliver("2[\"late\"]")  # nothing reaches the client any more
    assert client.get_received() == []


@pytest.mark.parametrize("namespace", ["/", "/chat"])
@pytest.mark.parametrize("packet_type", [sio_packet.CONNECT, sio_packet.DISCONNECT])
def test_control_packets_are_encoded_as_python_socketio_encodes_them(packet_type, namespace):
    app, socketio, _ = make_app()
    client = socketio.test_client(app, namespace=namespace)
    sent = []
    client._socket.send = sent.append
    for _ in range(2):  # the second one from the cache
        client._send(packet_type, namespace)
    expected = sio_packet.Packet(packet_type, namespace=namespace).encode()
    assert sent == [expected, expected]


def test_connect_with_auth_sends_the_auth():
    app, socketio, seen = make_app()
    client = socketio.test_client(app, namespace="/chat", auth={"token": "t"})
    assert seen[-1] == ("connect /chat", {"token": "t"})
    assert client.transcript.entries[0].args == {"token": "t"}
    client.disconnect("/chat")
    assert ("disconnect", "client disconnect") not in seen  # '/' was never connected


def test_disconnect_runs_the_disconnect_handler_before_the_session_closes():
    app, socketio, seen = make_app()
    client = None
    socket_open_in_handler = []

    @socketio.on("disconnect")
    def on_disconnect(reason=None):
        socket_open_in_handler.append(not client._socket.is_closed)
        seen.append(("disconnect", reason))

    client = socketio.test_client(app)
    socket = client._socket
    tasks_before = len(client.scheduler._tasks)
    client.disconnect()
    # the DISCONNECT was handled (its handler ran, the socket still open), then the
    # close queued right behind it, by the same reader task, which has ended
    assert seen[-1] == ("disconnect", "client disconnect")
    assert socket_open_in_handler == [True]
    assert socket.is_closed and socket.close_reason == "client disconnect"
    assert socket.sid not in client.engine.sockets
    assert len(client.scheduler._tasks) == tasks_before
    assert [(entry.direction, entry.kind) for entry in client.transcript] == [
        ("sent", "connect"), ("server", "session"), ("received", "connect"),
        ("sent", "disconnect")]


def test_environ_templates_stay_bounded():
    client_module._environ_templates.clear()
    for number in range(client_module._MAX_ENVIRON_TEMPLATES + 5):
        environ = client_module._handshake_environ("/socket.io", f"n={number}", None)
        assert environ["QUERY_STRING"] == f"n={number}"
    assert len(client_module._environ_templates) <= client_module._MAX_ENVIRON_TEMPLATES


def test_cancelling_timers_keeps_the_rest_in_order():
    scheduler = Scheduler()
    fired = []
    timers = [scheduler.call_later(delay, lambda delay=delay: fired.append(delay))
              for delay in (5, 1, 3, 4, 2)]
    timers[-1].cancel()  # the last one set: popped
    timers[2].cancel()  # one in the middle: skipped when it comes due
    timers[2].cancel()  # twice: nothing
    assert scheduler.timer_count == 3
    scheduler.clock.advance(10)
    assert fired == [1, 4, 5]
    assert scheduler._timers == []
    assert scheduler.timer_count == 0


def test_a_socket_that_never_stalled_has_no_lock_and_resumes_as_a_no_op():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    socket = client._socket
    assert socket._stall_lock is None
    with client.stall():
        assert socket._stall_lock is not None
        socketio.emit("news", 1)
        assert client.get_received() == []
    assert [event["name"] for event in client.get_received()] == ["news"]
    client.disconnect()


def test_a_client_keeps_a_small_instance_dict_and_takes_other_attributes(unwatched):
    app, socketio, _ = make_app()
    client = socketio.test_client(app, auth="a")
    # CPython keeps attributes in a fast shared-key dict up to 30 keys
    assert len(vars(client)) <= 20
    client.note = "a test's own attribute"
    assert client.note == "a test's own attribute"
    client.timeout = 2.5
    assert client.timeout == 2.5
    client.disconnect()


def test_tasks_run_with_keyword_arguments_and_in_a_context_of_their_own():
    import contextvars

    variable = contextvars.ContextVar("variable", default="unset")
    variable.set("test's")
    scheduler = Scheduler()
    seen = []

    def target(value, *, key=None):
        seen.append((value, key, variable.get()))
        variable.set("task's")

    scheduler.start_background_task(target, 1, key="k")
    scheduler.run_pending()
    scheduler.start_background_task(target, 2)
    scheduler.run_pending()  # by the idle worker, on the fast path
    assert seen == [(1, "k", "unset"), (2, None, "unset")]
    assert variable.get() == "test's"


def test_a_task_killed_before_it_starts_never_runs_on_the_fast_path():
    scheduler = Scheduler()
    scheduler.start_background_task(lambda: None)
    scheduler.run_pending()  # a worker is idle now
    ran = []
    task = scheduler.start_background_task(ran.append, 1)
    task.kill()
    scheduler.run_pending()
    assert ran == [] and not task.is_alive() and scheduler.tasks == []


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="CPython 3.11's bytecode")
def test_the_worker_loop_gets_specialized_by_cpython():
    # A worker's frame is entered once and runs task after task: CPython 3.11 warms a
    # frame's code up (to specialize it) at calls and unconditional backward jumps
    # only, so the loop must end with one, not with a conditional jump back.
    opnames = [instruction.opname for instruction in dis.get_instructions(Scheduler._worker)]
    assert "JUMP_BACKWARD" in opnames
    assert not [name for name in opnames if name.startswith("POP_JUMP_BACKWARD")]



@pytest.mark.parametrize("namespace", ["/", "/chat"])
@pytest.mark.parametrize(("packet_type", "kind"), [(sio_packet.CONNECT, "connect"),
                                                    (sio_packet.DISCONNECT, "disconnect")])
def test_bare_packets_are_sent_and_logged_as_send_does(packet_type, kind, namespace):
    app, socketio, _ = make_app()
    client = socketio.test_client(app, namespace=namespace)
    sent = []
    client._socket.send = sent.append
    client.transcript.entries.clear()
    client._send_bare(packet_type, kind, namespace)
    client._send(packet_type, namespace)
    assert sent[0] == sent[1] == sio_packet.Packet(packet_type, namespace=namespace).encode()
    first, second = client.transcript.entries
    assert first == second and first.kind == kind and first.direction == "sent"


def test_a_msgpack_client_connects_and_disconnects():
    app = Flask(__name__)
    socketio = SocketIO(app, serializer="msgpack")
    seen = []
    socketio.on_event("connect", lambda auth=None: seen.append("connect"))
    socketio.on_event("disconnect", lambda reason=None: seen.append(reason))
    client = socketio.test_client(app)
    assert client.is_connected()
    client.disconnect()
    assert seen == ["connect", "client disconnect"]


def test_engine_timers_fire_as_tasks_and_cancel():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    engine = client.engine
    fired = []
    engine.call_later(1, fired.append, "first")
    cancelled = engine.call_later(2, fired.append, "second")
    engine.call_later(3, lambda: fired.append(client.scheduler.is_task()))
    cancelled.cancel()
    cancelled.cancel()  # twice: nothing
    client.scheduler.clock.advance(5)
    assert fired == ["first", True]  # each in a task of its own
    client.disconnect()


def test_disconnect_and_the_close_behind_it_are_read_by_one_task(monkeypatch):
    app, socketio, seen = make_app()
    client = socketio.test_client(app)
    scheduler = client.scheduler
    started = []
    original = scheduler.start_background_task

    def counting(target, *args, **kwargs):
        started.append(getattr(target, "__name__", target))
        return original(target, *args, **kwargs)

    monkeypatch.setattr(scheduler, "start_background_task", counting)
    client.disconnect()
    assert started == ["_read"]
    assert seen[-1] == ("disconnect", "client disconnect")
    assert client._socket.is_closed


def test_the_session_observer_is_made_only_with_the_connection_state():
    from flask_socketio.context import CONNECTION_KEY

    app = Flask(__name__)
    socketio = SocketIO(app)  # no handler: nothing makes the connection's state
    client = socketio.test_client(app)
    environ = client._socket.environ
    assert CONNECTION_KEY not in environ  # and nothing was made for an observer
    state = socketio.bridge.connection(environ)  # made: the client's observer with it
    assert state.session_observer is not None
    state.session_observer("e", "/", {}, {"k": 1})
    assert [(change.event, change.key, change.new) for change in client.session_changes] == [
        ("e", "k", 1)]
    client.disconnect()
    other = socketio.test_client(app)
    other.disconnect()  # a closed session has no client to observe it
    assert socketio.bridge.connection(other._socket.environ).session_observer is None
