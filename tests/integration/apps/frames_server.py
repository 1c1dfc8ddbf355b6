"""The server of the WebSocket frame tests, run as
``python tests/integration/apps/frames_server.py [OPTIONS_JSON]``: ``socketio.run``
on port 0 (the ``* Serving Flask-SocketIO app on http://127.0.0.1:PORT`` line on
stderr gives the port), with ``SocketIO(app, **OPTIONS)``; the ``echo`` event emits
its data back.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

from flask import Flask  # noqa: E402

from flask_socketio import SocketIO, emit  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(app, **json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))


@socketio.on("echo")
def echo(data):
    emit("echo", data)


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=0)
