"""The native engine's WebSocket layer on a socket pair: one write per batch, how much
is read before a refusal, unmasking, and the close handshake's states."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading

import pytest

from flask_socketio.engine import websocket
from flask_socketio.engine.websocket import ProtocolViolation, WebSocket


def masked_frame(opcode: int, payload: bytes, fin: bool = True, length: int | None = None,
                 mask: bytes | None = None) -> bytes:
    length = len(payload) if length is None else length
    mask = os.urandom(4) if mask is None else mask
    first = bytes([(0x80 if fin else 0) | opcode])
    if length < 126:
        header = first + bytes([0x80 | length])
    elif length < 65536:
        header = first + bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        header = first + bytes([0x80 | 127]) + struct.pack("!Q", length)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class CountingSocket:
    """A socket that records its writes and counts the bytes read from it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.writes: list[bytes] = []
        self.read = 0

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.sock.sendall(data)

    def recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        self.read += len(data)
        return data

    def recv_into(self, view: memoryview) -> int:
        count = self.sock.recv_into(view)
        self.read += count
        return count

    def shutdown(self, how: int) -> None:
        self.sock.shutdown(how)


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    server.settimeout(5)
    client.settimeout(5)
    yield CountingSocket(server), client
    server.close()
    client.close()


def read_frames(sock: socket.socket, data: bytes = b"") -> list[tuple[int, bytes]]:
    """Every frame the server wrote (until it shuts down)."""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    frames = []
    while data:
        opcode, length, data = data[0] & 0x0F, data[1] & 0x7F, data[2:]
        if length == 126:
            length, data = struct.unpack("!H", data[:2])[0], data[2:]
        elif length == 127:
            length, data = struct.unpack("!Q", data[:8])[0], data[8:]
        frames.append((opcode, data[:length]))
        data = data[length:]
    return frames


def test_a_batch_is_written_with_one_sendall(pair):
    server, client = pair
    ws = WebSocket(server, max_message_size=1000)
    ws.send_batch(["4hello", b"\x00\x01", "4" + "é" * 100, b"x" * 70000])
    ws.abort()
    assert len(server.writes) == 1
    assert read_frames(client) == [(1, b"4hello"), (2, b"\x00\x01"),
                                   (1, ("4" + "é" * 100).encode()), (2, b"x" * 70000)]


def test_an_over_limit_header_is_refused_before_its_payload_is_read(pair):
    server, client = pair
    ws = WebSocket(server, max_message_size=1000)
    client.sendall(masked_frame(1, b"", length=5_000_000))

    def send_payload() -> None:  # it waits in the socket; none of it may be taken
        with contextlib.suppress(OSError):
            client.sendall(b"p" * 1_000_000)

    writer = threading.Thread(target=send_payload, daemon=True)
    writer.start()
    with pytest.raises(ProtocolViolation) as refusal:
        ws.receive()
    assert refusal.value.code == 1009
    assert server.read <= 14 + websocket.RECV_SIZE  # the header and one recv at most
    assert ws.receive() is None
    writer.join(5)
    assert read_frames(client)[0][0] == 8  # a close frame (after what the peer sent)


def test_unmasking_matches_a_byte_by_byte_xor():
    mask = b"\x01\x80\xfe\x7f"
    for size in (0, 1, 3, 4, 5, 125, 126, 65536, 65537, 200_003):
        payload = os.urandom(size)
        expected = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert websocket._unmask(payload, mask) == expected
        assert websocket._unmask(bytearray(payload), mask) == expected
        in_place = bytearray(payload)
        websocket._unmask_in_place(in_place, mask)
        assert in_place == expected


def test_a_message_split_across_reads_and_a_ping_between(pair):
    server, client = pair
    ws = WebSocket(server, max_message_size=10_000)
    data = (masked_frame(1, b"4" * 3000, fin=False) + masked_frame(9, b"hi")
            + masked_frame(0, b"5" * 3000))
    for index in range(0, len(data), 1000):  # partial headers and payloads
        client.sendall(data[index:index + 1000])
    assert ws.receive() == "4" * 3000 + "5" * 3000
    ws.abort()
    assert read_frames(client) == [(10, b"hi")]


def test_a_server_close_waits_for_the_clients_close_then_ends(pair):
    server, client = pair
    ws = WebSocket(server, max_message_size=100)
    ws.close()
    assert ws.closed
    with pytest.raises(websocket.ConnectionClosed):
        ws.send_batch(["4late"])
    assert client.recv(4) == b"\x88\x02\x03\xe8"  # close 1000
    client.sendall(masked_frame(8, struct.pack("!H", 1000)))
    assert ws.receive() is None
    assert client.recv(1) == b""  # no echo of the echo: the connection ended


def test_the_servers_read_buffer_is_taken_then_let_go(pair):
    # What the client sent right after its handshake waits in the server's buffered
    # reader: the first read takes it, then the reader is closed, which frees its
    # buffer (8 KB a connection), the socket staying open.
    server, client = pair
    raw_server, raw_buffered = socket.socketpair()
    try:
        buffered = raw_buffered.makefile("rb", -1)
        raw_server.sendall(masked_frame(0x1, b"4first"))
        buffered.peek(1)  # the frame is in the reader's buffer now
        ws = WebSocket(server, max_message_size=1000, buffered=buffered)
        client.sendall(masked_frame(0x1, b"4second"))
        assert ws.receive() == "4first"
        assert buffered.closed
        assert ws.receive() == "4second"
        ws.abort()
    finally:
        raw_server.close()
        raw_buffered.close()
