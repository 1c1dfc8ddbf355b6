"""The broadcast recorder: every emit a server makes, with no member client needed."""

from __future__ import annotations

import textwrap
import uuid

import pytest
from flask import Flask, request

from flask_socketio import SocketIO, call, emit, join_room
from flask_socketio.testing import ANY, EmitRecorder, Partial, capture_emits

pytestmark = pytest.mark.socketio_leak_guard


def create_app(**options):
    app = Flask(__name__)
    socketio = SocketIO(app, **options)

    @socketio.on("publish")
    def publish(room, text):
        emit("news", text, to=room)

    @socketio.on("join")
    def on_join(room):
        join_room(room)

    @socketio.on("shout")
    def shout(text):
        emit("shouted", text, broadcast=True, include_self=False)

    @socketio.on("ask")
    def ask():
        return call("question", "ready?", timeout=1)

    @socketio.on("later")
    def later(delay):
        sid = request.sid

        def task():
            socketio.sleep(delay)
            socketio.emit("tick", delay, to=sid)

        socketio.start_background_task(task)

    @socketio.on("chat", namespace="/chat")
    def chat(text):
        emit("chat", text, broadcast=True)

    @app.route("/announce/<text>")
    def announce(text):
        socketio.emit("announcement", {"text": text, "by": "admin"})
        return "ok"

    return app, socketio


@pytest.fixture
def app():
    return create_app()[0]


def test_an_emit_to_a_room_with_no_member_is_recorded():
    app, socketio = create_app()
    client = socketio.test_client(app)
    with capture_emits(socketio) as emits:
        client.emit("publish", "empty-room", "hello")
    [record] = emits.assert_emitted("news", "hello", to="empty-room")
    assert (record.event, record.args, record.namespace, record.to) == (
        "news", ["hello"], "/", "empty-room")
    assert record.sids == () and not record.callback and not record.from_queue
    client.assert_nothing_received()


def test_the_sids_reached_and_skip_sid():
    app, socketio = create_app()
    alice, bob = socketio.test_client(app), socketio.test_client(app)
    with capture_emits(socketio) as emits:
        alice.emit("shout", "hi")
    [record] = emits.assert_emitted("shouted", "hi", to=None)
    assert record.sids == (bob.sid,)
    assert record.skip_sid == alice.sid


def test_routes_background_tasks_and_socketio_emit_are_recorded(socketio_clock):
    app, socketio = create_app()
    client = socketio.test_client(app)
    with capture_emits(socketio) as emits:
        app.test_client().get("/announce/lunch")
        client.emit("later", 5)
        emits.assert_not_emitted("tick")
        socketio_clock.advance(5)
        socketio.emit("direct", 1, 2, namespace="/chat")
    emits.assert_emitted("announcement", Partial({"text": "lunch"}), to=None)
    emits.assert_emitted("tick", 5, to=client.sid)
    emits.assert_emitted("direct", 1, 2, namespace="/chat")
    assert [record.event for record in emits] == ["announcement", "tick", "direct"]
    client.get_received()


def test_call_is_recorded_with_its_callback():
    app, socketio = create_app()
    client = socketio.test_client(app)
    client.on("question", lambda text: "yes")
    with capture_emits(socketio) as emits:
        assert client.call("ask") == "yes"
    [record] = emits.assert_emitted("question", "ready?", to=client.sid)
    assert record.callback and record.sids == (client.sid,)
    client.get_received()


def test_count_namespace_and_to_are_checked():
    app, socketio = create_app()
    client = socketio.test_client(app, namespace="/chat")
    with capture_emits(socketio) as emits:
        client.emit("chat", "a", namespace="/chat")
        client.emit("chat", "b", namespace="/chat")
    emits.assert_emitted("chat", ANY, namespace="/chat", count=2)
    emits.assert_emitted("chat", "a", namespace=ANY, count=1)
    with pytest.raises(AssertionError, match="namespace: expected '/', got '/chat'"):
        emits.assert_emitted("chat", "a")  # None is '/'
    with pytest.raises(AssertionError, match=r"but it was emitted 2 time\(s\)"):
        emits.assert_emitted("chat", ANY, namespace="/chat", count=3)
    with pytest.raises(AssertionError, match="to: expected 'lobby', got None"):
        emits.assert_emitted("chat", "a", namespace="/chat", to="lobby")
    emits.assert_not_emitted("chat")
    emits.assert_not_emitted("chat", "c", namespace="/chat")
    with pytest.raises(AssertionError, match="expected no emit of 'chat'"):
        emits.assert_not_emitted("chat", namespace="/chat")
    client.get_received("/chat")


