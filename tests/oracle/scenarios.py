"""The corpus: raw-protocol scenarios run against the reference server and ours.

Each scenario drives a :class:`~tests.oracle.wire.Wire` on one transport; the two
transcripts must be equal, except for the differences the scenario declares
deliberate (:class:`Deliberate`: the reference's entry, ours, and why). Every
deliberate difference is also listed in docs/compat.rst.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from .servers import CONNECT_TIMEOUT
from .wire import PING, WAIT, PollingWire, Timed, WebSocketWire, Wire

BOTH = ("polling", "websocket")

#: Flask-SocketIO passes ``auth=None`` to a connect handler when the client sends no
#: CONNECT payload; the reference passes ``{}``.
AUTH_NONE = ("Flask-SocketIO compatibility: a connect handler gets auth=None when the "
             "client sends no CONNECT payload (Flask-SocketIO 5.x apps test `if auth:` "
             "or `auth is None`); the reference gives {}")


@dataclass(frozen=True)
class Deliberate:
    """A difference kept on purpose: where the reference records the entries
    ``reference`` (one, or a tuple in a row), ours records ``ours``."""

    reference: str | tuple[str, ...]
    ours: str | tuple[str, ...]
    reason: str
    transports: tuple[str, ...] = BOTH

    def replaces(self, entries: list[Any], transport: str) -> tuple[str, ...] | None:
        """What ours records in place of ``entries``' start, if this applies there."""
        if transport not in self.transports:
            return None
        wanted = (self.reference,) if isinstance(self.reference, str) else self.reference
        if tuple(entries[:len(wanted)]) != wanted:
            return None
        return (self.ours,) if isinstance(self.ours, str) else self.ours

    @property
    def length(self) -> int:
        return 1 if isinstance(self.reference, str) else len(self.reference)


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Any], None]
    transports: tuple[str, ...] = BOTH
    deliberate: tuple[Deliberate, ...] = field(default=())

    def expected_from(self, reference: list[Any], transport: str) -> tuple[list[Any], list]:
        """What ours must record, given the reference's transcript; and the deliberate
        differences that applied."""
        expected: list[Any] = []
        applied: list[Deliberate] = []
        index = 0
        while index < len(reference):
            for difference in self.deliberate:
                replacement = difference.replaces(reference[index:], transport)
                if replacement is not None:
                    expected.extend(replacement)
                    applied.append(difference)
                    index += difference.length
                    break
            else:
                expected.append(reference[index])
                index += 1
        return expected, applied


SCENARIOS: dict[str, Scenario] = {}


def scenario(transports: tuple[str, ...] = BOTH,
             deliberate: tuple[Deliberate, ...] = ()) -> Callable:
    def register(run: Callable[[Any], None]) -> Callable[[Any], None]:
        name = run.__name__.removeprefix("scenario_").replace("_", "-")
        SCENARIOS[name] = Scenario(name, run, transports, deliberate)
        return run
    return register


def connect_main(wire: Wire, payload: str = '{"token":"1"}') -> None:
    """Open the session and connect to ``/`` (CONNECT reply and the auth event)."""
    wire.open()
    wire.send("40" + payload)
    wire.expect(2)


def probe_upgrade(wire: Wire) -> WebSocketWire:
    """A WebSocket for the polling session of ``wire``, its probe answered (not upgraded yet)."""
    ws = WebSocketWire(wire.base_url)
    ws.connect(f"EIO=4&transport=websocket&sid={wire.sid}")
    ws.send("2probe")
    ws.expect(1)
    return ws


PROBE_ECHO = '42["message-back","probe"]'
POST_OK = "POST 200 text/html ok"
GONE_GET = '<GET 400 application/json {"code":1,"message":"Session ID unknown"}>'
GONE_POST = 'POST 400 application/json {"code":1,"message":"Session ID unknown"}'
BAD_REQUEST_POST = 'POST 400 application/json {"code":3,"message":"Bad request"}'


def violation_closes(reason: str) -> tuple[Deliberate, Deliberate]:
    """Ours closes the connection where the reference goes on: the probe that follows
    is answered there, while ours ends the session (polling: the NOOP and CLOSE of a
    server-closed session; WebSocket: the close)."""
    return (Deliberate(PROBE_ECHO, ("6", "1"), reason, ("polling",)),
            Deliberate(PROBE_ECHO, "<closed>", reason, ("websocket",)))


