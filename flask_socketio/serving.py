"""``socketio.run()``: the embedded gevent server, with the debugger and reloader.

The server is gevent's ``pywsgi.WSGIServer``, so one process serves HTTP long-polling
and WebSocket: the native engine speaks WebSocket itself on the connection's socket
(:mod:`flask_socketio.engine.websocket`); gevent-websocket's handler still upgrades
every other request (python-engineio with ``engine='engineio'``, and the app's own
routes that use ``environ['wsgi.websocket']``). Blocking libraries in your app need
gevent's monkey-patching, done first thing in your program: ``from gevent import
monkey; monkey.patch_all()``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from .wsgi_types import WSGIEnvironment

if TYPE_CHECKING:
    import flask

    from .protocol import ProtocolServer

logger = logging.getLogger("flask_socketio")


class ServedExtension(Protocol):
    """What serving needs of :class:`flask_socketio.SocketIO` (which it serves)."""

    server: ProtocolServer | None
    server_options: dict[str, Any]
    #: The server ``run()`` is serving, while it does (what ``stop()`` stops).
    _runner: Any

    @property
    def path(self) -> str: ...

    def _require_server(self) -> ProtocolServer: ...

#: Default of ``socketio.run(header_timeout=...)``: seconds a client has to send a
#: request's line and headers (Node's ``headersTimeout`` is 60 s too).
DEFAULT_HEADER_TIMEOUT = 60.0

#: Largest response body the embedded server sends in one system call with its headers
#: (a larger one is sent after them, not copied).
SINGLE_SEND_LIMIT = 65536

#: Keywords ``socketio.run()`` passes on to gevent's ``WSGIServer``: its own and the
#: TLS ones (``ssl.SSLContext.wrap_socket``'s, or ``ssl_context`` itself).
SERVER_KEYWORDS = frozenset({
    "backlog", "spawn", "environ", "ssl_context", "keyfile", "certfile", "server_side",
    "cert_reqs", "ssl_version", "ca_certs", "do_handshake_on_connect",
    "suppress_ragged_eofs", "ciphers",
})


def check_server_options(server_options: dict[str, Any], function: str) -> None:
    """Refuse keywords gevent would take for TLS options and fail every request with.

    :raises TypeError: naming the unknown keyword, the closest known one and the list.
    """
    import difflib

    known = sorted(SERVER_KEYWORDS | {"host", "port", "debug", "use_reloader",
                                      "reloader_options", "extra_files", "log_output",
                                      "allow_unsafe_werkzeug", "header_timeout"})
    for name in server_options:
        if name in SERVER_KEYWORDS:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TypeError(f"{function}() got an unexpected keyword argument {name!r}{hint}; "
                        f"it accepts {', '.join(known)}")


#: At most this many header lines in a request, each at most HEADER_LINE_LIMIT bytes
#: (the limits of Python's ``http.client``, whose parser pywsgi uses).
MAX_HEADERS = 100
HEADER_LINE_LIMIT = 65536


#: ASCII control characters (CR and LF end the line).
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def _invalid(message: str) -> ValueError:
    """pywsgi's "invalid client request": answered 400, the connection closed."""
    from gevent.pywsgi import _InvalidClientRequest  # type: ignore[attr-defined]

    error: ValueError = _InvalidClientRequest(message)
    return error


