"""Live bad input: each bad connection is closed, the others carry on.

Every test runs on both network engines: ``native`` (ours, the default on gevent)
and ``engineio`` (python-engineio's ``Server``, kept as an option). A bystander,
connected before the bad input, must keep receiving afterwards.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests
import websocket

from flask_socketio.testing import LiveServer

from .live_app import create_app
from .raw import SEPARATOR, RawPolling, assert_closed, raw_polling, raw_websocket

ENGINES = ["native", "engineio"]
LIMIT = 1000  # max_http_buffer_size of these tests


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def server(engine):
    app, _ = create_app(engine=engine, max_http_buffer_size=LIMIT)
    with LiveServer(app) as live:
        yield live


@pytest.fixture
def bystander(server):
    """A live client connected before the bad input; it must not notice any."""
    client = server.client()
    assert client.call("echo", "before") == "before"
    return client


def assert_bystander_unharmed(server: LiveServer, bystander) -> None:
    assert bystander.is_connected()
    assert bystander.call("echo", "after") == "after"
    shouter = server.client(transports=["polling"])
    assert shouter.call("shout", "still listening?") is True
    bystander.assert_received("shouted", "still listening?")


def post_while_polling(raw: RawPolling, packet: str, timeout: float = 3
                       ) -> tuple[requests.Response, list[str]]:
    """POST ``packet`` while a GET of the session waits on the server, as real clients poll.

    Returns the POST's response and what the GET got: ``[]`` for a refused GET (the
    session is gone). Fails if the GET is still waiting after ``timeout``.
    """
    polled: list[requests.Response | None] = []

    def poll() -> None:
        try:
            polled.append(raw.http.get(raw.url, timeout=timeout))
        except requests.exceptions.ReadTimeout:
            polled.append(None)

    get = threading.Thread(target=poll, daemon=True)
    get.start()
    time.sleep(0.2)  # the GET reaches the server and waits there first
    try:
        posted = requests.post(raw.url, data=packet.encode(), timeout=timeout,
                               headers={"Content-Type": "text/plain;charset=UTF-8"})
    finally:
        get.join(timeout + 1)
    assert polled, "the GET did not end"
    if polled[0] is None:
        raise AssertionError(f"the session is still open: a GET waited {timeout:g}s for "
                             "packets")
    packets = polled[0].text.split(SEPARATOR) if polled[0].status_code == 200 else []
    return posted, packets


def assert_session_gone(raw: RawPolling, packets: list[str]) -> None:
    """The GET was refused or ended with a CLOSE packet, and the session stays gone."""
    assert packets == [] or packets[-1] == "1", f"the session is still open: {packets!r}"
    assert raw.http.get(raw.url, timeout=3).status_code == 400


#: Where python-engineio (``engine='engineio'``) falls short of Engine.IO and the
#: native engine does not: documented here, owned by the engine's issue.
ENGINEIO_KEEPS_BAD_POLLING_SESSION = pytest.mark.xfail(
    strict=True, reason="python-engineio answers an undecodable polling POST with 200 "
    "('post request handler error' is logged) and keeps the session open")


# -- malformed Engine.IO packets --------------------------------------------------------------


def test_malformed_engineio_packet_over_websocket_closes_that_connection(server, bystander):
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40")
        assert raw.recv().startswith("40{")
        raw.send("x-not-a-packet-type")
        assert_closed(raw)
    assert_bystander_unharmed(server, bystander)


def test_malformed_engineio_packet_over_polling_closes_that_session(server, bystander,
                                                                    engine, request):
    if engine == "engineio":
        request.applymarker(ENGINEIO_KEEPS_BAD_POLLING_SESSION)
    with raw_polling(server) as raw:
        raw.post("40")
        raw.get_skipping_pings()
        response, packets = post_while_polling(raw, "x-not-a-packet-type")
        assert response.status_code == 400
        assert_session_gone(raw, packets)
    assert_bystander_unharmed(server, bystander)


# -- malformed Socket.IO packets --------------------------------------------------------------

BAD_SOCKETIO = {
    "unknown packet type": "49",
    "broken JSON": '42["echo", "unterminated',
    "event that is not a list": '42{"not": "a list"}',
    "binary without attachments": '45-["echo"]',
}


@pytest.mark.parametrize("packet", BAD_SOCKETIO.values(), ids=BAD_SOCKETIO.keys())
def test_malformed_socketio_packet_over_websocket_closes_that_connection(server, bystander,
                                                                           packet):
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40")
        assert raw.recv().startswith("40{")
        raw.send("4" + packet)
        assert_closed(raw)
    assert_bystander_unharmed(server, bystander)


def test_malformed_socketio_packet_over_polling_closes_that_session(server, bystander):
    with raw_polling(server) as raw:
        raw.post("40")
        raw.get_skipping_pings()
        _, packets = post_while_polling(raw, "4" + BAD_SOCKETIO["broken JSON"])
        assert_session_gone(raw, packets)
    assert_bystander_unharmed(server, bystander)


# -- above max_http_buffer_size ---------------------------------------------------------------


def event_of_size(size: int) -> str:
    """A ``42["echo","xxx..."]`` Engine.IO message packet of exactly ``size`` characters."""
    frame = '42["echo",""]'
    return frame[:-2] + "x" * (size - len(frame)) + '"]'


def test_a_message_at_the_limit_passes_over_both_transports(server):
    packet = event_of_size(LIMIT)
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40")
        raw.recv()
        raw.send(packet)
        assert raw.recv_skipping_pings() == packet
    with raw_polling(server) as raw:
        raw.post("40")
        raw.get_skipping_pings()
        assert raw.post(packet).status_code == 200
        assert raw.get_skipping_pings() == [packet]


def test_a_message_above_the_limit_is_refused_over_websocket(server, bystander):
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40")
        raw.recv()
        raw.send(event_of_size(LIMIT + 1))
        seen = assert_closed(raw)
        assert not any(isinstance(packet, str) and packet.startswith('42["echo"')
                       for packet in seen)
    assert_bystander_unharmed(server, bystander)


def test_a_message_above_the_limit_is_refused_over_polling(server, bystander):
    with raw_polling(server) as raw:
        raw.post("40")
        raw.get_skipping_pings()
        response, packets = post_while_polling(raw, event_of_size(LIMIT + 1))
        assert response.status_code in (400, 413)  # python-engineio says 400, we 413
        assert not any(packet.startswith('42["echo"') for packet in packets)
        assert_session_gone(raw, packets)
    assert_bystander_unharmed(server, bystander)


# Native only: python-engineio's POST handler closes the session and then waits for a
# GET to drain its queue, a GET its closed session refuses; the client's POST only
# ends at its request timeout (the raw polling test above keeps a GET outstanding).
@pytest.mark.parametrize("engine", ["native"])
def test_a_live_client_sending_too_much_is_disconnected(server, bystander):
    for transport in ("websocket", "polling"):
        client = server.client(transports=[transport])
        client.emit("echo", "x" * (LIMIT * 2))
        client.wait_disconnected(timeout=5)
    assert_bystander_unharmed(server, bystander)


# -- namespaces and origins -------------------------------------------------------------------


def test_unknown_namespace_gets_connect_error_with_an_object(server):
    with raw_websocket(server) as raw:
        raw.recv()
        raw.send("40/nowhere,")
        packet = raw.recv()
        assert packet.startswith("44/nowhere,")
        assert json.loads(packet[len("44/nowhere,"):]) == {"message": "Invalid namespace"}
        raw.send("40")  # the connection itself is fine
        assert raw.recv().startswith("40{")


def handshake(server: LiveServer, origin: str) -> requests.Response:
    return requests.get(server.url + "/socket.io/?EIO=4&transport=polling",
                        headers={"Origin": origin}, timeout=5)


def websocket_opens(server: LiveServer, origin: str) -> bool:
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    try:
        ws = websocket.create_connection(url, origin=origin, timeout=5)
    except (websocket.WebSocketException, ConnectionError):
        return False
    try:
        return ws.recv().startswith("0{")
    except (websocket.WebSocketException, ConnectionError):
        return False
    finally:
        ws.shutdown()


def test_cross_origin_handshake_is_refused_by_default(server):
    assert handshake(server, "http://evil.example").status_code == 400
    assert not websocket_opens(server, "http://evil.example")
    same_origin = handshake(server, server.url)
    assert same_origin.status_code == 200 and same_origin.text.startswith("0{")
    assert websocket_opens(server, server.url)


def test_cross_origin_handshake_is_accepted_when_allowed(engine):
    app, _ = create_app(engine=engine, cors_allowed_origins=["http://good.example"])
    with LiveServer(app) as server:
        allowed = handshake(server, "http://good.example")
        assert allowed.status_code == 200 and allowed.text.startswith("0{")
        assert allowed.headers["Access-Control-Allow-Origin"] == "http://good.example"
        assert websocket_opens(server, "http://good.example")
        assert handshake(server, "http://evil.example").status_code == 400
        assert not websocket_opens(server, "http://evil.example")


def test_any_origin_when_allowed_with_a_star(engine):
    app, _ = create_app(engine=engine, cors_allowed_origins="*")
    with LiveServer(app) as server:
        assert handshake(server, "http://anywhere.example").status_code == 200
        assert websocket_opens(server, "http://anywhere.example")