def engine_violation_post(reason: str) -> Deliberate:
    """A POST that breaks the Engine.IO protocol: ours answers 400 Bad request (the
    session is gone after it on both)."""
    return Deliberate((POST_OK, GONE_POST), (BAD_REQUEST_POST, GONE_POST), reason,
                      ("polling",))


NO_AUTH_MAIN = Deliberate('42["auth",{}]', '42["auth"]', AUTH_NONE)
NO_AUTH_CUSTOM = Deliberate('42/custom,["auth",{}]', '42/custom,["auth"]', AUTH_NONE)

# -- Engine.IO: handshake and HTTP errors ---------------------------------------------------


@scenario()
def scenario_handshake(wire: Wire) -> None:
    wire.open()
    wire.quiet(0.1)


@scenario(transports=("polling",))
def scenario_http_errors(wire: Wire) -> None:
    wire.http("GET", "")
    wire.http("GET", "EIO=4")
    wire.http("GET", "transport=polling")
    wire.http("GET", "EIO=3&transport=polling")
    wire.http("GET", "EIO=abc&transport=polling")
    wire.http("GET", "EIO=4&transport=foo")
    wire.http("GET", "EIO=4&transport=polling&sid=unknown")
    wire.http("POST", "EIO=4&transport=polling&sid=unknown", body="40")
    wire.http("POST", "EIO=4&transport=polling", body="40")
    wire.http("PUT", "EIO=4&transport=polling")
    wire.http("GET", "EIO=4&transport=websocket")


CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                "Access-Control-Allow-Headers", "Access-Control-Allow-Credentials",
                "Vary")
CORS = ("with cors_allowed_origins='*' the request's origin is echoed (with Vary: "
        "Origin), as python-engineio does, and a preflight is answered 200 with the "
        "methods Engine.IO uses; the reference answers '*' and a 204 listing more "
        "methods. Browsers accept both")


@scenario(transports=("polling",), deliberate=(
    Deliberate(
        "OPTIONS 204 - | Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: "
        "GET,HEAD,PUT,PATCH,POST,DELETE | Access-Control-Allow-Headers: content-type | "
        "Access-Control-Allow-Credentials: - | Vary: Access-Control-Request-Headers",
        "OPTIONS 200 text/plain | Access-Control-Allow-Origin: http://example.com | "
        "Access-Control-Allow-Methods: OPTIONS, GET, POST | Access-Control-Allow-Headers: "
        "content-type | Access-Control-Allow-Credentials: - | Vary: Origin", CORS),
    Deliberate(
        'GET 200 text/plain 0{"maxPayload":1000000,"pingInterval":500,"pingTimeout":1000,'
        '"sid":"<sid>","upgrades":["websocket"]} | Access-Control-Allow-Origin: * | '
        "Access-Control-Allow-Methods: - | Access-Control-Allow-Headers: - | "
        "Access-Control-Allow-Credentials: - | Vary: -",
        'GET 200 text/plain 0{"maxPayload":1000000,"pingInterval":500,"pingTimeout":1000,'
        '"sid":"<sid>","upgrades":["websocket"]} | Access-Control-Allow-Origin: '
        "http://example.com | Access-Control-Allow-Methods: - | "
        "Access-Control-Allow-Headers: - | Access-Control-Allow-Credentials: - | "
        "Vary: Origin", CORS),
    Deliberate(
        'GET 400 application/json {"code":0,"message":"Transport unknown"} | '
        "Access-Control-Allow-Origin: * | Access-Control-Allow-Methods: - | "
        "Access-Control-Allow-Headers: - | Access-Control-Allow-Credentials: - | Vary: -",
        'GET 400 application/json {"code":0,"message":"Transport unknown"} | '
        "Access-Control-Allow-Origin: http://example.com | Access-Control-Allow-Methods: "
        "- | Access-Control-Allow-Headers: - | Access-Control-Allow-Credentials: - | "
        "Vary: Origin", CORS),
))
def scenario_cors(wire: Wire) -> None:
    origin = {"Origin": "http://example.com"}
    wire.http("OPTIONS", "EIO=4&transport=polling", record_headers=CORS_HEADERS,
              headers={**origin, "Access-Control-Request-Method": "POST",
                       "Access-Control-Request-Headers": "content-type"})
    wire.http("GET", "EIO=4&transport=polling", headers=origin, record_headers=CORS_HEADERS)
    wire.http("GET", "EIO=4&transport=foo", headers=origin, record_headers=CORS_HEADERS)


