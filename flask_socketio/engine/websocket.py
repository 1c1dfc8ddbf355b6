"""WebSocket (RFC 6455) for the native engine, on the socket the WSGI server hands over.

Our own frame layer, so that a hostile or unlucky client costs little:

- each frame's length is checked against the message size limit at its header (and
  a fragmented message's running total likewise): a frame over it is refused with
  close code 1009 before one byte of its payload is read;
- reading is buffered (one ``recv`` usually brings a frame's header and payload),
  a long payload is read straight into a buffer of its size, in slices between which
  the reader yields to the other connections;
- unmasking is one integer XOR over the whole payload and UTF-8 is checked by
  ``bytes.decode``, both at C speed;
- permessage-deflate (RFC 7692, see :mod:`flask_socketio.engine.deflate`) inflates
  no further than the limit.

It is a transport of the native engine's WebSocket seam (described in
:mod:`flask_socketio.engine.native`):

- :func:`accept` answers the upgrade request with ``101 Switching Protocols`` and
  returns a :class:`WebSocket` (or the error response for a bad handshake);
- :meth:`WebSocket.receive`: the next message (``str`` or ``bytes``), ``None`` once
  the connection is closed; a client breaking the protocol gets the close code the
  RFC gives and :class:`ProtocolViolation` is raised;
- :meth:`WebSocket.send_now`: messages written without blocking when nothing is in
  flight (what the socket does not take is kept, to go first in the next write);
- :meth:`WebSocket.send_batch`: messages written as frames with ONE ``sendall``
  (the session's writer hands it everything queued since its last write);
- :meth:`WebSocket.close`: the closing handshake, never waiting on a write in flight;
- :meth:`WebSocket.abort`: the connection shut down now, from any greenlet.

One greenlet reads (it also answers pings and the close handshake); its writes and
the writer's are serialised by a lock, and each write first finishes what an earlier
:meth:`WebSocket.send_now` left (frames are never interleaved).
"""

from __future__ import annotations

import _socket
import base64
import contextlib
import hashlib
import io
import socket
import struct
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import gevent
import gevent.lock

from ..wsgi_types import StartResponse, WSGIEnvironment
from . import deflate

