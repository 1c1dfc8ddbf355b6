"""Acknowledgements the server asks for: client handlers, late acks, unanswered calls."""

from __future__ import annotations

import pytest
import socketio as python_socketio
from flask import Flask, current_app, request

from flask_socketio import SocketIO, call, emit

#: Every test here must leave no server task behind.
pytestmark = pytest.mark.socketio_leak_guard


def make_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "secret"
    app.config["NAME"] = "acks-app"
    socketio = SocketIO(app)
    answers = []

    @socketio.on("ask")
    def ask(event, *args):
        # the server asks the client, and reports the answer back to it
        def answered(*ack):
            answers.append((request.sid, current_app.config["NAME"], ack))
            emit("answered", *ack)

        emit(event, *args, callback=answered)

    @socketio.on("call")
    def call_client(event, *args):
        emit("called", call(event, *args, timeout=30))

    @socketio.on("call", namespace="/other")
    def call_client_other(event, *args):
        emit("called", call(event, *args, timeout=30))

    @socketio.on("patient_call")
    def patient_call(timeout):
        try:
            answer = call("question", timeout=timeout)
        except python_socketio.exceptions.TimeoutError:
            emit("gave_up", socketio.server.eio.attached.scheduler.clock.now)
        else:
            emit("called", answer)

    @socketio.on("impatient_call")
    def impatient_call():
        return call("question", timeout=5)

    return app, socketio, answers


def test_on_handler_answers_a_server_callback():
    app, socketio, answers = make_app()
    client = socketio.test_client(app)
    client.on("question", lambda a, b: a * b)
    client.emit("ask", "question", 6, 7)
    assert answers == [(client.sid, "acks-app", (42,))]
    received = client.get_received()
    assert received == [
        {"name": "question", "args": [6, 7], "namespace": "/"},
        {"name": "answered", "args": [42], "namespace": "/"},
    ]
    assert received[0].wants_ack and received[0].is_acked


def test_on_handler_returning_a_tuple_acks_with_several_values():
    app, socketio, answers = make_app()
    client = socketio.test_client(app)
    client.on("question", lambda: ("yes", 2))
    client.emit("ask", "question")
    assert answers[0][2] == ("yes", 2)


def test_on_handler_returning_none_acks_with_nothing():
    app, socketio, answers = make_app()
    client = socketio.test_client(app)
    client.on("question", lambda: None)
    client.emit("ask", "question")
    assert answers[0][2] == ()


def test_on_handler_answers_call_from_a_handler():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.on("question", lambda x: x + 1)
    client.emit("call", "question", 41)
    assert client.get_received()[-1] == {"name": "called", "args": [42], "namespace": "/"}


def test_on_as_a_decorator_and_per_namespace():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.connect("/other")

    @client.on("question")
    def root_answer():
        return "root"

    @client.on("question", namespace="/other")
    def other_answer():
        return "other"

    assert root_answer() == "root"  # the decorator returns the function
    client.emit("call", "question")
    client.emit("call", "question", namespace="/other")
    assert client.get_received()[-1]["args"] == ["root"]
    assert client.get_received("/other")[-1]["args"] == ["other"]


def test_catch_all_handler_gets_the_event_name_first():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.on("*", lambda event, *args: f"{event}{args}")
    client.emit("call", "anything", 1)
    assert client.get_received()[-1]["args"] == ["anything(1,)"]


def test_specific_handler_wins_over_catch_all():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.on("*", lambda event, *args: "catch-all")
    client.on("question", lambda: "specific")
    client.emit("call", "question")
    assert client.get_received()[-1]["args"] == ["specific"]


def test_socketio_call_from_outside_a_handler():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.on("question", lambda x: x * 2)
    assert socketio.call("question", 21, to=client.sid) == 42


def test_handler_for_events_that_ask_no_ack_still_runs():
    app, socketio, _ = make_app()
    seen = []

    @socketio.on("tell")
    def tell(value):
        emit("news", value)

    client = socketio.test_client(app)
    client.on("news", seen.append)
    client.emit("tell", "hi")
    assert seen == ["hi"]
    record = client.receive("news")
    assert not record.wants_ack


