"""WebSocket compression (permessage-deflate, RFC 7692): negotiation, deflating, and
inflating bounded by the message size limit.

With the ``websocket_compression`` option the server accepts a client's
permessage-deflate offer, compresses messages from ``compression_threshold`` bytes
up and inflates compressed ones it receives, up to ``max_http_buffer_size``.
Contexts are not kept between messages (``server_no_context_takeover``,
``client_no_context_takeover``): it costs some ratio and saves the ~300 KB of zlib
state per connection that context takeover would keep. Off by default: measured on
this project's benchmarks, compression costs more CPU and memory per connection
than small Socket.IO messages save.

Used by our WebSocket layer (:mod:`flask_socketio.engine.websocket`) and by the
gevent-websocket one (:mod:`flask_socketio.engine.gevent_websocket_deflate`).
"""

from __future__ import annotations

import zlib

from ..wsgi_types import WSGIEnvironment

#: What the server answers to a client offering permessage-deflate.
EXTENSION_RESPONSE = ("permessage-deflate; server_no_context_takeover; "
                      "client_no_context_takeover")
#: The empty stored block a compressed message ends with, left off on the wire.
TAIL = b"\x00\x00\xff\xff"


class MessageTooBig(Exception):
    """A compressed message inflates past the size limit."""


def is_offered(environ: WSGIEnvironment) -> bool:
    """Did the client offer permessage-deflate in its upgrade request?"""
    offers = environ.get("HTTP_SEC_WEBSOCKET_EXTENSIONS", "")
    return any(offer.split(";")[0].strip() == "permessage-deflate"
               for offer in offers.split(","))


def deflate(data: bytes) -> bytes:
    """One message's payload compressed on its own (no context kept)."""
    deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = deflater.compress(data) + deflater.flush(zlib.Z_SYNC_FLUSH)
    return body[:-4] if body.endswith(TAIL) else body


class BoundedInflater:
    """Inflates one compressed message, frame by frame, never past ``limit`` bytes:
    a small message that inflates to gigabytes (a "zip bomb") costs at most
    ``limit + 1`` bytes and the time to inflate them."""

    __slots__ = ("limit", "inflated", "_inflater")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inflated = 0
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)

    def inflate(self, data: bytes | bytearray, final: bool) -> bytes:
        """Inflate the next frame's payload (``final``: the message's last frame).

        :raises MessageTooBig: the message inflates past the limit.
        :raises zlib.error: the data is not deflate data.
        """
        payload = self._inflater.decompress(data + TAIL if final else data,
                                            self.limit - self.inflated + 1)
        self.inflated += len(payload)
        if self.inflated > self.limit:
            raise MessageTooBig(f"a compressed message over the size limit ({self.limit})")
        return payload
