"""The soak test's server: our SocketIO on the embedded gevent server, in its own process.

    python bench/soak_server.py [--engine native|engineio]

Monkey-patches gevent first, listens on 127.0.0.1 port 0 and prints the port on
stdout, then serves until killed. The ``ack`` event returns its data; ``echo``
emits it back.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

from flask import Flask  # noqa: E402

from flask_socketio import SocketIO, emit  # noqa: E402
from flask_socketio.serving import build_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default=None, choices=["native", "engineio"])
    options = parser.parse_args()
    app = Flask(__name__)
    extra = {"engine": options.engine} if options.engine else {}
    socketio = SocketIO(app, **extra)

    @socketio.on("ack")
    def ack(data):
        return data

    @socketio.on("echo")
    def echo(data):
        emit("echo", data)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    server = build_server(socketio, app, listener=listener, log_output=False)
    print(listener.getsockname()[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
