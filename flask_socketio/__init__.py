"""Socket.IO for Flask: real-time, bidirectional, and testable in-process.

The public names are imported on first use (``from flask_socketio import SocketIO``
works as usual), so that importing a light submodule, such as the pytest plugin
that pytest loads into every run, does not import Flask and python-socketio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .install_check import warn_if_peer_installed
from .lazy_exports import lazy_exports

if TYPE_CHECKING:
    from socketio.exceptions import ConnectionRefusedError as ConnectionRefusedError

    from .cluster.api import ClusterTimeoutError as ClusterTimeoutError
    from .event_hooks import EventRefused as EventRefused
    from .extension import SocketIO as SocketIO
    from .namespace import Namespace as Namespace
    from .rate_limit import RateLimit as RateLimit
    from .sending import call as call
    from .sending import close_room as close_room
    from .sending import disconnect as disconnect
    from .sending import emit as emit
    from .sending import join_room as join_room
    from .sending import leave_room as leave_room
    from .sending import rooms as rooms
    from .sending import send as send
    from .testing import SocketIOTestClient as SocketIOTestClient

__version__ = "0.1.0"

warn_if_peer_installed()  # light: no Flask, no python-socketio

#: Each public name, and the module it comes from.
_EXPORTS = {
    "ConnectionRefusedError": "socketio.exceptions",
    "SocketIO": "flask_socketio.extension",
    "ClusterTimeoutError": "flask_socketio.cluster.api",
    "EventRefused": "flask_socketio.event_hooks",
    "Namespace": "flask_socketio.namespace",
    "RateLimit": "flask_socketio.rate_limit",
    "call": "flask_socketio.sending",
    "close_room": "flask_socketio.sending",
    "disconnect": "flask_socketio.sending",
    "emit": "flask_socketio.sending",
    "join_room": "flask_socketio.sending",
    "leave_room": "flask_socketio.sending",
    "rooms": "flask_socketio.sending",
    "send": "flask_socketio.sending",
    "SocketIOTestClient": "flask_socketio.testing.client",
}

__all__ = [name for name in _EXPORTS if name != "SocketIOTestClient"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
