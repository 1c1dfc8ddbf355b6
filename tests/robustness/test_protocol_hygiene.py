"""Protocol violations close that connection, once logged; everyone else carries on.

In-process: raw Socket.IO packets straight into the server's Engine.IO message hook.
"""

from __future__ import annotations

import logging

import msgpack
import pytest

from flask_socketio import SocketIO
from flask_socketio.protocol import ProtocolServer

from .raw import RawInProcessSocket, make_echo_app

PLACEHOLDER = '{"_placeholder":true,"num":%d}'

VIOLATIONS = {
    "unknown packet type": ["7"],
    "not a number": ["x"],
    "undecodable JSON": ['2["echo",'],
    "non-array event": ['2{"a":1}'],
    "string event": ['2"echo"'],
    "empty event": ["2[]"],
    "event without payload": ["2"],
    "non-string event name": ["2[1]"],
    "null event name": ["2[null]"],
    "reserved event connect": ['2["connect"]'],
    "reserved event disconnect": ['2["disconnect","x"]'],
    "CONNECT_ERROR from a client": ['4{"message":"no"}'],
    "ack without array": ["31"],
    "ack with an object": ['31{"a":1}'],
    "ack without id": ['3["x"]'],
    "disconnect with data": ['1["x"]'],
    "deeply nested JSON": ["2" + "[" * 100_000 + "]" * 100_000],
    "integer too long for Python": ['2["echo",' + "9" * 5000 + "]"],
    "binary message instead of a packet": [b"\x00\x01"],
    "binary event with no attachments": ['5["echo"]'],
    "binary event with zero attachments": ['50-["echo"]'],
    "attachments above the cap": ['511-["echo",' + PLACEHOLDER % 0 + "]"],
    "attachment count overflow": ["59999999999-[\"echo\"]"],
    "placeholder out of range": ['51-["echo",' + PLACEHOLDER % 1 + "]", b"x"],
    "negative placeholder": ['51-["echo",' + PLACEHOLDER % -1 + "]", b"x"],
    "string placeholder": ['51-["echo",{"_placeholder":true,"num":"0"}]', b"x"],
    "attachments on a text event": ['21-["echo"]'],
    "text where an attachment is due": ['51-["echo",' + PLACEHOLDER % 0 + "]", "40"],
    "binary packet for an unconnected namespace": [
        '51-/chat,["echo",' + PLACEHOLDER % 0 + "]", b"x"],
    "binary ack without id": ['61-[' + PLACEHOLDER % 0 + "]", b"x"],
    # The Socket.IO suite: an EVENT while not connected closes the connection.
    "event to a namespace not connected": ['2/chat,["echo","x"]'],
    "ack for a namespace not connected": ['3/chat,1["x"]'],
    "a second CONNECT": ["0"],
}


@pytest.fixture
def echo_app():
    return make_echo_app()


def assert_still_serves(app, socketio):
    client = socketio.test_client(app)
    try:
        assert client.emit("echo", "still here", callback=True) == "ok"
        client.assert_received("echo", "still here")
    finally:
        client.close()


@pytest.mark.parametrize("packets", list(VIOLATIONS.values()), ids=list(VIOLATIONS))
def test_a_violation_closes_that_connection_and_is_logged_once(echo_app, packets, caplog):
    app, socketio = echo_app
    bystander = socketio.test_client(app)
    raw = RawInProcessSocket(app, socketio)
    raw.send("0")
    assert raw.received[0].startswith("0{")
    server = socketio.server
    with caplog.at_level(logging.WARNING, logger="flask_socketio"):
        raw.send(*packets)
        raw.send('2["echo","after"]', "garbage")  # nothing more is acted on
    assert raw.is_closed, f"{packets!r} left the connection open"
    assert raw.close_reason == "server disconnect"
    assert server.violation_count == 1
    warnings = [r for r in caplog.records if "protocol violation" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert raw.sid in warnings[0].getMessage()
    assert not any('"after"' in str(payload) for payload in raw.received)
    # the other connection and the server are unaffected
    assert bystander.is_connected()
    assert bystander.emit("echo", 1, callback=True) == "ok"
    bystander.assert_received("echo", 1)
    assert_still_serves(app, socketio)
    assert server.manager.sid_from_eio_sid(raw.sid, "/") is None
    assert raw.sid not in server.environ
    bystander.close()


NOT_VIOLATIONS = {
    "ack with an unknown id": ['3999["x"]'],
    "disconnect of a namespace not connected": ["1/chat,"],
    "non-reserved name resembling one": ['2["connected"]'],
    "event with an ack id": ['27["nobody"]'],
    "auth payload of any JSON": ['0/chat,"token"'],
}


@pytest.mark.parametrize("packets", list(NOT_VIOLATIONS.values()), ids=list(NOT_VIOLATIONS))
def test_what_the_protocol_allows_leaves_the_connection_open(echo_app, packets):
    app, socketio = echo_app
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", *packets)
    raw.send('2["echo","after"]')
    assert not raw.is_closed
    assert socketio.server.violation_count == 0
    assert raw.received[-1] == '2["echo","after"]'
    raw.close()


def test_a_valid_binary_event_is_reassembled(echo_app):
    app, socketio = echo_app
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", '52-["echo",' + PLACEHOLDER % 0 + "," + PLACEHOLDER % 1 + "]", b"ab", b"cd")
    assert raw.received[-3:] == ['52-["echo",[' + PLACEHOLDER % 0 + "," + PLACEHOLDER % 1
                                 + "]]", b"ab", b"cd"]
    assert not raw.is_closed
    raw.close()


