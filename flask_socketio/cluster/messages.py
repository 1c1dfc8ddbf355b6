"""The cluster's queue messages: JSON objects, versioned, that other managers skip.

Every message is ``{"method": "flask_socketio.cluster", "v": 1, "op": ..., "node":
<sender's node id>, ...}``. python-socketio's pub/sub managers dispatch on ``method``
and skip any method they do not know, so its stock servers, its write-only emitters
and our older nodes on the same channel ignore these messages; a node of ours skips a
message whose ``v`` it does not speak. Application data (emit arguments, answers)
travels as python-socketio's own emit messages carry it: a list, with binary parts
base64-encoded after it (``binary``).
"""

from __future__ import annotations

import base64
from typing import Any

from socketio.packet import Packet

METHOD = "flask_socketio.cluster"
VERSION = 1

#: Operations every node applies to its own connections (published by the one that
#: asks, which applies them itself too).
BROADCAST_OPS = frozenset({"emit", "sockets_join", "sockets_leave", "disconnect_sockets",
                           "fetch_sockets", "server_event"})
#: Membership: a node that starts listening says ``hello`` (the others answer with
#: ``heartbeat``), then ``heartbeat`` every few seconds.
MEMBERSHIP_OPS = frozenset({"hello", "heartbeat"})
#: Answers, addressed to one node (``to``) and one request (``request``).
REPLY_OPS = frozenset({"sockets", "recipients", "ack", "server_ack"})


def make(op: str, node: str, **fields: Any) -> dict[str, Any]:
    """A cluster message from ``node``."""
    return {"method": METHOD, "v": VERSION, "op": op, "node": node, **fields}


def is_cluster(message: Any) -> bool:
    """Is ``message`` (decoded) one of ours, of any version?"""
    return isinstance(message, dict) and message.get("method") == METHOD


def pack(args: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    """Arguments as JSON: ``{"args": [...], "binary": bool}`` (bytes base64-encoded
    after the data, as python-socketio's emit messages carry them)."""
    data = list(args)
    if Packet.data_is_binary(data):
        data, attachments = Packet.deconstruct_binary(data)
        return {"args": [data, *[base64.b64encode(a).decode() for a in attachments]],
                "binary": True}
    return {"args": data, "binary": False}


def unpack(message: dict[str, Any]) -> list[Any]:
    """The arguments :func:`pack` put in ``message``."""
    data = message.get("args") or []
    if message.get("binary"):
        data = Packet.reconstruct_binary(data[0], [base64.b64decode(a) for a in data[1:]])
    return list(data)


def room_list(rooms: Any, what: str) -> list[Any] | None:
    """``to=``/``exclude=``/room arguments as a JSON list (``None``: no rooms given).

    A room is a ``str`` (a sid is a room too) or an ``int``; a list, tuple or set
    names several. An empty collection is ``None``, as python-socketio takes it.
    """
    if rooms is None:
        return None
    many = list(rooms) if isinstance(rooms, (list, tuple, set, frozenset)) else [rooms]
    for room in many:
        if not isinstance(room, (str, int)) or isinstance(room, bool):
            raise TypeError(f"{what}: a room is a str (or an int), not {room!r}")
    return many or None
