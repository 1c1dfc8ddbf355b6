"""The WSGI middleware that hands Socket.IO requests to the server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import flask

    from .extension import SocketIO


class SocketIOMiddleware:
    """Wraps ``app.wsgi_app``: requests under ``/<path>/`` go to Socket.IO.

    The Flask app is recorded in the environ so that handlers of this connection
    run in that app's contexts (one ``SocketIO`` may serve several apps).
    """

    def __init__(self, socketio: SocketIO, flask_app: flask.Flask,
                 wsgi_app: Callable[..., Any], path: str) -> None:
        self.socketio = socketio
        self.flask_app = flask_app
        self.wrapped = wsgi_app
        self.prefix = "/" + path.strip("/")

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["flask.app"] = self.flask_app
            server = self.socketio.server
            assert server is not None
            return server.handle_request(environ, start_response)
        return self.wrapped(environ, start_response)
