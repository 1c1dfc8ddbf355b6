"""The server's connect and disconnect paths: their shortcuts give the answers of the
long way, and step aside whenever something could see a difference.

- CONNECT and DISCONNECT text packets are decoded by ``textcodec.decode_control``
  (the full codec for anything else, or for another serializer);
- ``ProtocolServer._trigger_event`` answers "not handled" itself when no handler
  table could name one, and runs no event hook for an unhandled ``disconnect``;
- ``ProtocolServer._handle_eio_disconnect`` disconnects only the namespaces the
  connection has a sid in;
- ``engine.base.new_id`` makes the session ids (20 URL-safe characters of
  ``os.urandom``), read for several ids at a time and never shared with a fork;
- ``packets.Packet`` encodes a CONNECT, DISCONNECT or CONNECT_ERROR when it is built,
  and ``textcodec`` writes a dict of strings (the CONNECT reply) straight.
"""

from __future__ import annotations

import json
import os
import re

import engineio
import flask
import pytest
import socketio as socketio_module
from flask import Flask, request
from flask.ctx import RequestContext
from hypothesis import given, settings
from hypothesis import strategies as st
from socketio import packet
from werkzeug.utils import cached_property

from flask_socketio import Namespace, SocketIO, emit
from flask_socketio import packets as fast_packets
from flask_socketio.engine import base as engine_base
from flask_socketio.engine.native import NativeEngine
from flask_socketio.protocol import ProtocolServer
from flask_socketio.textcodec import TextPacket, encode_text

from ..robustness.raw import RawInProcessSocket


def make_app(**options):
    app = Flask(__name__)
    return app, SocketIO(app, **options)


# -- decoding ---------------------------------------------------------------------------

@pytest.mark.parametrize("encoded, expected", [
    ("0", (packet.CONNECT, None, None)),
    ("0/chat,", (packet.CONNECT, "/chat", None)),
    ('0{"token":"x"}', (packet.CONNECT, None, {"token": "x"})),
    ('0/chat,{"token":"x"}', (packet.CONNECT, "/chat", {"token": "x"})),
    ("1", (packet.DISCONNECT, None, None)),
    ("1/chat,", (packet.DISCONNECT, "/chat", None)),
])
def test_connect_and_disconnect_packets_are_decoded_fast_as_the_full_codec_does(
        encoded, expected):
    _, socketio = make_app()
    pkt = socketio.server._decode("sid", encoded)
    assert type(pkt) is TextPacket  # the fast decoder's
    assert (pkt.packet_type, pkt.namespace, pkt.data) == expected
    stock = packet.Packet(encoded_packet=encoded)
    assert (stock.packet_type, stock.namespace, stock.data) == expected


@pytest.mark.parametrize("encoded", ["0/chat", "0/chat?x=1,", "0[1]", '0"auth"'])
def test_connect_packets_the_fast_decoder_leaves_go_to_the_full_codec(encoded):
    _, socketio = make_app()
    pkt = socketio.server._decode("sid", encoded)
    assert type(pkt) is fast_packets.Packet
    stock = packet.Packet(encoded_packet=encoded)
    assert (pkt.packet_type, pkt.namespace, pkt.data) == (
        stock.packet_type, stock.namespace, stock.data)


def test_another_json_module_decodes_connect_packets_with_the_full_codec(monkeypatch):
    # python-socketio stores the json module on the packet classes: restore them.
    monkeypatch.setattr(packet.Packet, "json", packet.Packet.json)
    monkeypatch.setattr(engineio.packet.Packet, "json", engineio.packet.Packet.json)

    class Json:
        loads = staticmethod(json.loads)
        dumps = staticmethod(json.dumps)

    _, socketio = make_app(json=Json)
    pkt = socketio.server._decode("sid", '0{"a":1}')
    assert not isinstance(pkt, TextPacket)
    assert (pkt.packet_type, pkt.data) == (packet.CONNECT, {"a": 1})


