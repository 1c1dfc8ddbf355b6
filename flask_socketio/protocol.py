"""python-socketio's ``Server`` with our Engine.IO router below it.

This module is the one place that touches a private hook of python-socketio:
``Server._engineio_server_class``, which names the class its constructor builds as
``self.eio``. Everything else uses python-socketio's public API.
"""

from __future__ import annotations

from typing import Any

import socketio

from .engine.router import EngineRouter


class ProtocolServer(socketio.Server):
    """A python-socketio ``Server`` whose ``eio`` is an :class:`EngineRouter`."""

    eio: EngineRouter  # type: ignore[assignment]

    def _engineio_server_class(self) -> Any:
        return EngineRouter
