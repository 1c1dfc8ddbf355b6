"""The application of the deployment examples: the same file behind the embedded
server, gunicorn, uWSGI and nginx.

Environment:

- ``MESSAGE_QUEUE``: the URL of the queue the processes share (none by default);
- ``SOCKETIO_CHANNEL``: the queue's channel (``flask-socketio`` by default);
- ``PORT``: where ``python app.py`` listens (5000 by default; 0 picks a free port).
"""

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import os

from flask import Flask

from flask_socketio import SocketIO, emit, join_room

try:
    import uwsgi  # noqa: F401  (importable only inside uWSGI)

    ASYNC_MODE = "gevent_uwsgi"  # uWSGI's own WebSocket support, on gevent
except ImportError:
    ASYNC_MODE = "gevent"

app = Flask(__name__)
socketio = SocketIO(app, async_mode=ASYNC_MODE,
                    message_queue=os.environ.get("MESSAGE_QUEUE"),
                    channel=os.environ.get("SOCKETIO_CHANNEL", "flask-socketio"))


@app.route("/")
def index():
    return {"pid": os.getpid()}


@socketio.on("echo")
def echo(data):
    return data


@socketio.on("pid")
def pid():
    return os.getpid()


@socketio.on("join")
def join(room):
    join_room(room)
    return os.getpid()


@socketio.on("say")
def say(room, text):
    emit("said", {"text": text, "pid": os.getpid()}, to=room)
    return True


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
