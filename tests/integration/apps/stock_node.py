"""A node running python-socketio's stock server, no flask_socketio, on a Redis queue:
``python stock_node.py`` with ``MESSAGE_QUEUE`` and ``CHANNEL`` in the environment.

It prints ``Serving Flask-SocketIO app on http://127.0.0.1:PORT`` (the line the test
machinery waits for); its ``broadcast`` event emits ``news`` to every client of the
cluster. Its listener logs any error it meets on the queue.
"""

from gevent import monkey

monkey.patch_all()

import logging  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import socketio  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                    format="%(asctime)s %(levelname)s %(name)s: %(message)s")
manager = socketio.RedisManager(os.environ["MESSAGE_QUEUE"], channel=os.environ["CHANNEL"])
sio = socketio.Server(client_manager=manager, async_mode="gevent", logger=True)


@sio.on("broadcast")
def broadcast(sid, data):
    sio.emit("news", data)
    return True


@sio.on("join")
def join(sid, room):
    sio.enter_room(sid, room)
    return room


server = pywsgi.WSGIServer(("127.0.0.1", 0), socketio.WSGIApp(sio), log=None,
                           handler_class=WebSocketHandler)
server.start()
print(f"* Serving Flask-SocketIO app on http://127.0.0.1:{server.server_port}",
      file=sys.stderr, flush=True)
server.serve_forever()