class RequestHead:
    """A request's headers, parsed by llhttp (``httptools``), which pywsgi's handler
    uses in place of the ``email`` package's parser (three to four times the CPU).

    llhttp is strict where that parser was lenient, which closes request smuggling
    paths: a request with both ``Content-Length`` and ``Transfer-Encoding``, with two
    ``Content-Length`` headers, a ``Transfer-Encoding`` other than ``chunked`` last, a
    folded (obs-fold) header line, a space before a header's colon, a bare CR or LF
    in the head, or a control character in a name or value (or, checked by the
    handler, in the request line) is refused (400). The
    size limits are those of before (:data:`MAX_HEADERS`, :data:`HEADER_LINE_LIMIT`).
    What the handler asks of ``self.headers``: ``get`` (the first value, any case),
    ``getheader``, ``typeheader`` and ``status``.
    """

    __slots__ = ("pairs", "first", "content_length", "complete")

    #: pywsgi's "no parse error".
    status = ""

    def __init__(self) -> None:
        #: (name, value) in order, latin-1 strings, values without surrounding spaces.
        self.pairs: list[tuple[str, str]] = []
        #: lower-case name -> its first value
        self.first: dict[str, str] = {}
        self.content_length: int | None = None
        self.complete = False

    @classmethod
    def read(cls, version: str, rfile: Any) -> RequestHead:
        """Read the header lines of an HTTP/1.x request (``version``) from ``rfile``
        and parse them; the body, if any, stays in ``rfile``. (The request line is
        pywsgi's to read, as before: llhttp would refuse methods it does not know
        and a target with raw non-ASCII bytes, which pywsgi passes to the app.)

        :raises ValueError: pywsgi's invalid request (400).
        """
        import httptools

        data = bytearray(b"POST / " + version.encode("ascii") + b"\r\n")
        for _ in range(MAX_HEADERS + 1):
            line = rfile.readline(HEADER_LINE_LIMIT + 1)
            if len(line) > HEADER_LINE_LIMIT:
                raise _invalid("Header line too long")
            data += line
            if line == b"\r\n" or line == b"\n" or not line.endswith(b"\n"):
                break  # the end (a bare LF is refused below), or EOF
        else:
            raise _invalid(f"More than {MAX_HEADERS} headers")
        head = cls()
        try:
            httptools.HttpRequestParser(head).feed_data(bytes(data))
        except httptools.HttpParserUpgrade:
            pass  # an Upgrade (or CONNECT) request: its head is complete
        except httptools.HttpParserError as exc:
            raise _invalid(f"Invalid request head: {exc}") from None
        if not head.complete:
            raise _invalid("Incomplete request head")
        length = head.first.get("content-length")
        if length is not None:  # digits only, one header, no Transfer-Encoding (llhttp)
            head.content_length = int(length)
        return head

    # -- httptools' callbacks --

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1")
        text = value.decode("latin-1").strip()
        self.pairs.append((key, text))
        self.first.setdefault(key.lower(), text)

    def on_headers_complete(self) -> None:
        self.complete = True

    # -- what pywsgi's handler asks --

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.first.get(name.lower(), default)

    getheader = get

    @property
    def typeheader(self) -> str | None:
        return self.first.get("content-type")

    @property
    def environ_items(self) -> Iterator[tuple[str, str]]:
        """``HTTP_*`` environ keys and values, as pywsgi makes them: names with an
        underscore dropped (they would pass for others), no ``Content-Type`` or
        ``Content-Length`` (they have keys of their own)."""
        for name, value in self.pairs:
            if "_" in name:
                continue
            key = name.replace("-", "_").upper()
            if key != "CONTENT_TYPE" and key != "CONTENT_LENGTH":
                yield "HTTP_" + key, value


