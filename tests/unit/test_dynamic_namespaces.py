"""Dynamic namespaces in-process: the namespaces option and handlers on patterns (a
compiled regex or a predicate)."""

from __future__ import annotations

import re

import pytest
from flask import Flask, request

from flask_socketio import EventRefused, Namespace, SocketIO, emit, join_room

pytestmark = pytest.mark.socketio_leak_guard

ROOMS = re.compile(r"^/room-\d+$")
INVALID = {"message": "Invalid namespace"}


def make_app(**options) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    return app, SocketIO(app, **options)


def test_handlers_on_a_regex_serve_every_matching_namespace():
    app, socketio = make_app()
    connected = []

    @socketio.on("connect", namespace=ROOMS)
    def on_connect(auth):
        connected.append((request.namespace, request.sid, auth))

    @socketio.on("say", namespace=ROOMS)
    def say(text):
        join_room("talkers")
        emit("said", {"room": request.namespace, "text": text}, to="talkers")
        return request.namespace

    client = socketio.test_client(app, namespace="/room-1", auth={"a": 1})
    client.connect("/room-22")
    assert connected == [("/room-1", client.get_sid("/room-1"), {"a": 1}),
                         ("/room-22", client.get_sid("/room-22"), None)]
    assert client.call("say", "hi", namespace="/room-22") == "/room-22"
    client.assert_received("said", {"room": "/room-22", "text": "hi"}, namespace="/room-22")
    client.assert_nothing_received(namespace="/room-1")


def test_namespaces_no_pattern_matches_get_invalid_namespace():
    app, socketio = make_app()
    socketio.on_event("ping", lambda: "pong", namespace=ROOMS)
    client = socketio.test_client(app, namespace="/room-x")
    assert not client.is_connected("/room-x")
    assert client.get_connect_error("/room-x") == INVALID
    client.connect("/elsewhere-room-1")  # the regex is anchored
    assert client.get_connect_error("/elsewhere-room-1") == INVALID
    client.connect("/")  # the default namespace is still there
    assert client.is_connected("/")


def test_without_patterns_an_unknown_namespace_gets_the_same_refusal():
    app, socketio = make_app()
    socketio.on_event("ping", lambda: "pong", namespace="/known")
    client = socketio.test_client(app, namespace="/unknown")
    assert client.get_connect_error("/unknown") == INVALID


def test_the_namespaces_option_takes_a_regex_a_predicate_or_a_list_with_names():
    app, socketio = make_app(namespaces=["/", "/fixed", re.compile(r"^/team-[a-z]+$"),
                                         lambda name: name.startswith("/user/")])

    @socketio.on("*", namespace="*")
    def anything(event, *args):
        return [request.namespace, event, *args]

    client = socketio.test_client(app)
    for namespace in ("/fixed", "/team-red", "/user/ann"):
        client.connect(namespace)
        assert client.call("hello", 1, namespace=namespace) == [namespace, "hello", 1]
    for namespace in ("/team-1", "/other"):
        client.connect(namespace)
        assert client.get_connect_error(namespace) == INVALID
    only_pattern = make_app(namespaces=re.compile(r"^/x$"))
    only_pattern[1].on_event("hi", lambda: "hi", namespace="/x")
    other = only_pattern[1].test_client(only_pattern[0], namespace="/x")
    assert other.call("hi", namespace="/x") == "hi"


def test_exact_handlers_win_over_patterns_and_patterns_over_the_catch_all():
    app, socketio = make_app()
    socketio.on_event("who", lambda: "exact", namespace="/room-1")
    socketio.on_event("who", lambda: "pattern", namespace=ROOMS)
    socketio.on_event("who", lambda: "first predicate", namespace=lambda n: n.endswith("7"))
    socketio.on_event("who", lambda: "catch-all", namespace="*")
    socketio.on_event("*", lambda event: f"pattern catch-all {event}", namespace=ROOMS)
    client = socketio.test_client(app, namespace="/room-1")
    client.connect("/room-2")
    client.connect("/room-7")
    client.connect("/lobby")
    assert client.call("who", namespace="/room-1") == "exact"
    assert client.call("other", namespace="/room-1") == "pattern catch-all other"
    assert client.call("who", namespace="/room-2") == "pattern"
    assert client.call("who", namespace="/room-7") == "pattern"
    assert client.call("other", namespace="/room-2") == "pattern catch-all other"
    assert client.call("who", namespace="/lobby") == "catch-all"


def test_a_class_based_namespace_on_a_pattern():
    app, socketio = make_app()

    class Rooms(Namespace):
        def on_connect(self):
            self.emit("welcome", request.namespace)

        def on_where(self):
            return request.namespace

        def before_event(self, event, args):
            if request.namespace == "/room-0":
                raise EventRefused("room 0 is closed")

    socketio.on_namespace(Rooms(ROOMS))
    client = socketio.test_client(app, namespace="/room-5")
    client.assert_received("welcome", "/room-5", namespace="/room-5")
    assert client.call("where", namespace="/room-5") == "/room-5"
    client.connect("/room-0")
    assert client.get_connect_error("/room-0") == {"message": "room 0 is closed"}
    client.connect("/lobby")
    assert client.get_connect_error("/lobby") == INVALID


def test_hooks_on_a_pattern_and_a_predicate_that_fails():
    app, socketio = make_app()
    seen = []

    def broken(name):
        raise RuntimeError("predicate broke")

    socketio.on_event("x", lambda: "x", namespace=ROOMS)
    socketio.on_event("x", lambda: "never", namespace=broken)
    socketio.before_event(lambda event, args: seen.append((event, request.namespace)),
                          namespace=ROOMS)
    client = socketio.test_client(app, namespace="/room-3")
    client.connect("/")
    assert client.call("x", namespace="/room-3") == "x"
    assert seen == [("connect", "/room-3"), ("x", "/room-3")]
    client.connect("/nowhere")
    assert client.get_connect_error("/nowhere") == INVALID


def test_registration_after_init_app_and_before():
    socketio = SocketIO()
    socketio.on_event("early", lambda: "early", namespace=ROOMS)
    app = Flask(__name__)
    socketio.init_app(app)
    socketio.on_event("late", lambda: "late", namespace=ROOMS)
    client = socketio.test_client(app, namespace="/room-9")
    assert client.call("early", namespace="/room-9") == "early"
    assert client.call("late", namespace="/room-9") == "late"


def test_bad_namespaces_are_refused():
    with pytest.raises(ValueError):
        make_app(namespaces=["/", 3])
    app, socketio = make_app()
    with pytest.raises(ValueError):
        socketio.on("x", namespace="no-slash")
