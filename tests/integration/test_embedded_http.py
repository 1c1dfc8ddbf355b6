"""The embedded server's HTTP layer (``flask_socketio.serving``), at the socket level.

Request heads are parsed by llhttp (``httptools``) instead of the ``email`` package:
these tests send raw bytes on a TCP socket and check that what must be refused is
refused (request smuggling: conflicting or duplicate lengths, folded lines, bare
line ends, control characters; the size limits of before), that what must pass
reaches the app as pywsgi put it in the environ, and that a response leaves in one
system call with its headers (``SINGLE_SEND_LIMIT``).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
from flask import Flask, request

from flask_socketio import SocketIO
from flask_socketio.serving import HEADER_LINE_LIMIT, MAX_HEADERS, SINGLE_SEND_LIMIT
from flask_socketio.testing import LiveServer

from .engine_server import BareServer

BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\n"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    app = Flask(__name__)
    SocketIO(app)

    @app.route("/environ", methods=["GET", "POST", "HEAD"])
    def environ() -> dict:
        return {"headers": {key: value for key, value in request.environ.items()
                            if key.startswith("HTTP_")},
                "content_type": request.environ.get("CONTENT_TYPE"),
                "content_length": request.environ.get("CONTENT_LENGTH"),
                "body": request.get_data(as_text=True)}

    with LiveServer(app) as live:
        yield live


def exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send ``data`` on a new connection, half-close it, read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def responses(raw: bytes) -> list[tuple[bytes, bytes]]:
    """(status line, body) of each response in ``raw`` (Content-Length framed)."""
    found = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in lines[1:]
                      if line.lower().startswith(b"content-length:"))
        found.append((lines[0], rest[:length]))
        raw = rest[length:]
    return found


def get(path: str, *headers: bytes) -> bytes:
    return (f"GET {path} HTTP/1.1\r\n".encode() + b"Host: x\r\n"
            + b"".join(header + b"\r\n" for header in headers) + b"Connection: close\r\n\r\n")


# -- refused: each answered 400 and the connection closed, nothing reaches the app ----

SMUGGLING = {
    "content-length and transfer-encoding":
        b"POST /environ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /environ HTTP/1.1\r\nHost: x\r\n\r\n",
    "transfer-encoding then content-length":
        b"POST /environ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 40\r\n\r\n0\r\n\r\n",
    "two content-lengths": b"POST /environ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                           b"Content-Length: 44\r\n\r\nGET /environ HTTP/1.1\r\nHost: x\r\n\r\n",
    "two equal content-lengths": b"POST /environ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                 b"Content-Length: 2\r\n\r\nab",
    "a content-length that is not digits": b"POST /environ HTTP/1.1\r\nHost: x\r\n"
                                           b"Content-Length: +2\r\n\r\nab",
    "transfer-encoding not ending in chunked": b"POST /environ HTTP/1.1\r\nHost: x\r\n"
                                               b"Transfer-Encoding: chunked, identity\r\n\r\n",
    "a folded header line (obs-fold)": b"GET /environ HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "a space before the colon": b"GET /environ HTTP/1.1\r\nHost: x\r\n"
                                b"Transfer-Encoding : chunked\r\n\r\n",
    "bare LF line ends": b"GET /environ HTTP/1.1\r\nHost: x\nX-A: a\n\n",
    "a bare CR": b"GET /environ HTTP/1.1\r\nHost: x\rX-A: a\r\n\r\n",
    "a NUL in a value": b"GET /environ HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "a control character in a name": b"GET /environ HTTP/1.1\r\nHost: x\r\nX\x01A: a\r\n\r\n",
    "an empty header name": b"GET /environ HTTP/1.1\r\nHost: x\r\n: a\r\n\r\n",
    "a control character in the target": b"GET /env\x01iron HTTP/1.1\r\nHost: x\r\n\r\n",
    "a content-length on HEAD": b"HEAD /environ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                b"\r\nabc",
    "HTTP/2.0 in the request line": b"GET /environ HTTP/2.0\r\nHost: x\r\n\r\n",
    "a head cut short": b"GET /environ HTTP/1.1\r\nHost: x\r\nX-A: a",
}


@pytest.mark.parametrize("name", list(SMUGGLING))
def test_a_malformed_or_ambiguous_request_head_is_refused(server, name):
    answer = exchange(server.port, SMUGGLING[name])
    assert answer.startswith(BAD_REQUEST), answer
    assert answer.count(b"HTTP/1.1") == 1  # nothing smuggled behind it was answered
    assert b'"headers"' not in answer  # the app never ran


def test_more_headers_than_the_limit_are_refused(server):
    many = [f"X-H{i}: {i}".encode() for i in range(MAX_HEADERS)]  # + Host, Connection
    assert exchange(server.port, get("/environ", *many)).startswith(BAD_REQUEST)
    fine = exchange(server.port, get("/environ", *many[:MAX_HEADERS - 2]))
    assert fine.startswith(b"HTTP/1.1 200 ")


def test_a_header_line_longer_than_the_limit_is_refused(server):
    long = b"X-Long: " + b"a" * HEADER_LINE_LIMIT
    assert exchange(server.port, get("/environ", long)).startswith(BAD_REQUEST)
    fits = b"X-Long: " + b"a" * (HEADER_LINE_LIMIT - 20)
    assert exchange(server.port, get("/environ", fits)).startswith(b"HTTP/1.1 200 ")


# -- accepted: the environ as pywsgi made it ------------------------------------------


def test_headers_reach_the_environ_as_pywsgi_put_them(server):
    raw = exchange(server.port, get(
        "/environ", b"X-Mixed-Case:   padded value  ", b"X-Twice: one", b"x-twice: two",
        b"Cookie: a=1", b"Cookie: b=2", b"X_Underscore: dropped", b"X-Latin: caf\xe9"))
    [(status, body)] = responses(raw)
    assert status == b"HTTP/1.1 200 OK"
    headers = json.loads(body)["headers"]
    assert headers["HTTP_X_MIXED_CASE"] == "padded value"
    assert headers["HTTP_X_TWICE"] == "one,two"
    assert headers["HTTP_COOKIE"] == "a=1; b=2"
    assert "HTTP_X_UNDERSCORE" not in headers  # it would pass for X-Underscore
    assert headers["HTTP_X_LATIN"] == "caf\xe9"
    assert headers["HTTP_HOST"] == "x"


def test_bodies_by_length_and_chunked_and_pipelined_requests(server):
    raw = exchange(server.port,
                   b"POST /environ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                   b"Content-Length: 5\r\n\r\nhello"
                   b"POST /environ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                   b"GET /environ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answers = [json.loads(body) for _, body in responses(raw)]
    assert [answer["body"] for answer in answers] == ["hello", "abcde", ""]
    assert answers[0]["content_type"] == "text/plain"
    assert answers[0]["content_length"] == "5"
    assert "HTTP_CONTENT_TYPE" not in answers[0]["headers"]
    assert "HTTP_CONTENT_LENGTH" not in answers[0]["headers"]
    assert answers[1]["headers"]["HTTP_TRANSFER_ENCODING"] == "chunked"


def test_the_request_line_is_read_as_before(server):
    """Methods llhttp does not know and raw non-ASCII bytes in the target reach the
    app, as pywsgi passed them; only control characters are refused (above)."""
    raw = exchange(server.port, "GET /environ/café HTTP/1.1\r\nHost: x\r\n"
                                "Connection: close\r\n\r\n".encode())
    assert raw.startswith(b"HTTP/1.1 404 ")  # Flask's answer: the app ran
    raw = exchange(server.port, b"BREW /environ HTTP/1.1\r\nHost: x\r\nConnection: close"
                                b"\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 405 ")


def test_http_1_0_closes_unless_kept_alive(server):
    closed = exchange(server.port, b"GET /environ HTTP/1.0\r\n\r\nGET /environ HTTP/1.0\r\n\r\n")
    assert closed.count(b"HTTP/1.1 200") == 1
    kept = exchange(server.port, b"GET /environ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                 b"GET /environ HTTP/1.0\r\n\r\n")
    assert kept.count(b"HTTP/1.1 200") == 2


# -- one system call per response ------------------------------------------------------


def test_a_response_leaves_in_one_send_with_its_headers_a_large_one_in_two():
    big = "x" * (SINGLE_SEND_LIMIT + 1)

    def on_message(engine, sid, data):
        engine.send(sid, big)

    server = BareServer(on_message)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.3)
            sid = json.loads(sock.recv(65536).partition(b"\r\n\r\n")[2][1:])["sid"]
            query = f"/engine.io/?EIO=4&transport=polling&sid={sid}"
            sock.sendall(f"POST {query} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n4go"
                         .encode())
            time.sleep(0.3)
            sock.recv(65536)  # "ok"
            sock.sendall(f"GET {query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            received = b""
            deadline = time.monotonic() + 5
            while len(received) < len(big) and time.monotonic() < deadline:
                received += sock.recv(1 << 20)
        [writes] = server.writes
        handshake, post, poll_head, poll_body = writes
        assert handshake.startswith(b"HTTP/1.1 200 OK\r\n") and handshake.endswith(b'}')
        assert post.startswith(b"HTTP/1.1 200 OK\r\n") and post.endswith(b"\r\n\r\nok")
        assert poll_head.startswith(b"HTTP/1.1 200 OK\r\n") and poll_head.endswith(b"\r\n\r\n")
        assert poll_body == b"4" + big.encode()
    finally:
        server.close()


def test_an_upgraded_connection_keeps_no_response_headers_nor_header_timer():
    """A WebSocket connection keeps its request handler as long as it lasts: what the
    head's exchange needed is let go (bench/PROFILE.md, RSS per connection)."""
    import gc

    import websocket

    app = Flask(__name__)
    SocketIO(app)
    with LiveServer(app) as live:
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{live.port}/socket.io/?EIO=4&transport=websocket", timeout=5)
        try:
            assert ws.recv().startswith("0")
            ws.send("40")
            assert ws.recv().startswith("40")
            upgraded = [obj for obj in gc.get_objects()
                        if type(obj).__name__ == "SocketIOHandler"
                        and getattr(obj, "code", None) == 101]
            assert len(upgraded) == 1, upgraded
            handler = upgraded[0]
            assert handler.response_headers == []
            assert handler._header_timer is None
            assert handler.rfile is None or handler.rfile.closed  # its 8 KB buffer too
        finally:
            ws.close()