def test_max_attachments_is_an_option():
    app, socketio = make_echo_app(max_attachments=2)
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", '52-["echo",' + PLACEHOLDER % 0 + "]", b"a", b"b")
    assert not raw.is_closed
    raw.send('53-["echo",' + PLACEHOLDER % 0 + "]")
    assert raw.is_closed
    assert socketio.server.violation_count == 1


def test_max_attachments_zero_refuses_every_binary_packet():
    app, socketio = make_echo_app(max_attachments=0)
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", '51-["echo",' + PLACEHOLDER % 0 + "]")
    assert raw.is_closed


def test_bytes_pending_are_capped():
    header = '52-["echo",' + PLACEHOLDER % 0 + "]"  # 41 bytes
    app, socketio = make_echo_app(max_pending_bytes=150)
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", header, b"x" * 40, b"y" * 40)
    assert not raw.is_closed
    raw.send(header, b"x" * 54, b"y" * 55)  # 150: the cap is per packet, not cumulative
    raw.send(header, b"x" * 60)
    assert not raw.is_closed
    raw.send(b"y" * 60)
    assert raw.is_closed
    assert raw.sid not in socketio.server._binary_packet
    assert raw.sid not in socketio.server._pending_bytes
    assert_still_serves(app, socketio)


def test_a_header_over_the_pending_cap_is_refused():
    app, socketio = make_echo_app(max_pending_bytes=50)
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", '51-["echo","' + "z" * 60 + '",' + PLACEHOLDER % 0 + "]")
    assert raw.is_closed


def test_a_half_received_binary_packet_is_dropped_on_disconnect(echo_app):
    app, socketio = echo_app
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", '52-["echo",' + PLACEHOLDER % 0 + "]", b"a")
    assert raw.sid in socketio.server._binary_packet
    raw.close()
    assert raw.sid not in socketio.server._binary_packet
    assert raw.sid not in socketio.server._pending_bytes


MSGPACK_VIOLATIONS = {
    "negative ack id": {"type": 2, "nsp": "/", "data": ["echo"], "id": -1},
    "string ack id": {"type": 2, "nsp": "/", "data": ["echo"], "id": "1"},
    "float ack id": {"type": 2, "nsp": "/", "data": ["echo"], "id": 1.5},
    "boolean ack id": {"type": 2, "nsp": "/", "data": ["echo"], "id": True},
    "ack id above 2**53": {"type": 2, "nsp": "/", "data": ["echo"], "id": 2**53},
    "ack id on an ack, negative": {"type": 3, "nsp": "/", "data": [], "id": -5},
    "namespace not a string": {"type": 2, "nsp": 5, "data": ["echo"]},
    "namespace without slash": {"type": 2, "nsp": "chat", "data": ["echo"]},
    "no type": {"nsp": "/", "data": ["echo"]},
    "boolean type": {"type": True, "nsp": "/", "data": ["echo"]},
    "binary event type": {"type": 5, "nsp": "/", "data": ["echo", b"x"]},
    "event name bytes": {"type": 2, "nsp": "/", "data": [b"echo"]},
}


@pytest.mark.parametrize("decoded", list(MSGPACK_VIOLATIONS.values()),
                         ids=list(MSGPACK_VIOLATIONS))
def test_msgpack_violations_close_the_connection(decoded):
    app, socketio = make_echo_app(serializer="msgpack")
    raw = RawInProcessSocket(app, socketio)
    raw.send(msgpack.dumps({"type": 0, "nsp": "/"}))
    assert not raw.is_closed
    raw.send(msgpack.dumps(decoded))
    assert raw.is_closed
    assert socketio.server.violation_count == 1


def test_msgpack_text_message_and_garbage_close_the_connection():
    for payload in ["0", b"\xc1", msgpack.dumps([1, 2])]:
        app, socketio = make_echo_app(serializer="msgpack")
        raw = RawInProcessSocket(app, socketio)
        raw.send(msgpack.dumps({"type": 0, "nsp": "/"}), payload)
        assert raw.is_closed, payload


def test_msgpack_events_with_bytes_still_work():
    app, socketio = make_echo_app(serializer="msgpack")
    client = socketio.test_client(app)
    assert client.emit("echo", b"\x00\x01", callback=True) == "ok"
    client.assert_received("echo", b"\x00\x01")
    client.close()


