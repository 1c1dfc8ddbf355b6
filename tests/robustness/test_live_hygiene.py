"""Protocol violations and hostile HTTP over the network, on both network engines.

``native`` is our Engine.IO server (the default on gevent); ``engineio`` is
python-engineio (``engine='engineio'``). Where python-engineio mishandles a
violation inside its own code, the test is a strict xfail naming the behaviour; the
smallest fix is in the reason.
"""

from __future__ import annotations

import socket
import time

import pytest
import requests
import websocket

from flask_socketio.testing.live import LiveServer

from .raw import RawPolling, RawWebSocket, make_echo_app, wait_for

ENGINES = ["native", "engineio"]

ISSUE_8 = "; fixed by our own transport (issue 8)"


def engineio_xfail(behaviour: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason="python-engineio: " + behaviour + ISSUE_8)


@pytest.fixture
def serve():
    """``serve(engine, **options)``: a LiveServer of the echo app, stopped at the end."""
    servers = []

    def start(engine, **options):
        app, socketio = make_echo_app(engine=engine, **options)
        server = LiveServer(app).start()
        servers.append(server)
        return server, socketio

    yield start
    for server in servers:
        server.stop()


def assert_bystander_echoes(server, transport="websocket"):
    client = server.client(transports=[transport])
    try:
        assert client.call("echo", "still here") == "ok"
        client.assert_received("echo", "still here")
    finally:
        client.close()


# -- Socket.IO violations: handled by our protocol layer on both engines ---------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("packet", [
    "42[1]", '42{"a":1}', "44", '451-["echo",{"_placeholder":true,"num":3}]'])
def test_a_socketio_violation_over_websocket_closes_that_connection(serve, engine, packet):
    server, socketio = serve(engine)
    bystander = server.client(transports=["websocket"])
    raw = RawWebSocket(server.url)
    try:
        raw.send_text("40")
        raw.send_text(packet)
        frames = raw.read_until_closed()
        assert frames[-1] == "<closed>", frames
        assert wait_for(lambda: raw.sid not in socketio.server.environ)
        assert socketio.server.violation_count == 1
        assert "protocol violation" in server.log
        assert bystander.call("echo", 1) == "ok"
        assert_bystander_echoes(server)
    finally:
        raw.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_socketio_violation_over_polling_closes_that_connection(serve, engine):
    server, socketio = serve(engine)
    raw = RawPolling(server.url)
    try:
        assert raw.post("40").status_code == 200
        assert raw.get().text.startswith("40{")
        assert raw.post("42[\"connect\"]").status_code == 200
        assert wait_for(lambda: raw.sid not in socketio.server.environ)
        after = raw.get()
        # the session is gone, or its last poll gets the CLOSE packet (after a NOOP)
        assert after.status_code == 400 or after.text in ("1", "6\x1e1"), after.text
        assert socketio.server.violation_count == 1
        assert_bystander_echoes(server, "polling")
    finally:
        raw.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_connect_timeout_closes_a_silent_session(serve, engine):
    server, socketio = serve(engine, connect_timeout=0.3)
    raw = RawWebSocket(server.url)
    connected = RawWebSocket(server.url)
    try:
        connected.send_text("40")
        started = time.monotonic()
        assert raw.read_until_closed()[-1] == "<closed>"
        assert time.monotonic() - started < 2.5
        assert socketio.server.violation_count == 1
        assert connected.sid in socketio.server.environ
        connected.send_text('42["echo","x"]')
        assert connected.ws.recv().startswith("40{")
    finally:
        raw.close()
        connected.close()


# -- Engine.IO violations: the transport's own ------------------------------------------------

WS_EMPTY = engineio_xfail(
    "an empty WebSocket frame raises ValueError in Socket._websocket_handler outside its "
    "try block: the error escapes to gevent ('failed with ValueError'), the reader ends "
    "without closing the session, which lingers until the ping timeout. Smallest fix: move "
    "'pkt = packet.Packet(encoded_packet=p)' inside the try in Socket._websocket_handler")
WS_UNKNOWN = engineio_xfail(
    "a WebSocket frame of an unknown Engine.IO type ('x') raises ValueError (int('x')) in "
    "Socket._websocket_handler outside its try block: same escape and lingering session. "
    "Smallest fix: decode inside the try in Socket._websocket_handler")


