"""socket.io-client v4, the JavaScript client users ship, from Node against a LiveServer.

Each test runs ``tests/integration/js/scenario.js`` (socket.io-client from the repo's
``node_modules``, installed by ``scripts/run-tests.sh``) against a fresh app, with a
timeout, and checks the JSON it prints. Skipped when Node or the package is
missing, failed under ``CI=true``.
"""

from __future__ import annotations

import pytest

from .support import run_node

TRANSPORTS = ["websocket", "polling"]


@pytest.fixture(params=TRANSPORTS)
def scenario(request, socketio_server):
    def run(name: str) -> dict:
        return run_node("scenario.js", socketio_server.url, request.param, name)

    run.transport = request.param
    return run


def test_echo_ack_and_sid(scenario):
    result = scenario("echo")
    assert result["transport"] == scenario.transport
    assert result["answer"] == ["hello", {"n": 1}]
    assert result["echoed"] == ["hello", {"n": 1}]
    assert result["whoami"] is True


def test_binary(scenario):
    assert scenario("binary") == {"same": True, "length": 256}


def test_server_calls_the_client(scenario):
    assert scenario("server_calls_client") == {"answer": "from node!"}


def test_server_emit_with_callback(scenario):
    assert scenario("server_callback") == {"answer": ["SHOUT IT"]}


def test_namespaces_and_connect_errors(scenario):
    result = scenario("namespaces")
    assert result["answer"] == ["in chat", {"namespace": "/chat"}]
    assert result["privateRefusal"]["message"] == "members only"
    assert result["unknown"]["message"] == "Invalid namespace"


def test_rooms_and_broadcast(scenario):
    result = scenario("rooms_and_broadcast")
    assert result["joined"] == [[["blue"]], [["blue"]], [["red"]]]
    assert [said[0]["text"] for said in result["said"]] == ["hi blue", "hi blue"]
    assert result["fromBlue"] is True
    assert result["others"] == [["hey"], ["hey"]]
    assert result["redSaw"] == ["echo"]  # neither the blue message nor its own shout
    assert result["redShouts"] == []


def test_auth_refusal(scenario):
    result = scenario("auth")
    assert result["refusal"]["message"] == "bad token"
    assert result["welcomed"] is True


def test_session_kept_across_events(scenario):
    assert scenario("session") == {"before": [], "after": ["grace"]}


def test_background_task_emits(scenario):
    assert scenario("background_task") == {"ticks": [0, 1, 2]}


def test_server_side_disconnect(scenario):
    assert scenario("server_disconnect") == {"bye": ["kicked"], "reason": "io server disconnect",
                                             "connected": False}


def test_polling_upgrades_to_websocket(socketio_server):
    result = run_node("scenario.js", socketio_server.url, "upgrade", "upgrade")
    assert result == {"first": "polling", "to": "websocket", "now": "websocket",
                      "answer": ["after the upgrade"]}
