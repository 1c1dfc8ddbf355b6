"""The wire, spoken by hand: Engine.IO v4 and Socket.IO v5 over WebSocket and long-polling.

WebSocket with the ``websocket-client`` package, long-polling with ``requests``,
against a LiveServer serving :mod:`tests.integration.live_app`.
"""

from __future__ import annotations

import base64
import json
import threading

import pytest
import requests
import websocket

from flask_socketio.testing import LiveServer

from .live_app import create_app
from .raw import raw_polling, raw_websocket


@pytest.fixture
def server(socketio_server):
    return socketio_server


# -- handshake ---------------------------------------------------------------------------


def test_websocket_handshake_fields(server):
    with raw_websocket(server) as raw:
        opening = raw.recv()
        assert opening[0] == "0"
        fields = json.loads(opening[1:])
        assert set(fields) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert isinstance(fields["sid"], str) and fields["sid"]
        assert fields["upgrades"] == []  # already on the best transport
        assert (fields["pingInterval"], fields["pingTimeout"]) == (25000, 20000)
        assert fields["maxPayload"] == 1_000_000


def test_polling_handshake_fields(server):
    with raw_polling(server) as raw:
        assert set(raw.handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout",
                                      "maxPayload"}
        assert raw.handshake["upgrades"] == ["websocket"]
        assert isinstance(raw.handshake["pingInterval"], int)
        assert isinstance(raw.handshake["maxPayload"], int)


def test_handshake_reflects_the_options():
    app, _ = create_app(ping_interval=3, ping_timeout=4, max_http_buffer_size=5000)
    with LiveServer(app) as server, raw_polling(server) as raw:
        assert raw.handshake["pingInterval"] == 3000
        assert raw.handshake["pingTimeout"] == 4000
        assert raw.handshake["maxPayload"] == 5000


def test_unsupported_protocol_version_is_refused(server):
    response = requests.get(server.url + "/socket.io/?EIO=3&transport=polling", timeout=5)
    assert response.status_code == 400


# -- ping / pong -------------------------------------------------------------------------


def test_ping_pong_over_websocket_and_a_silent_client_is_dropped():
    app, _ = create_app(ping_interval=0.2, ping_timeout=0.3)
    with LiveServer(app) as server, raw_websocket(server) as alive, \
            raw_websocket(server) as silent:
        alive.recv(), silent.recv()
        alive.send("40")
        assert alive.recv().startswith("40{")
        for _ in range(3):  # the server pings every 0.2 s; answering keeps the session
            assert alive.recv() == "2"
            alive.send("3")
        assert silent.recv() == "2"
        with pytest.raises((ConnectionError, websocket.WebSocketException)):
            while silent.recv() in ("2", "6"):
                pass  # never answered: closed after ping_timeout
        alive.send('421["echo","still here"]')
        assert alive.recv_skipping_pings() == '42["echo","still here"]'
        assert alive.recv_skipping_pings() == '431["still here"]'


def test_ping_pong_over_polling():
    app, _ = create_app(ping_interval=0.2, ping_timeout=1)
    with LiveServer(app) as server, raw_polling(server) as raw:
        assert raw.get() == ["2"]
        assert raw.post("3").text == "ok"
        assert raw.get() == ["2"]
        raw.post("3")
        raw.post("40")
        assert raw.get_skipping_pings()[0].startswith("40{")


# -- Socket.IO over WebSocket -------------------------------------------------------------


def test_namespace_connect_event_and_ack_over_websocket(server):
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40")
        connected = raw.recv()
        assert connected.startswith("40{")
        sid = json.loads(connected[2:])["sid"]
        raw.send('42["echo","one",{"two":2}]')
        assert raw.recv_skipping_pings() == '42["echo","one",{"two":2}]'
        raw.send('427["whoami"]')
        assert raw.recv_skipping_pings() == f'437["{sid}"]'


def test_a_second_namespace_over_websocket(server):
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40/chat,")
        assert raw.recv().startswith('40/chat,{"sid":')
        raw.send('42/chat,3["echo","hi"]')
        assert raw.recv_skipping_pings() == '42/chat,["echo","hi",{"namespace":"/chat"}]'
        assert raw.recv_skipping_pings() == '43/chat,3["hi",{"namespace":"/chat"}]'
        raw.send("41/chat,")
        raw.send("40")
        assert raw.recv_skipping_pings().startswith("40{")  # the session lives on