@scenario(transports=("polling",), deliberate=(Deliberate(
    "PUT 500 -", 'PUT 400 application/json {"code":2,"message":"Bad handshake method"}',
    "a request method other than GET and POST is the client's error: 400 with the "
    "Engine.IO error object, as without a session; the reference answers 500 "
    "(a server error) with no body"),))
def scenario_http_errors_on_a_session(wire: Wire) -> None:
    wire.open()
    wire.http("PUT", f"EIO=4&transport=polling&sid={wire.sid}")
    wire.http("GET", f"EIO=4&transport=foo&sid={wire.sid}")
    wire.http("GET", f"EIO=4&transport=websocket&sid={wire.sid}")


REFUSED_VERSION = ("an upgrade request with a missing or unsupported EIO is refused "
                   "before the upgrade (HTTP 400, as the reference refuses an unknown "
                   "transport or session); the reference answers 101 and then writes "
                   "bytes that are not a WebSocket frame")


@scenario(transports=("websocket",), deliberate=tuple(Deliberate(
    f"{query}: <upgraded> <not a WebSocket frame>",
    f"{query}: <refused 400> Unsupported protocol version", REFUSED_VERSION)
    for query in ("EIO=3&transport=websocket", "transport=websocket")))
def scenario_websocket_refusals(wire: Wire) -> None:
    for query in ("EIO=3&transport=websocket", "transport=websocket",
                  "EIO=4&transport=foo", "EIO=4&transport=websocket&sid=unknown"):
        probe = WebSocketWire(wire.base_url)
        probe.connect(query)
        if not probe.closed:
            probe.log("<upgraded>")
            probe.wait_closed(1)
        probe.close()
        wire.log(f"{query}: " + " ".join(probe.transcript))


# -- Engine.IO: heartbeat, close, upgrade, batching ----------------------------------------


@scenario()
def scenario_ping_pong_timing(wire: Wire) -> None:
    connect_main(wire)
    wire.timed = True
    deadline = time.monotonic() + WAIT  # two pings, answered, each timed
    while (sum(entry.label == PING for entry in wire.transcript if isinstance(entry, Timed))
           < 2 and time.monotonic() < deadline):
        wire.quiet(0.05)


@scenario()
def scenario_ping_timeout(wire: Wire) -> None:
    wire.open()
    wire.send('40{"token":"1"}')
    wire.expect(2)
    wire.timed = True
    wire.answer_pings = False
    wire.wait_closed(3)


@scenario()
def scenario_pong_without_ping(wire: Wire) -> None:
    connect_main(wire)
    wire.send("3")
    wire.alive()


CLIENT_PING = ("a ping from the client is answered with a pong (harmless, and what "
               "python-engineio does); the reference closes the session (in Engine.IO "
               "v4 only the server pings)")


@scenario(deliberate=(
    Deliberate(GONE_GET, "3", CLIENT_PING, ("polling",)),
    Deliberate("<closed>", "3", CLIENT_PING, ("websocket",))))
def scenario_client_ping(wire: Wire) -> None:
    connect_main(wire)
    wire.send("2")
    wire.expect(1)


@scenario(deliberate=(Deliberate(
    "<still open>", "<closed>",
    "a CLOSE packet from the client ends the session on WebSocket as on polling; the "
    "reference ignores it on WebSocket", ("websocket",)),))
def scenario_client_closes_engine(wire: Wire) -> None:
    connect_main(wire)
    wire.send("1")
    wire.wait_closed(1)
    if isinstance(wire, PollingWire):
        wire.get()


