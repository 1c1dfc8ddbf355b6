"""Socket.IO v5 conformance: what the protocol specification requires of a server.

Written from the specification (the README of socketio/socket.io-protocol) and the
README of its official test suite, against a server with the namespaces and handlers
that README asks for (see ``conformance_servers``): ``'/'`` and ``'/custom'`` emit
``"auth"`` with the CONNECT payload, ``"message"`` is answered with ``"message-back"``,
``"message-with-ack"`` is acknowledged with its own arguments.

Each test runs on python-socketio over python-engineio (the peer), python-socketio
over our native engine, and our Flask extension over each engine (``flask-socketio`` is
its default, the native engine). Known failures are strict xfails naming the
misbehaviour and the layer at fault: python-engineio's (on whatever Socket.IO layer),
a Socket.IO layer's (python-socketio's, or ours, whatever the engine) or stock
python-socketio-on-python-engineio's. The native engine is never at fault: every
Engine.IO-level test passes on it.

Where the reference server (Node's socket.io) itself departs from the specification,
these tests follow the specification (e.g. an EVENT without payload, ``42``, must close
the connection).
"""

from __future__ import annotations

import json
import time

import pytest

from .conformance_servers import (
    CONNECT_TIMEOUT,
    MAX_PAYLOAD,
    PING_INTERVAL,
    PING_TIMEOUT,
    SETTLE,
    SHORT_WAIT,
    SOCKETIO_SERVERS,
    WS,
    Served,
    get,
    known_failure,
    open_polling,
    pending_get,
    poll_packets,
    post,
    send_request,
    upgrade,
    ws_open,
    ws_refused,
    ws_session,
)


@pytest.fixture(scope="module", params=list(SOCKETIO_SERVERS))
def served(request: pytest.FixtureRequest):
    server = SOCKETIO_SERVERS[request.param]()
    yield server
    server.server.stop()


def engine_failure(request: pytest.FixtureRequest, served: Served, reason: str) -> None:
    """A known failure of python-engineio, whatever Socket.IO layer is above it."""
    known_failure(request, served, "python-engineio: " + reason)


def connect_reply(ws: WS, namespace_prefix: str = "") -> tuple[str, list[str | bytes]]:
    """The CONNECT (or CONNECT_ERROR) reply for a namespace, and the packets that came
    before it (python-socketio sends what the connect handler emits before the reply;
    ``test_connect_reply_comes_first`` checks the order)."""
    before: list[str | bytes] = []
    while True:
        packet = ws.recv()
        if isinstance(packet, str) and packet.startswith(
                (f"40{namespace_prefix}", f"44{namespace_prefix}")):
            return packet, before
        before.append(packet)


def sio_connect(served: Served, packet: str = "40") -> tuple[WS, str, list[str | bytes]]:
    """A WebSocket-only connection that sent ``packet`` (a CONNECT):
    ``(ws, reply, packets after the reply and any that came before it)``."""
    ws, _ = ws_session(served)
    ws.send(packet)
    namespace = packet[2:].split(",")[0].split("{")[0]
    reply, before = connect_reply(ws, namespace)
    return ws, reply, before


def auth_event(ws: WS, before: list[str | bytes]) -> str | bytes:
    """The ``"auth"`` event: already received before the CONNECT reply, or next."""
    return before[0] if before else ws.recv()


def connected(served: Served) -> WS:
    """A WebSocket connected to ``'/'``, its CONNECT reply and ``"auth"`` event read."""
    ws, reply, before = sio_connect(served)
    assert reply.startswith("40{")
    assert auth_event(ws, before) == '42["auth",{}]'
    return ws


#: Our extension's Socket.IO layer is python-socketio's ``Server`` with changes.
BOTH_LAYERS = ("python-socketio", "flask-socketio")


def layer_failure(request: pytest.FixtureRequest, served: Served, reason: str,
                  layers: tuple[str, ...]) -> None:
    """A known failure of a Socket.IO layer (``'python-socketio'``, ``'flask-socketio'``),
    whatever the engine under it: not the engine's doing."""
    known_failure(request, served, "Socket.IO layer: " + reason, engines=(),
                  socketio_layers=layers)


def stock_failure(request: pytest.FixtureRequest, served: Served, reason: str) -> None:
    """A known failure of stock python-socketio on python-engineio only."""
    known_failure(request, served, "python-socketio on python-engineio: " + reason,
                  engines=(), servers=("python-socketio",))


#: Why stock python-socketio on python-engineio keeps connections that send bad packets.
BAD_PACKET_KEPT = ("an undecodable Socket.IO packet makes python-socketio raise in the "
                   "message handler, which python-engineio only logs: the connection stays "
                   "open")


