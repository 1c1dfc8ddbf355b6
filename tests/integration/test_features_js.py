"""Event middleware, rate limits, volatile emits and dynamic namespaces as
socket.io-client v4 (from Node) sees them, over each transport.

Skipped when Node or the package is missing, failed under ``CI=true``.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask, request

from .support import run_node
from .test_event_middleware import create_features_app
from .test_volatile_live import add_burst_handler

BURST = 20


@pytest.fixture
def app() -> Flask:
    flask_app, socketio = create_features_app()

    add_burst_handler(socketio)

    @socketio.on("where", namespace=re.compile(r"^/room-\d+$"))
    def where() -> str:
        return request.namespace

    return flask_app


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_what_socket_io_client_sees(socketio_server, transport):
    result = run_node("features.js", socketio_server.url, transport)
    assert result["refusal"] == {"message": "bad token", "data": {"hint": "ask an admin"}}
    assert result["forbidden"] == [{"error": "forbidden event"}]
    assert result["limited"][0] == [["ok", 1, "passed"]]
    assert result["limited"][1][0]["error"] == "rate limit exceeded"
    assert result["secret"] == [{"error": "class says no"}]
    assert result["auditedReason"] == "io server disconnect"
    assert result["dropped"] >= BURST - 1
    assert len(result["positions"]) + result["dropped"] == BURST
    assert result["where"] == ["/room-12"]
    assert result["invalid"]["message"] == "Invalid namespace"