#: Opcodes.
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
#: Close codes.
NORMAL_CLOSURE, PROTOCOL_ERROR, INVALID_DATA, MESSAGE_TOO_BIG = 1000, 1002, 1007, 1009

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: WebSocket versions accepted (13 is RFC 6455's; 8 is the same framing).
VERSIONS = ("13", "8")
#: Bytes asked of one ``recv``.
RECV_SIZE = 65536
#: Bytes unmasked at a time in a long payload (a multiple of 4).
UNMASK_SLICE = 65536
#: A reader yields to other greenlets after this many bytes read without waiting.
YIELD_BYTES = 262144
#: Seconds a server-initiated close waits for the client's close frame, and the
#: longest a close frame's write may take.
CLOSE_TIMEOUT = 2.0

_RSV1, _RSV_ALL = 0x40, 0x70
#: The longest frame kept for the next send of the same message (a broadcast).
FRAME_CACHE_BYTES = 1_000_000
#: The last message framed alone, the compression threshold it was framed for, and its
#: frame: a broadcast hands every member the same message object (one tuple, so that
#: threads never see one message with another's frame).
_last_frame: tuple[object, int | None, bytes] = (None, None, b"")


class ProtocolViolation(Exception):
    """The client broke RFC 6455 (or the size limit); ``code`` was sent in the close."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class ConnectionClosed(OSError):
    """A write to a WebSocket that is closed (or closing)."""


class _EndOfStream(Exception):
    """The peer closed the TCP connection."""


def accept(environ: WSGIEnvironment, start_response: StartResponse, sock: Any, *,
           max_message_size: int,
           compression_threshold: int | None = None) -> WebSocket | list[bytes] | None:
    """Answer a WebSocket upgrade request on ``sock`` (the request's connection).

    Returns the open :class:`WebSocket`; the response refusing a bad handshake
    (400, or 426 for an unknown version); or ``None`` if the request is no
    upgrade request at all. Subprotocols are not negotiated. With
    ``compression_threshold`` (not ``None``), a permessage-deflate offer is accepted
    and messages from that many bytes up are sent compressed.
    """
    if (environ.get("REQUEST_METHOD") != "GET"
            or environ.get("HTTP_UPGRADE", "").lower() != "websocket"
            or "upgrade" not in _tokens(environ.get("HTTP_CONNECTION", ""))):
        return None
    if environ.get("SERVER_PROTOCOL", "HTTP/1.1") == "HTTP/1.0":
        return _refuse(start_response, "400 Bad Request", "WebSocket needs HTTP/1.1")
    if environ.get("HTTP_SEC_WEBSOCKET_VERSION", "").strip() not in VERSIONS:
        return _refuse(start_response, "426 Upgrade Required",
                       "Unsupported WebSocket version",
                       [("Sec-WebSocket-Version", ", ".join(VERSIONS))])
    key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "").strip()
    try:
        is_valid_key = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        is_valid_key = False
    if not is_valid_key:
        return _refuse(start_response, "400 Bad Request", "Invalid Sec-WebSocket-Key")
    accept_key = base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest())
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
               ("Sec-WebSocket-Accept", accept_key.decode("ascii"))]
    if compression_threshold is not None and deflate.is_offered(environ):
        headers.append(("Sec-WebSocket-Extensions", deflate.EXTENSION_RESPONSE))
    else:
        compression_threshold = None
    write = start_response("101 Switching Protocols", headers)
    write(b"")  # the server sends the response's head now
    with contextlib.suppress(OSError):  # writes are batched already: no Nagle delays
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffered = environ.get("wsgi.input")
    return WebSocket(sock, max_message_size=max_message_size,
                     compression_threshold=compression_threshold,
                     buffered=buffered if isinstance(buffered, io.BufferedReader) else None)


class WebSocket:
    """One server-side WebSocket connection (made by :func:`accept`)."""

    __slots__ = ("max_message_size", "compression_threshold", "can_send_now", "_sock",
                 "_buffered", "_data", "_position", "_unyielded", "_write_lock",
                 "_unsent", "_is_close_sent", "_is_shut", "_close_timer")

    def __init__(self, sock: Any, *, max_message_size: int,
                 compression_threshold: int | None = None,
                 buffered: io.BufferedReader | None = None) -> None:
        #: The largest message accepted (the engine's ``max_http_buffer_size``).
        self.max_message_size = max_message_size
        #: permessage-deflate was negotiated: messages from this size up go compressed.
        self.compression_threshold = compression_threshold
        #: :meth:`send_now` can write on this socket (gevent's, not TLS).
        self.can_send_now = _sends_without_blocking(sock)
        self._sock = sock
        #: The server's buffered reader of the request: what the client sent after
        #: its request, if anything, is there (taken at the first read).
        self._buffered = buffered
        self._data = b""
        self._position = 0
        self._unyielded = 0
        self._write_lock = gevent.lock.Semaphore()
        #: What :meth:`send_now` wrote only in part: the rest, written before anything else.
        self._unsent: bytes | memoryview = b""
        self._is_close_sent = False
        self._is_shut = False
        self._close_timer: Any = None

    @property
    def closed(self) -> bool:
        """Is the connection closed or closing (no more sends)?"""
        return self._is_close_sent

    # -- reading -----------------------------------------------------------------------

    def receive(self) -> str | bytes | None:
        """The next message, or ``None`` once the connection is closed.

        :raises ProtocolViolation: the client broke the protocol or sent a message
            over the limit; the connection is closed with the code it carries.
        """
        if self._is_shut:
            return None
        try:
            message = self._read_message()
        except ProtocolViolation as exc:
            self._fail(exc.code, str(exc))
            raise
        except (_EndOfStream, OSError):
            self._shutdown()
            return None
        if self._position == len(self._data):
            self._data, self._position = b"", 0  # hold no buffer between messages
        return message

    def _read_message(self) -> str | bytes | None:
        kind = None  # the message's opcode, once its first frame is read
        inflater: deflate.BoundedInflater | None = None
        parts: list[bytes | bytearray] = []
        total = 0
        while True:
            first, second = self._take(2)
            is_final, reserved, opcode = first & 0x80, first & _RSV_ALL, first & 0x0F
            if not second & 0x80:
                raise ProtocolViolation(PROTOCOL_ERROR, "an unmasked frame from the client")
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._take(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._take(8))[0]
                if length >> 63:
                    raise ProtocolViolation(PROTOCOL_ERROR, "a 64-bit length with the top bit set")
            if opcode >= CLOSE:
                if not is_final or length > 125 or reserved:
                    raise ProtocolViolation(PROTOCOL_ERROR, "a fragmented, long or flagged "
                                                            "control frame")
                mask = self._take(4)
                if self._on_control(opcode, self._payload(length, mask)):
                    return None
                continue
            if opcode == CONTINUATION:
                if kind is None:
                    raise ProtocolViolation(PROTOCOL_ERROR, "a continuation with no message")
                if reserved:
                    raise ProtocolViolation(PROTOCOL_ERROR, "reserved bits on a continuation")
            elif opcode in (TEXT, BINARY):
                if kind is not None:
                    raise ProtocolViolation(PROTOCOL_ERROR, "a new message inside a "
                                                            "fragmented one")
                if reserved & ~(_RSV1 if self.compression_threshold is not None else 0):
                    raise ProtocolViolation(PROTOCOL_ERROR, "reserved bits not negotiated")
                kind = opcode
                if reserved:
                    inflater = deflate.BoundedInflater(self.max_message_size)
            else:
                raise ProtocolViolation(PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
            total += length
            if total > self.max_message_size:  # refused before its payload is read
                raise ProtocolViolation(MESSAGE_TOO_BIG, f"a message over the size limit "
                                                         f"({self.max_message_size} bytes)")
            payload = self._payload(length, self._take(4))
            if inflater is not None:
                payload = self._inflate(inflater, payload, bool(is_final))
            parts.append(payload)
            if is_final:
                break
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if kind == TEXT:
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolViolation(INVALID_DATA, "a text message not in UTF-8") from None
        return bytes(data)

    @staticmethod
    def _inflate(inflater: deflate.BoundedInflater, payload: bytes | bytearray,
                 is_final: bool) -> bytes:
        try:
            return inflater.inflate(payload, is_final)
        except deflate.MessageTooBig as exc:
            raise ProtocolViolation(MESSAGE_TOO_BIG, str(exc)) from None
        except zlib.error as exc:
            raise ProtocolViolation(INVALID_DATA, f"undecodable compressed data: {exc}") from None

    def _on_control(self, opcode: int, payload: bytes | bytearray) -> bool:
        """Handle a control frame; true if it closed the connection."""
        if opcode == PING:
            with contextlib.suppress(OSError):
                self._write(_frame(PONG, payload))
            return False
        if opcode == PONG:
            return False
        if opcode != CLOSE:
            raise ProtocolViolation(PROTOCOL_ERROR, f"reserved opcode {opcode:#x}")
        if len(payload) == 1:
            raise ProtocolViolation(PROTOCOL_ERROR, "a close frame of one byte")
        if payload:
            code = int.from_bytes(payload[:2], "big")
            if not _is_valid_close_code(code):
                raise ProtocolViolation(PROTOCOL_ERROR, f"close code {code}")
            try:
                payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolViolation(INVALID_DATA, "a close reason not in UTF-8") from None
        if not self._is_close_sent:  # the client began the closing handshake: echo
            self._is_close_sent = True
            self._send_close(payload[:2])
        self._shutdown()
        return True

    def _take(self, count: int) -> bytes:
        """The next ``count`` bytes of the stream (a frame header's part)."""
        position = self._position
        end = position + count
        if end > len(self._data):
            data = self._data[position:]
            while len(data) < count:
                data += self._recv()
            self._data, position, end = data, 0, count
        self._position = end
        return self._data[position:end]

    def _payload(self, length: int, mask: bytes) -> bytes | bytearray:
        """The next ``length`` bytes, unmasked; a long payload is read straight into
        a buffer of its size (nothing past it is read)."""
        if not length:
            return b""
        position = self._position
        available = len(self._data) - position
        if available >= length:
            self._position = position + length
            return _unmask(self._data[position:position + length], mask)
        payload = bytearray(length)
        payload[:available] = memoryview(self._data)[position:]
        self._data, self._position = b"", 0
        view = memoryview(payload)[available:]
        while view:
            received = self._sock.recv_into(view[:YIELD_BYTES])
            if not received:
                raise _EndOfStream
            view = view[received:]
            self._count(received)
        _unmask_in_place(payload, mask)
        return payload

    def _recv(self) -> bytes:
        buffered = self._buffered
        if buffered is not None:  # first take what the server's reader holds
            self._buffered = None
            data = buffered.peek(RECV_SIZE)
            buffered.read(len(data))
            # then let it go: closing frees its buffer (8 KB a connection); the
            # socket stays open, and the server reads no more requests from it
            buffered.close()
        else:
            data = self._sock.recv(RECV_SIZE)
        if not data:
            raise _EndOfStream
        self._count(len(data))
        return data

    def _count(self, received: int) -> None:
        """Yield to other greenlets now and then while data keeps arriving (a read that
        finds data waiting does not go through the event loop)."""
        self._unyielded += received
        if self._unyielded >= YIELD_BYTES:
            self._unyielded = 0
            gevent.sleep(0)

    # -- writing -----------------------------------------------------------------------

    def send_batch(self, messages: Sequence[str | bytes]) -> None:
        """Write ``messages`` (``str`` as text, ``bytes`` as binary) with one ``sendall``,
        after the rest of a :meth:`send_now` written in part (an empty batch writes
        only that rest).

        :raises ConnectionClosed: the connection is closed or closing.
        :raises OSError: the write failed (the peer went away).
        """
        self._write(self._frames(messages) if messages else b"")

    def send_now(self, messages: Sequence[str | bytes]) -> int | None:
        """Write ``messages`` without blocking, if no write is in flight.

        Returns ``None`` if nothing was written (a write is in flight, the rest of an
        earlier one waits, or the socket cannot write without blocking: TLS); else
        the number of bytes the socket did not take, ``0`` if it took everything.
        Those bytes are kept and go first in the next write (:meth:`send_batch`, or
        any frame of the connection's own), so the caller must have them written.

        :raises ConnectionClosed: the connection is closed or closing.
        :raises OSError: the write failed (the peer went away).
        """
        if self._is_close_sent:
            raise ConnectionClosed("the WebSocket is closed")
        if self._unsent or not self.can_send_now or self._write_lock.locked():
            return None
        data = self._frames(messages)
        try:
            sent: int = self._sock.send(data, 0, 0.0)  # gevent: a timeout of 0, no waiting
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return 0
        self._unsent = memoryview(data)[sent:]
        return len(data) - sent

    def _frames(self, messages: Sequence[str | bytes]) -> bytes:
        """The frames of ``messages``, compressed from the threshold up if negotiated;
        the frame of a message sent alone is kept for the next send of that same
        message object (a broadcast frames it once for all its members)."""
        global _last_frame
        threshold = self.compression_threshold
        if len(messages) == 1:
            message = messages[0]
            last = _last_frame
            if last[0] is message and last[1] == threshold:
                return last[2]
            frame = _message_frame(message, threshold)
            if len(frame) <= FRAME_CACHE_BYTES:
                _last_frame = (message, threshold, frame)
            return frame
        return b"".join([_message_frame(message, threshold) for message in messages])

    def send(self, message: str | bytes, binary: bool | None = None) -> None:
        """Write one message (gevent-websocket's signature: ``binary`` converts)."""
        if binary and isinstance(message, str):
            message = message.encode("utf-8")
        elif binary is False and not isinstance(message, str):
            message = bytes(message).decode("utf-8")
        self.send_batch((message,))

    def _write(self, data: bytes) -> None:
        if self._is_close_sent:
            raise ConnectionClosed("the WebSocket is closed")
        with self._write_lock:
            if self._is_close_sent:
                raise ConnectionClosed("the WebSocket is closed")
            self._write_unsent()
            if data:
                self._sock.sendall(data)

    def _write_unsent(self) -> None:
        """Write the rest of a :meth:`send_now` written in part (the lock held)."""
        unsent = self._unsent
        if unsent:
            self._sock.sendall(unsent)
            self._unsent = b""

    # -- closing -----------------------------------------------------------------------

    def close(self, code: int = NORMAL_CLOSURE) -> None:
        """Close: the first call sends a close frame and gives the client
        ``CLOSE_TIMEOUT`` seconds to answer before the connection is shut down; a
        later call (the reader is done) shuts it down at once. Never waits for a
        write in flight: with one, the connection is shut down without a close frame.
        """
        if self._is_shut:
            return
        if self._is_close_sent:
            self._shutdown()
            return
        self._is_close_sent = True
        if not self._send_close(code.to_bytes(2, "big")):
            self._shutdown()
            return
        timer = self._close_timer = gevent.get_hub().loop.timer(CLOSE_TIMEOUT)
        timer.start(self._shutdown)

    def abort(self) -> None:
        """Shut the connection down now (a blocked read or write returns at once)."""
        self._shutdown()

    def _fail(self, code: int, reason: str) -> None:
        """Close after a protocol violation: the close frame, then shut down."""
        if not self._is_close_sent:
            self._is_close_sent = True
            self._send_close(code.to_bytes(2, "big") + reason.encode("utf-8")[:123])
        self._shutdown()

    def _send_close(self, payload: bytes | bytearray) -> bool:
        """Write a close frame unless a write is in flight; true if it was written."""
        if self._write_lock.locked():
            return False
        written = False
        # gevent: ``False`` for the exception makes the timeout end the block silently
        timeout = gevent.Timeout(CLOSE_TIMEOUT, False)  # type: ignore[arg-type]
        with self._write_lock, timeout, contextlib.suppress(OSError):
            self._write_unsent()
            self._sock.sendall(_frame(CLOSE, payload))
            written = True
        return written

    def _shutdown(self) -> None:
        """End the TCP connection (a blocked read or write returns at once)."""
        self._is_shut = self._is_close_sent = True
        timer, self._close_timer = self._close_timer, None
        if timer is not None:
            timer.close()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


def _message_frame(message: str | bytes, threshold: int | None) -> bytes:
    """One message's frame (``str`` text, ``bytes`` binary), compressed if
    ``threshold`` is not ``None`` and the payload has that many bytes."""
    if isinstance(message, str):
        opcode, payload = TEXT, message.encode("utf-8")
    else:
        opcode, payload = BINARY, bytes(message)
    if threshold is not None and len(payload) >= threshold:
        payload = deflate.deflate(payload)
        return _header(opcode, len(payload), _RSV1) + payload
    return _header(opcode, len(payload)) + payload


def _sends_without_blocking(sock: Any) -> bool:
    """Can ``sock.send(data, 0, 0.0)`` write without blocking? gevent's sockets can
    (their ``send`` takes a timeout; 0 never waits), not TLS ones: OpenSSL wants a
    write it could not finish retried with the same bytes, so a TLS connection keeps
    to the writer greenlet's blocking ``sendall``."""
    return (isinstance(getattr(sock, "_sock", None), _socket.socket)
            and not hasattr(sock, "getpeercert"))


def _frame(opcode: int, payload: bytes | bytearray) -> bytes:
    return _header(opcode, len(payload)) + payload


def _header(opcode: int, length: int, flags: int = 0) -> bytes:
    first = 0x80 | flags | opcode
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def _unmask(payload: bytes | bytearray, mask: bytes) -> bytes:
    """XOR ``payload`` with the repeated 4-byte ``mask``, as one big integer."""
    length = len(payload)
    key = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(
        length, "little")


def _unmask_in_place(payload: bytearray, mask: bytes) -> None:
    """:func:`_unmask` for a long payload, slice by slice in place: no copies of the
    whole payload, and faster (each slice stays in the CPU's cache)."""
    length = len(payload)
    key = int.from_bytes(mask * (UNMASK_SLICE // 4), "little")
    view = memoryview(payload)
    end = length - length % UNMASK_SLICE
    for start in range(0, end, UNMASK_SLICE):
        part = view[start:start + UNMASK_SLICE]
        part[:] = (int.from_bytes(part, "little") ^ key).to_bytes(UNMASK_SLICE, "little")
    if end < length:
        rest = length - end
        part = view[end:]
        part[:] = (int.from_bytes(part, "little") ^ key & ((1 << 8 * rest) - 1)).to_bytes(
            rest, "little")


def _is_valid_close_code(code: int) -> bool:
    """A close code a client may send (RFC 6455 7.4, the IANA registry)."""
    return 1000 <= code <= 1014 and code not in (1004, 1005, 1006) or 3000 <= code <= 4999


def _tokens(header: str) -> set[str]:
    return {token.strip().lower() for token in header.split(",")}


def _refuse(start_response: Callable[..., Any], status: str, message: str,
            headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = message.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                            *(headers or [])])
    return [body]
