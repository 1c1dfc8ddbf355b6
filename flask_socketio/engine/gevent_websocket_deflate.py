"""permessage-deflate on gevent-websocket, for python-engineio under ``socketio.run``.

The native engine speaks WebSocket itself (:mod:`flask_socketio.engine.websocket`);
python-engineio (``engine='engineio'``) needs gevent-websocket's ``wsgi.websocket``,
which does not compress: with the ``websocket_compression`` option the embedded
server replaces it by :class:`DeflateWebSocket`.
"""

from __future__ import annotations

import zlib
from typing import Any

from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.websocket import MSG_ALREADY_CLOSED, MSG_SOCKET_DEAD, Header, WebSocket

from ..wsgi_types import WSGIEnvironment
from .deflate import BoundedInflater, MessageTooBig, deflate

_RSV1 = Header.RSV0_MASK  # gevent-websocket counts the reserved bits from 0


def retire(websocket: WebSocket) -> None:
    """Retire the plain WebSocket a :class:`DeflateWebSocket` replaces: when it is
    collected, gevent-websocket closes it, and its close frame must not reach the
    client (the connection is the new one's now)."""
    websocket.raw_write = _discard


def _discard(data: bytes) -> None:
    """Writes of a retired WebSocket go nowhere."""


class DeflateWebSocket(WebSocket):
    """A gevent-websocket ``WebSocket`` that speaks permessage-deflate."""

    __slots__ = ("threshold", "max_message_size", "_inflater")

    def __init__(self, environ: WSGIEnvironment, stream: Any, handler: Any, *, threshold: int,
                 max_message_size: int) -> None:
        super().__init__(environ, stream, handler)
        self.threshold = threshold
        self.max_message_size = max_message_size
        self._inflater: BoundedInflater | None = None

    def read_frame(self) -> tuple[Header, bytes]:
        header = Header.decode_header(self.stream)
        compressed = bool(header.flags & _RSV1)
        if header.flags & ~_RSV1:
            raise ProtocolError("a frame with reserved bits other than RSV1")
        if header.opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
            self._inflater = BoundedInflater(self.max_message_size) if compressed else None
        elif compressed:
            raise ProtocolError("RSV1 on a continuation or control frame")
        payload = self.raw_read(header.length) if header.length else b""
        if len(payload) != header.length:
            raise WebSocketError("Unexpected EOF reading frame payload")
        if header.mask:
            payload = header.unmask_payload(payload)
        if self._inflater is not None and header.opcode in (
                self.OPCODE_TEXT, self.OPCODE_BINARY, self.OPCODE_CONTINUATION):
            try:
                payload = self._inflater.inflate(bytes(payload), header.fin)
            except zlib.error as exc:
                raise ProtocolError(f"undecodable compressed frame: {exc}") from None
            except MessageTooBig as exc:
                raise ProtocolError(str(exc)) from None
        return header, payload

    def send_frame(self, message: Any, opcode: int) -> None:
        if opcode not in (self.OPCODE_TEXT, self.OPCODE_BINARY):
            super().send_frame(message, opcode)
            return
        data = self._encode_bytes(message) if opcode == self.OPCODE_TEXT else bytes(message)
        if len(data) < self.threshold:
            super().send_frame(message, opcode)
            return
        if self.closed:
            self.current_app.on_close(MSG_ALREADY_CLOSED)
            raise WebSocketError(MSG_ALREADY_CLOSED)
        body = deflate(data)
        header = Header.encode_header(True, opcode, b"", len(body), _RSV1)
        try:
            self.raw_write(header + body)
        except OSError:
            raise WebSocketError(MSG_SOCKET_DEAD) from None
