"""python-socketio's JSON packet, with a faster test for binary data and the same answers.

``socketio.packet.Packet`` looks for bytes in every payload it is built with
(``data_is_binary``, a recursive ``functools.reduce``), on the server for each event,
ack and emit, and again in our serializability pre-check and test client. The same
test, written as a plain loop, takes a quarter of the time.
"""

from __future__ import annotations

from typing import Any

from socketio import packet

from .textcodec import DEFAULT_JSON, encode_text

_STOCK_DATA_IS_BINARY = packet.Packet.data_is_binary.__func__


def has_binary(data: Any) -> bool:
    """``socketio.packet.Packet.data_is_binary(data)``: bytes or bytearray anywhere in
    ``data``'s lists and dict values (not in tuples, as there)."""
    kind = type(data)
    if kind is list:
        items = data
    elif kind is dict:
        items = data.values()
    elif kind is str or kind is int or kind is float or kind is bool or data is None:
        return False
    elif isinstance(data, (bytes, bytearray)):  # what Packet.data_is_binary tests, in order
        return True
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict):
        items = data.values()
    else:
        return False
    for item in items:  # noqa: SIM110 - a loop is faster than any() on a generator here
        if has_binary(item):
            return True
    return False


#: Packet types that are always text: their encoding is :func:`encode_text`'s (CONNECT,
#: DISCONNECT and CONNECT_ERROR included: they never carry attachments).
_TEXT_KINDS = frozenset({packet.EVENT, packet.ACK, packet.CONNECT, packet.DISCONNECT,
                         packet.CONNECT_ERROR})
#: The same, commonest first, compared rather than hashed (as the stock constructor
#: never hashes the packet type it is given).
_TEXT_KIND_ORDER = (packet.EVENT, packet.ACK, packet.CONNECT, packet.DISCONNECT,
                    packet.CONNECT_ERROR)


class Packet(packet.Packet):
    """``socketio.packet.Packet`` with :func:`has_binary` as its ``data_is_binary``.

    The server uses it for the default serializer. A text EVENT or ACK (CONNECT,
    DISCONNECT and CONNECT_ERROR too) with the default JSON module is encoded by
    :func:`flask_socketio.textcodec.encode_text`
    (the same string, without a ``JSONEncoder`` made per packet), and when such a
    packet is built without a ``binary`` answer it is encoded at once instead of
    being searched for binary data: JSON refuses bytes, so a payload that encodes has
    none (one that does not goes the stock way: searched, then encoded by
    python-socketio's ``encode``, which raises what it always raised; bytes in a
    CONNECT, DISCONNECT or CONNECT_ERROR are refused there with its ``ValueError``).
    """

    _encoded: tuple[str, int, Any, str | None, int | None] | None = None

    def __init__(self, packet_type: int = packet.EVENT, data: Any = None,
                 namespace: str | None = None, id: int | None = None,
                 binary: bool | None = None, encoded_packet: Any = None) -> None:
        if (binary is None and not encoded_packet and packet_type in _TEXT_KIND_ORDER
                and self.json is DEFAULT_JSON):
            try:
                encoded = encode_text(packet_type, namespace, id, data)
            except Exception:
                pass  # bytes, or no JSON at all: the stock constructor decides
            else:
                self.packet_type = packet_type
                self.data = data
                self.namespace = namespace
                self.id = id
                self.attachment_count = 0
                self.attachments: list[bytes] = []
                self._encoded = (encoded, packet_type, data, namespace, id)
                return
        super().__init__(packet_type, data=data, namespace=namespace, id=id, binary=binary,
                         encoded_packet=encoded_packet)

    def encode(self) -> Any:
        kind = self.packet_type
        encoded = self._encoded
        if (encoded is not None and encoded[1] == kind and encoded[2] is self.data
                and encoded[3] == self.namespace and encoded[4] == self.id):
            return encoded[0]  # encoded when built, and unchanged since
        if kind in _TEXT_KINDS and self.json is DEFAULT_JSON:
            return encode_text(kind, self.namespace, self.id, self.data)
        return super().encode()

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        return has_binary(data)


_FAST_DATA_IS_BINARY = Packet.data_is_binary.__func__  # type: ignore[attr-defined]


def binary_hint(packet_class: type[packet.Packet], data: Any) -> bool | None:
    """The ``binary=`` to build a ``packet_class`` packet of ``data`` with.

    The answer the class's own ``data_is_binary`` gives, found faster; ``None`` (the
    packet checks for itself) when the class has a check of its own or, like
    msgpack's, does not split out binary data.
    """
    if not packet_class.uses_binary_events:
        return None
    check = getattr(packet_class.data_is_binary, "__func__", None)
    if check is not _STOCK_DATA_IS_BINARY and check is not _FAST_DATA_IS_BINARY:
        return None
    return has_binary(data)
