"""One server node of the scale tests, run as ``python tests/integration/apps/node.py``.

Serves with ``socketio.run(app, port=0)`` (the line ``* Serving Flask-SocketIO app on
http://127.0.0.1:PORT`` on stderr gives the port) and shares a message queue given
by the environment: ``MESSAGE_QUEUE`` (the URL), ``CHANNEL`` and
``MESSAGE_QUEUE_OPTIONS`` (JSON). Events let a test
make this node emit, join, close rooms and disconnect clients of other nodes;
``GET /status`` tells the queue's state. With ``NODES=N`` (N > 1) the process
serves N nodes, each its own app and ``SocketIO`` on its own port, sharing the
queue: for ``memory://``, which only nodes of one process share.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from flask import Flask, jsonify  # noqa: E402

from flask_socketio import SocketIO, close_room, disconnect, join_room  # noqa: E402


def make_node():
    """A node's app and ``SocketIO``, configured from the environment."""
    app = Flask(__name__)
    socketio = SocketIO(app, message_queue=os.environ["MESSAGE_QUEUE"],
                        channel=os.environ.get("CHANNEL", "flask-socketio"),
                        message_queue_options=json.loads(
                            os.environ.get("MESSAGE_QUEUE_OPTIONS", "{}")))
    queue_changes = []

    @socketio.on_queue_status
    def record_queue_status(status):
        queue_changes.append(status.state)

    @socketio.on("join")
    def on_join(room):
        join_room(room)
        return room

    @socketio.on("broadcast")
    def on_broadcast(data):
        socketio.emit("news", data)
        return True

    @socketio.on("to_room")
    def on_to_room(room, data):
        socketio.emit("room_news", data, to=room)
        return True

    @socketio.on("close")
    def on_close(room):
        close_room(room)
        return True

    @socketio.on("join_other")
    def on_join_other(sid, room):
        join_room(room, sid=sid, namespace="/")
        return True

    @socketio.on("kick")
    def on_kick(sid):
        disconnect(sid=sid, namespace="/")
        return True

    @socketio.on("stream")
    def on_stream(count, interval):
        """Broadcast ``seq`` 0..count-1, ``interval`` seconds apart, from a task."""

        def stream():
            for number in range(count):
                socketio.emit("seq", number)
                socketio.sleep(interval)
            socketio.emit("stream_done", count)

        socketio.start_background_task(stream)
        return True

    @app.route("/status")
    def status():
        queue = socketio.queue_status
        return jsonify(pid=os.getpid(), state=queue.state if queue else None,
                       error=queue.error if queue else None,
                       outages=queue.outages if queue else 0,
                       unpublished=queue.unpublished if queue else 0,
                       gaps=queue.gaps if queue else 0,
                       changes=queue_changes)

    return app, socketio


if __name__ == "__main__":
    import logging

    import gevent

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    nodes = [make_node() for _ in range(int(os.environ.get("NODES", "1")))]
    gevent.joinall([gevent.spawn(socketio.run, app, host="127.0.0.1", port=0)
                    for app, socketio in nodes], raise_error=True)
