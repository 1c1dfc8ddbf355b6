"""The plain app the oracle corpus runs against ours: the Flask-SocketIO way of writing
what ``reference_app.js`` does with Node's socket.io.

Run as ``python plain_app.py PING_INTERVAL_MS PING_TIMEOUT_MS``; served by
``socketio.run(app, port=0)`` on 127.0.0.1 (the ``Serving Flask-SocketIO app on``
line on stderr gives the port).
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from flask import Flask  # noqa: E402

from flask_socketio import (  # noqa: E402
    ConnectionRefusedError,
    SocketIO,
    disconnect,
    emit,
    join_room,
)

ping_interval, ping_timeout = (int(value) / 1000 for value in sys.argv[1:3])
app = Flask(__name__)
socketio = SocketIO(app, ping_interval=ping_interval, ping_timeout=ping_timeout,
                    max_http_buffer_size=1_000_000, connect_timeout=0.8,
                    cors_allowed_origins="*")


def common(namespace: str) -> None:
    """The events both ``/`` and ``/custom`` answer."""

    @socketio.on("connect", namespace=namespace)
    def on_connect(auth=None):
        emit("auth", auth)

    @socketio.on("message", namespace=namespace)
    def on_message(*args):
        emit("message-back", *args)

    @socketio.on("message-with-ack", namespace=namespace)
    def on_message_with_ack(*args):
        return args

    @socketio.on("burst", namespace=namespace)
    def on_burst(count):
        for index in range(count):
            emit("item", index)

    @socketio.on("ask", namespace=namespace)
    def on_ask(question):
        emit("question", question, callback=lambda *answer: emit("answer", *answer))

    @socketio.on("disconnect-me", namespace=namespace)
    def on_disconnect_me():
        disconnect()

    @socketio.on("join-and-broadcast", namespace=namespace)
    def on_join_and_broadcast(room):
        join_room(room)
        emit("room-message", room, to=room)


common("/")
common("/custom")


@socketio.on("connect", namespace="/refused")
def refuse():
    raise ConnectionRefusedError("not allowed")


@socketio.on("connect", namespace="/refused-with-data")
def refuse_with_data():
    raise ConnectionRefusedError("not allowed", {"reason": "no token"})


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=0)
