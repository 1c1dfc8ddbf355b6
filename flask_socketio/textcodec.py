"""A fast path for the commonest packets: text EVENT and ACK with the default JSON.

python-socketio decodes each packet a client sends by building a ``Packet`` whose
``decode`` calls ``engineio.json.loads``, which makes a ``JSONDecoder`` per call;
its ``encode`` calls ``json.dumps`` with ``separators``, which makes a ``JSONEncoder``
per call. For a text EVENT or ACK (``2`` or ``3``, an optional namespace, an optional
ack id, a JSON array) this module does the same work with one decoder and one encoder
made once, and returns the very answers python-socketio's codec gives (the property
test ``tests/unit/test_textcodec.py`` compares both on generated packets).

Anything else (another packet type, attachments, a namespace with a query, an odd
character where a digit or ``[`` should be, JSON that does not decode, a ``json=``
module of the application's) is left to the full codec: :func:`decode_text` returns
``None`` and :func:`encode_text` is not used.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _quote
from json.scanner import make_scanner
from typing import Any, cast

import engineio.json
from socketio import packet

#: The JSON module python-socketio's packets use unless the application gives one.
DEFAULT_JSON = engineio.json



def _bounded_int(digits: str) -> int:
    """python-engineio's ``parse_int``: integers of at most 100 digits."""
    if len(digits) > 100:
        raise ValueError("Integer is too large")
    return int(digits)


# engineio.json.loads(s) is json.loads(s, parse_int=<the bounded int above>): this
# decoder, made once.
_decode_json = json.JSONDecoder(parse_int=_bounded_int).decode
#: python-engineio's limit on the digits of an integer literal.
_MAX_INT_DIGITS = 100
# The decoders' scanners: ``scan(text, 0)`` is ``(value, end)`` for the JSON value at
# the start of ``text``; one without the bounded-int hook (every integer literal
# otherwise costs a Python call) for a text too short to hold an integer over the limit.
# (typeshed types make_scanner's argument as a scanner: it takes the decoder's settings)
_scan_bounded = make_scanner(cast(Any, json.JSONDecoder(parse_int=_bounded_int)))
_scan_plain = make_scanner(cast(Any, json.JSONDecoder()))


def _decode_value(text: str) -> Any:
    """``_decode_json(text)`` for a ``text`` that starts with ``[`` or ``{``: its
    scanner, then ``decode`` itself for anything after the value (whitespace, extra
    data: decode's answer, or its error)."""
    scan = _scan_plain if len(text) <= _MAX_INT_DIGITS else _scan_bounded
    value, end = scan(text, 0)
    if end != len(text):
        return _decode_json(text)
    return value
# json.dumps(data, separators=(',', ':')): this encoder, made once.
_encode_any = json.JSONEncoder(separators=(",", ":")).encode


def _encode_json(data: Any) -> str:
    """``json.dumps(data, separators=(',', ':'))``; a dict of at most two strings (the
    CONNECT reply's ``{"sid": ...}``, with recovery's ``"pid"``) written straight,
    with the encoder's own escaping of each string."""
    if type(data) is dict and len(data) <= 2:
        parts = []
        for key, value in data.items():
            if type(key) is not str or type(value) is not str:
                return _encode_any(data)
            parts.append(_quote(key) + ":" + _quote(value))
        return "{" + ",".join(parts) + "}"
    return _encode_any(data)

_EVENT, _ACK = packet.EVENT, packet.ACK
_KINDS = {"2": _EVENT, "3": _ACK}
#: Ack ids longer than this go to the full codec (the protocol's largest has 16 digits).
_MAX_ID_DIGITS = 16
_DIGITS = frozenset("0123456789")


class TextPacket:
    """A decoded text packet (EVENT or ACK, or a CONNECT, DISCONNECT or CONNECT_ERROR
    from :func:`decode_control`): the attributes of python-socketio's ``Packet`` that
    are read. ``data`` is a list for EVENT and ACK, a dict or ``None`` otherwise."""

    __slots__ = ("packet_type", "namespace", "id", "data")

    attachment_count = 0

    def __init__(self, packet_type: int, namespace: str | None, id: int | None,
                 data: list[Any] | dict[str, Any] | None) -> None:
        self.packet_type = packet_type
        self.namespace = namespace
        self.id = id
        self.data = data


def _namespace_prefix(encoded: str) -> tuple[str | None, int] | None:
    """The namespace after the packet type (``None``: the main one) and where the
    rest starts; ``None`` for a namespace the fast path leaves to the full codec
    (unterminated, or with a query string)."""
    if encoded[1:2] != "/":
        return None, 1
    comma = encoded.find(",", 1)
    if comma < 0 or "?" in encoded[1:comma]:
        return None
    return encoded[1:comma], comma + 1


def decode_text(encoded: str) -> TextPacket | None:
    """``encoded`` decoded if it is a plain text EVENT or ACK, else ``None`` (the full
    codec decides, errors included)."""
    kind = _KINDS.get(encoded[:1])
    if kind is None:
        return None
    prefix = _namespace_prefix(encoded)
    if prefix is None:
        return None
    namespace, position = prefix
    ack_id = None
    start = position
    end = len(encoded)
    while position < end and encoded[position] in _DIGITS:
        position += 1
    if position != start:
        if position - start > _MAX_ID_DIGITS:
            return None
        ack_id = int(encoded[start:position])
    if encoded[position:position + 1] != "[":
        return None
    try:
        data = _decode_value(encoded[position:])
    except Exception:
        return None  # the full codec raises the error the server reports
    return TextPacket(kind, namespace, ack_id, data)


_CONTROL_KINDS = {"0": packet.CONNECT, "1": packet.DISCONNECT, "4": packet.CONNECT_ERROR}


def decode_control(encoded: str) -> TextPacket | None:
    """``encoded`` decoded if it is a plain text CONNECT, DISCONNECT or CONNECT_ERROR
    (an optional namespace, then nothing or a JSON object), else ``None`` (the full
    codec decides, errors included). The server reads clients' CONNECT and
    DISCONNECT packets so, the test client the server's answers."""
    kind = _CONTROL_KINDS.get(encoded[:1])
    if kind is None:
        return None
    end = len(encoded)
    if end == 1:  # the commonest: "0" or "1", the main namespace
        return TextPacket(kind, None, None, None)
    prefix = _namespace_prefix(encoded)
    if prefix is None:
        return None
    namespace, position = prefix
    if position == end:
        return TextPacket(kind, namespace, None, None)
    if encoded[position:position + 1] != "{":
        return None
    try:
        data = _decode_value(encoded[position:])
    except Exception:
        return None
    return TextPacket(kind, namespace, None, data)


def encode_text(packet_type: int, namespace: str | None, id: int | None, data: Any) -> str:
    """python-socketio's encoding of a text (non-binary) packet of ``packet_type``
    with the default JSON module."""
    encoded = str(packet_type)
    if namespace is not None and namespace != "/":
        encoded += namespace + ","
    if id is not None:
        encoded += str(id)
    if data is not None:
        encoded += _encode_json(data)
    return encoded
