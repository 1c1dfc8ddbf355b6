"""The native engine's direct writes (issue 17): a message sent to an idle WebSocket
session is written at once by its sender, without blocking; what the socket does not
take goes to a writer greenlet spawned then, which ends when the queue is empty.

At the socket level: which system call wrote which bytes (``send`` without blocking,
or the writer's ``sendall``), the order of the frames a client reads, a broadcast to
200 members with one that never reads, a partial write's rest before a frame of the
connection's own, compressed frames, and TLS (which keeps the writer).
"""

from __future__ import annotations

import base64
import functools
import os
import selectors
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import gevent.socket
import gevent.ssl
import pytest
from flask import Flask

from flask_socketio import SocketIO
from flask_socketio.engine import websocket
from flask_socketio.engine.native import NativeEngine, Session

from .engine_server import BareServer

# -- frames ------------------------------------------------------------------------------


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = bytes([0x80 | opcode, 0x80 | length])
    elif length < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", length)
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", length)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def parse_frames(data: bytes) -> tuple[list[tuple[int, int, bytes]], bytes]:
    """The complete server frames in ``data`` as (first byte, opcode, payload), and
    the bytes left after them."""
    frames = []
    while len(data) >= 2:
        length, offset = data[1] & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                break
            length, offset = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            if len(data) < 10:
                break
            length, offset = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < offset + length:
            break
        frames.append((data[0], data[0] & 0x0F, data[offset:offset + length]))
        data = data[offset + length:]
    return frames, data


def frame_length(data: bytes | bytearray) -> int | None:
    """The whole length of the server frame ``data`` begins with, once its header is
    there."""
    if len(data) < 2:
        return None
    length = data[1] & 0x7F
    if length < 126:
        return 2 + length
    if length == 126:
        return None if len(data) < 4 else 4 + struct.unpack("!H", data[2:4])[0]
    return None if len(data) < 10 else 10 + struct.unpack("!Q", data[2:10])[0]


