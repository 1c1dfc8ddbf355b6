"""The benchmarked app on bare python-socketio (no Flask): ``socketio.Server(async_mode=
'gevent')`` + ``socketio.WSGIApp`` on gevent's pywsgi with gevent-websocket's handler.

Same handlers as ``flask_app.py``. Listens on 127.0.0.1, port 0, and prints
`` * Serving Flask-SocketIO app on http://127.0.0.1:PORT`` to stderr.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

import socketio  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402

sio = socketio.Server(async_mode="gevent")


@sio.on("echo")
def on_echo(sid, data):
    sio.emit("echo", data, to=sid)


@sio.on("ack")
def on_ack(sid, data):
    return data


@sio.on("join")
def on_join(sid, room):
    sio.enter_room(sid, room)
    return "ok"


@sio.on("broadcast")
def on_broadcast(sid, data):
    sio.emit("bcast", data, to="bench")


server = pywsgi.WSGIServer(("127.0.0.1", 0), socketio.WSGIApp(sio),
                           handler_class=WebSocketHandler, log=None)
server.start()
print(f" * Serving Flask-SocketIO app on http://127.0.0.1:{server.server_port}",
      file=sys.stderr, flush=True)
server.serve_forever()
