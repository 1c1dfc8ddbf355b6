"""python-socketio's ``Server`` with our Engine.IO router below it.

This module is the one place that touches private hooks of python-socketio:
``Server._engineio_server_class``, which names the class its constructor builds as
``self.eio``, and ``Server._send_packet``, where a CONNECT_ERROR with a bare string
(python-socketio's answer to an unknown namespace) becomes the object
``{"message": ...}`` that the Socket.IO v5 protocol specifies. Everything else uses
python-socketio's public API.
"""

from __future__ import annotations

from typing import Any

import socketio
from socketio import packet

from .engine.router import EngineRouter


class ProtocolServer(socketio.Server):
    """A python-socketio ``Server`` whose ``eio`` is an :class:`EngineRouter`."""

    eio: EngineRouter  # type: ignore[assignment]

    def _engineio_server_class(self) -> Any:
        return EngineRouter

    def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        if pkt.packet_type == packet.CONNECT_ERROR and isinstance(pkt.data, str):
            pkt.data = {"message": pkt.data}
        super()._send_packet(eio_sid, pkt)