# -- connect_timeout ------------------------------------------------------------------


def test_a_session_that_connects_no_namespace_is_closed_after_45_s(echo_app, socketio_clock):
    app, socketio = echo_app
    assert socketio.server.connect_timeout == 45
    raw = RawInProcessSocket(app, socketio)
    socketio_clock.advance(44.9)
    assert not raw.is_closed
    socketio_clock.advance(0.2)
    assert raw.is_closed
    assert raw.close_reason == "server disconnect"
    assert socketio.server.violation_count == 1


def test_a_session_that_connected_in_time_stays(socketio_clock):
    app, socketio = make_echo_app(connect_timeout=5)
    raw = RawInProcessSocket(app, socketio)
    socketio_clock.advance(4)
    raw.send("0")
    socketio_clock.advance(100)
    assert not raw.is_closed
    client = socketio.test_client(app)
    socketio_clock.advance(100)
    assert client.is_connected()
    assert socketio.server.violation_count == 0
    assert socketio.server._connect_deadlines == {}
    client.close()
    raw.close()


def test_a_refused_connect_does_not_count_as_connected(socketio_clock):
    app, socketio = make_echo_app(connect_timeout=5)

    @socketio.on("connect", namespace="/chat")
    def refuse():
        return False

    raw = RawInProcessSocket(app, socketio)
    raw.send("0/chat,")
    assert raw.received[-1].startswith("4/chat,")
    assert not raw.is_closed
    socketio_clock.advance(5.1)
    assert raw.is_closed


def test_connect_timeout_none_waits_forever(socketio_clock):
    app, socketio = make_echo_app(connect_timeout=None)
    raw = RawInProcessSocket(app, socketio)
    socketio_clock.advance(10_000)
    assert not raw.is_closed
    raw.close()


def test_a_session_closed_early_ends_its_timer(echo_app):
    app, socketio = echo_app
    raw = RawInProcessSocket(app, socketio)
    timers = raw.scheduler.timer_count
    assert eio_sid_has_deadline(socketio, raw)
    raw.close()
    assert socketio.server._connect_deadlines == {}
    assert raw.scheduler.timer_count == timers - 1  # the timer is gone, no task waits
    assert not any("_connect_timed_out" in repr(t.name) for t in raw.scheduler.tasks)


def test_a_connect_timeout_armed_in_one_test_is_not_carried_into_the_next(echo_app):
    from flask_socketio.testing.scheduler import current_scheduler, retire_scheduler

    app, socketio = echo_app
    old = RawInProcessSocket(app, socketio)
    retire_scheduler()  # what the plugin does at the end of a test: its timers go too
    clock = current_scheduler().clock
    assert clock.now == 0
    new = RawInProcessSocket(app, socketio)
    assert new.scheduler is not old.scheduler
    clock.advance(44.9)
    assert not new.is_closed
    clock.advance(100)
    assert new.is_closed  # the next test's timer, on the next test's clock
    assert not old.is_closed and socketio.server.violation_count == 1
    old.socket.close()  # its deadline cancelled: a timer of the retired scheduler
    current_scheduler().run_pending()
    assert old.is_closed and socketio.server._connect_deadlines == {}
    assert current_scheduler().timer_count == 0


def eio_sid_has_deadline(socketio, raw):
    return raw.sid in socketio.server._connect_deadlines


@pytest.mark.parametrize("options", [
    {"max_attachments": -1}, {"max_attachments": 1.5}, {"max_pending_bytes": 0},
    {"connect_timeout": 0}, {"connect_timeout": "45"}, {"connect_timeout": True},
])
def test_bad_option_values_are_errors(options):
    with pytest.raises(ValueError):
        ProtocolServer(async_mode="threading", **options)


def test_the_options_are_known_to_socketio_and_reach_the_server():
    app, socketio = make_echo_app(max_attachments=3, max_pending_bytes=1000,
                                  connect_timeout=2.5)
    server = socketio.server
    assert (server.max_attachments, server.max_pending_bytes, server.connect_timeout) == (
        3, 1000, 2.5)
    with pytest.raises(TypeError, match="max_attachment"):
        SocketIO(app, max_attachment=3)


def test_an_event_whose_connection_closed_before_its_handler_ran_is_dropped(echo_app, caplog):
    app, socketio = echo_app
    ran = []

    @socketio.on("record")
    def record(value):
        ran.append(value)

    raw = RawInProcessSocket(app, socketio)
    raw.send("0")
    # the event's handler task is queued; the close is handled before it runs
    raw.socket.send('2["record","late"]')
    raw.socket.close()
    with caplog.at_level(logging.INFO, logger="flask_socketio"):
        raw.scheduler.run_pending()  # formerly: RuntimeError, emit() outside a handler
    assert raw.is_closed
    assert ran == []
    assert any("Dropped event 'record'" in r.getMessage() for r in caplog.records)
    assert raw.scheduler.pop_failures() == []
    assert_still_serves(app, socketio)