@scenario(transports=("polling",))
def scenario_upgrade(wire: Wire) -> None:
    connect_main(wire)
    ws = probe_upgrade(wire)
    ws.send("5")
    ws.send('42["message","over websocket"]')
    ws.expect(1)
    wire.transcript.extend(ws.transcript)
    wire.get()
    ws.close()


@scenario(transports=("polling",))
def scenario_upgrade_with_a_pending_poll(wire: Wire) -> None:
    connect_main(wire)
    results: list[requests.Response] = []
    poll = threading.Thread(target=lambda: results.append(
        requests.get(wire.url, timeout=WAIT)))
    poll.start()
    time.sleep(0.2)
    ws = probe_upgrade(wire)
    poll.join(WAIT)
    wire.log(f"pending GET: {results[0].status_code} {results[0].text}")
    ws.send("5")
    ws.send('42["message","after the upgrade"]')
    ws.expect(1)
    wire.transcript.extend(ws.transcript)
    ws.close()


@scenario(transports=("polling",))
def scenario_events_during_the_upgrade(wire: Wire) -> None:
    connect_main(wire)
    ws = probe_upgrade(wire)
    wire.send('42["burst",3]')  # produced between the probe and the upgrade
    time.sleep(0.2)
    ws.send("5")
    ws.expect(3)  # on the WebSocket, in order
    ws.send('42["message","after"]')
    ws.expect(1)
    wire.transcript.extend(ws.transcript)
    ws.close()


@scenario(transports=("polling",))
def scenario_upgrade_probe_twice(wire: Wire) -> None:
    connect_main(wire)
    first = probe_upgrade(wire)
    first.send("5")
    second = WebSocketWire(wire.base_url)
    if second.connect(f"EIO=4&transport=websocket&sid={wire.sid}"):
        second.log("<upgraded>")
        second.wait_closed(1)
    wire.transcript.extend(first.transcript + ["second:"] + second.transcript)
    first.close()
    second.close()


@scenario(transports=("polling",))
def scenario_polling_batching(wire: Wire) -> None:
    assert isinstance(wire, PollingWire)
    connect_main(wire)
    wire.send('42["burst",5]')
    time.sleep(0.3)
    wire.get()  # all five in one payload


@scenario(transports=("polling",))
def scenario_polling_post_of_many_packets(wire: Wire) -> None:
    connect_main(wire)
    wire.send('42["message",1]', '42["message",2]', '421["message-with-ack",3]')
    wire.expect(3)


@scenario(transports=("polling",), deliberate=(Deliberate(
    "400 ", '400 {"code":3,"message":"Bad request"}',
    "the refused overlapping poll gets the Engine.IO error object like every other "
    "400; the reference's has an empty body"),))
def scenario_polling_two_pending_gets(wire: Wire) -> None:
    connect_main(wire)
    results: list[str] = []

    def poll() -> None:
        response = requests.get(wire.url, timeout=WAIT)
        results.append(f"{response.status_code} {response.text}")

    first = threading.Thread(target=poll)
    first.start()
    time.sleep(0.2)
    poll()
    first.join(WAIT)
    wire.transcript.extend(sorted(results))


@scenario(transports=("polling",))
def scenario_polling_payload_too_large(wire: Wire) -> None:
    assert isinstance(wire, PollingWire)
    connect_main(wire)
    body = ('42["message","' + "x" * 1_000_100 + '"]').encode()
    try:  # a connection of its own: the server may reset it before reading it all
        status = str(requests.post(wire.url, data=body, timeout=WAIT).status_code)
    except requests.exceptions.ConnectionError:
        status = "413"  # refused before the body was read (the reference, at times)
    wire.log(f"POST {status} (the body text aside: the reference sends none)")
    wire.wait_closed(2)


@scenario(transports=("websocket",))
def scenario_websocket_message_too_large(wire: Wire) -> None:
    connect_main(wire)
    wire.send('42["message","' + "x" * 1_000_100 + '"]')
    wire.wait_closed(2)


BAD_UTF8 = ("a POST that is not UTF-8 breaks the protocol: 400 Bad request and the "
            "session closes (as a WebSocket text frame that is not UTF-8 does); the "
            "reference replaces the bad bytes with U+FFFD and goes on")


