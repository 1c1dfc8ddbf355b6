"""``binary_hint`` and the server's packet class give python-socketio's
``Packet.data_is_binary`` answer, faster."""

from __future__ import annotations

from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from socketio import msgpack_packet, packet

from flask_socketio import SocketIO, packets
from flask_socketio.extension import binary_hint


class MyList(list):
    pass


class MyDict(dict):
    pass


class MyBytes(bytes):
    pass


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
    st.binary(max_size=3), st.binary(max_size=3).map(bytearray),
    st.binary(max_size=3).map(MyBytes),
    st.binary(max_size=3).map(memoryview), st.tuples(st.binary(max_size=2)),
)
payloads = st.recursive(leaves, lambda children: st.one_of(
    st.lists(children, max_size=4), st.lists(children, max_size=3).map(MyList),
    st.dictionaries(st.text(max_size=3), children, max_size=4),
    st.dictionaries(st.text(max_size=3), children, max_size=3).map(MyDict),
), max_leaves=12)


@given(payloads)
def test_same_answer_as_data_is_binary(data):
    assert binary_hint(packet.Packet, data) is bool(packet.Packet.data_is_binary(data))


@given(payloads)
def test_the_server_packet_class_gives_the_same_answer(data):
    assert packets.Packet.data_is_binary(data) is bool(packet.Packet.data_is_binary(data))
    assert binary_hint(packets.Packet, data) is bool(packet.Packet.data_is_binary(data))


@given(payloads)
def test_packets_built_with_the_hint_encode_the_same(data):
    def encoded(**hint):
        try:
            return packet.Packet(packet.EVENT, data=["event", data], namespace="/x", id=3,
                                 **hint).encode()
        except (TypeError, ValueError) as exc:
            return type(exc)

    assert encoded(binary=binary_hint(packet.Packet, ["event", data])) == encoded()


def test_a_packet_class_with_its_own_check_decides_for_itself():
    class Custom(packet.Packet):
        @classmethod
        def data_is_binary(cls, data):
            return False

    assert binary_hint(Custom, [b"bytes"]) is None
    assert binary_hint(msgpack_packet.MsgPackPacket, [b"bytes"]) is None
    assert binary_hint(packet.Packet, [b"bytes"]) is True
    assert binary_hint(type("Sub", (packet.Packet,), {}), [{"a": [b"x"]}]) is True


def test_the_default_serializer_uses_the_faster_packet_class_only():
    assert SocketIO(Flask(__name__)).server.packet_class is packets.Packet
    assert issubclass(packets.Packet, packet.Packet)
    assert (SocketIO(Flask(__name__), serializer="msgpack").server.packet_class
            is msgpack_packet.MsgPackPacket)

    class Custom(packet.Packet):
        pass

    assert SocketIO(Flask(__name__), serializer=Custom).server.packet_class is Custom


def test_binary_round_trips_through_the_faster_packet_class():
    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("echo")
    def echo(*args):
        socketio.emit("echo", *args, to=None)
        return args

    client = socketio.test_client(app)
    payload = [b"\x00\xff", {"nested": [bytearray(b"ab"), "text"]}, 1.5, None]
    assert client.emit("echo", *payload, callback=True) == [b"\x00\xff", {
        "nested": [b"ab", "text"]}, 1.5, None]
    client.assert_received("echo", b"\x00\xff", {"nested": [b"ab", "text"]}, 1.5, None)
