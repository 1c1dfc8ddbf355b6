"""One server node of the scale tests, run as ``python tests/integration/apps/node.py``.

Serves with ``socketio.run(app, port=0)`` (the line ``* Serving Flask-SocketIO app on
http://127.0.0.1:PORT`` on stderr gives the port) and shares a message queue given
by the environment: ``MESSAGE_QUEUE`` (the URL), ``CHANNEL`` and
``MESSAGE_QUEUE_OPTIONS`` (JSON). Events let a test
make this node emit, join, close rooms and disconnect clients of other nodes;
``GET /status`` tells the queue's state and the live nodes of the cluster; other events
drive the cluster operations (``fetch``, ``bulk``, ``emit_except``, ``call_all``,
``emit_callback``, ``server_call``); ``CLUSTER_HEARTBEAT`` sets the seconds between
heartbeats, ``SERVER_EVENT_DELAY`` how long the ``whoami`` server event takes. An
empty ``MESSAGE_QUEUE`` serves one node without a queue. With ``NODES=N`` (N > 1) the process
serves N nodes, each its own app and ``SocketIO`` on its own port, sharing the
queue: for ``memory://``, which only nodes of one process share.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

from flask import Flask, jsonify  # noqa: E402

from flask_socketio import (  # noqa: E402
    ClusterTimeoutError,
    SocketIO,
    close_room,
    disconnect,
    join_room,
)


def make_node():
    """A node's app and ``SocketIO``, configured from the environment."""
    app = Flask(__name__)
    socketio = SocketIO(app, message_queue=os.environ["MESSAGE_QUEUE"] or None,
                        channel=os.environ.get("CHANNEL", "flask-socketio"),
                        message_queue_options=json.loads(
                            os.environ.get("MESSAGE_QUEUE_OPTIONS", "{}")))
    if "CLUSTER_HEARTBEAT" in os.environ:
        socketio.server.manager.heartbeat_interval = float(os.environ["CLUSTER_HEARTBEAT"])
    queue_changes = []
    add_cluster_events(socketio)

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

    streaming = {"stop": False}

    @socketio.on("stream")
    def on_stream(count, interval):
        """Broadcast ``seq`` 0..count-1, ``interval`` seconds apart, from a task (with
        ``count`` None: until ``stop_stream``); then ``stream_done`` with how many."""

        def stream():
            number = 0
            while (number < count) if count is not None else not streaming["stop"]:
                socketio.emit("seq", number)
                number += 1
                socketio.sleep(interval)
            socketio.emit("stream_done", number)

        streaming["stop"] = False
        socketio.start_background_task(stream)
        return True

    @socketio.on("stop_stream")
    def on_stop_stream():
        streaming["stop"] = True
        return True

    @app.route("/status")
    def status():
        queue = socketio.queue_status
        listening = socketio.server.manager_initialized  # not before the first client
        return jsonify(pid=os.getpid(), node_id=socketio.server.manager.node_id,
                       nodes=socketio.cluster_nodes() if listening else [],
                       state=queue.state if queue else None,
                       error=queue.error if queue else None,
                       outages=queue.outages if queue else 0,
                       unpublished=queue.unpublished if queue else 0,
                       gaps=queue.gaps if queue else 0,
                       changes=queue_changes)

    return app, socketio


def add_cluster_events(socketio):
    """Events that make this node use the cluster operations, and answer with what
    they found."""
    callback_answers = []

    @socketio.on("connect")
    def on_connect(auth=None):
        if isinstance(auth, dict):
            socketio.socket_data().update(auth)

    @socketio.on("fetch")
    def on_fetch(to=None, timeout=5, exclude=None):
        found = socketio.fetch_sockets(to, exclude=exclude, timeout=timeout)
        return {"sockets": {s.sid: {"rooms": sorted(map(str, s.rooms)), "data": s.data,
                                    "node": s.node_id} for s in found},
                "missing_nodes": list(found.missing_nodes)}

    @socketio.on("bulk")
    def on_bulk(operation, rooms, to=None, exclude=None):
        if operation == "disconnect":
            socketio.disconnect_sockets(to, exclude=exclude, close=bool(rooms))
        else:
            getattr(socketio, f"sockets_{operation}")(rooms, to, exclude=exclude)
        return True

    @socketio.on("emit_except")
    def on_emit_except(data, to, exclude):
        socketio.emit("news_except", data, to=to, exclude=exclude)
        return True

    @socketio.on("call_all")
    def on_call_all(to=None, timeout=10):
        try:
            return {"answers": socketio.call_all("question", to=to, timeout=timeout)}
        except ClusterTimeoutError as exc:
            return {"answers": exc.answers, "missing": list(exc.missing),
                    "missing_nodes": list(exc.missing_nodes)}

    @socketio.on("emit_callback")
    def on_emit_callback(to):
        socketio.emit("question", to=to,
                      callback=lambda sid, *answer: callback_answers.append([sid, *answer]))
        return True

    @socketio.on("callback_answers")
    def on_callback_answers():
        return callback_answers

    @socketio.on_server_event("whoami")
    def whoami(greeting):
        socketio.sleep(float(os.environ.get("SERVER_EVENT_DELAY", "0")))
        return f"{greeting} from {os.getpid()}"

    @socketio.on("server_call")
    def on_server_call(event, timeout=5):
        try:
            return {"answers": socketio.server_side_call(event, "hello", timeout=timeout)}
        except ClusterTimeoutError as exc:
            return {"answers": exc.answers, "missing_nodes": list(exc.missing_nodes)}


if __name__ == "__main__":
    import logging

    import gevent

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    nodes = [make_node() for _ in range(int(os.environ.get("NODES", "1")))]
    gevent.joinall([gevent.spawn(socketio.run, app, host="127.0.0.1", port=0)
                    for app, socketio in nodes], raise_error=True)
