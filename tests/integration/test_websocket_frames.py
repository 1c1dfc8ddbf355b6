"""The native engine's WebSocket layer (RFC 6455), frame by frame over raw sockets,
against a server process (``apps/frames_server.py``): limits at the header, the
close codes, control frames, permessage-deflate, and one client's big frames not
stalling the others. Every wait is bounded by a socket timeout."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import sys
import threading
import time
import zlib

import pytest

from tests.oracle.servers import oracle_servers

from .processes import APPS, SERVING, ProcessGroup, listening_socket, wait_for_http
from .support import run_node, websocket_upgrade
from .test_deploy_servers import EXAMPLE, gunicorn_options, require_program

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
MB = 1_000_000


def start_server(processes: ProcessGroup, **options) -> tuple[int, int]:
    """The port and pid of a frames server with ``SocketIO(app, **options)``."""
    process = processes.start("frames server", [sys.executable, str(APPS / "frames_server.py"),
                                                json.dumps(options)])
    return int(process.wait_for_output(SERVING).group(2)), process.pid


class FrameClient:
    """A WebSocket client written by hand: every frame as the test says."""

    def __init__(self, port: int, extensions: str | None = None, timeout: float = 5) -> None:
        self.sock, self.headers = websocket_upgrade(port, extensions, timeout)

    def connect_namespace(self) -> None:
        assert self.read_text().startswith("0{")
        self.send(TEXT, b"40")
        assert self.read_text().startswith("40{")

    def send(self, opcode: int, payload: bytes, fin: bool = True, masked: bool = True,
             rsv1: bool = False, length: int | None = None) -> None:
        self.sock.sendall(frame(opcode, payload, fin, masked, rsv1, length))

    def read(self) -> tuple[bool, int, bytes]:
        """The next frame: (RSV1, opcode, payload)."""
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack("!H", self._exactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", self._exactly(8))[0]
        return bool(first & 0x40), first & 0x0F, self._exactly(length)

    def read_text(self) -> str:
        compressed, opcode, payload = self.read()
        assert opcode == TEXT, f"a text frame expected, got opcode {opcode}: {payload[:80]!r}"
        return (inflate(payload) if compressed else payload).decode()

    def read_close(self) -> int:
        """The close code of the next non-ping frame (pings are skipped)."""
        while True:
            _, opcode, payload = self.read()
            if opcode == CLOSE:
                return struct.unpack("!H", payload[:2])[0]
            assert opcode == TEXT and payload == b"2", f"a close expected: {payload[:80]!r}"

    def is_at_end(self) -> bool:
        """Did the server close the TCP connection (after its close frame)?"""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            assert chunk, "the connection was closed"
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True,
          rsv1: bool = False, length: int | None = None) -> bytes:
    """One frame; ``length`` announces a length other than the payload's."""
    length = len(payload) if length is None else length
    header = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header += bytes([mask_bit | length])
    elif length < 65536:
        header += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        header += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return header + payload
    mask = os.urandom(4)
    key = (mask * (len(payload) // 4 + 1))[:len(payload)]
    masked_payload = (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little"))
    return header + mask + masked_payload.to_bytes(len(payload), "little")


def echo_event(text: str) -> bytes:
    return ("42" + json.dumps(["echo", text])).encode()


def memory(pid: int) -> dict[str, int]:
    """``VmRSS``, ``VmHWM`` (peak RSS) and ``VmPeak`` of ``pid``, in bytes."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM", "VmPeak"):
                values[name] = int(value.split()[0]) * 1024
    return values


def reset_peak(pid: int) -> None:
    """Make ``VmHWM`` the current RSS (Linux's clear_refs)."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


@pytest.fixture
def server(processes):
    return start_server(processes, max_http_buffer_size=MB)


@pytest.fixture
def open_client():
    """``open_client(port, extensions=None)``: a :class:`FrameClient`, closed at the end."""
    opened: list[FrameClient] = []

    def open_one(port: int, extensions: str | None = None) -> FrameClient:
        opened.append(FrameClient(port, extensions))
        return opened[-1]

    yield open_one
    for client in opened:
        client.close()


@pytest.fixture
def client(server, open_client):
    """A :class:`FrameClient` of ``server`` (1 MB limit), connected to ``/``."""
    connected = open_client(server[0])
    connected.connect_namespace()
    return connected


# -- limits at the header --------------------------------------------------------------


def test_a_48_mb_frame_against_a_1_mb_limit_is_refused_at_its_header(server, client):
    _, pid = server
    reset_peak(pid)
    before = memory(pid)
    size = 48 * 1024 * 1024

    def flood() -> None:  # the payload, until the server stops taking it
        chunk = b"x" * 1024 * 1024
        client.sock.sendall(frame(TEXT, b"", length=size))
        try:
            for _ in range(size // len(chunk)):
                client.sock.sendall(chunk)
        except OSError:
            pass

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    assert client.read_close() == 1009
    sender.join(10)
    assert not sender.is_alive()
    assert client.is_at_end()
    time.sleep(0.2)
    after = memory(pid)
    grown = after["VmHWM"] - before["VmRSS"]
    print(f"peak RSS growth for a 48 MB frame: {grown / 2**20:.1f} MiB")
    assert grown <= 16 * 2**20, f"the peak RSS grew by {grown / 2**20:.1f} MiB"


def test_a_header_announcing_8_gb_closes_at_once(server, client):
    _, pid = server
    before = memory(pid)
    started = time.monotonic()
    client.sock.sendall(frame(BINARY, b"", length=8 * 2**30))
    assert client.read_close() == 1009
    assert time.monotonic() - started < 1
    assert client.is_at_end()
    assert memory(pid)["VmPeak"] - before["VmPeak"] < 100 * 2**20


def test_fragments_are_summed_against_the_limit(client):
    client.send(TEXT, b"4" * 600_000, fin=False)
    # the second fragment's header takes the message past 1 MB: refused before its payload
    client.sock.sendall(frame(0x0, b"", length=600_000))
    assert client.read_close() == 1009
    assert client.is_at_end()


def test_fragments_under_the_limit_make_one_message(client):
    message = echo_event("ab" * 200_000)
    client.send(TEXT, message[:100], fin=False)
    client.send(0x0, message[100:300_000], fin=False)
    client.send(0x0, message[300_000:])
    assert json.loads(client.read_text()[2:]) == ["echo", "ab" * 200_000]


# -- violations and their close codes ---------------------------------------------------


@pytest.mark.parametrize(("frames", "code"), [
    pytest.param([frame(TEXT, echo_event("x")[:-3] + b'\xff"]')], 1007, id="bad-utf8"),
    pytest.param([frame(TEXT, b"40", masked=False)], 1002, id="unmasked"),
    pytest.param([frame(PING, b"p" * 126)], 1002, id="long-control"),
    pytest.param([frame(PING, b"p", fin=False)], 1002, id="fragmented-control"),
    pytest.param([frame(0x3, b"x")], 1002, id="reserved-opcode"),
    pytest.param([frame(0x0, b"x")], 1002, id="continuation-without-message"),
    pytest.param([frame(TEXT, b"4", fin=False), frame(TEXT, b"2")], 1002,
                 id="new-message-inside-fragments"),
    pytest.param([frame(TEXT, b"42", rsv1=True)], 1002, id="rsv1-not-negotiated"),
    pytest.param([frame(CLOSE, b"\x03")], 1002, id="one-byte-close"),
    pytest.param([frame(CLOSE, struct.pack("!H", 1005))], 1002, id="reserved-close-code"),
])
def test_a_protocol_violation_closes_with_its_code(client, frames, code):
    client.sock.sendall(b"".join(frames))
    assert client.read_close() == code
    assert client.is_at_end()


def test_a_bad_utf8_fragmented_text_message_closes_1007(client):
    client.send(TEXT, b'42["echo","\xc3', fin=False)  # a character cut in two...
    client.send(0x0, b'\x28"]')  # ...and not completed
    assert client.read_close() == 1007


# -- control frames ---------------------------------------------------------------------


def test_a_ping_is_answered_with_a_pong_of_its_payload(client):
    client.send(PING, b"hello")
    assert client.read()[1:] == (PONG, b"hello")


def test_the_close_handshake_echoes_the_code_and_ends_the_connection(client):
    client.send(CLOSE, struct.pack("!H", 4000) + b"bye")
    assert client.read_close() == 4000
    assert client.is_at_end()


def test_control_frames_inside_a_fragmented_message(client):
    message = echo_event("abcd")
    client.send(TEXT, message[:8], fin=False)
    client.send(PING, b"1")
    client.send(0x0, message[8:12], fin=False)
    client.send(PONG, b"unsolicited")
    client.send(PING, b"2")
    client.send(0x0, message[12:])
    assert client.read()[1:] == (PONG, b"1")
    assert client.read()[1:] == (PONG, b"2")
    assert json.loads(client.read_text()[2:]) == ["echo", "abcd"]


# -- the handshake ----------------------------------------------------------------------


def raw_handshake(port: int, headers: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"{headers}\r\n").encode())
        return sock.recv(4096)


def test_the_handshake_refuses_an_unknown_version_and_a_bad_key(server):
    port, _ = server
    key = base64.b64encode(os.urandom(16)).decode()
    response = raw_handshake(port, f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 12\r\n")
    assert response.startswith(b"HTTP/1.1 426") and b"Sec-WebSocket-Version: 13" in response
    response = raw_handshake(port, "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n")
    assert response.startswith(b"HTTP/1.1 400")


def test_the_handshake_answers_the_key_and_ignores_subprotocols(server):
    port, _ = server
    key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example
    response = raw_handshake(port, f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                                   f"Sec-WebSocket-Protocol: chat\r\n")
    assert response.startswith(b"HTTP/1.1 101")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in response
    assert b"Sec-WebSocket-Protocol" not in response


def test_frames_sent_with_the_request_are_not_lost(server):
    """A client that sends its first frames right behind the upgrade request (before
    the 101) has them read: they wait in the server's request buffer."""
    port, _ = server
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request + frame(TEXT, b"40") + frame(TEXT, echo_event("early")))
        received = b""
        while b'42["echo","early"]' not in received:
            chunk = sock.recv(65536)
            assert chunk, f"closed; received {received!r}"
            received += chunk
        assert received.startswith(b"HTTP/1.1 101") and b"40{" in received


# -- permessage-deflate -----------------------------------------------------------------


def inflate(payload: bytes) -> bytes:
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(payload + b"\x00\x00\xff\xff")


def compress(data: bytes) -> bytes:
    deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return (deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH))[:-4]


def test_a_compressed_fragmented_message_is_inflated(processes, open_client):
    port, _ = start_server(processes, websocket_compression=True, compression_threshold=100)
    client = open_client(port, extensions="permessage-deflate")
    assert client.headers["sec-websocket-extensions"].startswith("permessage-deflate")
    client.connect_namespace()
    body = compress(echo_event("é" * 2000))
    client.send(TEXT, body[:10], fin=False, rsv1=True)
    client.send(PING, b"x")
    client.send(0x0, body[10:])
    assert client.read()[1:] == (PONG, b"x")
    compressed, opcode, reply = client.read()
    assert compressed and opcode == TEXT
    assert json.loads(inflate(reply)[2:]) == ["echo", "é" * 2000]


def test_a_compressed_message_inflating_past_the_limit_closes_1009(processes, open_client):
    port, pid = start_server(processes, websocket_compression=True,
                             max_http_buffer_size=100_000)
    client = open_client(port, extensions="permessage-deflate")
    client.connect_namespace()
    reset_peak(pid)
    before = memory(pid)
    bomb = compress(b"z" * 200_000_000)  # ~200 KB on the wire, 200 MB inflated
    client.send(TEXT, bomb[:90_000], fin=False, rsv1=True)
    assert client.read_close() == 1009
    assert memory(pid)["VmHWM"] - before["VmRSS"] < 16 * 2**20


# -- fairness ---------------------------------------------------------------------------


def test_big_valid_frames_do_not_stall_other_clients(server, open_client):
    port, _ = server
    good = open_client(port)
    good.connect_namespace()
    attacker = open_client(port)
    attacker.connect_namespace()
    big = frame(TEXT, ("42" + json.dumps(["unhandled", "x" * (MB - 100)])).encode())
    done = threading.Event()

    def attack() -> None:  # ten big frames, then an echo: its answer says all were read
        attacker.sock.sendall(big * 10 + frame(TEXT, echo_event("done")))
        while attacker.read_text() != '42["echo","done"]':
            pass
        done.set()

    round_trips = []
    deadline = time.monotonic() + 20
    thread = threading.Thread(target=attack, daemon=True)
    thread.start()
    while not done.is_set():
        assert time.monotonic() < deadline, "the attacker's frames were not all read in 20 s"
        started = time.monotonic()
        good.send(TEXT, echo_event("ping"))
        while good.read_text() != '42["echo","ping"]':  # Engine.IO pings: not answered
            pass
        round_trips.append(time.monotonic() - started)
    thread.join(10)
    worst = max(round_trips)
    print(f"worst round trip of a good client during 10 x 1 MB frames: {worst * 1000:.0f} ms"
          f" ({len(round_trips)} round trips)")
    assert worst < 0.5


# -- an oracle client -------------------------------------------------------------------


def test_nodes_ws_client_round_trips_and_sees_1009_over_the_limit(server):
    port, _ = server
    url = f"http://127.0.0.1:{port}"
    assert run_node("ws_frames.js", url, "echo") == {
        "extensions": "", "opening": "0{", "connected": "40{", "echoed": True,
        "pong": "are you there", "close": 1000}
    assert run_node("ws_frames.js", url, "too-big")["close"] == 1009


def test_gunicorns_gevent_worker_is_served_by_the_same_layer(processes, open_client):
    """Under ``gunicorn -k gevent`` (the deployment example's worker), the engine
    answers the upgrade itself: the limit is checked at the header there too."""
    gunicorn = require_program("gunicorn")
    listener = listening_socket()
    try:
        process = processes.start("gunicorn -k gevent", [
            gunicorn, "-c", str(EXAMPLE / "gunicorn.conf.py"), *gunicorn_options(gunicorn),
            "--bind", f"fd://{listener.fileno()}", "-k", "gevent", "--chdir", str(EXAMPLE),
            "app:app"], pass_fds=(listener.fileno(),))
        port = listener.getsockname()[1]
        wait_for_http(process, f"http://127.0.0.1:{port}")
    finally:
        listener.close()
    client = open_client(port)
    client.connect_namespace()
    client.send(PING, b"are you there")
    assert client.read()[1:] == (PONG, b"are you there")
    client.sock.sendall(frame(BINARY, b"", length=8 * 2**30))
    assert client.read_close() == 1009
    assert client.is_at_end()


def next_control_frame(client: FrameClient) -> tuple[int, bytes]:
    """The next control frame (Engine.IO pings on the way are answered, other
    packets, such as the apps' greeting events, skipped)."""
    while True:
        _, opcode, payload = client.read()
        if opcode < CLOSE:
            if payload == b"2":
                client.send(TEXT, b"3")
            continue
        return opcode, payload


ORACLE_CASES = {
    "over-the-limit": frame(BINARY, b"", length=8 * 2**30),
    "fragments-over-the-limit": frame(TEXT, b"4" * 600_000, fin=False)
    + frame(0x0, b"", length=600_000),
    "continuation-without-message": frame(0x0, b"x"),
    "rsv1-not-negotiated": frame(TEXT, b"42", rsv1=True),
    "unmasked": frame(TEXT, b"42[\"x\"]", masked=False),
    "bad-utf8": frame(TEXT, b'42["x","\xff"]'),
    "reserved-opcode": frame(0x3, b"x"),
    "long-ping": frame(PING, b"p" * 126),
    "ping": frame(PING, b"hello"),
    "close-4000": frame(CLOSE, struct.pack("!H", 4000) + b"bye"),
}


def test_frames_are_answered_as_the_reference_server_answers(open_client):
    """Node's socket.io (its ``ws``) and ours, the same frames: the same answers."""
    answers: dict[str, dict[str, tuple[int, bytes]]] = {}
    with oracle_servers() as urls:
        for name, url in urls.items():
            port = int(url.rsplit(":", 1)[1])
            answers[name] = {}
            for case, data in ORACLE_CASES.items():
                client = open_client(port)
                client.connect_namespace()
                client.sock.sendall(data)
                opcode, payload = next_control_frame(client)
                answers[name][case] = (opcode, payload[:2] if opcode == CLOSE else payload)
    assert answers["ours"] == answers["reference"]
    assert answers["ours"]["over-the-limit"] == (CLOSE, struct.pack("!H", 1009))