def test_server_to_client_ack_over_websocket(server):
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40")
        raw.recv()
        raw.send('429["ask","how?"]')
        question = raw.recv_skipping_pings()
        assert question.startswith("42") and question.endswith('["question","how?"]')
        ack_id = question[2:question.index("[")]
        assert ack_id.isdigit()
        raw.send(f'43{ack_id}["like this"]')
        assert raw.recv_skipping_pings() == '439["like this"]'


def test_binary_attachments_over_websocket(server):
    payload = bytes(range(256))
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40")
        raw.recv()
        raw.send('451-4["echo",{"_placeholder":true,"num":0}]')
        raw.send(payload)
        header = raw.recv_skipping_pings()
        assert header == '451-["echo",{"_placeholder":true,"num":0}]'
        assert raw.recv() == payload
        assert raw.recv_skipping_pings() == '461-4[{"_placeholder":true,"num":0}]'
        assert raw.recv() == payload


def test_connect_error_over_websocket(server):
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40/nowhere,")
        packet = raw.recv()
        assert packet.startswith("44/nowhere,")
        assert json.loads(packet[len("44/nowhere,"):]) == {"message": "Invalid namespace"}
        raw.send("40/private,")
        assert raw.recv() == '44/private,{"message":"members only"}'
        raw.send('40{"token":"wrong"}')
        assert raw.recv() == '44{"message":"bad token"}'
        raw.send('40{"token":"secret"}')
        assert raw.recv().startswith('40{"sid":')


# -- Socket.IO over long-polling ----------------------------------------------------------


def test_namespace_connect_event_and_ack_over_polling(server):
    with raw_polling(server) as raw:
        assert raw.post("40").text == "ok"
        connected = raw.get_skipping_pings()
        assert connected[0].startswith("40{")
        raw.post('425["echo","x"]')
        assert raw.get_skipping_pings() == ['42["echo","x"]', '435["x"]']


def test_several_packets_in_one_post(server):
    with raw_polling(server) as raw:
        raw.post("40", '42["echo",1]', '42["echo",2]')
        packets = []
        while len(packets) < 3:
            packets += raw.get_skipping_pings()
        assert packets[0].startswith("40{")
        assert packets[1:] == ['42["echo",1]', '42["echo",2]']


def test_binary_attachments_over_polling(server):
    payload = bytes(range(256))
    encoded = "b" + base64.b64encode(payload).decode()
    with raw_polling(server) as raw:
        raw.post("40")
        raw.get_skipping_pings()
        raw.post('451-["echo",{"_placeholder":true,"num":0}]', encoded)
        packets = []
        while len(packets) < 2:
            packets += raw.get_skipping_pings()
        assert packets == ['451-["echo",{"_placeholder":true,"num":0}]', encoded]


def test_connect_error_over_polling(server):
    with raw_polling(server) as raw:
        raw.post("40/nowhere,")
        packet = raw.get_skipping_pings()[0]
        assert packet.startswith("44/nowhere,")
        assert json.loads(packet[len("44/nowhere,"):]) == {"message": "Invalid namespace"}


# -- the upgrade -------------------------------------------------------------------------


def test_polling_to_websocket_upgrade(server):
    with raw_polling(server) as raw:
        raw.post("40")
        assert raw.get_skipping_pings()[0].startswith("40{")
        pending: list[list[str]] = []
        poll = threading.Thread(target=lambda: pending.append(raw.get()), daemon=True)
        poll.start()  # a GET waits on the server while the upgrade happens
        with raw_websocket(server, f"&sid={raw.sid}") as upgraded:
            upgraded.send("2probe")
            assert upgraded.recv() == "3probe"
            poll.join(5)
            assert not poll.is_alive()
            assert pending == [["6"]]  # the pending poll ends with a NOOP
            upgraded.send("5")
            upgraded.send('42["echo","over websocket"]')
            assert upgraded.recv_skipping_pings() == '42["echo","over websocket"]'
            after = raw.http.get(raw.url, timeout=5)
            assert after.status_code == 400  # polling is over for this session
            upgraded.send('421["whoami"]')
            assert upgraded.recv_skipping_pings().startswith('431["')


def test_upgrade_without_probe_is_not_upgraded(server):
    with raw_polling(server) as raw:
        raw.post("40")
        raw.get_skipping_pings()
        with raw_websocket(server, f"&sid={raw.sid}") as upgraded:
            upgraded.send("5")  # UPGRADE before the probe breaks the upgrade
            with pytest.raises((ConnectionError, websocket.WebSocketException)):
                upgraded.recv()
        raw.post('42["echo","still polling"]')
        assert raw.get_skipping_pings() == ['42["echo","still polling"]']