class PortInUseError(SystemExit):
    """The address to listen on is taken: one line that names it and the way out."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"Cannot serve on http://{host}:{port}: the port is in use by "
                         f"another program. Stop it, or pick another port: "
                         f"socketio.run(app, port=...).")


class EmbeddedServer:
    """The embedded gevent server: made in the thread that serves, stoppable from any.

    gevent servers belong to the hub of the thread that creates them, so the
    ``WSGIServer`` is built by :meth:`serve_forever` itself (the reloader serves
    from a thread of its own; tests serve from a background thread).
    """

    def __init__(self, make_wsgi_server: Callable[[], Any]) -> None:
        self._make_wsgi_server = make_wsgi_server
        self.wsgi_server: Any = None
        self._hub: Any = None
        self._thread_id: int | None = None
        #: Set once the server listens (``port`` is then known).
        self.started = threading.Event()

    @property
    def port(self) -> int:
        if self.wsgi_server is None:
            raise RuntimeError("the server is not listening yet")
        port: int = self.wsgi_server.server_port
        return port

    def serve_forever(self) -> None:
        import gevent

        self._thread_id = threading.get_ident()
        self._hub = gevent.get_hub()
        self.wsgi_server = self._make_wsgi_server()
        self.wsgi_server.start()
        self.started.set()
        host = self.wsgi_server.address[0]
        logger.info("Serving Socket.IO on http://%s:%s", host, self.port)
        print(f" * Serving Flask-SocketIO app on http://{host}:{self.port}", file=sys.stderr,
              flush=True)
        self.wsgi_server.serve_forever()

    def stop(self, timeout: float = 5) -> None:
        if self.wsgi_server is None:
            raise RuntimeError("the server is not running")
        if threading.get_ident() == self._thread_id:
            import gevent

            gevent.spawn(self.wsgi_server.stop, timeout)
        else:
            self._hub.loop.run_callback_threadsafe(self.wsgi_server.stop, timeout)


def _request_handler(socketio: ServedExtension | None = None,
                     header_timeout: float | None = DEFAULT_HEADER_TIMEOUT) -> type:
    """gevent-websocket's handler, giving the engine the request's socket (on which
    the native engine answers WebSocket upgrades itself, and notices a client hanging
    up on a pending long-poll at once).

    Upgrades to ``socketio``'s path are left to its native engine (all upgrades,
    without ``socketio``); gevent-websocket upgrades the others before the app runs.
    A WebSocket upgrade to its path from an origin its ``cors_allowed_origins`` does
    not accept is answered 403 before any upgrade.

    A client that has not sent a request's line and headers ``header_timeout``
    seconds after the connection became ready for it (accepted, or its previous
    request answered) is disconnected; ``None`` waits forever.
    """
    from geventwebsocket.handler import WebSocketHandler

    from .engine import deflate, gevent_websocket_deflate
    from .engine.cors import CorsPolicy
    from .engine.native import SOCKET_KEY, NativeEngine

    policy: CorsPolicy | None = None
    prefix = ""
    is_native = True
    compression: dict[str, int] | None = None
    if socketio is not None:
        options = socketio.server_options
        policy = CorsPolicy(options.get("cors_allowed_origins"), credentials=False)
        prefix = "/" + socketio.path.strip("/")
        server = socketio.server
        is_native = isinstance(getattr(getattr(server, "eio", None), "network", None),
                               NativeEngine)
        if options.get("websocket_compression") and not is_native:
            compression = {"threshold": options.get("compression_threshold", 1024),
                           "max_message_size": options.get("max_http_buffer_size",
                                                           1_000_000)}

    import gevent

    class SocketIOHandler(WebSocketHandler):
        start_response: Any  # pywsgi.WSGIHandler's, for the request being handled
        headers: Any  # a RequestHead, or pywsgi's own (a request line it parses itself)
        response_headers: list[tuple[bytes, bytes]]  # pywsgi's, of the response
        _header_timer: Any = None

        def handle_one_request(self) -> Any:
            if header_timeout is None:
                return super().handle_one_request()
            timer = self._header_timer = gevent.Timeout(header_timeout)
            timer.start()
            try:
                return super().handle_one_request()
            except gevent.Timeout as exc:
                if exc is not timer:
                    raise
                self.close_connection = True
                return None  # the connection is closed
            finally:
                timer.close()

        def read_request(self, raw_requestline: str) -> Any:
            try:
                if not raw_requestline.endswith("\r\n") or raw_requestline.count(" ") != 2:
                    # HTTP/0.9, a bare LF, a malformed line: pywsgi's answer
                    return super().read_request(raw_requestline)
                return self._read_head(raw_requestline)
            finally:
                if self._header_timer is not None:
                    self._header_timer.close()  # the headers are in: no limit for the app
                    self._header_timer = None  # (a WebSocket connection would keep it)

        def _read_head(self, raw_requestline: str) -> bool:
            """pywsgi's ``read_request`` with the headers parsed by llhttp (strict):
            see :class:`RequestHead`."""
            self.requestline = raw_requestline.rstrip()
            self.command, self.path, self.request_version = self.requestline.split(" ")
            if not self._check_http_version():
                raise _invalid(f"Invalid http version: {raw_requestline!r}")
            if _CONTROL_CHARACTER.search(self.requestline) is not None:
                raise _invalid(f"A control character in the request line: {raw_requestline!r}")
            head = RequestHead.read(self.request_version, self.rfile)
            self.headers = head
            self.content_length = head.content_length
            if head.content_length and self.command == "HEAD":
                raise _invalid("Unexpected Content-Length")
            connection = (head.get("connection") or "").lower()
            if self.request_version == "HTTP/1.1":
                self.close_connection = connection == "close"
            else:
                self.close_connection = connection != "keep-alive"
            return True

        def _headers(self) -> Iterator[tuple[str, str]]:
            headers = self.headers
            if not isinstance(headers, RequestHead):
                yield from super()._headers()
                return
            yield from headers.environ_items

        def handle(self) -> None:
            # pywsgi sends a response's headers and body apart: with Nagle's algorithm
            # on, the body waits for the client's delayed ACK, 40 ms per response on a
            # kept-alive connection (every long-poll GET and POST).
            with contextlib.suppress(OSError):  # not TCP (a Unix socket)
                self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle()

        def _write_with_headers(self, data: bytes) -> None:
            # pywsgi sends the status line and headers, then the body: two system
            # calls per response. A body up to SINGLE_SEND_LIMIT (every Engine.IO
            # response but large polls) leaves in the same send as the headers.
            if len(data) > SINGLE_SEND_LIMIT:
                super()._write_with_headers(data)
                return
            self.headers_sent = True
            self.finalize_headers()
            towrite = bytearray(b"HTTP/1.1 ")
            towrite += self.status
            towrite += b"\r\n"
            for header, value in self.response_headers:
                towrite += header
                towrite += b": "
                towrite += value
                towrite += b"\r\n"
            towrite += b"\r\n"
            if data and not self.response_use_chunked:
                towrite += data
                self._sendall(towrite)
            else:
                self._sendall(towrite)
                self._write(data)
            if self.code == 101:
                # Nothing reads a sent head's headers again, and the upgraded
                # connection (a WebSocket) keeps this handler as long as it lasts.
                self.response_headers = []

        def log_request(self) -> None:
            # gevent-websocket formats every request line (a datetime, the status,
            # the length...) before its logger drops it when the log is off
            if self.logger.isEnabledFor(logging.INFO):
                super().log_request()

        def get_environ(self) -> WSGIEnvironment:
            environ: WSGIEnvironment = super().get_environ()
            environ[SOCKET_KEY] = self.socket
            # The parsed headers are in the environ now; nothing reads them again, and
            # a WebSocket connection would keep them as long as it lasts.
            self.__dict__.pop("headers", None)
            return environ

        def upgrade_websocket(self) -> Any:
            environ = self.environ
            origin = environ.get("HTTP_ORIGIN")
            if (policy is not None and origin is not None
                    and environ.get("HTTP_UPGRADE", "").lower() == "websocket"
                    and environ.get("PATH_INFO", "").startswith(prefix)
                    and not policy.allows(origin, environ)):
                self.start_response("403 Forbidden", [("Content-Type", "text/plain")])
                return [b"Not an accepted origin."]
            if is_native and environ.get("PATH_INFO", "").startswith(prefix):
                return None  # the native engine answers the upgrade (a plain WSGI call)
            return super().upgrade_websocket()

        def run_application(self) -> None:
            try:
                super().run_application()
            finally:
                if self.code == 101:  # the app took the connection over
                    self.close_connection = True

        def upgrade_connection(self) -> Any:
            if compression is None or not deflate.is_offered(self.environ):
                return super().upgrade_connection()
            plain_start_response = self.start_response

            def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
                if status.startswith("101"):
                    headers = [*headers, ("Sec-WebSocket-Extensions",
                                          deflate.EXTENSION_RESPONSE)]
                return plain_start_response(status, headers, exc_info)

            self.start_response = start_response
            try:
                failure = super().upgrade_connection()
            finally:
                del self.start_response
            plain = self.environ.get("wsgi.websocket")
            if failure is None and plain is not None:
                self.websocket = gevent_websocket_deflate.DeflateWebSocket(
                    self.environ, plain.stream, self, **compression)
                self.environ["wsgi.websocket"] = self.websocket
                gevent_websocket_deflate.retire(plain)
            return failure

    return SocketIOHandler


class _Silent(logging.Logger):
    """Where request lines go when ``log_output`` is off."""

    def __init__(self) -> None:
        super().__init__("flask_socketio.access.off", logging.CRITICAL + 1)
        self.disabled = True


_SILENT = _Silent()


def _access_log() -> logging.Logger:
    """The request log: ``flask_socketio.access``, printed to stderr unless the
    application configured a handler for it."""
    access = logging.getLogger("flask_socketio.access")
    if access.level == logging.NOTSET:
        access.setLevel(logging.INFO)
    if not access.hasHandlers():
        access.addHandler(logging.StreamHandler())
    return access


def _listen_address(app: flask.Flask, host: str | None, port: int | None) -> tuple[str, int]:
    server_name = app.config.get("SERVER_NAME")
    default_host, default_port = "127.0.0.1", 5000
    if server_name and ":" in server_name:
        name, _, number = server_name.rpartition(":")
        default_host, default_port = name, int(number)
    return (host or default_host, default_port if port is None else int(port))


def build_server(socketio: ServedExtension, app: flask.Flask, host: str | None = None,
                 port: int | None = None, *, listener: socket.socket | None = None,
                 debug: bool | None = None, log_output: bool | None = None,
                 certfile: str | None = None, keyfile: str | None = None,
                 header_timeout: float | None = DEFAULT_HEADER_TIMEOUT,
                 **server_options: Any) -> EmbeddedServer:
    """Make (not start) the embedded server for ``app``.

    ``listener`` is an already bound and listening socket to serve on (tests bind
    port 0 and hand it over); otherwise ``host``/``port`` are bound.
    """
    if header_timeout is not None and (isinstance(header_timeout, bool) or not isinstance(
            header_timeout, (int, float)) or not header_timeout > 0):
        raise ValueError(f"header_timeout must be a number of seconds > 0 or None, not "
                         f"{header_timeout!r}")
    from gevent import pywsgi

    from .engine.native import LeanGreenlet

    check_server_options(server_options, "socketio.run")
    mode = socketio._require_server().async_mode
    if mode != "gevent":
        raise RuntimeError(f"socketio.run() serves with gevent, but the server's async_mode "
                           f"is {mode!r}: create SocketIO with async_mode='gevent'")
    if debug is not None:
        app.debug = debug
    if log_output is None:
        log_output = app.debug
    application: Any = app
    if app.debug:
        from werkzeug.debug import DebuggedApplication

        application = DebuggedApplication(app, evalex=True)
    if certfile is not None:
        server_options["certfile"] = certfile
    if keyfile is not None:
        server_options["keyfile"] = keyfile
    if listener is not None:
        # gevent accepts in a loop until EWOULDBLOCK: a blocking listener hangs the hub.
        listener.setblocking(False)
    address: Any = listener if listener is not None else _listen_address(app, host, port)

    # a greenlet per connection, without a copy of the accepting stack (see LeanGreenlet)
    server_options.setdefault("spawn", LeanGreenlet.spawn)

    def make_wsgi_server() -> Any:
        server = pywsgi.WSGIServer(
            address, application, handler_class=_request_handler(socketio, header_timeout),
            log=_access_log() if log_output else None,
            error_log=logging.getLogger("flask_socketio.server"), **server_options)
        # gevent-websocket's handler logs requests through ``server.logger``, not ``log``
        server.logger = _access_log() if log_output else _SILENT  # type: ignore[attr-defined]
        return server

    return EmbeddedServer(make_wsgi_server)


def run(socketio: ServedExtension, app: flask.Flask | None, host: str | None = None,
        port: int | None = None, *, debug: bool | None = None,
        use_reloader: bool | None = None, reloader_options: dict[str, Any] | None = None,
        extra_files: list[str] | None = None, log_output: bool | None = None,
        allow_unsafe_werkzeug: bool = False, **server_options: Any) -> None:
    """Serve ``app`` with Socket.IO until :meth:`SocketIO.stop` (or Ctrl-C).

    :param host: interface to listen on (default ``127.0.0.1``, or ``SERVER_NAME``).
    :param port: port (default 5000, or ``SERVER_NAME``'s).
    :param debug: Flask debug mode: the Werkzeug debugger, and the reloader unless
        ``use_reloader=False``.
    :param use_reloader: restart the process when source files change.
    :param reloader_options: passed to Werkzeug's ``run_with_reloader``
        (``reloader_type``, ``interval``, ``exclude_patterns``).
    :param extra_files: more files the reloader watches.
    :param log_output: log each request (default: in debug mode).
    :param allow_unsafe_werkzeug: accepted for compatibility; the gevent server is
        always used.
    :param header_timeout: seconds a client has to send a request's line and headers
        (60 by default; ``None`` waits forever); a client that dawdles is
        disconnected. It also ends an idle kept-alive HTTP connection.
    :param server_options: passed to gevent's ``WSGIServer``: ``backlog``,
        ``spawn``, ``environ``, and the TLS ones (``certfile``, ``keyfile``,
        ``ssl_context``, ``ca_certs``, ...); any other keyword is a ``TypeError``.

    A port already in use ends the program with one line naming it.
    """
    if app is None:
        raise RuntimeError("socketio.run() needs the Flask app")
    server = build_server(socketio, app, host, port, debug=debug, log_output=log_output,
                          **server_options)
    address = _listen_address(app, host, port)

    def serve() -> None:
        try:
            server.serve_forever()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            if not use_reloader:
                raise PortInUseError(*address) from None
            # The reloader serves from a thread of its child process: end that process.
            print(PortInUseError(*address).code, file=sys.stderr, flush=True)
            os._exit(1)

    socketio._runner = server
    if use_reloader is None:
        use_reloader = app.debug
    if use_reloader:
        from werkzeug._reloader import run_with_reloader

        options = dict(reloader_options or {})
        if extra_files:
            options["extra_files"] = extra_files
        run_with_reloader(serve, **options)
        return
    try:
        serve()
    except KeyboardInterrupt:
        pass
    finally:
        socketio._runner = None