def test_a_disconnect_with_data_is_still_a_violation():
    app, socketio = make_app()
    raw = RawInProcessSocket(app, socketio)
    raw.send("0")
    raw.send('1{"a":1}')
    assert raw.is_closed
    assert socketio.server.violation_count == 1


def test_connect_with_auth_reaches_the_handler_and_the_reply_names_the_sid():
    app, socketio = make_app()
    seen = []

    @socketio.on("connect", namespace="/chat")
    def on_connect(auth):
        seen.append((request.sid, auth))

    raw = RawInProcessSocket(app, socketio)
    raw.send('0/chat,{"token":"t"}')
    assert raw.received[0] == '0/chat,{"sid":"' + seen[0][0] + '"}'
    assert seen[0][1] == {"token": "t"}
    raw.send("1/chat,")
    assert not raw.is_closed
    assert socketio.server.manager.sid_from_eio_sid(raw.sid, "/chat") is None


def test_a_second_connect_is_a_violation_and_a_reconnect_after_disconnect_is_not():
    app, socketio = make_app()
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", "1", "0")
    assert not raw.is_closed
    raw.send("0")
    assert raw.is_closed


def test_connecting_ends_the_connect_timeout_only_once_connected(socketio_clock):
    app, socketio = make_app(namespaces=["/"])
    server = socketio.server
    raw = RawInProcessSocket(app, socketio)
    raw.send("0/other,")  # refused: no such namespace
    assert raw.received == ['4/other,{"message":"Invalid namespace"}']
    assert raw.sid in server._connect_deadlines
    raw.send("0")
    assert raw.sid not in server._connect_deadlines


# -- handlers found or not ----------------------------------------------------------------

def test_an_app_without_connect_handler_connects_and_its_before_hook_runs():
    app, socketio = make_app()
    events = []
    socketio.before_event(lambda event, args: events.append(event))
    client = socketio.test_client(app)
    assert client.is_connected()
    client.disconnect()
    assert events == ["connect"]  # no hook for a disconnect, handled or not


def test_a_catch_all_namespace_connect_handler_is_found():
    app, socketio = make_app()
    seen = []

    @socketio.on("connect", namespace="*")
    def on_connect(auth=None):
        seen.append(request.namespace)

    client = socketio.test_client(app, namespace="/any")
    assert client.is_connected("/any")
    assert seen == ["/any"]


def test_a_catch_all_event_handler_of_the_namespace_gets_events_not_connect():
    app, socketio = make_app()
    seen = []

    @socketio.on("*")
    def catch_all(event, *args):
        seen.append(event)

    client = socketio.test_client(app)
    client.emit("anything", 1)
    client.disconnect()
    assert seen == ["anything"]


def test_a_disconnect_handler_is_called_with_the_reason():
    app, socketio = make_app()
    reasons = []

    @socketio.on("disconnect")
    def on_disconnect(reason):
        reasons.append(reason)

    client = socketio.test_client(app)
    client.disconnect()
    assert reasons == [socketio.reason.CLIENT_DISCONNECT]


def test_class_based_namespaces_get_connect_and_disconnect():
    app, socketio = make_app()
    seen = []

    class Chat(Namespace):
        def on_connect(self):
            seen.append("connect")

        def on_disconnect(self, reason):
            seen.append(reason)

    socketio.on_namespace(Chat("/chat"))
    client = socketio.test_client(app, namespace="/chat")
    client.disconnect(namespace="/chat")
    assert seen == ["connect", socketio.reason.CLIENT_DISCONNECT]


def test_python_socketios_own_namespace_class_is_found_too():
    server = ProtocolServer(async_mode="threading")
    seen = []

    class Plain(socketio_module.Namespace):
        def on_connect(self, sid, environ):
            seen.append(sid)

    server.register_namespace(Plain("/"))
    result = server._trigger_event("connect", "/", "sid1", {})
    assert seen == ["sid1"] and result is None


