"""The native Engine.IO server's own behaviours, over real HTTP and WebSocket.

The protocol's conformance is tested in tests/integration/test_conformance_*.py;
here: options (cookie, compression, CORS, transports, ping interval, payload cap),
server-side close, heartbeat timeouts, and the engine choice.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import gevent
import pytest
import requests
import websocket
from flask import Flask
from gevent import pywsgi

from flask_socketio import SocketIO
from flask_socketio.engine.native import NativeEngine
from flask_socketio.serving import _request_handler


class EchoServer:
    """A bare NativeEngine echo server at /engine.io/, in a thread with its own hub."""

    def __init__(self, **options):
        self.engine = NativeEngine(**options)
        self.events = []
        self.engine.on("connect", lambda sid, environ: self.events.append(("connect", sid)))
        self.engine.on("message", self._echo)
        self.engine.on("disconnect",
                       lambda sid, reason: self.events.append(("disconnect", sid, reason)))
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/engine.io/"
        self._started = threading.Event()
        self._stop = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        assert self._started.wait(5)

    def _echo(self, sid, data):
        self.engine.send(sid, data)

    def _app(self, environ, start_response):
        return self.engine.handle_request(environ, start_response)

    def _serve(self):
        server = pywsgi.WSGIServer(self.listener, self._app, handler_class=_request_handler(),
                                   log=None)
        hub = self.hub = gevent.get_hub()
        self._stop = lambda: hub.loop.run_callback_threadsafe(server.stop, 1)
        server.start()
        self._started.set()
        server.serve_forever()

    def close(self):
        self._stop()
        self.thread.join(5)
        assert not self.thread.is_alive()
        self.listener.close()

    def handshake(self, **kwargs):
        response = requests.get(self.url, params={"EIO": "4", "transport": "polling"},
                                timeout=5, **kwargs)
        return response, json.loads(response.text[1:]) if response.ok else None

    def polling_session(self):
        """A new polling session: its sid and the URL of its requests."""
        _, opening = self.handshake()
        return opening["sid"], f"{self.url}?EIO=4&transport=polling&sid={opening['sid']}"


@pytest.fixture
def serve():
    servers = []

    def start(**options):
        server = EchoServer(**options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_sub_second_ping_interval_is_advertised_exactly(serve):
    server = serve(ping_interval=0.3, ping_timeout=0.2, max_http_buffer_size=1234)
    _, opening = server.handshake()
    assert opening["pingInterval"] == 300
    assert opening["pingTimeout"] == 200
    assert opening["maxPayload"] == 1234
    assert opening["upgrades"] == ["websocket"]


def test_cookie_option_sets_the_session_cookie(serve):
    server = serve(cookie={"name": "io", "path": "/chat", "httponly": True})
    response, opening = server.handshake()
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"io={opening['sid']}")
    assert "Path=/chat" in cookie or "path=/chat" in cookie
    assert "httponly" in cookie.lower()
    assert "Set-Cookie" not in serve().handshake()[0].headers


def test_polling_responses_are_compressed_above_the_threshold(serve):
    server = serve(compression_threshold=100)
    _, url = server.polling_session()
    big = "x" * 500
    assert requests.post(url, data="4" + big, timeout=5).text == "ok"
    response = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.text == "4" + big  # requests decompressed it
    requests.post(url, data="4small", timeout=5)
    response = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert "Content-Encoding" not in response.headers


def test_cors_default_is_same_origin_and_lists_are_honoured(serve):
    server = serve()
    own = server.url.rsplit("/engine.io/", 1)[0]
    assert server.handshake(headers={"Origin": own})[0].status_code == 200
    assert server.handshake(headers={"Origin": "http://evil.example"})[0].status_code == 400
    listed = serve(cors_allowed_origins=["http://ok.example"], cors_credentials=False)
    response, _ = listed.handshake(headers={"Origin": "http://ok.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = requests.options(listed.url, headers={
        "Origin": "http://ok.example", "Access-Control-Request-Headers": "x-token"}, timeout=5)
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Headers"] == "x-token"


def test_transports_option_refuses_the_others(serve):
    server = serve(transports=["websocket"])
    response, _ = server.handshake()
    assert response.status_code == 400
    assert response.json() == {"code": 0, "message": "Transport unknown"}
    ws = websocket.create_connection(server.url.replace("http", "ws")
                                     + "?EIO=4&transport=websocket", timeout=5)
    try:
        assert json.loads(ws.recv()[1:])["upgrades"] == []
    finally:
        ws.close()


def test_oversized_post_is_refused_before_it_is_read_and_closes_the_session(serve):
    server = serve(max_http_buffer_size=100)
    _, url = server.polling_session()
    assert requests.post(url, data="4" + "x" * 200, timeout=5).status_code == 413
    assert requests.get(url, timeout=5).status_code == 400


def test_oversized_websocket_message_closes_the_session(serve):
    server = serve(max_http_buffer_size=100)
    ws = websocket.create_connection(server.url.replace("http", "ws")
                                     + "?EIO=4&transport=websocket", timeout=5)
    sid = json.loads(ws.recv()[1:])["sid"]
    ws.send("4" + "x" * 200)
    deadline = time.monotonic() + 5
    while ("disconnect", sid, "transport error") not in server.events:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    ws.close()


def test_server_disconnect_ends_the_pending_poll_with_a_close_packet(serve):
    server = serve()
    sid, url = server.polling_session()
    result = {}
    poller = threading.Thread(target=lambda: result.update(
        response=requests.get(url, timeout=5)))
    poller.start()
    time.sleep(0.2)
    server.engine.disconnect(sid)  # gevent events accept a set() from another thread
    poller.join(5)
    assert result["response"].text == "1"
    assert ("disconnect", sid, "server disconnect") in server.events


def test_missing_pong_closes_the_websocket_session(serve):
    server = serve(ping_interval=0.1, ping_timeout=0.1)
    ws = websocket.create_connection(server.url.replace("http", "ws")
                                     + "?EIO=4&transport=websocket", timeout=5)
    sid = json.loads(ws.recv()[1:])["sid"]
    assert ws.recv() == "2"
    deadline = time.monotonic() + 5
    while ("disconnect", sid, "ping timeout") not in server.events:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    ws.close()


def test_pongs_keep_the_session_alive(serve):
    server = serve(ping_interval=0.05, ping_timeout=0.1)
    ws = websocket.create_connection(server.url.replace("http", "ws")
                                     + "?EIO=4&transport=websocket", timeout=5)
    sid = json.loads(ws.recv()[1:])["sid"]
    for _ in range(5):
        assert ws.recv() == "2"
        ws.send("3")
    assert sid in server.engine.sessions
    ws.send("4still here")
    assert ws.recv() == "4still here"
    ws.close()


def test_engine_option_picks_the_engine():
    native = SocketIO(Flask(__name__))
    assert isinstance(native.server.eio.network, NativeEngine)
    import engineio

    classic = SocketIO(Flask(__name__), engine="engineio")
    assert isinstance(classic.server.eio.network, engineio.Server)
    threading_mode = SocketIO(Flask(__name__), async_mode="threading")
    assert isinstance(threading_mode.server.eio.network, engineio.Server)
    with pytest.raises(ValueError, match="engine must be one of"):
        SocketIO(Flask(__name__), engine="tornado")


def test_native_engine_refuses_other_async_modes_and_bad_transports():
    with pytest.raises(ValueError, match="gevent"):
        NativeEngine(async_mode="threading")
    with pytest.raises(ValueError, match="No valid transports"):
        NativeEngine(transports=["carrier-pigeon"])


def test_the_next_ping_comes_a_ping_interval_after_the_pong(serve):
    # pingTimeout longer than pingInterval: pings must still come every interval (as
    # from the reference server), not every ping timeout
    server = serve(ping_interval=0.2, ping_timeout=1.0)
    ws = websocket.create_connection(server.url.replace("http", "ws")
                                     + "?EIO=4&transport=websocket", timeout=5)
    ws.recv()
    assert ws.recv() == "2"
    ws.send("3")
    answered = time.monotonic()
    assert ws.recv() == "2"
    assert time.monotonic() - answered < 0.6  # 0.2 s due; 1.0 s with the bug
    ws.close()


def test_a_server_closed_polling_session_gets_noop_and_close_on_its_next_poll(serve):
    server = serve()
    sid, url = server.polling_session()
    server.hub.loop.run_callback_threadsafe(server.engine.disconnect, sid)  # no poll pending
    deadline = time.monotonic() + 5
    while ("disconnect", sid, "server disconnect") not in server.events:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert requests.post(url, data=b"4ignored", timeout=5).text == "ok"
    assert requests.get(url, timeout=5).text == "6\x1e1"
    assert requests.get(url, timeout=5).status_code == 400  # then it is gone


def test_a_later_post_does_not_overtake_the_events_of_an_earlier_one(serve):
    """The events of one long-polling session run in the order they were posted,
    even when the next POST comes while the first one's events are still running
    (its response does not wait for them)."""
    server = serve()
    handled = []

    def handle(data):
        gevent.sleep(0.002)  # a handler that waits a little (I/O)
        handled.append(int(data))

    server.engine.on("message", lambda sid, data: server.engine.run_event(sid, handle, data))
    _, opened = server.handshake()
    url = f"{server.url}?EIO=4&transport=polling&sid={opened['sid']}"
    for first in (0, 50):
        body = "\x1e".join(f"4{number}" for number in range(first, first + 50))
        assert requests.post(url, data=body, timeout=5).text == "ok"
    deadline = time.monotonic() + 10
    while len(handled) < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert handled == list(range(100))
