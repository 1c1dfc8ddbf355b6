"""What the test toolkit (:mod:`flask_socketio.testing`) uses of a ``SocketIO``.

The toolkit's clients drive the extension's server from the client's side and watch
what its handlers do to a connection. Instead of reaching into the extension's
members, they ask :meth:`SocketIO.toolkit_seam` for a :class:`ToolkitSeam`: this
module is the whole interface, so a reader sees what a test client may touch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .wsgi_types import WSGIEnvironment

if TYPE_CHECKING:
    from .context import FlaskBridge, SessionObserverSource
    from .protocol import ProtocolServer


class ToolkitSeam:
    """One ``SocketIO``'s side of its test clients.

    :attr:`server` is the python-socketio server (its ``eio`` router, room manager,
    packet class, recovery store); :attr:`path` where Socket.IO is served. The
    methods act on the Flask bridge's state of one connection, found by the
    connection's handshake environ.
    """

    __slots__ = ("server", "path", "_bridge", "_manage_session")

    def __init__(self, server: ProtocolServer, path: str, bridge: FlaskBridge,
                 manage_session: Callable[[], bool]) -> None:
        self.server = server
        self.path = path
        self._bridge = bridge
        self._manage_session = manage_session

    def manages_session(self) -> bool:
        """Does the server keep each connection's Flask session (``manage_session``)?"""
        return self._manage_session()

    def observe_sessions(self, source: SessionObserverSource) -> None:
        """Have ``source(environ)`` asked, when a connection's state is first made
        (when a handler first runs for it), for the observer of its session:
        ``observer(event, namespace, before, after)`` is then told of each change a
        handler makes to it (``None``: not observed). Replaces the source before."""
        self._bridge.session_observer_source = source

    def request_replaced(self, environ: WSGIEnvironment) -> None:
        """The handshake request in ``environ`` was replaced in place (new headers, so
        maybe a new Host): the connection's URL routing must be worked out again."""
        self._bridge.connection(environ).route = None