# -- Engine.IO, as the Socket.IO suite checks it at /socket.io/ ---------------------------


class TestEngineIOUnderSocketIO:
    def test_polling_handshake(self, served):
        response = get(served, EIO=4, transport="polling")
        assert response.status_code == 200
        handshake = json.loads(response.content[1:])
        assert response.content.startswith(b"0")
        assert set(handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout",
                                  "maxPayload"}
        assert handshake["upgrades"] == ["websocket"]
        assert handshake["pingTimeout"] == PING_TIMEOUT * 1000
        assert handshake["maxPayload"] == MAX_PAYLOAD

    def test_websocket_handshake(self, served):
        ws, handshake = ws_session(served)
        with ws:
            assert handshake["upgrades"] == []
            assert handshake["pingTimeout"] == PING_TIMEOUT * 1000
            assert handshake["maxPayload"] == MAX_PAYLOAD

    def test_sub_second_ping_interval_is_advertised(self, request, served):
        engine_failure(request, served, "advertises pingInterval 0 for ping_interval=0.3")
        assert open_polling(served)[1]["pingInterval"] == PING_INTERVAL * 1000

    @pytest.mark.parametrize("query", [{"transport": "polling"},
                                       {"EIO": "abc", "transport": "polling"},
                                       {"EIO": "4", "transport": "abc"}],
                             ids=["missing-eio", "invalid-eio", "unknown-transport"])
    def test_invalid_query_is_400(self, served, query):
        assert get(served, **query).status_code == 400

    def test_missing_transport_is_400(self, request, served):
        engine_failure(request, served, "a missing transport query parameter opens a "
                       "polling session (HTTP 200)")
        assert get(served, EIO=4).status_code == 400

    def test_invalid_method_is_400(self, request, served):
        engine_failure(request, served, "answers PUT with HTTP 405 instead of 400")
        assert request_put(served).status_code == 400
        assert post(served, "40", EIO=4, transport="polling").status_code == 400

    @pytest.mark.parametrize("query", [{"transport": "websocket"},
                                       {"EIO": "abc", "transport": "websocket"},
                                       {"EIO": "4"},
                                       {"EIO": "4", "transport": "abc"}],
                             ids=["missing-eio", "invalid-eio", "missing-transport",
                                  "unknown-transport"])
    def test_websocket_with_invalid_query_is_closed(self, served, query):
        ws_refused(served, **query)

    def test_polling_heartbeat(self, served):
        sid, _ = open_polling(served)
        for _ in range(2):  # three rounds in the Engine.IO tests
            response = get(served, EIO=4, transport="polling", sid=sid)
            assert (response.status_code, response.content) == (200, b"2")
            assert post(served, "3", EIO=4, transport="polling", sid=sid).status_code == 200

    def test_polling_ping_timeout(self, served):
        sid, _ = open_polling(served)
        time.sleep(PING_INTERVAL + PING_TIMEOUT + 0.2)
        assert get(served, EIO=4, transport="polling", sid=sid).status_code == 400

    def test_websocket_heartbeat(self, served):
        ws, _ = ws_session(served)
        with ws:
            for _ in range(2):  # three rounds in the Engine.IO tests
                assert ws.recv(timeout=PING_INTERVAL + 1, pings="return") == "2"
                ws.send("3")

    def test_websocket_ping_timeout(self, served):
        ws, _ = ws_session(served)
        with ws:
            received = ws.wait_closed(timeout=PING_INTERVAL + PING_TIMEOUT + 1.5,
                                      pings="return")
            assert set(received) <= {"2"}

    def test_polling_close(self, request, served):
        engine_failure(request, served, "a close packet sent by POST does not end the "
                       "pending GET with a NOOP packet ('6')")
        sid, _ = open_polling(served)
        with pending_get(served, sid) as pending:
            assert post(served, "1", EIO=4, transport="polling", sid=sid).status_code == 200
            assert pending.response() == (200, b"6")
        assert get(served, EIO=4, transport="polling", sid=sid).status_code == 400

    def test_websocket_close(self, served):
        ws, _ = ws_session(served)
        with ws:
            ws.send("1")
            ws.wait_closed()

    def test_upgrade(self, served):
        sid, _ = open_polling(served)
        with ws_open(served, EIO=4, transport="websocket", sid=sid) as ws:
            ws.send("2probe")
            assert ws.recv() == "3probe"
            assert get(served, EIO=4, transport="polling", sid=sid).content == b"6"
            ws.send("5")
            ws.send('40{"token":"ws"}')
            packets = [next_socketio_packet(ws), next_socketio_packet(ws)]
            assert any(p.startswith("40{") for p in packets)
            assert '42["auth",{"token":"ws"}]' in packets

    def test_http_request_after_upgrade_is_400(self, served):
        sid, _ = open_polling(served)
        with upgrade(served, sid):
            time.sleep(SETTLE)
            assert get(served, EIO=4, transport="polling", sid=sid).status_code == 400

    def test_second_websocket_after_upgrade_is_closed(self, served):
        sid, _ = open_polling(served)
        with upgrade(served, sid):
            ws_refused(served, EIO=4, transport="websocket", sid=sid)


