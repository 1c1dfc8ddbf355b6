"""Engine.IO spoken by hand: a WebSocket (``websocket-client``) and a long-polling
session (``requests``), packet by packet, every wait bounded."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

import requests
import websocket

from flask_socketio.testing import LiveServer

SEPARATOR = "\x1e"


class RawWebSocket:
    """An Engine.IO connection over WebSocket, packet by packet, every wait bounded."""

    def __init__(self, url: str, timeout: float = 5) -> None:
        self.ws = websocket.create_connection(url, timeout=timeout)

    def send(self, packet: str | bytes) -> None:
        if isinstance(packet, bytes):
            self.ws.send_binary(packet)
        else:
            self.ws.send(packet)

    def recv(self) -> str | bytes:
        opcode, data = self.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return data.decode()
        if opcode == websocket.ABNF.OPCODE_BINARY:
            return data
        raise ConnectionError(f"the server closed the WebSocket (opcode {opcode})")

    def recv_skipping_pings(self, limit: int = 20) -> str | bytes:
        """The next packet that is not a ping (each ping answered); at most ``limit`` pings."""
        for _ in range(limit):
            packet = self.recv()
            if packet != "2":
                return packet
            self.send("3")
        raise AssertionError(f"only pings in {limit} packets")

    def close(self) -> None:
        self.ws.shutdown()


@contextmanager
def raw_websocket(server: LiveServer, query: str = ""):
    url = server.url.replace("http", "ws") + f"/socket.io/?EIO=4&transport=websocket{query}"
    raw = RawWebSocket(url)
    try:
        yield raw
    finally:
        raw.close()


class RawPolling:
    """An Engine.IO session over HTTP long-polling, one GET and one POST at a time."""

    def __init__(self, server: LiveServer, timeout: float = 5) -> None:
        self.base = server.url + "/socket.io/?EIO=4&transport=polling"
        self.http = requests.Session()
        self.timeout = timeout
        response = self.http.get(self.base, timeout=timeout)
        response.raise_for_status()
        assert response.text.startswith("0")
        self.handshake = json.loads(response.text[1:])
        self.sid = self.handshake["sid"]
        self.url = f"{self.base}&sid={self.sid}"

    def post(self, *packets: str) -> requests.Response:
        return self.http.post(self.url, data=SEPARATOR.join(packets).encode(),
                              headers={"Content-Type": "text/plain;charset=UTF-8"},
                              timeout=self.timeout)

    def get(self) -> list[str]:
        response = self.http.get(self.url, timeout=self.timeout)
        assert response.status_code == 200, response.text
        return response.text.split(SEPARATOR)

    def get_skipping_pings(self, limit: int = 20) -> list[str]:
        """The next packets but pings and NOOPs (pings answered); at most ``limit`` GETs."""
        for _ in range(limit):
            packets = [packet for packet in self.get() if packet != "6"]
            if "2" in packets:
                self.post("3")
                packets.remove("2")
            if packets:
                return packets
        raise AssertionError(f"only pings and NOOPs in {limit} polls")

    def close(self) -> None:
        self.http.close()


@contextmanager
def raw_polling(server: LiveServer):
    raw = RawPolling(server)
    try:
        yield raw
    finally:
        raw.close()


def assert_closed(raw: RawWebSocket, timeout: float = 5) -> list[str | bytes]:
    """Read until the server ends the WebSocket; fail if it is still open after ``timeout``.

    Returns the packets read on the way (a ping, a CLOSE packet...).
    """
    raw.ws.settimeout(timeout)
    seen: list[str | bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            seen.append(raw.recv())
        raise websocket.WebSocketTimeoutException("still receiving")
    except websocket.WebSocketTimeoutException:
        raise AssertionError(f"the WebSocket is still open after {timeout:g}s "
                             f"(read {seen!r})") from None
    except (ConnectionError, OSError, websocket.WebSocketConnectionClosedException):
        return seen
