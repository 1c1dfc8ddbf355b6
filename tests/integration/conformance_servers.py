"""Servers and raw clients for the protocol conformance tests.

The servers are set up the way the READMEs of the official test suites (the
``test-suite/`` folders of socketio/engine.io-protocol and socketio/socket.io-protocol)
ask: pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000 bytes, CORS open to
every origin; an Engine.IO server at ``/engine.io/`` echoing every message to its
sender; a Socket.IO server at ``/socket.io/`` whose ``'/'`` and ``'/custom'``
namespaces emit ``"auth"`` with the client's CONNECT payload on connection, and whose
``'/'`` answers ``"message"`` with ``"message-back"`` and the same arguments and
acknowledges ``"message-with-ack"`` with its arguments.

Each server is gevent's ``pywsgi.WSGIServer`` with gevent-websocket's handler, in a
thread of the test process (its own hub, no monkey-patching) on 127.0.0.1, port 0.

The clients speak the wire protocol by hand: ``requests`` for plain polling requests,
``http.client`` where a request must stay pending (or be aborted, or send half a
body) while the test does something else, and ``websocket-client`` for WebSocket.
Every wait is bounded.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import websocket

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2
MAX_PAYLOAD = 1_000_000
#: The Socket.IO suite's ``connectTimeout``: a connection that sends no CONNECT packet
#: within it is closed.
CONNECT_TIMEOUT = 1.0
#: The upper bound of any single wait in these tests.
WAIT = 5.0
#: The bound where a conforming server answers at once and a known-failing one hangs.
SHORT_WAIT = 1.0
#: Time given to the server to register a request the client has just sent (a GET
#: that should be pending) before the test acts on it.
SETTLE = 0.05
#: Server-side loggers stay silent: on Python 3.11 a traceback formatted in the server
#: thread while pytest formats a report in the main thread can break CPython's AST
#: recursion accounting ("SystemError: AST constructor recursion depth mismatch").
QUIET = logging.getLogger("tests.conformance.quiet")
QUIET.setLevel(logging.CRITICAL + 1)
QUIET.propagate = False
#: The options every engine gets (the suites' README set-up).
ENGINE_OPTIONS: dict[str, Any] = {
    "ping_interval": PING_INTERVAL,
    "ping_timeout": PING_TIMEOUT,
    "max_http_buffer_size": MAX_PAYLOAD,
    "cors_allowed_origins": "*",
    "logger": QUIET,
}

PYTHON_ENGINEIO = "python-engineio"
NATIVE = "native"

logger = logging.getLogger("tests.conformance")


# -- engines --------------------------------------------------------------------------------


def native_engine_class() -> type:
    """``flask_socketio.engine.native.NativeEngine``; skips the test while it is missing."""
    try:
        from flask_socketio.engine.native import NativeEngine
    except ImportError as exc:
        pytest.skip(f"the native engine is not there yet: flask_socketio.engine.native "
                    f"cannot be imported ({exc})")
    return NativeEngine


def engine_name(engine: Any) -> str:
    """``'python-engineio'`` or ``'native'`` for an Engine.IO server object."""
    import engineio

    try:
        from flask_socketio.engine.native import NativeEngine
    except ImportError:
        NativeEngine = None  # noqa: N806
    if NativeEngine is not None and isinstance(engine, NativeEngine):
        return NATIVE
    if isinstance(engine, engineio.Server):
        return PYTHON_ENGINEIO
    return type(engine).__qualname__


# -- the server thread ---------------------------------------------------------------------


class BackgroundServer:
    """A gevent WSGI server (with WebSocket support) in a thread of its own.

    ``on_stop`` runs in the server's thread, in a greenlet, before the server stops
    (to close sessions and stop the engine's background tasks).
    """

    def __init__(self, app: Callable[..., Any], on_stop: Callable[[], None] | None = None,
                 handler_class: type | None = None) -> None:
        self.app = app
        self.on_stop = on_stop
        self.handler_class = handler_class
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        # gevent accepts in a loop until EWOULDBLOCK: a blocking listener hangs the hub.
        self.listener.setblocking(False)
        self.port: int = self.listener.getsockname()[1]
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._hub: Any = None
        self._server: Any = None
        self._thread = threading.Thread(target=self._serve, name=f"conformance-{self.port}",
                                        daemon=True)

    def start(self) -> BackgroundServer:
        self._thread.start()
        if not self._started.wait(WAIT):
            raise RuntimeError("the conformance server did not start")
        if self._error is not None:
            raise RuntimeError("the conformance server failed to start") from self._error
        return self

    def _serve(self) -> None:
        import gevent
        from gevent import pywsgi
        from geventwebsocket.handler import WebSocketHandler

        try:
            self._hub = gevent.get_hub()
            self._hub.exception_stream = None  # see QUIET
            self._server = pywsgi.WSGIServer(self.listener, self.app,
                                             handler_class=self.handler_class or
                                             WebSocketHandler,
                                             log=None, error_log=QUIET)
            self._server.start()
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            self._server.serve_forever()
        finally:
            self._hub.destroy(destroy_loop=True)

    def _stop_in_hub(self) -> None:
        import gevent

        def stop() -> None:
            try:
                if self.on_stop is not None:
                    self.on_stop()
            except Exception:
                logger.exception("stopping the engine failed")
            finally:
                self._server.stop(timeout=1)

        gevent.spawn(stop)

    def stop(self) -> None:
        if self._thread.is_alive() and self._hub is not None:
            self._hub.loop.run_callback_threadsafe(self._stop_in_hub)
        self._thread.join(WAIT * 2)
        self.listener.close()
        assert not self._thread.is_alive(), "the conformance server thread did not stop"


@dataclass
class Served:
    """A running conformance server, as the tests see it."""

    #: The parameter's id (``python-engineio``, ``flask-socketio``...).
    name: str
    #: The Engine.IO implementation under it: ``'python-engineio'`` or ``'native'``.
    engine: str
    #: ``http://127.0.0.1:<port>``
    origin: str
    #: ``/engine.io/`` or ``/socket.io/``
    path: str
    server: BackgroundServer
    #: Extra facts about the stack (e.g. which Socket.IO layer is used).
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.origin + self.path

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http"):]

    def query(self, **params: Any) -> str:
        return self.path + "?" + urlencode(params)


# -- Engine.IO echo servers ---------------------------------------------------------------


def project_handler_class(socketio: Any = None) -> type | None:
    """The request handler ``socketio.run()`` serves with: gevent-websocket's
    ``WebSocketHandler``, extended by :mod:`flask_socketio.serving` (it hands the raw
    socket to the native engine, so that a cancelled poll closes its session)."""
    try:
        from flask_socketio.serving import _request_handler
    except ImportError:
        return None
    return _request_handler(socketio)


def _route(engine: Any, prefix: str) -> Callable[..., Any]:
    """A tiny WSGI app sending ``/<prefix>/...`` to ``engine.handle_request``."""
    root = "/" + prefix.strip("/")

    def app(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == root or path.startswith(root + "/"):
            return engine.handle_request(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return app


def _engine_stopper(engine: Any) -> Callable[[], None]:
    """Stop the engine's background tasks. (Not ``disconnect()``: python-engineio's
    waits for each polling session to pick up its close packet, which never comes.)"""

    def stop() -> None:
        shutdown = getattr(engine, "shutdown", None)
        if shutdown is not None:
            shutdown()

    return stop


def _echo(engine: Any) -> None:
    def message(sid: str, data: Any) -> None:
        engine.send(sid, data)

    engine.on("message", message)


def serve_python_engineio_echo() -> Served:
    import engineio

    engine = engineio.Server(async_mode="gevent", **ENGINE_OPTIONS)
    _echo(engine)
    app = engineio.WSGIApp(engine, engineio_path="engine.io")
    server = BackgroundServer(app, on_stop=_engine_stopper(engine)).start()
    return Served(PYTHON_ENGINEIO, PYTHON_ENGINEIO, f"http://127.0.0.1:{server.port}",
                  "/engine.io/", server)


def serve_native_echo() -> Served:
    engine = native_engine_class()(**ENGINE_OPTIONS)
    _echo(engine)
    server = BackgroundServer(_route(engine, "engine.io"), on_stop=_engine_stopper(engine),
                              handler_class=project_handler_class()).start()
    return Served(NATIVE, NATIVE, f"http://127.0.0.1:{server.port}", "/engine.io/", server)


#: The Engine.IO servers under test: parameter id -> factory.
ENGINEIO_SERVERS: dict[str, Callable[[], Served]] = {
    PYTHON_ENGINEIO: serve_python_engineio_echo,
    NATIVE: serve_native_echo,
}


# -- Socket.IO servers ----------------------------------------------------------------------


def _python_socketio_server(engine_class: type | None) -> Any:
    import socketio

    class Server(socketio.Server):
        def _engineio_server_class(self) -> Any:
            return engine_class if engine_class is not None else super()._engineio_server_class()

    options = dict(ENGINE_OPTIONS, engineio_logger=QUIET)
    sio = Server(async_mode="gevent", **options)

    def connect(sid: str, environ: dict, auth: Any = None) -> None:
        sio.emit("auth", auth if auth is not None else {}, to=sid)

    def connect_custom(sid: str, environ: dict, auth: Any = None) -> None:
        sio.emit("auth", auth if auth is not None else {}, to=sid, namespace="/custom")

    def message(sid: str, *args: Any) -> None:
        sio.emit("message-back", args, to=sid)

    def message_with_ack(sid: str, *args: Any) -> Any:
        return args

    sio.on("connect", connect)
    sio.on("connect", connect_custom, namespace="/custom")
    sio.on("message", message)
    sio.on("message-with-ack", message_with_ack)
    return sio


def _serve_python_socketio(name: str, engine_class: type | None) -> Served:
    import socketio

    sio = _python_socketio_server(engine_class)

    def stop() -> None:
        _engine_stopper(sio.eio)()

    handler_class = project_handler_class() if engine_class is not None else None
    server = BackgroundServer(socketio.WSGIApp(sio, socketio_path="socket.io"),
                              on_stop=stop, handler_class=handler_class).start()
    return Served(name, engine_name(sio.eio), f"http://127.0.0.1:{server.port}",
                  "/socket.io/", server, {"socketio": "python-socketio"})


def serve_python_socketio() -> Served:
    return _serve_python_socketio("python-socketio", None)


def serve_python_socketio_native() -> Served:
    return _serve_python_socketio("python-socketio+native", native_engine_class())


def serve_flask_socketio(engine: str | None = None) -> Served:
    from flask import Flask

    from flask_socketio import SocketIO, emit

    app = Flask("conformance")
    app.logger.disabled = True
    options: dict[str, Any] = {} if engine is None else {"engine": engine}
    sio = SocketIO(app, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT,
                   max_http_buffer_size=MAX_PAYLOAD, cors_allowed_origins="*", logger=QUIET,
                   engineio_logger=QUIET, connect_timeout=CONNECT_TIMEOUT, **options)

    @sio.on("connect")
    def connect(auth: Any = None) -> None:
        emit("auth", auth if auth is not None else {})

    @sio.on("connect", namespace="/custom")
    def connect_custom(auth: Any = None) -> None:
        emit("auth", auth if auth is not None else {})

    @sio.on("message")
    def message(*args: Any) -> None:
        emit("message-back", *args)

    @sio.on("message-with-ack")
    def message_with_ack(*args: Any) -> Any:
        return args

    router = sio.server.eio
    network = getattr(router, "network", router)

    def stop() -> None:
        _engine_stopper(network)()

    server = BackgroundServer(app, on_stop=stop, handler_class=project_handler_class(sio))
    server.start()
    name = "flask-socketio" if engine is None else f"flask-socketio+{engine}"
    return Served(name, engine_name(network), f"http://127.0.0.1:{server.port}",
                  "/socket.io/", server, {"socketio": "flask-socketio"})


#: The Socket.IO servers under test: parameter id -> factory.
SOCKETIO_SERVERS: dict[str, Callable[[], Served]] = {
    "python-socketio": serve_python_socketio,
    "python-socketio+native": serve_python_socketio_native,
    "flask-socketio": serve_flask_socketio,
    "flask-socketio+engineio": lambda: serve_flask_socketio("engineio"),
}


def known_failure(request: pytest.FixtureRequest, served: Served, reason: str, *,
                  engines: Iterable[str] = (PYTHON_ENGINEIO,),
                  socketio_layers: Iterable[str] = (),
                  servers: Iterable[str] = ()) -> None:
    """Expect this test to fail (strictly) on the named engines, Socket.IO layers or
    servers (parameter ids).

    ``engines`` names the Engine.IO implementations known to fail; ``socketio_layers``
    names Socket.IO layers (``'python-socketio'``, ``'flask-socketio'``) known to fail
    whatever engine is under them; ``servers`` names single parameters. The native
    engine is never named: it must pass everything.
    """
    if (served.engine in engines or served.facts.get("socketio") in socketio_layers
            or served.name in servers):
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# -- polling clients ------------------------------------------------------------------------


def get(served: Served, headers: dict[str, str] | None = None,
        **params: Any) -> requests.Response:
    return requests.get(served.url, params=params, headers=headers, timeout=WAIT)


def post(served: Served, body: str | bytes, headers: dict[str, str] | None = None,
         timeout: float = WAIT, **params: Any) -> requests.Response:
    if isinstance(body, str):
        body = body.encode()
    return requests.post(served.url, params=params, data=body, headers=headers,
                         timeout=timeout)


def send_request(served: Served, method: str, **params: Any) -> requests.Response:
    return requests.request(method, served.url, params=params, timeout=WAIT)


def open_polling(served: Served) -> tuple[str, dict]:
    """Open a polling session: ``(sid, handshake)``."""
    response = get(served, EIO=4, transport="polling")
    assert response.status_code == 200, response.text
    body = response.content.decode()
    assert body.startswith("0"), body
    handshake = json.loads(body[1:])
    return handshake["sid"], handshake


def decode_payload(body: bytes) -> list[str | bytes]:
    """The packets of a polling payload: text packets as ``str``, ``b``-prefixed base64
    packets as ``bytes`` (the binary message's data)."""
    import base64

    packets: list[str | bytes] = []
    for part in body.decode("utf-8").split("\x1e"):
        if part.startswith("b"):
            packets.append(base64.b64decode(part[1:], validate=True))
        else:
            packets.append(part)
    return packets


def poll_packets(served: Served, sid: str, count: int) -> list[str | bytes]:
    """GET until ``count`` packets other than pings came (pings are answered)."""
    packets: list[str | bytes] = []
    deadline = time.monotonic() + WAIT
    while len(packets) < count:
        assert time.monotonic() < deadline, f"only {packets!r} arrived"
        response = get(served, EIO=4, transport="polling", sid=sid)
        assert response.status_code == 200, (response.status_code, response.text)
        for packet in decode_payload(response.content):
            if packet == "2":
                assert post(served, "3", EIO=4, transport="polling",
                            sid=sid).status_code == 200
            else:
                packets.append(packet)
    return packets


class PendingRequest:
    """An HTTP request sent now, its response read later (or never: :meth:`abort`)."""

    def __init__(self, served: Served, method: str, target: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", served.server.port,
                                                     timeout=WAIT)
        headers = {"Connection": "close", **(headers or {})}
        if body is None:
            self.connection.request(method, target, headers=headers)
        else:
            self.connection.putrequest(method, target)
            for name, value in headers.items():
                self.connection.putheader(name, value)
            self.connection.endheaders(body)

    def __enter__(self) -> PendingRequest:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.connection.close()

    def send(self, data: bytes) -> None:
        self.connection.send(data)

    def response(self) -> tuple[int, bytes]:
        try:
            response = self.connection.getresponse()
            return response.status, response.read()
        finally:
            self.connection.close()

    def abort(self) -> None:
        sock = self.connection.sock
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        self.connection.close()


def pending_get(served: Served, sid: str) -> PendingRequest:
    """A GET poll left pending on the server (sent, given :data:`SETTLE` to arrive)."""
    pending = PendingRequest(served, "GET", served.query(EIO=4, transport="polling", sid=sid))
    time.sleep(SETTLE)
    return pending


# -- WebSocket client -----------------------------------------------------------------------


class Closed(Exception):
    """The server closed the WebSocket connection."""


class WS:
    """A raw WebSocket client that speaks Engine.IO packets by hand."""

    def __init__(self, served: Served, **params: Any) -> None:
        query = urlencode(params)
        self.url = served.ws_url + ("?" + query if query else "")
        self.ws = websocket.create_connection(self.url, timeout=WAIT)

    def __enter__(self) -> WS:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def send(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            self.ws.send(data, opcode=websocket.ABNF.OPCODE_BINARY)
        else:
            self.ws.send(data)

    def send_frame(self, data: bytes, opcode: int) -> None:
        self.ws.send(data, opcode=opcode)

    def recv(self, timeout: float = WAIT, pings: str = "answer") -> str | bytes:
        """The next Engine.IO packet (``str`` for text frames, ``bytes`` for binary).

        ``pings``: ``'answer'`` answers a server ping (``"2"``) with a pong and reads
        on; ``'return'`` returns it like any packet.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no packet came")
            self.ws.settimeout(left)
            try:
                opcode, data = self.ws.recv_data()
            except websocket.WebSocketTimeoutException:
                raise TimeoutError("no packet came") from None
            except (websocket.WebSocketConnectionClosedException, ConnectionError) as exc:
                raise Closed(str(exc)) from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                raise Closed("close frame")
            if opcode == websocket.ABNF.OPCODE_TEXT:
                packet: str | bytes = data.decode("utf-8")
            elif opcode == websocket.ABNF.OPCODE_BINARY:
                packet = bytes(data)
            else:  # pragma: no cover - continuation frames are assembled by the library
                continue
            if packet == "2" and pings == "answer":
                self.send("3")
                continue
            return packet

    def recv_many(self, count: int, timeout: float = WAIT) -> list[str | bytes]:
        deadline = time.monotonic() + timeout
        return [self.recv(max(deadline - time.monotonic(), 0.001)) for _ in range(count)]

    def wait_closed(self, timeout: float = WAIT, pings: str = "answer") -> list[str | bytes]:
        """Read until the server closes the connection; return what came before.

        Fails if the connection is still open after ``timeout``. A server that writes
        something that is not a WebSocket frame (an HTTP error page on the upgraded
        socket) fails too.
        """
        received: list[str | bytes] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the server did not close the connection within "
                                     f"{timeout} s (received {received!r})")
            try:
                received.append(self.recv(left, pings=pings))
            except TimeoutError:
                continue
            except Closed:
                return received
            except (websocket.WebSocketProtocolException,
                    websocket.WebSocketPayloadException) as exc:
                raise AssertionError(f"the server wrote something that is not a "
                                     f"WebSocket frame: {exc}") from None

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except Exception:  # the server may be gone already
            pass
        finally:
            # close() does nothing once the server has closed the connection
            self.ws.shutdown()


def ws_open(served: Served, **params: Any) -> WS:
    return WS(served, **params)


def ws_session(served: Served) -> tuple[WS, dict]:
    """A WebSocket-only Engine.IO session: ``(ws, handshake)``."""
    ws = WS(served, EIO=4, transport="websocket")
    packet = ws.recv()
    assert isinstance(packet, str) and packet.startswith("0"), packet
    return ws, json.loads(packet[1:])


def ws_refused(served: Served, probe: bool = False, **params: Any) -> None:
    """Assert that a WebSocket opened with ``params`` is refused or closed at once.

    The spec: "If a mandatory query parameter is missing, then the server MUST close
    the WebSocket connection." Refusing the upgrade (an HTTP error instead of 101)
    closes it too; an Engine.IO session opened anyway does not count. With ``probe``,
    the connection also sends ``2probe``, which must not be answered.
    """
    try:
        ws = WS(served, **params)
    except (websocket.WebSocketBadStatusException,
            websocket.WebSocketConnectionClosedException, ConnectionError):
        return
    with ws:
        if probe:
            try:
                ws.send("2probe")
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                return
        received = ws.wait_closed(timeout=SHORT_WAIT, pings="return")
    assert not any(isinstance(p, str) and p[:1] in ("0", "3") for p in received), (
        f"the server served this connection: {received!r}")


def upgrade(served: Served, sid: str) -> WS:
    """Probe and complete the upgrade of polling session ``sid`` to WebSocket."""
    ws = WS(served, EIO=4, transport="websocket", sid=sid)
    ws.send("2probe")
    assert ws.recv() == "3probe"
    ws.send("5")
    return ws
