"""The text EVENT/ACK fast path gives python-socketio's answers: the same packet
decoded (or ``None``, leaving the full codec to decide), the same string encoded."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from socketio import packet

from flask_socketio import packets
from flask_socketio.textcodec import decode_control, decode_text, encode_text

json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6),
)
json_values = st.recursive(json_leaves, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.text(max_size=4), children, max_size=4),
), max_leaves=10)
namespaces = st.one_of(st.none(), st.just("/"), st.text(max_size=6).map(lambda s: "/" + s))
ack_ids = st.one_of(st.none(), st.integers(min_value=0, max_value=2**53 - 1))


def stock_decode(encoded: str) -> packet.Packet:
    return packet.Packet(encoded_packet=encoded)


def same_as_stock(encoded: str) -> None:
    """decode_text(encoded) is None or what python-socketio decodes."""
    fast = decode_text(encoded)
    if fast is None:
        return
    stock = stock_decode(encoded)  # the fast path decoded it: so must the full codec
    assert (fast.packet_type, fast.namespace, fast.id, fast.data) == (
        stock.packet_type, stock.namespace, stock.id, stock.data)
    assert fast.attachment_count == stock.attachment_count == 0
    assert json.dumps(fast.data) == json.dumps(stock.data)  # same types (int vs float...)


@settings(max_examples=400)
@given(st.sampled_from([packet.EVENT, packet.ACK]), namespaces, ack_ids,
       st.lists(json_values, max_size=4))
def test_well_formed_packets_decode_and_encode_as_python_socketio(kind, namespace, ack_id,
                                                                   data):
    stock = packet.Packet(kind, data=data, namespace=namespace, id=ack_id)
    encoded = stock.encode()
    assert encode_text(kind, namespace, ack_id, data) == encoded
    assert packets.Packet(kind, data=data, namespace=namespace, id=ack_id).encode() == encoded
    fast = decode_text(encoded)
    if namespace is None or not {"?", ","} & set(namespace):
        assert fast is not None, encoded  # (a comma in a namespace does not round-trip)
    same_as_stock(encoded)


@settings(max_examples=600)
@given(st.text(alphabet="0123456789/,-?[]{}\"abc: \u0663\u00b2\ufeff", max_size=14))
def test_any_text_decodes_as_python_socketio_or_falls_back(text):
    for encoded in ("2" + text, "3" + text, text):
        try:
            same_as_stock(encoded)
        except AssertionError:
            raise
        except Exception:
            # the full codec refused what the fast path took: never acceptable
            assert decode_text(encoded) is None, encoded


@pytest.mark.parametrize("encoded", [
    "0", "1", "4", "5", "6", "51-[\"x\",{\"_placeholder\":true,\"num\":0}]",
    "21-[\"x\"]", "2/chat?x=1,[\"x\"]", "2/chat", "2\u0663[\"x\"]", "2\ufeff[\"x\"]",
    "2" + "1" * 17 + "[\"x\"]", "2[\"x\"", "2{\"a\":1}", "2\"x\"", "2", "",
    "2[" + "1" * 101 + "]", "2[-" + "1" * 100 + "]", '2["x",{"n":' + "9" * 101 + "}]",
])
def test_unusual_packets_go_to_the_full_codec(encoded):
    assert decode_text(encoded) is None


@pytest.mark.parametrize("tail", ["", " ", "\n\t ", "]", " 1", "x"])
@pytest.mark.parametrize("body", ['["x",' + "7" * 90 + "]",
                                  '["x","' + "a" * 200 + '",' + "7" * 100 + "]"])
def test_what_follows_the_array_is_decoded_as_python_socketio_decodes_it(body, tail):
    # short texts skip the bounded-integer hook, long ones keep it: both end as decode()
    encoded = "2" + body + tail
    try:
        stock = stock_decode(encoded)
    except Exception:
        assert decode_text(encoded) is None
    else:
        assert decode_text(encoded).data == stock.data


def test_integer_literals_up_to_python_engineios_limit_take_the_fast_path():
    for literal in ("1" * 100, "-" + "1" * 99):
        encoded = "2[" + literal + "]"
        assert decode_text(encoded).data == stock_decode(encoded).data == [int(literal)]


def test_common_packets_take_the_fast_path():
    event = decode_text('2/chat,12["echo",{"n":1}]')
    assert (event.packet_type, event.namespace, event.id, event.data) == (
        packet.EVENT, "/chat", 12, ["echo", {"n": 1}])
    ack = decode_text("37[1,2]")
    assert (ack.packet_type, ack.namespace, ack.id, ack.data) == (packet.ACK, None, 7, [1, 2])


def test_binary_and_other_packets_are_encoded_by_the_full_codec():
    binary = packets.Packet(packet.EVENT, data=["x", b"\x01"])
    assert binary.encode() == packet.Packet(packet.EVENT, data=["x", b"\x01"]).encode()
    connect = packets.Packet(packet.CONNECT, data={"sid": "a"}, namespace="/chat")
    assert connect.encode() == '0/chat,{"sid":"a"}'


def test_an_applications_json_module_is_used_by_the_full_codec(monkeypatch):
    class Shouting:
        @staticmethod
        def dumps(data, **kwargs):
            return json.dumps(data, **kwargs).upper()

    monkeypatch.setattr(packets.Packet, "json", Shouting)
    assert packets.Packet(packet.EVENT, data=["x"]).encode() == '2["X"]'


@settings(max_examples=300)
@given(st.sampled_from([packet.EVENT, packet.ACK]), namespaces, ack_ids,
       st.lists(st.one_of(json_values, st.binary(max_size=3),
                          st.lists(st.binary(max_size=2), max_size=2)), max_size=3))
def test_packets_built_without_a_binary_answer_are_python_socketios(kind, namespace, ack_id,
                                                                     data):
    # built as python-socketio builds them (no binary=): the same type, the same
    # encoding, with binary data or without
    stock = packet.Packet(kind, data=data, namespace=namespace, id=ack_id)
    ours = packets.Packet(kind, data=data, namespace=namespace, id=ack_id)
    assert (ours.packet_type, ours.data, ours.namespace, ours.id, ours.attachment_count) == (
        stock.packet_type, stock.data, stock.namespace, stock.id, stock.attachment_count)
    assert ours.encode() == stock.encode()


@settings(max_examples=300)
@given(st.sampled_from([packet.CONNECT, packet.DISCONNECT, packet.CONNECT_ERROR]), namespaces,
       st.one_of(st.none(), json_values))
def test_connect_and_disconnect_packets_encode_as_python_socketios(kind, namespace, data):
    stock = packet.Packet(kind, data=data, namespace=namespace)
    ours = packets.Packet(kind, data=data, namespace=namespace)
    assert ours.encode() == stock.encode()
    assert packets.Packet(kind, data=data, namespace=namespace, binary=False).encode() == (
        stock.encode())


@settings(max_examples=400)
@given(st.sampled_from([packet.CONNECT, packet.DISCONNECT, packet.CONNECT_ERROR]), namespaces,
       st.one_of(st.none(), st.dictionaries(st.text(max_size=4), json_values, max_size=4)))
def test_connect_and_disconnect_packets_decode_as_python_socketios(kind, namespace, data):
    encoded = packet.Packet(kind, data=data, namespace=namespace).encode()
    fast = decode_control(encoded)
    if namespace is None or not {"?", ","} & set(namespace):
        assert fast is not None, encoded
    if fast is not None:
        stock = stock_decode(encoded)
        assert (fast.packet_type, fast.namespace, fast.id, fast.data) == (
            stock.packet_type, stock.namespace, stock.id, stock.data)
        assert json.dumps(fast.data) == json.dumps(stock.data)


@settings(max_examples=600)
@given(st.text(alphabet="0123456789/,-?[]{}\"abc: \u0663\u00b2\ufeff", max_size=14))
def test_any_text_decodes_as_a_control_packet_or_falls_back(text):
    fast = decode_control(text)
    if fast is None:
        return
    stock = stock_decode(text)
    assert (fast.packet_type, fast.namespace, fast.id, fast.data) == (
        stock.packet_type, stock.namespace, stock.id, stock.data)
    assert json.dumps(fast.data) == json.dumps(stock.data)


def test_a_packet_changed_after_it_was_built_is_encoded_as_it_is_now():
    pkt = packets.Packet(packet.EVENT, data=["a"])
    pkt.data = ["b"]
    pkt.namespace = "/x"
    assert pkt.encode() == '2/x,["b"]'
    pkt.packet_type = packet.CONNECT
    pkt.data = {"sid": "s"}
    assert pkt.encode() == '0/x,{"sid":"s"}'


def test_an_unserializable_payload_fails_at_encode_as_in_python_socketio():
    pkt = packets.Packet(packet.EVENT, data=["x", {1, 2}])
    with pytest.raises(TypeError):
        packet.Packet(packet.EVENT, data=["x", {1, 2}]).encode()
    with pytest.raises(TypeError):
        pkt.encode()
