"""WebSocket compression (permessage-deflate, RFC 7692) on gevent-websocket.

gevent-websocket, the embedded server's WebSocket layer, does not compress; with the
``websocket_compression`` option the server accepts a client's permessage-deflate
offer and this WebSocket compresses messages from ``compression_threshold`` bytes
up and inflates compressed ones it receives, up to ``max_http_buffer_size``.
Contexts are not kept between messages (``server_no_context_takeover``,
``client_no_context_takeover``): it costs some ratio and saves the ~300 KB of zlib
state per connection that context takeover would keep. Off by default: measured on
this project's benchmarks, compression costs more CPU and memory per connection
than small Socket.IO messages save.
"""

from __future__ import annotations

import zlib
from typing import Any

from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.websocket import MSG_ALREADY_CLOSED, MSG_SOCKET_DEAD, Header, WebSocket

#: What the server answers to a client offering permessage-deflate.
EXTENSION_RESPONSE = ("permessage-deflate; server_no_context_takeover; "
                      "client_no_context_takeover")
_TAIL = b"\x00\x00\xff\xff"
_RSV1 = Header.RSV0_MASK  # gevent-websocket counts the reserved bits from 0


def is_offered(environ: dict) -> bool:
    """Did the client offer permessage-deflate in its upgrade request?"""
    offers = environ.get("HTTP_SEC_WEBSOCKET_EXTENSIONS", "")
    return any(offer.split(";")[0].strip() == "permessage-deflate"
               for offer in offers.split(","))


def retire(websocket: WebSocket) -> None:
    """Retire the plain WebSocket a :class:`DeflateWebSocket` replaces: when it is
    collected, gevent-websocket closes it, and its close frame must not reach the
    client (the connection is the new one's now)."""
    websocket.raw_write = _discard


def _discard(data: bytes) -> None:
    """Writes of a retired WebSocket go nowhere."""


class DeflateWebSocket(WebSocket):
    """A gevent-websocket ``WebSocket`` that speaks permessage-deflate."""

    __slots__ = ("threshold", "max_message_size", "_inflater", "_inflated")

    def __init__(self, environ: dict, stream: Any, handler: Any, *, threshold: int,
                 max_message_size: int) -> None:
        super().__init__(environ, stream, handler)
        self.threshold = threshold
        self.max_message_size = max_message_size
        self._inflater: Any = None
        self._inflated = 0

    def read_frame(self) -> tuple[Header, bytes]:
        header = Header.decode_header(self.stream)
        compressed = bool(header.flags & _RSV1)
        if header.flags & ~_RSV1:
            raise ProtocolError("a frame with reserved bits other than RSV1")
        if header.opcode in (self.OPCODE_TEXT, self.OPCODE_BINARY):
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS) if compressed else None
            self._inflated = 0
        elif compressed:
            raise ProtocolError("RSV1 on a continuation or control frame")
        payload = self.raw_read(header.length) if header.length else b""
        if len(payload) != header.length:
            raise WebSocketError("Unexpected EOF reading frame payload")
        if header.mask:
            payload = header.unmask_payload(payload)
        if self._inflater is not None and header.opcode in (
                self.OPCODE_TEXT, self.OPCODE_BINARY, self.OPCODE_CONTINUATION):
            payload = self._inflate(bytes(payload) + (_TAIL if header.fin else b""))
        return header, payload

    def _inflate(self, data: bytes) -> bytes:
        room = self.max_message_size - self._inflated + 1
        try:
            payload = self._inflater.decompress(data, room)
        except zlib.error as exc:
            raise ProtocolError(f"undecodable compressed frame: {exc}") from None
        self._inflated += len(payload)
        if self._inflated > self.max_message_size:
            # a compressed message inflating past the size limit: refused like an
            # uncompressed one, before it is inflated whole
            raise ProtocolError("compressed message over the size limit")
        return payload

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
        deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)
        body = body[:-4] if body.endswith(_TAIL) else body
        header = Header.encode_header(True, opcode, b"", len(body), _RSV1)
        try:
            self.raw_write(header + body)
        except OSError:
            raise WebSocketError(MSG_SOCKET_DEAD) from None
