"""Raw Engine.IO/Socket.IO clients that write what they see into a transcript.

A scenario (``scenarios.py``) drives a :class:`Wire` (long-polling or WebSocket) with
``open``, ``send``, ``expect``... and the wire appends one normalised entry per thing
seen: the handshake, each packet received, each HTTP error, the close. The same
scenario run against the reference server and against ours must give equal
transcripts. Normalised: session ids (``<sid>``), the key order of JSON handshakes,
timings (:class:`Timed` entries compare within :data:`TOLERANCE`). Every wait is
bounded.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import requests
import websocket

SEPARATOR = "\x1e"
#: The longest wait for one expected packet.
WAIT = 3.0
#: How far apart two timings may be and still count as equal (seconds).
TOLERANCE = 0.35
PING, PONG = "2", "3"


class Closed(Exception):
    """The server ended the session (the transcript says how)."""


@dataclass(frozen=True, eq=False)
class Timed:
    """An entry with the time it came at, from the opening of the session; equal to
    another of the same label within :data:`TOLERANCE`."""

    label: str
    seconds: float

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Timed) and other.label == self.label
                and abs(other.seconds - self.seconds) <= TOLERANCE)

    def __hash__(self) -> int:
        return hash(self.label)

    def __repr__(self) -> str:
        return f"{self.label} @{self.seconds:.2f}s"


_SOCKETIO_CONNECT = re.compile(r"^(40(?:/[^,]*,)?)(\{.*\})$", re.S)


def normalise(packet: str | bytes) -> str:
    """A received packet as a transcript entry (sids replaced, JSON keys sorted)."""
    if isinstance(packet, bytes):
        return "<binary " + packet.hex() + ">"
    if packet.startswith("0{"):
        handshake = json.loads(packet[1:])
        if "sid" in handshake:
            handshake["sid"] = "<sid>"
        return "0" + json.dumps(handshake, sort_keys=True, separators=(",", ":"))
    match = _SOCKETIO_CONNECT.match(packet)
    if match:
        try:
            payload = json.loads(match.group(2))
        except ValueError:
            return packet
        if isinstance(payload, dict) and "sid" in payload:
            payload["sid"] = "<sid>"
            return match.group(1) + json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return packet


def http_entry(method: str, response: requests.Response,
               headers: tuple[str, ...] = ()) -> str:
    """``'GET 400 application/json {"code":1,...}'``: status, media type and body (the
    Engine.IO handshake's sid replaced), then the values of ``headers``."""
    media_type = response.headers.get("Content-Type", "-").split(";")[0].strip().lower()
    body = response.content.decode("utf-8", "replace")
    if body.startswith("0{"):
        body = normalise(body)
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    entry = f"{method} {response.status_code} {media_type} {body}".rstrip()
    for name in headers:
        entry += f" | {name}: {response.headers.get(name, '-')}"
    return entry


class Wire:
    """One raw session with a server, recording into :attr:`transcript`."""

    transport = ""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.transcript: list[Any] = []
        self.sid: str | None = None
        self.handshake: dict[str, Any] = {}
        self.opened_at = time.monotonic()
        self.answer_pings = True
        #: Pings are recorded, and every entry carries its time (the timing scenarios).
        self.timed = False
        self.closed = False
        self._pending: list[str | bytes] = []

    # -- what scenarios call -----------------------------------------------------------

    def log(self, entry: Any) -> None:
        self.transcript.append(Timed(entry, self.elapsed()) if self.timed else entry)

    def elapsed(self) -> float:
        return time.monotonic() - self.opened_at

    def http(self, method: str, query: str, body: bytes | str | None = None,
             headers: dict[str, str] | None = None,
             record_headers: tuple[str, ...] = ()) -> requests.Response:
        """One plain HTTP request to ``/socket.io/?<query>``; recorded (with the
        response headers named in ``record_headers``)."""
        if isinstance(body, str):
            body = body.encode()
        response = requests.request(method, f"{self.base_url}/socket.io/?{query}", data=body,
                                    headers=headers, timeout=WAIT)
        self.log(http_entry(method, response, record_headers))
        return response

    def open(self, query: str = "") -> None:
        """Open an Engine.IO session; the handshake is recorded."""
        raise NotImplementedError

    def send(self, *packets: str | bytes) -> None:
        """Send Engine.IO packets (WebSocket: one frame each; polling: one POST)."""
        raise NotImplementedError

    def expect(self, count: int = 1, timeout: float = WAIT) -> list[str | bytes]:
        """Record the next ``count`` packets (pings answered and not recorded unless
        :attr:`timed`); a timeout or the close is recorded and ends the wait."""
        got: list[str | bytes] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            try:
                packet = self._next(deadline)
            except TimeoutError:
                self.log("<nothing more>")
                break
            except Closed:
                break
            got.append(packet)
            self.log(normalise(packet))
        return got

    def expect_event(self, *events: str, timeout: float = WAIT) -> None:
        """Record packets until one is an EVENT whose name is one of ``events``."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.expect(1, timeout=max(deadline - time.monotonic(), 0.01))
            if not got or (isinstance(got[0], str) and any(
                    f'["{event}"' in got[0] for event in events)):
                return

    def quiet(self, wait: float = 0.3) -> None:
        """Record whatever comes within ``wait`` seconds (normally nothing).

        Starts with a short pause: a server may close a session a moment after it
        answered the POST that broke the protocol (ours does it from a task of its
        own), and the poll that follows must find it closed on both servers (not
        when :attr:`timed`)."""
        if not self.timed:
            time.sleep(0.1)
        deadline = time.monotonic() + wait
        while True:
            try:
                packet = self._next(deadline)
            except (TimeoutError, Closed):
                return
            self.log(normalise(packet))

    def alive(self, namespace: str = "") -> None:
        """Ask for an echo: recorded as the echo, or as the session's end."""
        prefix = f"42{namespace}," if namespace else "42"
        self.send(prefix + '["message","probe"]')
        if self.transport == "polling":
            time.sleep(0.1)  # the pause of quiet(), for the same reason
        if not self.closed:
            self.expect_event("message-back")

    def wait_closed(self, timeout: float = WAIT) -> None:
        """Record packets until the server ends the session (timed), or ``<still open>``.

        Starts with the pause of :meth:`quiet` (unless timed)."""
        if not self.timed:
            time.sleep(0.1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.log(normalise(self._next(deadline)))
            except TimeoutError:
                self.log("<still open>")
                return
            except Closed:
                return

    def close(self) -> None:
        raise NotImplementedError

    # -- transport specifics -----------------------------------------------------------

    def _next(self, deadline: float) -> str | bytes:
        """The next packet that is not a ping to hide; raises TimeoutError or Closed."""
        while True:
            if not self._pending:
                if self.closed:
                    raise Closed()
                if time.monotonic() >= deadline:
                    raise TimeoutError()
                self._pending.extend(self._read(deadline))
                continue
            packet = self._pending.pop(0)
            if packet == PING:
                if self.timed:
                    self.log(PING)
                if self.answer_pings:
                    self._pong()
                continue
            return packet

    def _read(self, deadline: float) -> list[str | bytes]:
        raise NotImplementedError

    def _pong(self) -> None:
        """Answer a ping (not recorded: how many pings come depends on timing)."""
        raise NotImplementedError

    def _ended(self, how: str) -> None:
        self.closed = True
        self.log(how)
        raise Closed(how)


class WebSocketWire(Wire):
    """Engine.IO over a WebSocket opened directly (``transport=websocket``)."""

    transport = "websocket"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.ws: websocket.WebSocket | None = None

    def connect(self, query: str) -> bool:
        """Open the WebSocket only; a refused upgrade is recorded (returns False)."""
        url = self.base_url.replace("http", "ws", 1) + f"/socket.io/?{query}"
        try:
            self.ws = websocket.create_connection(url, timeout=WAIT)
        except websocket.WebSocketBadStatusException as exc:
            body = exc.resp_body.decode("utf-8", "replace") if exc.resp_body else ""
            self.log(f"<refused {exc.status_code}> {body}".rstrip())
            self.closed = True
            return False
        self.opened_at = time.monotonic()
        return True

    def open(self, query: str = "") -> None:
        if not self.connect(f"EIO=4&transport=websocket{query}"):
            return
        packet = self._read(time.monotonic() + WAIT)[0]
        assert isinstance(packet, str) and packet.startswith("0{"), packet
        self.handshake = json.loads(packet[1:])
        self.sid = self.handshake["sid"]
        self.log(normalise(packet))

    def send(self, *packets: str | bytes) -> None:
        assert self.ws is not None
        if self.closed:
            self.log("<not sent: closed>")
            return
        try:
            for packet in packets:
                if isinstance(packet, bytes):
                    self.ws.send_binary(packet)
                else:
                    self.ws.send(packet)
        except (websocket.WebSocketConnectionClosedException, OSError):
            self.closed = True
            self.log("<closed>")

    def _pong(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(websocket.WebSocketConnectionClosedException, OSError):
            self.ws.send(PONG)

    def send_frame(self, data: bytes, opcode: int) -> None:
        assert self.ws is not None
        self.ws.send(data, opcode=opcode)

    def _read(self, deadline: float) -> list[str | bytes]:
        assert self.ws is not None
        self.ws.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            opcode, data = self.ws.recv_data()
        except websocket.WebSocketTimeoutException:
            raise TimeoutError() from None
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            self._ended("<closed>")
        except (websocket.WebSocketProtocolException, websocket.WebSocketPayloadException):
            self._ended("<not a WebSocket frame>")
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self._ended("<closed>")
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return [data.decode("utf-8")]
        return [bytes(data)]

    def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):  # the server may have gone first
                self.ws.close(timeout=0.2)
            self.ws.shutdown()


class PollingWire(Wire):
    """Engine.IO over HTTP long-polling: one GET or POST at a time."""

    transport = "polling"

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.session = requests.Session()
        self.url = ""
        #: The packets of each GET, as they were grouped (for the batching scenarios).
        self.payloads: list[list[str]] = []

    def open(self, query: str = "") -> None:
        base = f"{self.base_url}/socket.io/?EIO=4&transport=polling{query}"
        response = self.session.get(base, timeout=WAIT)
        if response.status_code != 200:
            self.log(http_entry("GET", response))
            self.closed = True
            return
        self.opened_at = time.monotonic()
        packet = response.text
        assert packet.startswith("0{"), packet
        self.handshake = json.loads(packet[1:])
        self.sid = self.handshake["sid"]
        self.url = f"{base}&sid={self.sid}"
        self.log(normalise(packet))

    def send(self, *packets: str | bytes) -> None:
        if self.closed:
            self.log("<not sent: closed>")
            return
        body = SEPARATOR.join(p if isinstance(p, str) else "b" + _b64(p) for p in packets)
        self.post(body.encode())

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
        """POST ``body`` as it is; recorded."""
        try:
            response = self.session.post(
                self.url, data=body, timeout=WAIT,
                headers=headers or {"Content-Type": "text/plain;charset=UTF-8"})
        except requests.exceptions.ConnectionError:
            self.log("POST <connection reset>")
            raise
        self.log(http_entry("POST", response))
        return response

    def _pong(self) -> None:
        with contextlib.suppress(requests.exceptions.ConnectionError):
            self.session.post(self.url, data=PONG.encode(), timeout=WAIT)

    def get(self) -> requests.Response:
        """One GET poll, recorded as it is (not split into packets)."""
        response = self.session.get(self.url, timeout=WAIT)
        self.log(http_entry("GET", response))
        return response

    def _read(self, deadline: float) -> list[str | bytes]:
        # A GET is never abandoned (the server would see the next one overlap it): the
        # server answers within a ping interval, with a ping if nothing else is due.
        try:
            response = self.session.get(self.url, timeout=WAIT)
        except requests.exceptions.ConnectionError:
            self._ended("<connection reset>")
        if response.status_code != 200:
            self._ended("<" + http_entry("GET", response) + ">")
        packets = response.content.decode("utf-8").split(SEPARATOR)
        self.payloads.append(packets)
        if "1" in packets:  # the server's CLOSE: the session is over after these
            self.closed = True
        return packets

    def close(self) -> None:
        self.session.close()


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


WIRES: dict[str, type[Wire]] = {"polling": PollingWire, "websocket": WebSocketWire}
