"""What a client's Socket.IO packets must look like, checked before anything runs.

The Socket.IO v5 protocol fixes the shape of each packet a client may send. A
packet that breaks it is a protocol violation: :class:`ProtocolServer
<flask_socketio.protocol.ProtocolServer>` closes that client's Engine.IO connection
and logs it once. The checks follow the reference parser (socket.io-parser 4.2):

- the packet decodes (JSON, or msgpack with ``serializer='msgpack'``);
- its type is one a client sends: CONNECT, DISCONNECT, EVENT, ACK, BINARY_EVENT,
  BINARY_ACK (never CONNECT_ERROR);
- its namespace, if any, is a string starting with ``'/'``;
- an EVENT carries a non-empty array whose first element, the event name, is a
  string other than the reserved ``connect``, ``connect_error``, ``disconnect`` and
  ``disconnecting``;
- an ACK carries an array and an id;
- an id is an integer from 0 to 2**53 - 1;
- a binary packet announces 1 to ``max_attachments`` attachments, and each
  placeholder names one of them.
"""

from __future__ import annotations

from typing import Any

from socketio import packet

#: Event names a client may not emit: they name the server's own connection events.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting"})

#: The largest ack id: the largest integer a JavaScript client can count to.
MAX_ACK_ID = 2**53 - 1

#: Packet types a client may send.
CLIENT_PACKET_TYPES = frozenset({packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK,
                                 packet.BINARY_EVENT, packet.BINARY_ACK})

_BINARY_TYPES = (packet.BINARY_EVENT, packet.BINARY_ACK)


class ProtocolViolation(ValueError):
    """A client's packet breaks the Socket.IO protocol; the message says how."""


def check_packet(pkt: Any, max_attachments: int) -> None:
    """Raise :class:`ProtocolViolation` unless ``pkt`` (decoded) is one a client may send."""
    kind = pkt.packet_type
    if type(kind) is not int or kind not in CLIENT_PACKET_TYPES:
        if kind == packet.CONNECT_ERROR:
            raise ProtocolViolation("a client may not send CONNECT_ERROR")
        raise ProtocolViolation(f"unknown packet type {kind!r}")
    namespace = pkt.namespace
    if namespace is not None and (type(namespace) is not str
                                  or not namespace.startswith("/")):
        raise ProtocolViolation(f"bad namespace {namespace!r}")
    if pkt.id is not None and (type(pkt.id) is not int or not 0 <= pkt.id <= MAX_ACK_ID):
        raise ProtocolViolation(f"bad ack id {pkt.id!r}")
    data = pkt.data
    if kind in (packet.EVENT, packet.BINARY_EVENT):
        if type(data) is not list or not data:
            raise ProtocolViolation("an event must be a non-empty array")
        if type(data[0]) is not str:
            raise ProtocolViolation(f"an event name must be a string, not {data[0]!r}")
        if data[0] in RESERVED_EVENTS:
            raise ProtocolViolation(f"a client may not emit the reserved event {data[0]!r}")
    elif kind in (packet.ACK, packet.BINARY_ACK):
        if type(data) is not list:
            raise ProtocolViolation("an ack must carry an array")
        if pkt.id is None:
            raise ProtocolViolation("an ack needs an id")
    elif kind == packet.DISCONNECT and data is not None:
        raise ProtocolViolation("a DISCONNECT carries no data")
    if kind in _BINARY_TYPES:
        count = pkt.attachment_count
        if not 1 <= count <= max_attachments:
            raise ProtocolViolation(f"a binary packet announces {count} attachments "
                                    f"(1 to {max_attachments} allowed)")
        check_placeholders(data, count)
    elif pkt.attachment_count:
        raise ProtocolViolation("only binary packets have attachments")


def check_placeholders(data: Any, count: int) -> None:
    """Every placeholder in ``data`` must name one of ``count`` attachments.

    Walks ``data`` without recursion, so that no nesting depth can exhaust the stack.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
        elif type(item) is dict:
            if item.get("_placeholder") and "num" in item:
                num = item["num"]
                if type(num) is not int or not 0 <= num < count:
                    raise ProtocolViolation(f"a placeholder names attachment {num!r} of "
                                            f"{count}")
            else:
                stack.extend(item.values())