def test_nothing_to_handle_is_not_handled_without_asking_python_socketio(monkeypatch):
    server = ProtocolServer(async_mode="threading")
    server.on("echo", lambda sid, data: data)

    def fail(*args):
        raise AssertionError("python-socketio's lookup was not needed")

    monkeypatch.setattr(socketio_module.Server, "_trigger_event", fail)
    assert server._trigger_event("connect", "/", "sid1", {}, None) is server.not_handled
    assert server._trigger_event("disconnect", "/", "sid1", "x") is server.not_handled
    assert server._trigger_event("other", "/", "sid1") is server.not_handled
    assert server._trigger_event("connect", "/chat", "sid1", {}, None) is server.not_handled


def test_the_unhandled_event_callback_is_asked_for_connect_not_disconnect():
    server = ProtocolServer(async_mode="threading")
    asked = []
    server.unhandled_event = lambda event, namespace, args, owner: asked.append(event) or 7
    assert server._trigger_event("connect", "/", "sid1", {}, None) == 7
    assert server._trigger_event("disconnect", "/", "sid1", "x") is server.not_handled
    assert asked == ["connect"]


# -- the transport closing ------------------------------------------------------------------

def test_a_closed_transport_disconnects_each_namespace_the_client_is_in():
    app, socketio = make_app()
    seen = []
    for namespace in ("/", "/a", "/b"):
        socketio.on("disconnect", namespace=namespace)(
            lambda reason, namespace=namespace: seen.append((namespace, reason)))
    raw = RawInProcessSocket(app, socketio)
    raw.send("0", "0/b,")
    other = RawInProcessSocket(app, socketio)
    other.send("0/a,")  # "/a" exists, but not for raw
    raw.close()
    assert sorted(seen) == [("/", "client disconnect"), ("/b", "client disconnect")]
    assert raw.sid not in socketio.server.environ
    assert socketio.server.manager.sid_from_eio_sid(other.sid, "/a") is not None


def test_a_closed_transport_forgets_the_environ_of_a_client_in_no_namespace():
    app, socketio = make_app()
    raw = RawInProcessSocket(app, socketio)
    assert raw.sid in socketio.server.environ
    raw.close()
    assert raw.sid not in socketio.server.environ
    assert socketio.server._connect_deadlines == {}


# -- ids ------------------------------------------------------------------------------------

def test_ids_are_20_url_safe_characters_and_unique():
    ids = [engine_base.new_id() for _ in range(3 * engine_base.IDS_PER_READ + 5)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{20}", each) for each in ids)
    assert len(set(ids)) == len(ids)
    assert NativeEngine.generate_id is engine_base.new_id


def test_ids_come_from_os_urandom(monkeypatch):
    engine_base._ids.clear()
    monkeypatch.setattr(engine_base.os, "urandom", lambda n: bytes(i % 256 for i in range(n)))
    first = engine_base.new_id()
    engine_base._ids.clear()
    assert first == "AAECAwQFBgcICQoLDA0O"  # base64 of bytes 0..14


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork")
def test_a_forked_child_makes_ids_of_its_own():
    engine_base.new_id()  # the pool holds unused ids now
    assert engine_base._ids
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, engine_base.new_id().encode())
        finally:
            os._exit(0)
    os.close(write)
    child_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child_id) == 20
    assert child_id != engine_base.new_id()  # the parent's next id is not the child's


# -- encoding -------------------------------------------------------------------------------

strings = st.text(max_size=8)


@settings(max_examples=300)
@given(st.dictionaries(strings, strings, max_size=3))
def test_a_dict_of_strings_is_encoded_as_json_dumps_does(data):
    assert encode_text(packet.CONNECT, None, None, data) == "0" + json.dumps(
        data, separators=(",", ":"))


@pytest.mark.parametrize("data", [{"sid": 1}, {1: "x"}, {"a": None}, {"a": ["b"]},
                                  {"a": "b", "c": "d", "e": "f"}])
