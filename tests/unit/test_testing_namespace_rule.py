"""One namespace rule: ``namespace=None`` is ``'/'`` in every method; ``ANY`` is explicit.

Before, ``receive()`` and ``assert_received()`` took ``None`` as "any namespace", so
a server emitting on the wrong namespace went unnoticed; session changes made by a
``/game`` handler were recorded under ``'/'``.
"""

from __future__ import annotations

import pytest
from flask import Flask, session

from flask_socketio import SocketIO, emit
from flask_socketio.testing import ANY, SessionChange

pytestmark = pytest.mark.socketio_leak_guard


def make_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    socketio = SocketIO(app)

    @socketio.on("news")
    def news(text):
        emit("news", text, namespace="/chat")  # the bug under test: the wrong namespace

    @socketio.on("connect", namespace="/chat")
    def chat_connect(auth):
        pass

    @socketio.on("score", namespace="/game")
    def score(points):
        session["score"] = points
        emit("scored", points)

    @socketio.on("connect", namespace="/game")
    def game_connect(auth):
        session["player"] = "ann"

    return app, socketio


def test_assert_received_without_namespace_does_not_see_another_namespace():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/chat")
    client.emit("news", "hi")
    with pytest.raises(AssertionError) as failure:
        client.assert_received("news", "hi")
    assert "'news', args=['hi'], namespace='/chat'" in str(failure.value)  # what is waiting
    client.assert_received("news", "hi", namespace="/chat")


def test_receive_without_namespace_means_the_default_one():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/chat")
    client.emit("news", "hi")
    with pytest.raises(TimeoutError, match="on namespace '/'"):
        client.receive("news")
    assert client.receive("news", namespace=ANY).namespace == "/chat"


def test_any_namespace_is_explicit_everywhere():
    app, socketio = make_app()
    client = socketio.test_client(app)
    client.connect("/chat")
    client.emit("news", "a")
    client.emit("news", "b")
    client.emit("news", "c")
    client.assert_nothing_received()
    with pytest.raises(AssertionError):
        client.assert_nothing_received(ANY)
    client.assert_received("news", "a", namespace=ANY)
    client.refute_received("news")
    with pytest.raises(AssertionError):
        client.refute_received("news", namespace=ANY)
    assert client.get_received() == []
    assert [event.args for event in client.get_received(ANY)] == [["b"], ["c"]]


def test_a_client_of_another_namespace_waiting_on_the_default_one_is_told():
    app, socketio = make_app()
    client = socketio.test_client(app, namespace="/chat")
    with pytest.raises(RuntimeError, match="namespace '/' is not connected"):
        client.receive("news")


def test_session_changes_carry_their_namespace():
    app, socketio = make_app()
    client = socketio.test_client(app, namespace="/game")
    client.emit("score", 3, namespace="/game")
    assert client.session_changes == [
        SessionChange("player", SessionChange.MISSING, "ann", "connect", "/game"),
        SessionChange("score", SessionChange.MISSING, 3, "score", "/game"),
    ]
    assert [entry.namespace for entry in client.transcript.of_kind("session")] == [
        "/game", "/game"]


def test_session_change_namespace_defaults_to_the_default_namespace():
    assert SessionChange("k", 1, 2, "e") == SessionChange("k", 1, 2, "e", "/")
    assert SessionChange("k", 1, 2, "e") != SessionChange("k", 1, 2, "e", "/game")
