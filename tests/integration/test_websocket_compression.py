"""The ``websocket_compression`` option: permessage-deflate on the embedded server."""

from __future__ import annotations

import os
import socket
import struct
import threading
import zlib

import pytest
from flask import Flask

from flask_socketio import SocketIO, emit
from flask_socketio.engine.deflate import BoundedInflater, MessageTooBig
from flask_socketio.serving import build_server

from .support import run_node, websocket_upgrade


@pytest.fixture
def serve():
    running = []

    def start(**options):
        app = Flask(__name__)
        socketio = SocketIO(app, **options)

        @socketio.on("echo")
        def echo(data):
            emit("echo", data)

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        server = build_server(socketio, app, listener=listener)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        assert server.started.wait(5)
        running.append((server, thread, listener))
        return server.port

    yield start
    for server, thread, listener in running:
        server.stop()
        thread.join(5)
        assert not thread.is_alive()
        listener.close()


DEFLATE = "permessage-deflate; client_max_window_bits"


def raw_upgrade(port, extensions=DEFLATE):
    """Open a WebSocket by hand; returns the socket and the 101 response's headers."""
    return websocket_upgrade(port, extensions)


def read_frame(sock):
    first, second = sock.recv(1)[0], sock.recv(1)[0]
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", recv_exactly(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", recv_exactly(sock, 8))[0]
    return first & 0x40 != 0, recv_exactly(sock, length)


def recv_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, "connection closed"
        data += chunk
    return data


def send_frame(sock, payload: bytes, compressed: bool):
    if compressed:
        deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        payload = deflater.compress(payload) + deflater.flush(zlib.Z_SYNC_FLUSH)
        payload = payload[:-4]
    mask = os.urandom(4)
    header = bytes([0x81 | (0x40 if compressed else 0)])
    length = len(payload)
    if length < 126:
        header += bytes([0x80 | length])
    elif length < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(header + mask + masked)


def inflate(payload: bytes) -> bytes:
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(payload + b"\x00\x00\xff\xff")


def test_compression_is_negotiated_and_used_both_ways(serve):
    port = serve(websocket_compression=True, compression_threshold=200)
    sock, headers = raw_upgrade(port)
    try:
        assert headers["sec-websocket-extensions"].startswith("permessage-deflate")
        compressed, opening = read_frame(sock)
        assert not compressed and opening.startswith(b"0{")  # under the threshold
        send_frame(sock, b"40", compressed=True)
        compressed, reply = read_frame(sock)
        assert not compressed and reply.startswith(b"40{")
        big = "y" * 5000
        send_frame(sock, f'42["echo","{big}"]'.encode(), compressed=True)
        compressed, echoed = read_frame(sock)
        assert compressed, "a message over the threshold goes out compressed"
        assert len(echoed) < 200
        assert inflate(echoed) == f'42["echo","{big}"]'.encode()
    finally:
        sock.close()


def test_a_compressed_message_inflating_past_the_limit_closes_the_connection(serve):
    port = serve(websocket_compression=True, max_http_buffer_size=10_000)
    sock, _ = raw_upgrade(port)
    try:
        read_frame(sock)
        send_frame(sock, b"40", compressed=False)
        read_frame(sock)
        bomb = b'42["echo","' + b"z" * 1_000_000 + b'"]'
        send_frame(sock, bomb, compressed=True)  # ~1 KB on the wire, 1 MB inflated
        frames = []
        while True:  # bounded by the socket's 5 s timeout
            first = sock.recv(1)
            if not first:
                break  # the server closed the connection
            sock.recv(1)
            if first[0] & 0x0F == 0x8:
                break  # a close frame
            frames.append(first)
        assert frames == [], "nothing is echoed from a message over the limit"
    finally:
        sock.close()


def test_without_the_option_no_extension_is_accepted(serve):
    port = serve()
    sock, headers = raw_upgrade(port)
    sock.close()
    assert "sec-websocket-extensions" not in headers


def test_a_client_that_offers_nothing_gets_plain_frames(serve):
    port = serve(websocket_compression=True, compression_threshold=10)
    sock, headers = raw_upgrade(port, extensions=None)
    try:
        assert "sec-websocket-extensions" not in headers
        read_frame(sock)
        send_frame(sock, b"40", compressed=False)
        read_frame(sock)
        send_frame(sock, b'42["echo","' + b"q" * 500 + b'"]', compressed=False)
        compressed, echoed = read_frame(sock)
        assert not compressed and echoed.startswith(b'42["echo","qqq')
    finally:
        sock.close()


def test_a_real_deflate_client_round_trips(serve):
    """Node's ``ws`` (permessage-deflate offered by default): compressed both ways."""
    port = serve(websocket_compression=True, compression_threshold=64)
    result = run_node("ws_frames.js", f"http://127.0.0.1:{port}", "echo")
    assert result == {"extensions": "permessage-deflate", "opening": "0{",
                      "connected": "40{", "echoed": True, "pong": "are you there",
                      "close": 1000}


def test_inflating_stops_at_the_limit_instead_of_inflating_the_whole_message():
    inflater = BoundedInflater(1000)
    deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bomb = deflater.compress(b"z" * 10_000_000) + deflater.flush(zlib.Z_SYNC_FLUSH)
    with pytest.raises(MessageTooBig, match="over the size limit"):
        inflater.inflate(bomb, final=False)
    assert inflater.inflated == 1001  # no more than the limit (plus one) inflated


def test_python_engineio_under_socketio_run_still_compresses_with_gevent_websocket(serve):
    """``engine='engineio'`` keeps gevent-websocket, with our deflate on top of it."""
    port = serve(engine="engineio", websocket_compression=True, compression_threshold=200)
    sock, headers = raw_upgrade(port)
    try:
        assert headers["sec-websocket-extensions"].startswith("permessage-deflate")
        read_frame(sock)
        send_frame(sock, b"40", compressed=True)
        read_frame(sock)
        big = "w" * 5000
        send_frame(sock, f'42["echo","{big}"]'.encode(), compressed=True)
        compressed, echoed = read_frame(sock)
        assert compressed and inflate(echoed) == f'42["echo","{big}"]'.encode()
    finally:
        sock.close()