@pytest.mark.parametrize("frame", [
    pytest.param("", id="empty"),
    pytest.param("x", id="unknown-type"),
    pytest.param(b"\xff\xfe", id="invalid-utf8"),
    pytest.param("4" + "x" * 2000, id="over-max_http_buffer_size"),
])
@pytest.mark.parametrize("engine", ENGINES)
def test_an_engineio_violation_over_websocket_ends_the_session(serve, engine, frame, request):
    if engine == "engineio" and frame == "":
        request.applymarker(WS_EMPTY)
    if engine == "engineio" and frame == "x":
        request.applymarker(WS_UNKNOWN)
    server, socketio = serve(engine, max_http_buffer_size=1000)
    raw = RawWebSocket(server.url)
    try:
        raw.send_text("40")
        assert raw.ws.recv().startswith("40{")
        if isinstance(frame, bytes):
            raw.send_raw_text_frame(frame)
        else:
            raw.send_text(frame)
        assert wait_for(lambda: raw.sid not in socketio.server.environ, timeout=2), (
            "the session outlived the violation")
        assert "failed with" not in server.log, server.log
        assert_bystander_echoes(server)
    finally:
        raw.close()


POLL_BAD = engineio_xfail(
    "an undecodable polling packet ('x': int('x'); 'bZZZ': binascii.Error) makes "
    "payload.Payload(...) raise a ValueError that Server.handle_request's bare except "
    "logs ('post request handler error') and answers 200 OK, the session kept alive. "
    "Smallest fix: in Socket.handle_post_request raise exceptions.UnknownPacketError on "
    "ValueError from payload.Payload(...), so the EngineIOError branch answers 400 and "
    "closes the session (with the non-waiting close of the Content-Length xfail)")
POLL_EMPTY = engineio_xfail(
    "an empty POST body decodes to no packets (Payload.decode returns early on an empty "
    "string) and is answered 200 OK, the session kept alive, where the protocol has no "
    "empty payload. Smallest fix: Payload.decode raises ValueError on an empty payload, "
    "handled as in the undecodable-packet xfail")


@pytest.mark.parametrize("body", [
    pytest.param("x", id="unknown-type"),
    pytest.param("", id="empty"),
    pytest.param("bZZZ", id="bad-base64"),
])
@pytest.mark.parametrize("engine", ENGINES)
def test_an_engineio_violation_over_polling_is_a_400_and_ends_the_session(serve, engine,
                                                                         body, request):
    if engine == "engineio":
        request.applymarker(POLL_EMPTY if body == "" else POLL_BAD)
    server, socketio = serve(engine)
    raw = RawPolling(server.url)
    try:
        assert raw.post("40").status_code == 200
        assert raw.get().text.startswith("40{")
        response = raw.post(body)
        assert response.status_code == 400
        assert wait_for(lambda: raw.sid not in socketio.server.environ, timeout=2)
        assert_bystander_echoes(server, "polling")
    finally:
        raw.close()