@scenario(transports=("polling",), deliberate=(
    Deliberate((POST_OK, POST_OK, '42["message-back","\ufffd\ufffd"]'),
               (BAD_REQUEST_POST, GONE_POST, GONE_GET), BAD_UTF8),))
def scenario_polling_bad_utf8(wire: Wire) -> None:
    assert isinstance(wire, PollingWire)
    connect_main(wire)
    wire.post(b'42["message","\xff\xfe"]')
    wire.alive()


# -- Socket.IO: CONNECT and CONNECT_ERROR --------------------------------------------------


@scenario(deliberate=(NO_AUTH_MAIN,))
def scenario_connect_main(wire: Wire) -> None:
    connect_main(wire, "")
    wire.quiet(0.1)


@scenario()
def scenario_connect_main_with_auth(wire: Wire) -> None:
    connect_main(wire, '{"token":"123"}')


@scenario(deliberate=(NO_AUTH_CUSTOM,))
def scenario_connect_custom(wire: Wire) -> None:
    wire.open()
    wire.send("40/custom,")
    wire.expect(2)


@scenario()
def scenario_connect_custom_with_auth(wire: Wire) -> None:
    wire.open()
    wire.send('40/custom,{"token":"abc"}')
    wire.expect(2)


@scenario(deliberate=(NO_AUTH_MAIN, NO_AUTH_CUSTOM))
def scenario_custom_namespace_then_main(wire: Wire) -> None:
    wire.open()
    wire.send("40/custom,")
    wire.expect(2)
    wire.send("40")
    wire.expect(2)
    wire.alive()
    wire.alive("/custom")


@scenario()
def scenario_unknown_namespace(wire: Wire) -> None:
    wire.open()
    wire.send("40/random,")
    wire.expect(1)
    wire.send("40/random")
    wire.expect(1)
    wire.send('40{"token":"1"}')
    wire.expect(2)
    wire.alive()