def test_a_failure_shows_the_key_level_diff_and_the_other_emits():
    app, socketio = create_app()
    with capture_emits(socketio) as emits:
        app.test_client().get("/announce/lunch")
        socketio.emit("other", 1)
    with pytest.raises(AssertionError) as failure:
        emits.assert_emitted("announcement", {"text": "dinner"})
    assert str(failure.value) == textwrap.dedent("""\
        expected 'announcement' on namespace '/' with arguments [{'text': 'dinner'}] emitted
        but no emit of 'announcement' matched:
          'announcement' args=[{'text': 'lunch', 'by': 'admin'}] namespace='/' to=None reached=[]
            args[0]['text']: expected 'dinner', got 'lunch'
            args[0]['by']: unexpected (got 'admin')
        other emits
          'other' args=[1] namespace='/' to=None reached=[]""")


def test_recording_stops_at_the_end_of_the_block_and_is_per_server():
    app, socketio = create_app()
    other_app, other = create_app()
    with capture_emits(socketio) as emits:
        other.emit("elsewhere")
        socketio.emit("here")
    socketio.emit("after")
    assert [record.event for record in emits] == ["here"]
    emits.clear()
    assert len(emits) == 0
    recorder = EmitRecorder(socketio).start()
    with pytest.raises(RuntimeError, match="already recording"):
        recorder.start()
    recorder.stop()
    recorder.stop()


def test_emits_arriving_through_a_memory_queue():
    queue_url = "memory://" + uuid.uuid4().hex
    app1, node1 = create_app(message_queue=queue_url)
    app2, node2 = create_app(message_queue=queue_url)
    bob = node2.test_client(app2)
    bob.emit("join", "lobby")
    with capture_emits(node1) as sent, capture_emits(node2) as arrived:
        emitter = SocketIO(message_queue=queue_url)  # write-only: no app, no server
        emitter.emit("extra", "news!", to="lobby")
        node1.emit("hello", to="lobby")
        bob.assert_received("extra", "news!")
        bob.assert_received("hello")
    [here] = sent.assert_emitted("hello", to="lobby")
    assert not here.from_queue and here.sids == ()
    [there] = arrived.assert_emitted("hello", to="lobby")
    assert there.from_queue and there.sids == (bob.sid,)
    arrived.assert_emitted("extra", "news!", to="lobby")


def test_the_emitter_of_a_queue_records_its_own_emits():
    queue_url = "memory://" + uuid.uuid4().hex
    emitter = SocketIO(message_queue=queue_url)
    with capture_emits(emitter) as emits:
        emitter.emit("extra", {"n": 1}, to="lobby")
    emits.assert_emitted("extra", {"n": 1}, to="lobby")


def test_the_socketio_emits_fixture(socketio_emits, socketio_client):
    client = socketio_client()
    client.emit("publish", "nobody", "hi")
    socketio_emits.assert_emitted("news", "hi", to="nobody")


def test_a_manager_that_does_not_report_emits_is_refused():
    import socketio as python_socketio

    app = Flask(__name__)
    socketio = SocketIO(app, client_manager=python_socketio.Manager())
    with pytest.raises(TypeError, match="does not report emits"):
        capture_emits(socketio)



def test_assert_emitted_timeout_moves_the_virtual_clock(socketio_clock):
    app, socketio = create_app()
    client = socketio.test_client(app)
    start = socketio_clock.now
    with capture_emits(socketio) as emits:
        client.emit("later", 30)
        with pytest.raises(AssertionError):
            emits.assert_emitted("tick", 30, to=client.sid, timeout=10)
        assert socketio_clock.now - start == 10
        emits.assert_emitted("tick", 30, to=client.sid, timeout=60)
    assert socketio_clock.now - start == 30  # as far as needed, no further
    client.get_received()
