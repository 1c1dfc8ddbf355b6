"""The shortest path through the product: connect, emit, receive, ack."""

from flask import Flask

from flask_socketio import SocketIO, emit


def make_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    socketio = SocketIO(app)

    @socketio.on("echo")
    def echo(data):
        emit("echo", data)
        return "ack", data

    return app, socketio


def test_echo_round_trip():
    app, socketio = make_app()
    client = socketio.test_client(app)
    assert client.is_connected()
    assert client.emit("echo", {"a": 1}, callback=True) == ["ack", {"a": 1}]
    assert client.get_received() == [{"name": "echo", "args": [{"a": 1}], "namespace": "/"}]
    client.disconnect()
    assert not client.is_connected()
    assert socketio.server.environ == {}