def request_put(served: Served):
    return send_request(served, "PUT", EIO=4, transport="polling")


def next_socketio_packet(ws: WS) -> str | bytes:
    """The next packet that is not an Engine.IO NOOP (python-engineio sends an extra
    one after the upgrade; the Engine.IO conformance tests check that)."""
    packet = ws.recv()
    while packet == "6":
        packet = ws.recv()
    return packet


# -- connection to a namespace --------------------------------------------------------------


class TestConnect:
    def test_connect_to_the_main_namespace(self, served):
        ws, handshake = ws_session(served)
        with ws:
            ws.send("40")
            reply, before = connect_reply(ws)
            payload = json.loads(reply[2:])
            assert set(payload) == {"sid"}
            assert isinstance(payload["sid"], str) and payload["sid"]
            # v5: the Socket.IO id is not the Engine.IO one
            assert payload["sid"] != handshake["sid"]
            assert auth_event(ws, before) == '42["auth",{}]'

    def test_connect_reply_comes_first(self, request, served):
        layer_failure(request, served, "what the connect handler emits reaches the client "
                      "before the CONNECT reply ('42[\"auth\",{}]' then '40{\"sid\":...}')",
                      ("python-socketio",))
        ws, _ = ws_session(served)
        with ws:
            ws.send("40")
            assert ws.recv().startswith("40{")
            assert ws.recv() == '42["auth",{}]'

    def test_connect_with_a_payload(self, served):
        ws, reply, before = sio_connect(served, '40{"token":"123"}')
        with ws:
            assert set(json.loads(reply[2:])) == {"sid"}
            assert auth_event(ws, before) == '42["auth",{"token":"123"}]'

    def test_connect_to_a_custom_namespace(self, served):
        ws, reply, before = sio_connect(served, "40/custom,")
        with ws:
            assert reply.startswith("40/custom,")
            assert set(json.loads(reply[len("40/custom,"):])) == {"sid"}
            assert auth_event(ws, before) == '42/custom,["auth",{}]'

    def test_connect_to_a_custom_namespace_with_a_payload(self, served):
        ws, reply, before = sio_connect(served, '40/custom,{"token":"abc"}')
        with ws:
            assert reply.startswith("40/custom,")
            assert set(json.loads(reply[len("40/custom,"):])) == {"sid"}
            assert auth_event(ws, before) == '42/custom,["auth",{"token":"abc"}]'

    def test_several_namespaces_on_one_connection(self, served):
        with connected(served) as ws:
            ws.send("40/custom,")
            reply, before = connect_reply(ws, "/custom")
            assert reply.startswith("40/custom,{")
            assert auth_event(ws, before) == '42/custom,["auth",{}]'
            ws.send('42["message","still on /"]')
            assert ws.recv() == '42["message-back","still on /"]'

    def test_unknown_namespace_gets_connect_error_with_a_message_object(self, request,
                                                                         served):
        layer_failure(request, served, "refuses an unknown namespace with a string "
                         "payload ('44/random,\"Unable to connect\"') instead of an object "
                         "{\"message\": ...}", ("python-socketio",))
        ws, reply, _ = sio_connect(served, "40/random")
        with ws:
            assert reply.startswith("44/random,")
            payload = json.loads(reply[len("44/random,"):])
            assert payload == {"message": "Invalid namespace"}  # the reference's text

    def test_invalid_connect_packet_closes_the_connection(self, request, served):
        stock_failure(request, served, BAD_PACKET_KEPT)
        ws, _ = ws_session(served)
        with ws:
            ws.send("4abc")
            ws.wait_closed(timeout=SHORT_WAIT)

    def test_packet_before_connect_closes_the_connection(self, request, served):
        layer_failure(request, served, "an EVENT sent before any CONNECT is ignored "
                      "and the connection kept open", ("python-socketio",))
        ws, _ = ws_session(served)
        with ws:
            ws.send('42["message","too early"]')
            ws.wait_closed(timeout=SHORT_WAIT)

    def test_no_connect_within_the_connect_timeout_closes_the_connection(self, request,
                                                                          served):
        layer_failure(request, served, "a connection that never sends CONNECT is kept "
                      "open (no connect timeout)", ("python-socketio",))
        ws, _ = ws_session(served)
        with ws:  # pings are answered: only a missing CONNECT can close it
            ws.wait_closed(timeout=CONNECT_TIMEOUT + 0.5)