@scenario()
def scenario_refused_namespace(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send("40/refused,")
    wire.expect(1)
    wire.send("40/refused-with-data,")
    wire.expect(1)
    wire.alive()


@scenario()
def scenario_invalid_connect(wire: Wire) -> None:
    wire.open()
    wire.send("4abc")
    wire.wait_closed(2)


@scenario()
def scenario_connect_twice(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('40{"token":"2"}')
    wire.quiet(0.3)
    wire.alive()


@scenario()
def scenario_connect_timeout(wire: Wire) -> None:
    wire.open()
    wire.timed = True
    wire.wait_closed(CONNECT_TIMEOUT + 2)


@scenario()
def scenario_event_before_connect(wire: Wire) -> None:
    wire.open()
    wire.send('42["message","too early"]')
    wire.quiet(0.3)
    wire.send('40{"token":"1"}')
    wire.expect(2)
    wire.alive()


# -- Socket.IO: events, acks, binary --------------------------------------------------------


@scenario(deliberate=(Deliberate(
    '42["message-back",null,"é ☃ 😀"]',
    '42["message-back",null,"\\u00e9 \\u2603 \\ud83d\\ude00"]',
    "the same JSON value: python-socketio's encoder escapes non-ASCII characters (as "
    "Flask-SocketIO 5 does, so recorded packets stay the same); the reference sends "
    "them as UTF-8"),))
def scenario_plain_event(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('42["message",1,"2",{"3":[true]}]')
    wire.expect(1)
    wire.send('42["message"]')
    wire.expect(1)
    wire.send('42["message",null,"é ☃ 😀"]')
    wire.expect(1)


@scenario()
def scenario_event_with_ack(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('421["message-with-ack",1,"2",{"3":[true]}]')
    wire.expect(1)
    wire.send('4299["message-with-ack"]')
    wire.expect(1)


@scenario(deliberate=(Deliberate(
    '42["message-back","x"]', ('42["message-back","x"]', "436[]"),
    "python-socketio acknowledges every event that asks for it, with what the handler "
    "returned ([] for None); the reference leaves it to the handler, which here does "
    "not call back"),))
def scenario_event_asking_for_an_ack_its_handler_ignores(wire: Wire) -> None:
    connect_main(wire)
    wire.send('426["message","x"]')
    wire.expect(1)
    wire.quiet(0.2)


@scenario()
def scenario_unhandled_event_with_ack(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('427["nobody-listens",1]')
    wire.quiet(0.3)
    wire.alive()


@scenario()
def scenario_binary_attachments(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
              bytes([1, 2, 3]), bytes([4, 5, 6]))
    wire.expect(3)


@scenario()
def scenario_binary_ack(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('451-3["message-with-ack",{"_placeholder":true,"num":0}]', bytes([7, 8]))
    wire.expect(2)


@scenario()
def scenario_server_asks_for_an_ack(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('42["ask","ready?"]')
    question = wire.expect(1)
    ack_id = question[0][2:question[0].index("[")] if question else ""
    # Ack ids are opaque to the client, and counted differently: from 1 for each
    # connection by python-socketio, from 0 for each namespace by the reference.
    wire.transcript[-1] = wire.transcript[-1].replace(f"42{ack_id}[", "42<id>[", 1)
    wire.send(f'43{ack_id}["yes"]')
    wire.expect(1)


@scenario()
def scenario_namespaced_events(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('42/custom,["message","not connected there"]')
    wire.quiet(0.3)
    wire.send('40/custom,{"token":"2"}')
    wire.expect(2)
    wire.send('421/custom,["message-with-ack","x"]')
    wire.expect(1)
    wire.send('42/custom,["join-and-broadcast","room"]')
    wire.expect(1)


# -- Socket.IO: disconnects -----------------------------------------------------------------


@scenario()
def scenario_disconnect_main(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send("41")
    wire.wait_closed(2)


@scenario()
def scenario_connect_then_disconnect_custom(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('40/custom,{"token":"2"}')
    wire.expect(2)
    wire.send("41/custom,")
    wire.send('42["message","message to main namespace"]')
    wire.expect(1)
    wire.send('42/custom,["message","after leaving"]')
    wire.quiet(0.3)


@scenario()
def scenario_server_disconnects_the_client(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('40/custom,{"token":"2"}')
    wire.expect(2)
    wire.send('42/custom,["disconnect-me"]')
    wire.expect(1)
    wire.alive()
    wire.send('42["disconnect-me"]')
    wire.expect(1)
    wire.wait_closed(2)


# -- malformed packets: each followed by a probe of the session ----------------------------

#: Malformed packets where ours differs on purpose: ours closes, the reference goes on.
STRICTER = {
    "no-payload": "an EVENT without payload breaks the specification (the official "
                  "conformance tests follow it); the reference ignores it",
    "non-string-event": "event names are strings (Flask-SocketIO dispatches on them); "
                        "the reference's parser also accepts numbers",
    "ack-without-id": "an ACK needs an id (specification); the reference ignores it",
    "ack-id-too-large": "an ack id above 2**53 - 1 cannot be an exact JavaScript number; "
                        "the reference's parser rounds it",
}
LENIENT_CONNECT = ("a CONNECT payload that is not an object reaches the connect handler as "
                   "it is (as with Flask-SocketIO, whose test client sends any auth); the "
                   "reference closes the connection")
ENGINE_VIOLATION = ("a POST carrying a packet Engine.IO does not define is answered 400 "
                    "Bad request as the session closes; the reference answers 200 ok "
                    "and closes the session")
MALFORMED = {
    "no-payload": "42",
    "broken-json": '42["message"',
    "object-payload": '42{"a":1}',
    "empty-array": "42[]",
    "non-string-event": "42[1,2]",
    "empty-socketio-packet": "4",
    "unknown-socketio-type": "49",
    "ack-with-unknown-id": '43999["x"]',
    "ack-without-id": '43["x"]',
    "bad-namespace": '42nsp,["message"]',
    "connect-error-from-client": '44{"message":"x"}',
    "unknown-engineio-type": "9",
    "empty-engineio-packet": "",
    "upgrade-without-probe": "5",
    "noop": "6",
    "negative-attachments": '45-1-["message"]',
    "reserved-event-connect": '42["connect"]',
    "reserved-event-disconnecting": '42["disconnecting"]',
    "empty-event-name": '42[""]',
    "string-connect-payload": '40/custom,"abc"',
    "array-connect-payload": "40/custom,[1]",
    "ack-id-too-large": '429007199254740993["message"]',
    "disconnect-with-payload": '41{"a":1}',
    "binary-ack-without-attachments": '46-1[]',
}


def _malformed(name: str, packet: str) -> None:
    def run(wire: Wire) -> None:
        connect_main(wire, '{"token":"1"}')
        wire.send(packet)
        wire.alive()

    deliberate: tuple[Deliberate, ...] = ()
    if name == "ack-id-too-large":  # the reference echoes the event itself
        deliberate = (
            Deliberate('42["message-back"]', ("6", "1"), STRICTER[name], ("polling",)),
            Deliberate('42["message-back"]', "<closed>", STRICTER[name], ("websocket",)))
    elif name in STRICTER:
        deliberate = violation_closes(STRICTER[name])
    elif name in ("unknown-engineio-type", "empty-engineio-packet"):
        deliberate = (engine_violation_post(ENGINE_VIOLATION),)
    elif name in ("string-connect-payload", "array-connect-payload"):
        auth = packet[len("40/custom,"):]
        deliberate = (
            Deliberate(("6", "1"), ('40/custom,{"sid":"<sid>"}', f'42/custom,["auth",{auth}]',
                                    PROBE_ECHO), LENIENT_CONNECT, ("polling",)),
            Deliberate("<closed>", ('40/custom,{"sid":"<sid>"}', f'42/custom,["auth",{auth}]',
                                    PROBE_ECHO), LENIENT_CONNECT, ("websocket",)))
    elif name == "upgrade-without-probe":
        deliberate = (
            Deliberate((POST_OK, POST_OK, PROBE_ECHO), (BAD_REQUEST_POST, GONE_POST, GONE_GET),
                       UPGRADE_WITHOUT_PROBE, ("polling",)),
            Deliberate(PROBE_ECHO, "<closed>", UPGRADE_WITHOUT_PROBE, ("websocket",)))
    run.__name__ = f"scenario_malformed_{name}"
    scenario(deliberate=deliberate)(run)


UPGRADE_WITHOUT_PROBE = ("an UPGRADE packet outside an upgrade breaks the protocol and "
                         "closes the session; the reference ignores it")


for _name, _packet in MALFORMED.items():
    _malformed(_name, _packet)


@scenario()
def scenario_nested_binary(wire: Wire) -> None:
    connect_main(wire)
    wire.send('451-["message",{"a":{"_placeholder":true,"num":0},"b":[1,[2]]},"x"]',
              bytes(range(10)))
    wire.expect(2)


@scenario()
def scenario_disconnect_main_while_custom_is_connected(wire: Wire) -> None:
    connect_main(wire)
    wire.send('40/custom,{"token":"2"}')
    wire.expect(2)
    wire.send("41")
    wire.quiet(0.2)
    wire.alive("/custom")
    wire.alive()


@scenario()
def scenario_event_with_ack_on_a_custom_namespace(wire: Wire) -> None:
    wire.open()
    wire.send('40/custom,{"token":"2"}')
    wire.expect(2)
    wire.send('42/custom,5["message-with-ack",{"nested":[1,null,true]},"b"]')
    wire.expect(1)
    wire.send('42/custom,["message"]')
    wire.expect(1)


@scenario(transports=("polling",))
def scenario_polling_binary_in_one_post(wire: Wire) -> None:
    connect_main(wire)
    wire.send('451-["message",{"_placeholder":true,"num":0}]', bytes([9, 8, 7]),
              '42["message","after"]')
    wire.expect(3)


@scenario(transports=("websocket",))
def scenario_malformed_unexpected_binary_frame(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send(b"\x01\x02")
    wire.alive()


@scenario()
def scenario_malformed_binary_packet_then_text(wire: Wire) -> None:
    connect_main(wire, '{"token":"1"}')
    wire.send('451-["message",{"_placeholder":true,"num":0}]')
    wire.send('42["message","text instead of the attachment"]')
    time.sleep(0.1)  # ours closes a moment after answering the POST (see Wire.quiet)
    wire.expect_event("message-back", timeout=1)
    wire.alive()
