"""The benchmarked app on Flask-SocketIO: ours (native engine or python-engineio) or the
peer (Flask-SocketIO 5.x, run with its virtualenv's Python: ``.venv-peer/bin/python -I``).

    python bench/servers/flask_app.py [--engine native|engineio] [--peer]

The handlers are the same code for both implementations (their APIs agree):
``echo`` emits the data back, ``ack`` returns it, ``join`` joins a room and acks,
``broadcast`` emits ``bcast`` to the room. It listens on 127.0.0.1, port 0, and
prints `` * Serving Flask-SocketIO app on http://127.0.0.1:PORT`` to stderr.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import sys  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--engine", default=None, help="ours: 'native' (default) or 'engineio'")
parser.add_argument("--peer", action="store_true", help="serve as Flask-SocketIO 5.x does")
parser.add_argument("--pythonpath", default=None,
                    help="import flask_socketio from this folder (an earlier copy of ours)")
options = parser.parse_args()
if options.pythonpath:
    sys.path.insert(0, options.pythonpath)

from flask import Flask  # noqa: E402

from flask_socketio import SocketIO, emit, join_room  # noqa: E402

app = Flask(__name__)
app.config["SECRET_KEY"] = "bench"
kwargs = {"async_mode": "gevent"}
if options.engine:
    kwargs["engine"] = options.engine
socketio = SocketIO(app, **kwargs)


@socketio.on("echo")
def on_echo(data):
    emit("echo", data)


@socketio.on("ack")
def on_ack(data):
    return data


@socketio.on("join")
def on_join(room):
    join_room(room)
    return "ok"


@socketio.on("broadcast")
def on_broadcast(data):
    emit("bcast", data, to="bench")


if options.peer:
    # What Flask-SocketIO 5.x's socketio.run() does on gevent with gevent-websocket,
    # with port 0 and the port printed.
    from gevent import pywsgi
    from geventwebsocket.handler import WebSocketHandler

    server = pywsgi.WSGIServer(("127.0.0.1", 0), app, handler_class=WebSocketHandler, log=None)
    server.start()
    print(f" * Serving Flask-SocketIO app on http://127.0.0.1:{server.server_port}",
          file=sys.stderr, flush=True)
    server.serve_forever()
else:
    socketio.run(app, host="127.0.0.1", port=0)