# -- disconnection --------------------------------------------------------------------------


class TestDisconnect:
    def test_disconnect_from_the_main_namespace_keeps_the_engine_connection(self, served):
        with connected(served) as ws:
            ws.send("41")
            # no reply is expected; the Engine.IO connection lives on (pings go on)
            assert ws.recv(timeout=PING_INTERVAL + 1, pings="return") == "2"

    def test_connect_then_disconnect_a_custom_namespace(self, served):
        with connected(served) as ws:
            ws.send("40/custom")  # no trailing comma: the namespace ends the packet
            reply, before = connect_reply(ws, "/custom")
            assert reply.startswith("40/custom,")
            assert auth_event(ws, before) == '42/custom,["auth",{}]'
            ws.send("41/custom")
            ws.send('42["message","message to main namespace"]')
            assert ws.recv() == '42["message-back","message to main namespace"]'


# -- events and acknowledgements -------------------------------------------------------------


class TestMessages:
    def test_event(self, served):
        with connected(served) as ws:
            ws.send('42["message",1,"2",{"3":[true]}]')
            assert ws.recv() == '42["message-back",1,"2",{"3":[true]}]'

    def test_binary_event_with_attachments(self, served):
        with connected(served) as ws:
            ws.send('452-["message",{"_placeholder":true,"num":0},'
                    '{"_placeholder":true,"num":1}]')
            ws.send(b"\x01\x02\x03")
            ws.send(b"\x04\x05\x06")
            assert ws.recv_many(3) == [
                '452-["message-back",{"_placeholder":true,"num":0},'
                '{"_placeholder":true,"num":1}]',
                b"\x01\x02\x03", b"\x04\x05\x06"]

    def test_event_with_ack(self, served):
        with connected(served) as ws:
            ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
            assert ws.recv() == '43456[1,"2",{"3":[false]}]'

    def test_ack_without_arguments_is_an_empty_array(self, served):
        with connected(served) as ws:
            ws.send('427["message-with-ack"]')
            assert ws.recv() == "437[]"

    def test_binary_event_with_ack_gets_a_binary_ack(self, served):
        with connected(served) as ws:
            ws.send('452-789["message-with-ack",{"_placeholder":true,"num":0},'
                    '{"_placeholder":true,"num":1}]')
            ws.send(b"\x01\x02\x03")
            ws.send(b"\x04\x05\x06")
            assert ws.recv_many(3) == [
                '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
                b"\x01\x02\x03", b"\x04\x05\x06"]

    @pytest.mark.parametrize("packet", ["4abc", "42{}", '42abc["message-with-ack",1]',
                                        "42[]", "42"],
                             ids=["unknown-type", "payload-not-array", "invalid-ack-id",
                                  "empty-array", "no-payload"])
    def test_invalid_packet_closes_the_connection(self, request, served, packet):
        stock_failure(request, served, BAD_PACKET_KEPT)
        with connected(served) as ws:
            ws.send(packet)
            ws.wait_closed(timeout=SHORT_WAIT)


# -- the Socket.IO protocol over HTTP long-polling ------------------------------------------


class TestOverPolling:
    def test_connect_and_events_in_one_payload(self, served):
        sid, _ = open_polling(served)
        assert post(served, "40", EIO=4, transport="polling", sid=sid).status_code == 200
        packets = poll_packets(served, sid, 2)
        assert '42["auth",{}]' in packets
        reply = next(p for p in packets if p != '42["auth",{}]')
        assert reply.startswith("40{") and set(json.loads(reply[2:])) == {"sid"}
        body = '42["message","hello"]\x1e42["message","world"]'
        assert post(served, body, EIO=4, transport="polling", sid=sid).status_code == 200
        assert poll_packets(served, sid, 2) == ['42["message-back","hello"]',
                                                '42["message-back","world"]']

    def test_binary_attachments_are_base64_packets(self, served):
        sid, _ = open_polling(served)
        assert post(served, "40", EIO=4, transport="polling", sid=sid).status_code == 200
        poll_packets(served, sid, 2)
        body = '451-["message",{"_placeholder":true,"num":0}]\x1ebAQID'
        assert post(served, body, EIO=4, transport="polling", sid=sid).status_code == 200
        assert poll_packets(served, sid, 2) == [
            '451-["message-back",{"_placeholder":true,"num":0}]', b"\x01\x02\x03"]
