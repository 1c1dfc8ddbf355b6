"""A raw gevent-websocket echo (no Engine.IO, no Socket.IO): the floor of issue 8's
ratio. Every text frame received on ``/echo`` is sent back as it is.

Listens on 127.0.0.1, port 0, and prints
`` * Serving Flask-SocketIO app on http://127.0.0.1:PORT`` to stderr.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402


def application(environ, start_response):
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"WebSocket only"]
    while True:
        message = ws.receive()
        if message is None:
            break
        ws.send(message)
    return []


server = pywsgi.WSGIServer(("127.0.0.1", 0), application, handler_class=WebSocketHandler,
                           log=None)
server.start()
print(f" * Serving Flask-SocketIO app on http://127.0.0.1:{server.server_port}",
      file=sys.stderr, flush=True)
server.serve_forever()
