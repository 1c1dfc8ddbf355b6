"""Event middleware and rate limiting, in-process and live over each transport.

One app (``app`` below, overriding the conftest's) with a before-event hook that
refuses ``forbidden`` and connections with a wrong token, an after-event hook that
records, and a RateLimit on ``limited`` (one per minute: the second is refused on any
clock).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g, request

from flask_socketio import EventRefused, Namespace, RateLimit, SocketIO


class Audited(Namespace):
    def before_event(self, event: str, args: tuple) -> None:
        if event == "secret":
            raise EventRefused("class says no", disconnect=True)

    def on_secret(self) -> str:
        return "leaked"

    def on_hello(self) -> str:
        return "hello from " + request.namespace


def create_features_app() -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    socketio = SocketIO(app)
    app.config["after"] = after_seen = []

    @socketio.before_event
    def gate(event: str, args: tuple) -> None:
        g.gate = "passed"
        if event == "connect" and (args[0] or {}).get("token") == "wrong":
            raise EventRefused("bad token", ack={"hint": "ask an admin"})
        if event == "forbidden":
            raise EventRefused("forbidden event")

    @socketio.after_event
    def record(event: str, args: tuple, result: Any, error: BaseException | None) -> None:
        after_seen.append((event, list(args), result, type(error).__name__ if error else None))

    socketio.before_event(RateLimit(1, per=60, events=["limited"]))

    @socketio.on("forbidden")
    def forbidden() -> str:
        return "should not run"

    @socketio.on("limited")
    def limited(n: int) -> list:
        return ["ok", n, g.gate]

    @socketio.on("seen")
    def seen() -> list:
        return list(after_seen)

    socketio.on_namespace(Audited("/audited"))
    return app, socketio


@pytest.fixture
def app() -> Flask:
    flask_app, _ = create_features_app()
    return flask_app


def test_a_hook_refuses_an_event_with_an_error_ack_and_others_pass(make_client):
    client = make_client()
    assert client.call("forbidden") == {"error": "forbidden event"}
    assert client.call("limited", 1) == ["ok", 1, "passed"]
    refused = {"error": "rate limit exceeded", "retry_after": pytest.approx(60, abs=10)}
    assert client.call("limited", 2) == refused
    seen = client.call("seen")
    assert [entry for entry in seen if entry[0] != "connect"] == [
        ["forbidden", [], {"error": "forbidden event"}, "EventRefused"],
        ["limited", [1], ["ok", 1, "passed"], None],
        ["limited", [2], refused, "EventRefused"]]
    assert client.is_connected()


def test_a_hook_refuses_a_connection(make_client):
    client = make_client(auth={"token": "wrong"})
    assert not client.is_connected()
    assert client.get_connect_error() == {"message": "bad token",
                                          "data": {"hint": "ask an admin"}}


def test_a_class_namespace_hook_refuses_and_disconnects(make_client):
    client = make_client(namespace="/audited")
    assert client.call("hello", namespace="/audited") == "hello from /audited"
    assert client.call("secret", namespace="/audited") == {"error": "class says no"}
    if make_client.mode != "inprocess":
        client.wait_disconnected("/audited", timeout=5)
    assert not client.is_connected("/audited")
