"""Dynamic namespaces in-process and live over each transport: handlers on a regex serve
every matching namespace, others get Node's ``Invalid namespace``."""

from __future__ import annotations

import re

import pytest
from flask import Flask, request

from flask_socketio import Namespace, SocketIO, emit

ROOMS = re.compile(r"^/room-\d+$")


class Teams(Namespace):
    def on_connect(self, auth):
        self.emit("welcome", {"team": request.namespace, "auth": auth})

    def on_name(self):
        return request.namespace.split("/")[-1]


def create_dynamic_app() -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    socketio = SocketIO(app, namespaces=["/", lambda name: name.startswith("/open/")])

    @socketio.on("where", namespace=ROOMS)
    def where() -> str:
        emit("here", request.namespace)
        return request.namespace

    @socketio.on("*", namespace="*")
    def anything(event: str, *args) -> list:
        return ["catch-all", request.namespace, event]

    socketio.on_namespace(Teams(re.compile(r"^/team/[a-z]+$")))
    return app, socketio


@pytest.fixture
def app() -> Flask:
    flask_app, _ = create_dynamic_app()
    return flask_app


def test_a_regex_namespace_serves_every_match(make_client):
    client = make_client(namespace="/room-12")
    assert client.call("where", namespace="/room-12") == "/room-12"
    client.assert_received("here", "/room-12", namespace="/room-12")
    other = make_client(namespace="/room-7")
    assert other.call("where", namespace="/room-7") == "/room-7"


def test_a_class_namespace_on_a_pattern_and_a_predicate_in_the_option(make_client):
    client = make_client(namespace="/team/red", auth={"k": 1})
    client.receive("welcome", namespace="/team/red", timeout=5)
    assert client.call("name", namespace="/team/red") == "red"
    opened = make_client(namespace="/open/anything")
    assert opened.call("ping", namespace="/open/anything") == [
        "catch-all", "/open/anything", "ping"]


@pytest.mark.parametrize("namespace", ["/room-x", "/team/Red", "/closed"])
def test_a_namespace_no_pattern_matches_is_refused(make_client, namespace):
    client = make_client(namespace=namespace)
    assert not client.is_connected(namespace)
    assert client.get_connect_error(namespace) == {"message": "Invalid namespace"}
