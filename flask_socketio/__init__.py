"""Socket.IO for Flask: real-time, bidirectional, and testable in-process."""

from socketio.exceptions import ConnectionRefusedError as ConnectionRefusedError

from .extension import SocketIO as SocketIO
from .install_check import warn_if_peer_installed
from .namespace import Namespace as Namespace
from .sending import call as call
from .sending import close_room as close_room
from .sending import disconnect as disconnect
from .sending import emit as emit
from .sending import join_room as join_room
from .sending import leave_room as leave_room
from .sending import rooms as rooms
from .sending import send as send

__version__ = "0.1.0"

warn_if_peer_installed()


def __getattr__(name: str):  # the test client is imported on first use only
    if name == "SocketIOTestClient":
        from .testing import SocketIOTestClient

        return SocketIOTestClient
    raise AttributeError(f"module 'flask_socketio' has no attribute {name!r}")