def test_ack_later_on_the_received_record():
    app, socketio, answers = make_app()
    client = socketio.test_client(app)
    client.emit("ask", "question", 1)
    record = client.receive("question")
    assert record.wants_ack and not record.is_acked
    assert answers == []
    record.ack("late", 2)
    assert record.is_acked
    assert answers == [(client.sid, "acks-app", ("late", 2))]
    client.assert_received("answered", "late", 2)


def test_ack_later_answers_a_pending_call():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("call", "question")
    record = client.receive("question")
    client.assert_nothing_received()  # the handler is still waiting
    record.ack({"answer": 42})
    client.assert_received("called", {"answer": 42})


def test_ack_twice_is_an_error():
    app, socketio, answers = make_app()
    client = socketio.test_client(app)
    client.emit("ask", "question")
    record = client.receive("question")
    record.ack(1)
    with pytest.raises(RuntimeError, match="already acknowledged"):
        record.ack(2)
    assert [ack for _, _, ack in answers] == [(1,)]


def test_ack_after_a_handler_answered_is_an_error():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.on("question", lambda: "by handler")
    client.emit("ask", "question")
    record = client.receive("question")
    with pytest.raises(RuntimeError, match="'question'.*already acknowledged"):
        record.ack("by hand")


def test_ack_of_an_event_that_asked_none_is_an_error():
    app, socketio, _ = make_app()

    @socketio.on("tell")
    def tell():
        emit("news")

    client = socketio.test_client(app)
    client.emit("tell")
    record = client.receive("news")
    with pytest.raises(RuntimeError, match="'news' did not ask for an acknowledgement"):
        record.ack()


def test_ack_after_disconnect_is_an_error():
    app, socketio, answers = make_app()
    client = socketio.test_client(app)
    client.emit("ask", "question")
    record = client.receive("question")
    client.disconnect()
    with pytest.raises(RuntimeError, match="cannot acknowledge 'question': not connected"):
        record.ack(1)
    assert answers == []


def test_unanswered_call_times_out_on_the_virtual_clock():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    clock = client.scheduler.clock
    start = clock.now
    client.emit("patient_call", 30)
    client.receive("question")
    clock.advance(29.9)
    client.assert_nothing_received()
    clock.advance(0.1)
    record = client.receive("gave_up")
    assert record.args == [pytest.approx(start + 30)]


def test_answer_just_before_the_timeout_still_counts():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("patient_call", 10)
    record = client.receive("question")
    client.scheduler.clock.advance(9.5)
    record.ack("in time")
    client.assert_received("called", "in time")
    client.scheduler.clock.advance(10)  # the cancelled timeout never fires
    client.assert_nothing_received()


def test_unanswered_call_timeout_reaches_the_test_when_unhandled():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    client.emit("impatient_call")
    client.scheduler.clock.advance(5)
    with pytest.raises(python_socketio.exceptions.TimeoutError):
        client.get_received()


def test_unanswered_socketio_call_from_the_test_times_out_at_once():
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    clock = client.scheduler.clock
    start = clock.now
    with pytest.raises(python_socketio.exceptions.TimeoutError):
        socketio.call("question", to=client.sid, timeout=60)
    assert clock.now == pytest.approx(start + 60)
    assert client.receive("question").wants_ack


def test_emit_callback_waits_on_the_virtual_clock():
    app, socketio, _ = make_app()

    @socketio.on("slow")
    def slow():
        socketio.sleep(3)
        return "done"

    client = socketio.test_client(app)
    clock = client.scheduler.clock
    start = clock.now
    assert client.emit("slow", callback=True, timeout=5) == "done"
    assert clock.now == pytest.approx(start + 3)
    with pytest.raises(TimeoutError, match="did not acknowledge 'slow' on '/' within 2s"):
        client.emit("slow", callback=True, timeout=2)
    clock.advance(1)  # the handler finishes; its late ack is dropped
    client.assert_nothing_received()


def test_binary_acks_from_the_client():
    app, socketio, answers = make_app()
    client = socketio.test_client(app)
    client.on("question", lambda: (b"\x00\xff", {"nested": b"\x01"}))
    client.emit("ask", "question")
    assert answers[-1][2] == (b"\x00\xff", {"nested": b"\x01"})
    client.emit("ask", "later")
    client.receive("later").ack(b"late bytes")
    assert answers[-1][2] == (b"late bytes",)
