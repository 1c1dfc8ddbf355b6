"""The default engine under hostile and slow clients (issue 11) and its write discipline
(issue 13): at the socket level, every wait and every load bounded.

Clients are raw TCP sockets speaking WebSocket by hand (a client that never reads
must really not read: a small receive buffer and no ``recv``), websocket-client
sockets answering pings, and ``requests`` sessions for long-polling. The servers
are :class:`~flask_socketio.testing.LiveServer` (the whole stack) or a bare
:class:`~flask_socketio.engine.native.NativeEngine` whose request handler records
each ``sendall`` (the write discipline is about system calls).

The figures each test measures are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import pytest
import requests
import websocket
from flask import Flask, request

from flask_socketio import SocketIO, emit
from flask_socketio.engine.native import NativeEngine
from flask_socketio.serving import DEFAULT_HEADER_TIMEOUT
from flask_socketio.testing import LiveServer

from .engine_server import BareServer

SEPARATOR = "\x1e"


# -- clients -----------------------------------------------------------------------------


def ws_frame(text: str) -> bytes:
    """A masked client text frame."""
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    length = len(payload)
    if length < 126:
        header = bytes([0x81, 0x80 | length])
    elif length < 65536:
        header = bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
    else:
        header = bytes([0x81, 0x80 | 127]) + length.to_bytes(8, "big")
    return header + mask + masked


def open_stalled_websocket(port: int, path: str = "/socket.io/") -> socket.socket:
    """A WebSocket Engine.IO session over a raw socket with a tiny receive buffer, its
    namespace ``/`` connected; the caller then never reads from it."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path}?EIO=4&transport=websocket HTTP/1.1\r\n"
                  f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while not response.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        assert chunk, response
        response += chunk
    assert response.startswith(b"HTTP/1.1 101"), response
    sock.sendall(ws_frame("40"))
    return sock


class PingingClient:
    """A websocket-client Engine.IO session in a thread of its own: it answers pings,
    counts the events named ``count_event`` and notes when it was closed."""

    def __init__(self, base_url: str, count_event: str = "tick") -> None:
        url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.ws = websocket.create_connection(url, timeout=5)
        assert self.ws.recv().startswith("0")
        self.ws.send("40")
        assert self.ws.recv().startswith("40")
        self.prefix = f'42["{count_event}"'
        self.count = 0
        self.pings: list[float] = []
        self.echoes: list[str] = []
        self.closed_at: float | None = None
        self._stop = threading.Event()
        self.ws.settimeout(0.2)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                opcode, data = self.ws.recv_data()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                self.closed_at = time.monotonic()
                return
            if opcode != websocket.ABNF.OPCODE_TEXT:
                self.closed_at = time.monotonic()
                return
            text = data.decode()
            if text == "2":
                self.pings.append(time.monotonic())
                self.ws.send("3")
            elif text.startswith(self.prefix):
                self.count += 1
            elif text.startswith('42["echo"'):
                self.echoes.append(text)

    def send(self, text: str) -> None:
        self.ws.send(text)

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()
        self.ws.close()


@contextmanager
def pinging_clients(server: LiveServer, count: int, **options: Any) -> Iterator[list]:
    clients: list[PingingClient] = []
    try:
        for _ in range(count):
            clients.append(PingingClient(server.url, **options))
        yield clients
    finally:
        for client in clients:
            client.close()


def polling_session(server: LiveServer, **headers: str) -> tuple[requests.Session, str]:
    http = requests.Session()
    response = http.get(f"{server.url}/socket.io/", params={"EIO": "4", "transport": "polling"},
                        headers=headers, timeout=5)
    assert response.status_code == 200, response.text
    sid = json.loads(response.text[1:])["sid"]
    return http, f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"