def test_other_dicts_are_encoded_by_the_json_encoder(data):
    assert encode_text(packet.CONNECT, "/x", None, data) == "0/x," + json.dumps(
        data, separators=(",", ":"))


def test_a_connect_packet_is_encoded_when_built_and_again_once_changed():
    pkt = fast_packets.Packet(packet.CONNECT, {"sid": "s"}, namespace="/x")
    assert pkt._encoded is not None
    assert pkt.encode() == '0/x,{"sid":"s"}'
    pkt.data = {"sid": "s", "pid": "p"}
    assert pkt.encode() == '0/x,{"sid":"s","pid":"p"}'


def test_bytes_in_a_connect_packet_are_refused_as_python_socketio_refuses_them():
    with pytest.raises(ValueError):
        packet.Packet(packet.CONNECT, {"a": b"x"})
    with pytest.raises(ValueError):
        fast_packets.Packet(packet.CONNECT, {"a": b"x"})


def test_the_connect_reply_and_a_connect_error_go_out_as_before():
    app, socketio = make_app()

    @socketio.on("connect")
    def refuse(auth=None):
        return False

    @socketio.on("connect", namespace="/ok")
    def accept(auth=None):
        emit("hello", 1)

    raw = RawInProcessSocket(app, socketio)
    raw.send("0")
    assert raw.received == ['4{"message":"Connection rejected by server"}']
    raw.send("0/ok,")
    assert re.fullmatch(r'0/ok,\{"sid":"[A-Za-z0-9_-]{20}"\}', raw.received[1])
    assert raw.received[2] == '2/ok,["hello",1]'


def test_python_socketios_eio_disconnect_does_only_what_ours_does_instead():
    """ProtocolServer._handle_eio_disconnect does python-socketio's work itself: a
    _handle_disconnect per namespace, then the environ forgotten. An upgrade that
    makes python-socketio's do more fails here."""
    calls = []

    class Spy(socketio_module.Server):
        def _handle_disconnect(self, eio_sid, namespace, reason=None):
            calls.append((eio_sid, namespace, reason))

    server = Spy(async_mode="threading")
    server._handle_eio_connect("e1", {"x": 1})
    server.manager.basic_enter_room("s1", "/a", None, eio_sid="e1")
    server.manager.basic_enter_room("s2", "/b", None, eio_sid="e2")
    before = {key: repr(value) for key, value in vars(server).items() if key != "environ"}
    manager_before = repr(vars(server.manager))
    socketio_module.Server._handle_eio_disconnect(server, "e1", "transport close")
    assert calls == [("e1", "/a", "transport close"), ("e1", "/b", "transport close")]
    assert server.environ == {}
    assert {key: repr(value) for key, value in vars(server).items()
            if key != "environ"} == before
    assert repr(vars(server.manager)) == manager_before


# -- the first event's request ---------------------------------------------------------------

def test_flasks_request_context_builds_its_request_as_the_bridge_does():
    """The bridge builds the first event's request itself (keeping its fields for the
    connection's request template) and hands it to RequestContext: the request
    RequestContext(app, environ) would have built, as Flask builds it."""
    from werkzeug.test import EnvironBuilder

    from flask_socketio.context import _RequestTemplate

    app = Flask(__name__)
    builder = EnvironBuilder("/socket.io/", headers={"Cookie": "a=b"})
    environ = builder.get_environ()
    builder.close()
    flasks = RequestContext(app, dict(environ)).request
    ours = app.request_class(dict(environ))
    fields = _RequestTemplate.fields_of(app, ours)
    assert type(flasks) is app.request_class and flasks.json_module is app.json
    # beside json_module, only cached properties it read (request.host) were set since
    cached = {name for name in vars(flasks)
              if isinstance(getattr(type(flasks), name, None), cached_property)}
    assert fields is not None and set(fields) == set(vars(flasks)) - {"json_module"} - cached
    assert fields.keys() == vars(app.request_class(dict(environ),
                                                   populate_request=False)).keys()
    for name, value in fields.items():
        if name not in ("environ", "headers"):
            assert getattr(flasks, name) == value, name
    assert list(fields["headers"].items()) == list(flasks.headers.items())