class RawClient:
    """An Engine.IO WebSocket client on a raw socket with a tiny receive buffer: it
    reads only when told to (``read_until``)."""

    def __init__(self, port: int, path: str = "/engine.io/") -> None:
        sock = self.sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path}?EIO=4&transport=websocket HTTP/1.1\r\n"
                      f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(1)
            assert chunk, response
            response += chunk
        assert response.startswith(b"HTTP/1.1 101"), response
        self.buffer = bytearray()
        self.messages: list[str] = []

    def send_text(self, text: str) -> None:
        self.sock.sendall(client_frame(0x1, text.encode()))

    def read_until(self, condition: Callable[[list[str]], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        buffer = self.buffer
        while not condition(self.messages):
            assert time.monotonic() < deadline, [m[:20] for m in self.messages]
            needed = frame_length(buffer)
            if needed is not None and len(buffer) >= needed:
                frames, _ = parse_frames(bytes(buffer[:needed]))
                del buffer[:needed]
                ((_, opcode, payload),) = frames
                assert opcode == 0x1, opcode
                self.messages.append(payload.decode())
                continue
            chunk = self.sock.recv(1 << 20)
            assert chunk, "the server closed the connection"
            buffer.extend(chunk)

    def close(self) -> None:
        self.sock.close()


# -- a bare engine whose writes are recorded, by kind --------------------------------------


@pytest.fixture
def recording_server() -> Iterator[Callable[..., BareServer]]:
    servers: list[BareServer] = []

    def start(on_message: Callable[..., None], **options: Any) -> BareServer:
        servers.append(BareServer(on_message, record_kinds=True, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def same(got: Any, expected: Any) -> bool:
    """``got == expected``, else an error that shows where they part (pytest's own
    diff of two long strings would take minutes and gigabytes)."""
    if got == expected:
        return True
    if isinstance(got, list):
        raise AssertionError(f"{len(got)} items, {len(expected)} expected; "
                             f"got {[str(item)[:20] for item in got][:40]}")
    index = next((i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
                 min(len(got), len(expected)))
    raise AssertionError(f"length {len(got)}, {len(expected)} expected; they part at "
                         f"{index}: {got[index - 20:index + 20]!r} vs "
                         f"{expected[index - 20:index + 20]!r}")


def in_own_hub(test: Callable[..., None]) -> Callable[..., None]:
    """Run the test in a thread of its own, so on a gevent hub of its own: greenlets
    other tests left on the main thread's hub do not run meanwhile."""

    def run(*args: Any, **kwargs: Any) -> None:
        failure: list[BaseException] = []

        def target() -> None:
            try:
                test(*args, **kwargs)
            except BaseException as exc:  # handed to the test's thread
                failure.append(exc)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(60)
        assert not thread.is_alive(), "the test did not end in 60 s"
        if failure:
            raise failure[0]

    return functools.wraps(test)(run)


def wait_until(condition: Callable[[], Any], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def first_payload(write: bytes) -> bytes:
    """The payload of the frame a write begins with (its beginning, for a frame the
    socket took in part; for the rest of one, the bytes as they are)."""
    total = frame_length(write)
    assert total is not None
    length, offset = write[1] & 0x7F, 2
    offset += {126: 2, 127: 8}.get(length, 0)
    return write[offset:min(total, offset + 8)]


# -- 1. direct and queued writes, in order, under a reader that stalls and resumes --------

BIG = 8_000_000  # more than the kernel's buffers on both sides can hold


def test_direct_writes_then_a_partial_one_then_queued_ones_arrive_in_order(recording_server):
    """Five messages are written at once (one ``send`` each, no writer greenlet); a
    8 MB one is taken in part (a ``send``), its rest written by a writer spawned
    then (a ``sendall``), the five sent meanwhile leave together in the writer's next
    ``sendall``; once the client has read it all, the writer is gone and the next
    messages are again written at once, each with a ``send``."""

    def on_message(engine: NativeEngine, sid: str, data: Any) -> None:
        if data == "go":
            for index in range(5):
                engine.send(sid, f"s{index}")
            engine.send(sid, "B" * BIG)
            for index in range(5, 10):
                engine.send(sid, f"s{index}")
        elif data == "more":
            for index in range(10, 15):
                engine.send(sid, f"s{index}")

    server = recording_server(on_message, max_queued_bytes=64_000_000)
    client = RawClient(server.port)
    try:
        client.read_until(lambda messages: len(messages) == 1)  # the OPEN packet
        assert client.messages[0].startswith("0{")
        (session,) = server.engine.sessions.values()
        assert session.is_direct and session.writer is None  # idle: no writer greenlet
        client.send_text("4go")
        assert wait_until(lambda: len(session.queue) == 5, 5)
        time.sleep(0.3)  # the client does not read: the rest of B waits
        assert session.writer is not None
        assert session.queued_bytes == BIG + 1 + 5 * 3  # B's length and the five queued
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)  # read fast
        client.read_until(lambda messages: len(messages) == 12)
        assert wait_until(lambda: session.writer is None, 5)  # drained: the writer ended
        assert session.queued_bytes == 0 and not session.stalled_since
        client.send_text("4more")
        client.read_until(lambda messages: len(messages) == 17)
        # (the server records a write once its system call returned)
        assert wait_until(lambda: first_payload(server.writes[0][-1][1]) == b"4s14", 5)
    finally:
        client.close()
    expected = ["4s0", "4s1", "4s2", "4s3", "4s4", "4" + "B" * BIG] + [
        f"4s{index}" for index in range(5, 15)]
    assert same(client.messages[1:], expected)
    writes = [(kind, first_payload(data)[:4]) for kind, data in server.writes[0]]
    opening = writes.index(("send", b'0{"s'))
    after = writes[opening + 1:]
    print(f"\nwrites after the opening: {after}")
    assert after[:6] == [("send", f"4s{index}".encode()) for index in range(5)] + [
        ("send", b"4BBB")]
    assert after[6][0] == "sendall" and after[6][1] == b"BBBB"  # the rest of B
    assert after[7] == ("sendall", b"4s5")  # s5..s9, one write
    assert [payload for _, _, payload in parse_frames(server.writes[0][opening + 8][1])[0]] == [
        f"4s{index}".encode() for index in range(5, 10)]
    assert after[8:] == [("send", f"4s{index}".encode()) for index in range(10, 15)]


# -- 2. a partial write's rest goes before anything else, even the connection's frames ---


@pytest.mark.parametrize("threshold", [None, 64])
@in_own_hub
def test_the_rest_of_a_partial_write_goes_before_a_pong_and_later_messages(threshold):
    """On a socket pair: a 2 MB message the socket takes in part; while its rest
    waits, ``send_now`` writes nothing, a client ping's PONG (written by the reader)
    and a later message go after the rest: the client reads whole frames, in order,
    compressed ones (``threshold``) inflating to what was sent."""
    server_raw, client = socket.socketpair()
    server = gevent.socket.socket(fileno=server_raw.detach())
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    client.settimeout(5)
    big = "4" + base64.b64encode(os.urandom(1_500_000)).decode()  # hardly compressible
    ws = websocket.WebSocket(server, max_message_size=1_000_000,
                             compression_threshold=threshold)
    received = bytearray()

    def read_all() -> None:
        time.sleep(0.3)
        while True:
            chunk = client.recv(1 << 20)
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read_all, daemon=True)
    try:
        assert ws.can_send_now
        unsent = ws.send_now([big])
        assert unsent is not None and unsent > 0
        assert ws.send_now(["4blocked"]) is None  # a rest waits: nothing is written
        client.sendall(client_frame(0x9, b"ping!") + client_frame(0x1, b"4hello"))
        reader.start()
        with gevent.Timeout(10):
            assert ws.receive() == "4hello"  # the PONG was written on the way
            ws.send_batch(["4after"])
            assert ws.send_now(["4direct"]) == 0
        ws.abort()
        reader.join(10)
        assert not reader.is_alive()
    finally:
        server.close()
        client.close()
    frames, rest = parse_frames(bytes(received))
    assert not rest, (len(rest), rest[:40])
    opcodes = [opcode for _, opcode, _ in frames]
    assert opcodes == [0x1, 0xA, 0x1, 0x1]
    first_byte, _, payload = frames[0]
    if threshold is not None:
        assert first_byte & 0x40  # RSV1: compressed
        payload = zlib.decompressobj(-zlib.MAX_WBITS).decompress(payload + b"\x00\x00\xff\xff")
    assert same(payload.decode(), big)
    assert frames[1][2] == b"ping!"
    assert [frame[2] for frame in frames[2:]] == [b"4after", b"4direct"]


@in_own_hub
def test_one_message_object_sent_to_plain_and_compressed_connections_frames_each_right():
    """The frame of a message sent alone is kept for the next send of the same object
    (a broadcast): a connection with compression and one without, alternately, each
    get their own frame."""
    message = "4" + "abc" * 100
    pairs = [socket.socketpair() for _ in range(2)]
    sockets = [gevent.socket.socket(fileno=server.detach()) for server, _ in pairs]
    plain = websocket.WebSocket(sockets[0], max_message_size=1_000_000)
    compressed = websocket.WebSocket(sockets[1], max_message_size=1_000_000,
                                     compression_threshold=64)
    try:
        for _ in range(2):
            assert plain.send_now([message]) == 0
            assert compressed.send_now([message]) == 0
        data = [client.recv(65536) for _, client in pairs]
    finally:
        for sock in sockets:
            sock.close()
        for _, client in pairs:
            client.close()
    plain_frames, _ = parse_frames(data[0])
    compressed_frames, _ = parse_frames(data[1])
    assert [(first, payload) for first, _, payload in plain_frames] == [
        (0x81, message.encode())] * 2
    for first, _, payload in compressed_frames:
        assert first == 0xC1
        inflated = zlib.decompressobj(-zlib.MAX_WBITS).decompress(payload + b"\x00\x00\xff\xff")
        assert inflated == message.encode()
    assert len(compressed_frames) == 2


# -- 3. a broadcast to 200 members, one of which never reads ------------------------------


@in_own_hub
def test_a_broadcast_to_200_members_with_one_that_never_reads():
    """200 WebSocket sessions on socket pairs, the whole stack (SocketIO's broadcast);
    one member never reads. 100 broadcasts of 5 KB: no emit waits (each returns in
    well under 50 ms), the 199 others get every message, the stalled one's queue
    never passes max_queued_bytes and it is closed with QUEUE_FULL; afterwards no
    member keeps a writer greenlet."""
    app = Flask(__name__)
    socketio = SocketIO(app, max_queued_bytes=300_000)
    reasons: dict[str, Any] = {}

    @socketio.on("disconnect")
    def on_disconnect(reason: Any = None) -> None:
        from flask import request
        reasons[request.sid] = reason  # type: ignore[attr-defined]

    engine = socketio.server.eio.network
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/socket.io/", "SCRIPT_NAME": "",
               "QUERY_STRING": "EIO=4&transport=websocket", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "127.0.0.1:5000", "wsgi.url_scheme": "http"}
    sessions: list[Session] = []
    servers, clients = [], []
    selector = selectors.DefaultSelector()
    counts: dict[int, int] = {}
    stop = threading.Event()
    reader: threading.Thread | None = None

    def read_healthy() -> None:
        bound = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < bound:
            for key, _ in selector.select(0.05):
                try:
                    data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                counts[key.fd] = counts.get(key.fd, 0) + len(data)

    try:
        for index in range(200):
            server_raw, client = socket.socketpair()
            server = gevent.socket.socket(fileno=server_raw.detach())
            if not index:  # the stalled member: small buffers, its queue grows soon
                server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
            servers.append(server)
            clients.append(client)
            if index:
                client.setblocking(False)
                selector.register(client, selectors.EVENT_READ)
            sid = engine.generate_id()
            session = Session(engine, sid, dict(environ), "websocket")
            engine.sessions[sid] = session
            session.attach_websocket(
                websocket.WebSocket(server, max_message_size=1_000_000), [])
            engine._trigger("connect", sid, session.environ)
            engine._receive(session, "40", polling=False)
            sessions.append(session)
        gevent.sleep(0)
        reader = threading.Thread(target=read_healthy, daemon=True)
        reader.start()
        stalled = sessions[0]
        socketio_sid = socketio.server.manager.sid_from_eio_sid(stalled.sid, "/")
        payload = "z" * 5000
        slowest, peak = 0.0, 0
        for _ in range(100):
            started = time.perf_counter()
            socketio.emit("tick", payload)
            slowest = max(slowest, time.perf_counter() - started)
            peak = max(peak, stalled.queued_bytes)
            gevent.sleep(0.001)
        message = '42["tick","' + payload + '"]'
        expected = (len(message) + 4) * 100  # 4: a frame header of 126 + 2 bytes
        fds = [client.fileno() for client in clients[1:]]

        def all_delivered() -> bool:
            gevent.sleep(0.01)
            return all(counts.get(fd, 0) >= expected for fd in fds)  # (and the CONNECT)

        deadline = time.monotonic() + 10
        while not all_delivered():
            assert time.monotonic() < deadline, sorted(counts.values())[:5]
        writers = sum(session.writer is not None for session in sessions[1:])
    finally:
        stop.set()
        if reader is not None:  # it stops selecting before its sockets close under it
            reader.join(timeout=5)
            assert not reader.is_alive(), "the reader thread did not stop"
        selector.close()
        for sock in servers:
            sock.close()
        for client in clients:
            client.close()
    print(f"\nslowest emit {slowest * 1000:.1f} ms, stalled member's peak queue {peak} B, "
          f"writers left {writers}")
    assert slowest < 0.05
    assert peak <= 300_000
    assert reasons.get(socketio_sid) == SocketIO.reason.QUEUE_FULL
    assert stalled.is_closed and len(reasons) == 1
    assert writers == 0


# -- 4. TLS: the writer greenlet, as before ------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Any) -> tuple[str, str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI"):
            pytest.fail("openssl is needed; CI must provide it", pytrace=False)
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


@in_own_hub
def test_a_tls_websocket_keeps_the_writer_and_delivers_in_order(certificate):
    """Over TLS (gevent's SSL socket) the session does not write directly (OpenSSL
    wants an unfinished write retried with the same bytes): its writer greenlet, kept
    while the session lives, writes; 4 MB sent at once arrive whole and in order."""
    cert, key = certificate
    server_raw, client_raw = socket.socketpair()
    context = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = context.wrap_socket(gevent.socket.socket(fileno=server_raw.detach()),
                                 server_side=True, do_handshake_on_connect=False)
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.check_hostname = False
    client_context.verify_mode = ssl.CERT_NONE
    client_raw.settimeout(10)
    client = client_context.wrap_socket(client_raw, do_handshake_on_connect=False)
    received = bytearray()
    expected_bytes = 0

    def read() -> None:
        client.do_handshake()
        while len(received) < expected_bytes or not expected_bytes:
            chunk = client.recv(1 << 20)
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    engine = NativeEngine()
    session = Session(engine, "tls", {}, "websocket")
    engine.sessions["tls"] = session
    messages = [f"{index}:" + "y" * 100_000 for index in range(40)]
    try:
        with gevent.Timeout(10):
            server.do_handshake()
            transport = websocket.WebSocket(server, max_message_size=1_000_000)
            assert not transport.can_send_now
            session.attach_websocket(transport, ["0open"])
            assert not session.is_direct and session.writer is not None
            expected_bytes = 2 + 5 + sum(10 + len(message) for message in messages)
            for message in messages:
                engine.send("tls", message)
            while session.queued_bytes:
                gevent.sleep(0.01)
            assert session.writer is not None  # kept, waiting for the next message
        reader.join(10)
        assert not reader.is_alive()
    finally:
        session.is_closed = True
        session.end_websocket(abort=True)
        gevent.sleep(0)
        server.close()
        client.close()
    frames, rest = parse_frames(bytes(received))
    assert not rest, (len(rest), rest[:40])
    assert [payload.decode() for _, _, payload in frames] == ["0open"] + [
        "4" + message for message in messages]