def wait_until(condition: Callable[[], Any], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- the app -------------------------------------------------------------------------------


def make_app(**options: Any) -> tuple[Flask, SocketIO, dict[str, Any]]:
    """An app that broadcasts on request, floods one client on request, echoes, and
    records disconnect reasons and what its connect handler saw."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "hostile"
    socketio = SocketIO(app, **options)
    seen: dict[str, Any] = {"reasons": {}, "cookies": [], "broadcasts": 0, "sids": [],
                            "greenlets": set(), "order": []}

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:
        seen["cookies"].append(request.headers.get("Cookie"))
        seen["sids"].append(request.sid)  # type: ignore[attr-defined]

    @socketio.on("disconnect")
    def on_disconnect(reason: Any = None) -> None:
        seen["reasons"][request.sid] = reason  # type: ignore[attr-defined]
        delay = seen.get("disconnect_delay")
        if delay:
            socketio.sleep(delay)

    @socketio.on("whoami")
    def on_whoami() -> str:
        return request.sid  # type: ignore[attr-defined]

    @socketio.on("echo")
    def on_echo(data: Any) -> None:
        emit("echo", data)

    @socketio.on("broadcast")
    def on_broadcast(count: int, size: int, interval: float) -> None:
        payload = "x" * size

        def run() -> None:
            start = time.monotonic()
            for index in range(count):
                delay = start + index * interval - time.monotonic()
                if delay > 0:
                    socketio.sleep(delay)
                socketio.emit("tick", payload)
                seen["broadcasts"] += 1

        socketio.start_background_task(run)

    @socketio.on("flood")
    def on_flood(count: int, size: int) -> None:
        payload = "y" * size
        for _ in range(count):
            emit("flood", payload)
        emit("flooded")

    @socketio.on("record")
    def on_record(index: int) -> None:
        seen["greenlets"].add(id(gevent.getcurrent()))
        seen["order"].append(index)
        socketio.sleep(0.001)  # the handler waits: the next event finds the worker busy

    return app, socketio, seen


# -- 1. a client that stops reading stalls nobody -------------------------------------------


def test_a_non_reading_websocket_client_does_not_slow_the_others_broadcasts():
    """Why 1: ~3 MB/s broadcast for 3 s to three healthy clients and one that never
    reads: each healthy client gets >= 80% of the broadcasts due in that time and
    none is dropped; an HTTP route that emits answers at once."""
    app, socketio, seen = make_app()

    @app.route("/emit")
    def emit_from_a_route() -> str:
        socketio.emit("routed", "from a route")
        return "sent"

    count, size, interval = 300, 30_000, 0.01
    with LiveServer(app) as server, pinging_clients(server, 3) as healthy:
        stalled = open_stalled_websocket(server.port)
        try:
            time.sleep(0.2)
            healthy[0].send(f'42["broadcast",{count},{size},{interval}]')
            time.sleep(count * interval / 2)
            started = time.monotonic()
            assert requests.get(server.url + "/emit", timeout=5).text == "sent"
            route_seconds = time.monotonic() - started
            time.sleep(count * interval / 2 + 1.0)
            received = [client.count for client in healthy]
            dropped = [client.closed_at is not None for client in healthy]
        finally:
            stalled.close()
    shares = [round(number / count, 3) for number in received]
    print(f"\nhealthy clients got {shares} of {count} broadcasts of {size} B; "
          f"route emit {route_seconds:.3f} s")
    assert not any(dropped)
    assert min(shares) >= 0.8, shares
    assert route_seconds < 1.0


def test_a_queue_past_max_queued_bytes_closes_the_client_with_a_reason_of_its_own():
    """Why 1 and item 2: the stalled client is closed with SocketIO.reason.QUEUE_FULL, which its
    disconnect handler receives; the healthy one is not touched."""
    app, socketio, seen = make_app(max_queued_bytes=1_000_000)
    with LiveServer(app) as server, pinging_clients(server, 1) as healthy:
        stalled = open_stalled_websocket(server.port)
        try:
            time.sleep(0.2)
            healthy[0].send('42["broadcast",200,50000,0.005]')  # 10 MB in 1 s
            assert wait_until(lambda: SocketIO.reason.QUEUE_FULL in seen["reasons"].values(), 10)
            time.sleep(0.3)
        finally:
            stalled.close()
        assert healthy[0].closed_at is None
        assert list(seen["reasons"].values()) == [SocketIO.reason.QUEUE_FULL]
        assert "Closing Engine.IO connection" in server.log
        assert "max_queued_bytes" in server.log


def test_a_client_that_pongs_but_never_reads_is_closed_as_a_ping_timeout():
    """Item 2: a peer that has not taken what was written for ping_interval +
    ping_timeout is closed as a ping timeout, even if it sends PONGs blindly."""
    app, socketio, seen = make_app(ping_interval=0.5, ping_timeout=0.5)
    with LiveServer(app) as server:
        stalled = open_stalled_websocket(server.port)
        try:
            time.sleep(0.2)
            stalled.sendall(ws_frame('42["flood",80,100000]'))  # 8 MB, beyond the buffers
            started = time.monotonic()
            closed = False
            while time.monotonic() - started < 6:
                stalled.sendall(ws_frame("3"))
                if SocketIO.reason.PING_TIMEOUT in seen["reasons"].values():
                    closed = True
                    break
                time.sleep(0.2)
            seconds = time.monotonic() - started
        except OSError:  # the server shut the socket down while we were writing
            seconds = time.monotonic() - started
            closed = wait_until(
                lambda: SocketIO.reason.PING_TIMEOUT in seen["reasons"].values(), 2)
        finally:
            stalled.close()
    print(f"\nclosed as a ping timeout after {seconds:.2f} s")
    assert closed, seen["reasons"]
    assert seconds < 4


def test_a_slow_reader_does_not_block_a_handler_sending_to_others():
    """Write discipline: a handler that sends 8 MB to a client that does not read
    returns at once, so its next emit, to another client, arrives."""
    app, socketio, seen = make_app()

    @socketio.on("flood_then_echo")
    def flood_then_echo(target: str, other: str) -> None:
        for _ in range(80):
            socketio.emit("flood", "z" * 100_000, to=target)
        socketio.emit("echo", "after the flood", to=other)

    with LiveServer(app) as server, pinging_clients(server, 1) as healthy:
        stalled = open_stalled_websocket(server.port)
        try:
            assert wait_until(lambda: len(seen["sids"]) == 2, 5)
            healthy_sid, stalled_sid = seen["sids"]
            started = time.monotonic()
            healthy[0].send("42" + json.dumps(["flood_then_echo", stalled_sid, healthy_sid]))
            assert wait_until(lambda: healthy[0].echoes, 5), "the echo never came"
            seconds = time.monotonic() - started
        finally:
            stalled.close()
    print(f"\necho after an 8 MB send to a stalled client: {seconds:.3f} s")
    assert seconds < 1.0  # before: never (the handler waited for the stalled client)


# -- 2. disconnect handlers run outside the heartbeat ----------------------------------------


def test_slow_disconnect_handlers_of_timed_out_clients_do_not_delay_anyone_s_pings():
    """Why 2: six clients vanish at once, each disconnect handler takes 2 s; a healthy
    idle client is still pinged every ping_interval and stays connected."""
    app, socketio, seen = make_app(ping_interval=0.5, ping_timeout=0.5)
    seen["disconnect_delay"] = 2.0
    with LiveServer(app) as server, pinging_clients(server, 1) as healthy:
        vanished = []
        for _ in range(6):
            vanished.append(websocket.create_connection(
                server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
                timeout=5))
            vanished[-1].send("40")
        try:
            assert wait_until(lambda: len(seen["reasons"]) == 6, 5), seen["reasons"]
            time.sleep(2.5)  # the handlers' time
            pings = [at for at in healthy[0].pings]
        finally:
            for ws in vanished:
                ws.close()
        assert set(seen["reasons"].values()) == {SocketIO.reason.PING_TIMEOUT}
        assert healthy[0].closed_at is None
    gaps = [later - earlier for earlier, later in zip(pings, pings[1:], strict=False)]
    print(f"\nlongest gap between pings: {max(gaps):.2f} s")
    assert max(gaps) < 1.2, gaps


# -- 3. and 4. polling POST limits -------------------------------------------------------


def test_a_one_megabyte_post_of_tiny_packets_keeps_a_good_client_s_round_trip_short():
    """Why 3: a 1 MB POST of 76,923 packets is refused (400, the session closed) and a
    WebSocket client's echo round trips stay under 0.5 s meanwhile."""
    app, socketio, seen = make_app()
    with LiveServer(app) as server, pinging_clients(server, 1) as healthy:
        http, url = polling_session(server)
        assert http.post(url, data="40", timeout=5).text == "ok"
        body = SEPARATOR.join(['42["echo",1]'] * 76_923).encode()
        assert len(body) <= 1_000_000
        result: dict[str, Any] = {}

        def post() -> None:
            result["response"] = http.post(url, data=body, timeout=30)

        thread = threading.Thread(target=post)
        round_trips = []
        thread.start()
        try:
            for index in range(20):
                before = len(healthy[0].echoes)
                started = time.monotonic()
                healthy[0].send(f'42["echo",{index}]')
                if not wait_until(lambda before=before: len(healthy[0].echoes) > before, 5):
                    round_trips.append(5.0)
                    break
                round_trips.append(time.monotonic() - started)
                time.sleep(0.02)
        finally:
            thread.join(30)
            http.close()
    print(f"\nround trips during the POST: max {max(round_trips):.3f} s")
    assert result["response"].status_code == 400
    assert max(round_trips) < 0.5


def test_the_events_of_one_post_run_in_order_in_one_greenlet():
    """Item 4: 500 events in one POST, each handler waiting a little: they run in
    order, not in a greenlet each."""
    app, socketio, seen = make_app()
    with LiveServer(app) as server:
        http, url = polling_session(server)
        try:
            assert http.post(url, data="40", timeout=5).text == "ok"
            body = SEPARATOR.join(f'42["record",{index}]' for index in range(500))
            assert http.post(url, data=body.encode(), timeout=5).text == "ok"
            assert wait_until(lambda: len(seen["order"]) == 500, 10)
        finally:
            http.close()
    assert seen["order"] == list(range(500))
    assert len(seen["greenlets"]) <= 2, len(seen["greenlets"])


def test_max_packets_per_post_is_an_option():
    app, socketio, seen = make_app(max_packets_per_post=3)
    with LiveServer(app) as server:
        http, url = polling_session(server)
        try:
            assert http.post(url, data="40", timeout=5).text == "ok"
            assert http.post(url, data=SEPARATOR.join(["3"] * 3), timeout=5).text == "ok"
            assert http.post(url, data=SEPARATOR.join(["3"] * 4), timeout=5).status_code == 400
            assert wait_until(lambda: seen["reasons"], 2)
        finally:
            http.close()
    assert list(seen["reasons"].values()) == [SocketIO.reason.TRANSPORT_ERROR]


def test_posts_wait_while_a_full_post_s_worth_of_events_is_still_waiting_to_run():
    """Item 4: a client that keeps POSTing faster than its handlers run cannot pile
    up events without bound: once ``max_packets_per_post`` events wait, its next
    POST is answered only when they have run (backpressure), and nothing is lost."""
    app, socketio, seen = make_app(max_packets_per_post=10)

    @socketio.on("slow")
    def on_slow(index: int) -> None:
        seen["order"].append(index)
        socketio.sleep(0.05)

    with LiveServer(app) as server:
        http, url = polling_session(server)
        try:
            assert http.post(url, data="40", timeout=5).text == "ok"
            waited = []
            for batch in range(4):
                body = SEPARATOR.join(f'42["slow",{batch * 9 + index}]' for index in range(9))
                started = time.monotonic()
                assert http.post(url, data=body.encode(), timeout=10).text == "ok"
                waited.append(time.monotonic() - started)
            assert wait_until(lambda: len(seen["order"]) == 36, 10)
        finally:
            http.close()
    assert seen["order"] == list(range(36))
    # The first two POSTs are taken at once; later ones wait for the backlog to run.
    assert waited[0] < 0.3 and waited[1] < 0.3, waited
    assert max(waited[2:]) > 0.15, waited


# -- 6. the polling queue is bounded ---------------------------------------------------------


def test_a_polling_client_that_never_gets_is_closed_when_its_queue_is_full():
    """Why 6: a polling client keeps its session alive with PONGs but never GETs:
    its queue is bounded by max_queued_bytes and it is closed with QUEUE_FULL."""
    app, socketio, seen = make_app()  # max_queued_bytes: 10 MB
    with LiveServer(app) as server:
        http, url = polling_session(server)
        try:
            assert http.post(url, data="40", timeout=5).text == "ok"
            assert http.post(url, data='42["flood",120,100000]', timeout=5).text == "ok"
            assert wait_until(lambda: seen["reasons"], 5)
        finally:
            http.close()
    assert list(seen["reasons"].values()) == [SocketIO.reason.QUEUE_FULL]


def test_a_polling_client_that_pongs_blindly_but_never_gets_is_a_ping_timeout():
    """Item 2 on polling: PONGs without GETs do not keep a session alive."""
    app, socketio, seen = make_app(ping_interval=0.5, ping_timeout=0.5)
    with LiveServer(app) as server:
        http, url = polling_session(server)
        started = time.monotonic()
        try:
            assert http.post(url, data="40", timeout=5).text == "ok"
            while not seen["reasons"] and time.monotonic() - started < 5:
                http.post(url, data="3", timeout=5)
                time.sleep(0.2)
        finally:
            http.close()
        seconds = time.monotonic() - started
    assert list(seen["reasons"].values()) == [SocketIO.reason.PING_TIMEOUT]
    assert seconds < 4


# -- 7. and 8. cookies -----------------------------------------------------------------------


def test_every_origin_allowed_means_cross_origin_handshakes_bring_no_cookies():
    """Why 7: with cors_allowed_origins='*', the connect handler of a cross-origin
    WebSocket or polling session sees no Cookie header; a same-origin one does."""
    app, socketio, seen = make_app(cors_allowed_origins="*")
    with LiveServer(app) as server:
        ws_url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        for origin in ("http://evil.example", server.url):
            ws = websocket.create_connection(ws_url, timeout=5, origin=origin,
                                             cookie="session=stolen")
            try:
                ws.recv()
                ws.send("40")
                assert ws.recv().startswith("40")
            finally:
                ws.close()
        for origin in ("http://evil.example", server.url):
            http, url = polling_session(server, Origin=origin, Cookie="session=stolen")
            try:
                assert http.post(url, data="40", headers={"Origin": origin},
                                 timeout=5).text == "ok"
            finally:
                http.close()
        assert wait_until(lambda: len(seen["cookies"]) == 4, 2)
    assert seen["cookies"] == [None, "session=stolen", None, "session=stolen"]


def test_the_io_cookie_is_http_only_lax_and_secure_over_https():
    """Why 8."""
    app, socketio, seen = make_app(cookie="io")
    with LiveServer(app) as server:
        params = {"EIO": "4", "transport": "polling"}
        plain = requests.get(f"{server.url}/socket.io/", params=params, timeout=5)
        secure = requests.get(f"{server.url}/socket.io/", params=params, timeout=5,
                              headers={"X-Forwarded-Proto": "https"})
    cookie = plain.headers["Set-Cookie"]
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"path=/", "samesite=lax", "httponly"} <= attributes
    assert "secure" not in attributes
    assert "secure" in {part.strip().lower() for part in secure.headers["Set-Cookie"].split(";")}