def test_the_first_events_request_fields_make_the_template_of_the_next_events():
    app, socketio = make_app()
    seen = []

    @socketio.on("connect")
    def on_connect(auth=None):
        seen.append((request.path, request.remote_addr, request.headers.get("X-Test")))

    @socketio.on("ping")
    def on_ping():
        seen.append((request.path, request.remote_addr, request.headers.get("X-Test")))

    client = socketio.test_client(app, headers={"X-Test": "yes"})
    client.emit("ping")
    client.emit("ping")
    assert seen[0] == seen[1] == seen[2]
    assert seen[0][2] == "yes"
    environ = socketio.server.environ[client.eio_sid]
    route = environ["flask_socketio.connection"].route
    assert route and route.request_template is not None


def test_a_request_class_with_its_own_init_gets_no_template():
    class Custom(flask.Request):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.custom = True

    app, socketio = make_app()
    app.request_class = Custom
    customs = []

    @socketio.on("connect")
    def on_connect(auth=None):
        customs.append(request.custom)

    @socketio.on("ping")
    def on_ping():
        customs.append(request.custom)

    client = socketio.test_client(app)
    client.emit("ping")
    assert customs == [True, True]
    route = socketio.server.environ[client.eio_sid]["flask_socketio.connection"].route
    assert route and route.request_template is None


def test_the_toolkit_seam_is_made_once_and_again_for_a_new_server_or_path():
    app, socketio = make_app()
    seam = socketio.toolkit_seam()
    assert socketio.toolkit_seam() is seam
    assert seam.server is socketio.server and seam.path == "socket.io"
    socketio.init_app(app, path="other")
    assert socketio.toolkit_seam().path == "other"
    old_server = socketio.server
    socketio.init_app(app, async_mode="threading")  # a new server
    assert socketio.server is not old_server
    assert socketio.toolkit_seam().server is socketio.server
    socketio.manage_session = False
    assert not socketio.toolkit_seam().manages_session()


def test_an_unhandled_connect_runs_the_hooks_of_a_class_based_namespace_or_the_apps():
    app, socketio = make_app()
    seen = []

    class Hooked(Namespace):
        def before_event(self, event, args):
            seen.append(("namespace hook", event))

    socketio.on_namespace(Hooked("/hooked"))
    client = socketio.test_client(app, namespace="/hooked")  # no on_connect: unhandled
    assert client.is_connected("/hooked")
    assert seen == [("namespace hook", "connect")]
    socketio.after_event(lambda event, args, result, error: seen.append(("app hook", event)))
    socketio.test_client(app)
    assert seen[-1] == ("app hook", "connect")


def test_an_unhandled_connect_refused_by_a_hook_is_refused():
    from flask_socketio import EventRefused

    app, socketio = make_app()

    def refuse(event, args):
        raise EventRefused("no")

    socketio.before_event(refuse)
    client = socketio.test_client(app)
    assert not client.is_connected()


def test_the_connect_timer_runs_on_the_engine_that_owns_the_session():
    from flask_socketio.engine.base import CancelBy

    app, socketio = make_app()
    router = socketio.server.eio
    raw = RawInProcessSocket(app, socketio)  # attaches the in-process engine
    calls = []

    class Network:
        def call_later(self, delay, target, *args):
            calls.append(("network", delay, args))
            return CancelBy(lambda: None)

    network, router.network = router.network, Network()
    try:
        router.call_later("not-in-process", 5, print, 1)
        timer = router.call_later(raw.sid, 5, calls.append, ("attached", 5, ()))
    finally:
        router.network = network
    assert calls == [("network", 5, (1,))]
    timer.cancel()
    raw.scheduler.sleep(10)
    assert calls == [("network", 5, (1,))]  # cancelled on the attached engine's clock