# -- oversized HTTP bodies -------------------------------------------------------------------


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 2) -> bytes:
    """Send ``head`` and ``body`` on a fresh socket; what came back before ``timeout``."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            pass
        return received


CONTENT_LENGTH_HANG = engineio_xfail(
    "a POST whose Content-Length is over max_http_buffer_size raises ContentTooLongError; "
    "the handler then calls Server.disconnect(sid), whose Socket.close(wait=True) blocks "
    "in queue.join() until a GET drains the queue: with no poll pending the POST gets no "
    "answer at all. Smallest fix: close without waiting there "
    "(self._get_socket(sid).close(wait=False, abort=True); del self.sockets[sid])")


@pytest.mark.parametrize("engine", [
    "native", pytest.param("engineio", marks=CONTENT_LENGTH_HANG)])
def test_a_content_length_over_the_limit_is_refused_before_the_body_is_read(serve, engine):
    server, socketio = serve(engine, max_http_buffer_size=1000)
    raw = RawPolling(server.url)
    try:
        head = (f"POST /socket.io/?EIO=4&transport=polling&sid={raw.sid} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\nContent-Length: 100000000\r\n\r\n").encode()
        started = time.monotonic()
        answer = raw_request(server.port, head, b"40")  # the 100 MB never come
        assert answer.split(b" ")[1:2] in ([b"413"], [b"400"]), answer
        assert time.monotonic() - started < 1.5
        assert wait_for(lambda: raw.sid not in socketio.server.environ, timeout=2)
    finally:
        raw.close()


CHUNKED_DROPPED = engineio_xfail(
    "a POST without Content-Length (chunked) is read as empty "
    "(int(environ.get('CONTENT_LENGTH', '0'))): answered 200 OK whatever its size, its "
    "packets silently dropped. Smallest "
    "fix: in Socket.handle_post_request, without CONTENT_LENGTH read at most "
    "max_http_buffer_size + 1 bytes and raise ContentTooLongError beyond")


@pytest.mark.parametrize("engine", ["native", pytest.param("engineio", marks=CHUNKED_DROPPED)])
def test_a_chunked_body_over_the_limit_is_refused(serve, engine):
    server, _ = serve(engine, max_http_buffer_size=1000)
    raw = RawPolling(server.url)
    try:
        head = (f"POST /socket.io/?EIO=4&transport=polling&sid={raw.sid} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        body = b"".join(b"%x\r\n%s\r\n" % (500, b"4" * 500) for _ in range(10)) + b"0\r\n\r\n"
        answer = raw_request(server.port, head, body)
        assert answer.split(b" ")[1:2] in ([b"413"], [b"400"]), answer
    finally:
        raw.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_body_within_the_limit_is_served(serve, engine):
    server, _ = serve(engine, max_http_buffer_size=1000)
    raw = RawPolling(server.url)
    try:
        assert raw.post("40").status_code == 200
        assert raw.get().text.startswith("40{")
        event = '42["echo","' + "y" * 900 + '"]'
        assert raw.post(event).status_code == 200
        assert "y" * 900 in raw.get().text
    finally:
        raw.close()


# -- cross-origin requests -------------------------------------------------------------------

EVIL = "http://evil.example"


def handshake_params(**extra):
    return {"EIO": "4", "transport": "polling", **extra}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cross_origin_polling_handshake_is_refused_by_default(serve, engine):
    server, socketio = serve(engine)
    response = requests.get(f"{server.url}/socket.io/", params=handshake_params(),
                            headers={"Origin": EVIL}, timeout=3)
    assert response.status_code in (400, 403)
    assert not response.text.startswith("0")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert socketio.server.environ == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_same_origin_handshake_is_accepted(serve, engine):
    server, _ = serve(engine)
    response = requests.get(f"{server.url}/socket.io/", params=handshake_params(),
                            headers={"Origin": server.url}, timeout=3)
    assert response.status_code == 200 and response.text.startswith("0{")
    raw = RawWebSocket(server.url, origin=server.url)
    raw.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cross_origin_websocket_is_refused_by_default(serve, engine):
    server, socketio = serve(engine)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        RawWebSocket(server.url, origin=EVIL)
    assert refused.value.status_code == 403  # before the upgrade, not after
    assert socketio.server.environ == {}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cross_origin_websocket_upgrade_is_refused_by_default(serve, engine):
    server, socketio = serve(engine)
    raw = RawPolling(server.url)  # same-origin polling session
    try:
        url = (server.url.replace("http", "ws", 1)
               + f"/socket.io/?EIO=4&transport=websocket&sid={raw.sid}")
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, timeout=3, origin=EVIL)
        assert refused.value.status_code == 403
        assert socketio.server.eio.transport(raw.sid) == "polling"
    finally:
        raw.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_every_origin_only_when_asked_and_without_credentials(serve, engine):
    server, socketio = serve(engine, cors_allowed_origins="*")
    response = requests.get(f"{server.url}/socket.io/", params=handshake_params(),
                            headers={"Origin": EVIL}, timeout=3)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in (EVIL, "*")
    assert "Access-Control-Allow-Credentials" not in response.headers
    raw = RawWebSocket(server.url, origin=EVIL)
    raw.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_credentials_with_every_origin_only_when_asked(serve, engine):
    server, _ = serve(engine, cors_allowed_origins="*", cors_credentials=True)
    response = requests.get(f"{server.url}/socket.io/", params=handshake_params(),
                            headers={"Origin": EVIL}, timeout=3)
    assert response.headers["Access-Control-Allow-Origin"] == EVIL
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_named_origin_is_the_only_one_let_in(serve, engine):
    server, _ = serve(engine, cors_allowed_origins=["https://app.example"])
    good = requests.get(f"{server.url}/socket.io/", params=handshake_params(),
                        headers={"Origin": "https://app.example"}, timeout=3)
    bad = requests.get(f"{server.url}/socket.io/", params=handshake_params(),
                       headers={"Origin": EVIL}, timeout=3)
    assert good.status_code == 200
    assert good.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert bad.status_code in (400, 403)