def test_the_cookie_option_can_still_turn_http_only_off():
    engine = NativeEngine(cookie={"name": "io", "httponly": False})
    header = engine._cookie_headers("abc", {"wsgi.url_scheme": "http"})[0][1]
    assert "httponly" not in header.lower()


# -- 9. half-sent requests --------------------------------------------------------------------


def test_half_sent_requests_are_closed_after_header_timeout():
    """Why 9: a client that sends half its headers is disconnected after
    header_timeout; a long-poll that waits longer than it is still answered."""
    assert DEFAULT_HEADER_TIMEOUT <= 60
    app, socketio, seen = make_app(ping_interval=1.0, ping_timeout=1.0)
    with LiveServer(app, header_timeout=0.5) as server:
        sockets = []
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
            sockets.append(sock)
        started = time.monotonic()
        try:
            closed = [sock.recv(100) for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
        seconds = time.monotonic() - started
        http, url = polling_session(server)
        try:
            poll_started = time.monotonic()
            response = http.get(url, timeout=5)  # the ping comes after 1 s
            poll_seconds = time.monotonic() - poll_started
        finally:
            http.close()
    print(f"\n20 half-sent requests closed after {seconds:.2f} s")
    assert closed == [b""] * 20
    assert seconds < 3
    assert response.status_code == 200 and response.text == "2"
    assert poll_seconds > 0.5


# -- the write discipline, counted in system calls ----------------------------------------


@pytest.fixture
def bare_server() -> Iterator[Callable[..., BareServer]]:
    servers: list[BareServer] = []

    def start(on_message: Callable[..., None], **options: Any) -> BareServer:
        servers.append(BareServer(on_message, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _frames(write: bytes) -> list[bytes]:
    """The payloads of the unmasked server frames one write carries."""
    payloads, offset = [], 0
    while offset < len(write):
        length = write[offset + 1] & 0x7F
        offset += 2
        if length == 126:
            length = int.from_bytes(write[offset:offset + 2], "big")
            offset += 2
        elif length == 127:
            length = int.from_bytes(write[offset:offset + 8], "big")
            offset += 8
        payloads.append(write[offset:offset + length])
        offset += length
    return payloads


def test_packets_made_while_a_write_is_in_flight_leave_together_in_the_next_write(bare_server):
    """Issue 13: A (8 MB, the client not reading) is in flight when B and C are made:
    B and C leave in one write after A's, and everything arrives in order."""

    def on_message(engine: NativeEngine, sid: str, data: Any) -> None:
        if data != "go":
            return

        def burst() -> None:
            engine.send(sid, "A" * 8_000_000)
            gevent.sleep(0.2)  # A is still being written: the client is not reading
            engine.send(sid, "B")
            engine.send(sid, "C")

        gevent.spawn(burst)

    server = bare_server(on_message)
    with server.told_to_go() as ws:
        received = [ws.recv() for _ in range(3)]
    assert [message[:2] for message in received] == ["4A", "4B", "4C"]
    writes = [_frames(write) for write in server.writes[0] if write.startswith(b"\x81")]
    payloads = [[frame[:2] for frame in frames] for frames in writes]
    print(f"\nwrites after the opening: {payloads[1:]}")
    assert payloads[1:] == [[b"4A"], [b"4B", b"4C"]]


def test_the_connect_reply_leaves_in_a_write_before_what_the_connect_handler_emits():
    """Issue 13, why 1: the CONNECT reply comes first, then what the connect handler
    emits, each as a message of its own (the writes are counted in the test above)."""
    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("connect", namespace="/custom")
    def on_connect(auth: Any = None) -> None:
        emit("auth", auth, namespace="/custom")

    with LiveServer(app) as server:
        ws = websocket.create_connection(
            server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
            timeout=5)
        try:
            ws.recv()
            ws.send("40/custom,")
            first, second = ws.recv(), ws.recv()
        finally:
            ws.close()
    assert first.startswith("40/custom,{")
    assert second == '42/custom,["auth"]'


def test_volatile_messages_are_dropped_first_when_the_queue_is_full(bare_server):
    """Item 2: past max_queued_bytes volatile messages go and the session stays; the
    plain messages all arrive, in order."""
    disconnects: list[str] = []

    def on_message(engine: NativeEngine, sid: str, data: Any) -> None:
        if data == "go":
            for index in range(50):
                engine.send(sid, f"v{index}:" + "v" * 100_000, volatile=True)
                if index % 10 == 0:
                    engine.send(sid, f"p{index}")
            engine.send(sid, "end")

    server = bare_server(on_message, max_queued_bytes=1_000_000)
    server.engine.on("disconnect", lambda sid, reason: disconnects.append(reason))
    with server.told_to_go() as ws:
        received = []
        while not received or received[-1] != "4end":
            received.append(ws.recv())
        closed_before = list(disconnects)
    plain = [message for message in received if not message.startswith("4v")]
    volatile = len(received) - len(plain)
    print(f"\n{volatile} of 50 volatile messages delivered")
    assert plain == ["4p0", "4p10", "4p20", "4p30", "4p40", "4end"]
    assert volatile < 50
    assert closed_before == []


def test_a_post_whose_body_stops_half_way_is_cut_off():
    """Why 9, the body: a POST that announces 1,000 bytes and sends 6 is answered and
    its connection closed after ping_interval + ping_timeout, its session closed."""
    app, socketio, seen = make_app(ping_interval=0.5, ping_timeout=0.5)
    with LiveServer(app) as server:
        http, url = polling_session(server)
        http.close()
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        try:
            path = url[len(server.url):]
            sock.sendall((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          f"Content-Length: 1000\r\n\r\n4hello").encode())
            started = time.monotonic()
            answer = b""
            while True:
                chunk = sock.recv(4096)  # at most 5 s: the socket's timeout
                if not chunk:
                    break
                answer += chunk
            seconds = time.monotonic() - started
        finally:
            sock.close()
        engine = socketio.server.eio.network
        assert wait_until(lambda: not engine.sessions, 2)  # the session is closed
    print(f"\nhalf-sent POST cut off after {seconds:.2f} s")
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert seconds < 3
