"""The WSGI middleware that hands Socket.IO requests to the server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .wsgi_types import StartResponse, WSGIApplication, WSGIEnvironment

if TYPE_CHECKING:
    import flask

    from .protocol import ProtocolServer


class SocketIOMiddleware:
    """Wraps ``app.wsgi_app``: requests under ``/<path>/`` go to Socket.IO.

    The Flask app is recorded in the environ so that handlers of this connection
    run in that app's contexts (one ``SocketIO`` may serve several apps).
    """

    def __init__(self, server: Callable[[], ProtocolServer], flask_app: flask.Flask,
                 wsgi_app: WSGIApplication, path: str) -> None:
        self.server = server
        self.flask_app = flask_app
        self.wrapped = wsgi_app
        self.prefix = "/" + path.strip("/")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            if "uwsgi.version" in environ:
                # The server keeps the handshake's environ for the connection's
                # handlers; uWSGI empties its environ dict once the request is answered.
                environ = dict(environ)
            environ["flask.app"] = self.flask_app
            server = self.server()
            if _needs_websocket_adapter(environ) and not _upgrades_itself(server, environ):
                environ["wsgi.websocket"] = SimpleWebSocketAdapter(environ)
                try:
                    server.handle_request(environ, start_response)
                finally:
                    environ["wsgi.websocket"].close()
                # The WebSocket owned the connection: tell gunicorn there is no
                # response to write (and the connection is to be closed).
                raise StopIteration
            response: Iterable[bytes] = server.handle_request(environ, start_response)
            return response
        return self.wrapped(environ, start_response)


def _needs_websocket_adapter(environ: WSGIEnvironment) -> bool:
    """A WebSocket request under gunicorn without gevent-websocket's worker
    (``-k gevent``, ``-k gthread``): there is no ``wsgi.websocket`` to use, unless
    the engine speaks WebSocket itself (see :func:`_upgrades_itself`)."""
    return ("wsgi.websocket" not in environ and "gunicorn.socket" in environ
            and environ.get("HTTP_UPGRADE", "").lower() == "websocket"
            and "transport=websocket" in environ.get("QUERY_STRING", ""))


def _upgrades_itself(server: Any, environ: WSGIEnvironment) -> bool:
    """Does the native engine answer this upgrade itself, on gunicorn's gevent socket
    (``-k gevent``)? Then it speaks WebSocket with its own layer, limits included."""
    from gevent.socket import socket as gevent_socket

    from .engine.native import NativeEngine

    return (isinstance(getattr(server.eio, "network", None), NativeEngine)
            and isinstance(environ["gunicorn.socket"], gevent_socket))


class SimpleWebSocketAdapter:
    """gevent-websocket's ``wsgi.websocket`` interface (``receive``, ``send``,
    ``close``) over simple-websocket, for gunicorn's own workers.

    Creating it answers the WebSocket handshake on gunicorn's socket.
    """

    def __init__(self, environ: WSGIEnvironment) -> None:
        import simple_websocket

        self._closed_error = simple_websocket.ConnectionClosed
        self.ws = simple_websocket.Server(environ)
        self.environ = environ
        self.path = environ.get("PATH_INFO")
        self.origin = environ.get("HTTP_ORIGIN")
        self.protocol = None
        self.version = environ.get("HTTP_SEC_WEBSOCKET_VERSION")

    @property
    def closed(self) -> bool:
        return not self.ws.connected

    def receive(self) -> Any:
        """The next message (``str`` or ``bytes``), or ``None`` once closed."""
        try:
            return self.ws.receive()
        except self._closed_error:
            return None

    def send(self, message: Any, binary: bool | None = None) -> None:
        if binary and isinstance(message, str):
            message = message.encode()
        elif binary is False and isinstance(message, bytes):
            message = message.decode()
        try:
            self.ws.send(message)
        except self._closed_error as exc:
            raise OSError("the WebSocket is closed") from exc

    def close(self) -> None:
        if self.ws.connected:
            self.ws.close()
