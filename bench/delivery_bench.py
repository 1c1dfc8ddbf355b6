"""CPU time of the native engine's WebSocket write path, on real sockets, no network.

    python bench/delivery_bench.py [--members 1000] [--broadcasts 200] [--events 5000]
                                   [--rounds 5] [--pythonpath DIR]

``--members`` WebSocket sessions of the native engine, each on our WebSocket layer over
one end of a socket pair (a child process reads the other ends and throws the bytes
away), connected to namespace ``/`` as a client would be. Measured, in this process's
CPU time (``time.process_time``; the reader's CPU is its own):

- ``broadcast``: ``socketio.emit('bcast', data, to='bench')`` from a greenlet to every
  member, until every write is done; µs per delivery (per member reached);
- ``echo``: one session's ``42["echo",{...}]`` frames fed to the engine as its reader
  would, the handler emitting them back over the socket; µs per event.

The whole stack above the socket runs as in production, and the system calls of the
writes are real. The median of ``--rounds`` is printed (the first round warms up).
``--pythonpath DIR`` imports ``flask_socketio`` from DIR (an earlier copy), to compare
trees A/B in alternation.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

if "--pythonpath" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--pythonpath") + 1])

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from flask import Flask  # noqa: E402

import flask_socketio  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402
from flask_socketio.engine import websocket  # noqa: E402
from flask_socketio.engine.native import Session  # noqa: E402

PAYLOAD = {"text": "hello", "n": 42, "items": [1, 2, 3]}

#: The reader: reads every fd it is given until each is closed (bounded: 600 s).
DRAIN = """
import os, selectors, sys, time
fds = [int(fd) for fd in sys.argv[1:]]
selector = selectors.DefaultSelector()
for fd in fds:
    os.set_blocking(fd, False)
    selector.register(fd, selectors.EVENT_READ)
open_fds, deadline, total = len(fds), time.monotonic() + 600, 0
while open_fds and time.monotonic() < deadline:
    for key, _ in selector.select(1):
        try:
            data = os.read(key.fd, 1 << 20)
        except BlockingIOError:
            continue
        total += len(data)
        if not data:
            selector.unregister(key.fd)
            open_fds -= 1
print(total)
"""


def environ_for(app: Flask) -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/socket.io/", "SCRIPT_NAME": "",
            "QUERY_STRING": "EIO=4&transport=websocket", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:5000", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "flask.app": app}


def settle(sessions: list[Session]) -> None:
    """Until every session's writes are done (bounded)."""
    deadline = time.monotonic() + 60
    gevent.sleep(0)
    while any(session.queue or session.queued_bytes > 0
              for session in sessions):
        if time.monotonic() > deadline:
            raise RuntimeError("the writes did not finish in 60 s")
        gevent.sleep(0.001)
    for _ in range(3):
        gevent.sleep(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--broadcasts", type=int, default=200)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pythonpath", default=None)
    args = parser.parse_args()
    if not (1 <= args.members <= 5000 and 1 <= args.broadcasts <= 100_000
            and 1 <= args.events <= 1_000_000 and 1 <= args.rounds <= 50):
        parser.error("--members 1..5000, --broadcasts 1..100000, --events 1..1000000, "
                     "--rounds 1..50")

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    socketio = SocketIO(app, async_mode="gevent")

    @socketio.on("echo")
    def on_echo(data):
        emit("echo", data)

    @socketio.on("join")
    def on_join(room):
        join_room(room)

    engine = socketio.server.eio.network
    sessions, client_ends, server_ends = [], [], []
    for _ in range(args.members):
        server_end, client_end = socket.socketpair()
        server_ends.append(server_end)
        client_ends.append(client_end)
        sid = engine.generate_id()
        environ = environ_for(app)
        session = Session(engine, sid, environ, "websocket")
        engine.sessions[sid] = session
        session.attach_websocket(websocket.WebSocket(server_end, max_message_size=1_000_000),
                                 [])
        engine._trigger("connect", sid, environ)
        engine._receive(session, "40", polling=False)
        engine._receive(session, '42["join","bench"]', polling=False)
        sessions.append(session)
    fds = [end.fileno() for end in client_ends]
    reader = subprocess.Popen([sys.executable, "-c", DRAIN, *map(str, fds)], pass_fds=fds,
                              stdout=subprocess.PIPE, text=True)
    for end in client_ends:
        end.close()
    try:
        settle(sessions)
        out: dict = {"flask_socketio": flask_socketio.__file__, "members": args.members}

        per_delivery = []
        for _ in range(args.rounds + 1):
            start = time.process_time()
            for _ in range(args.broadcasts):
                socketio.emit("bcast", PAYLOAD, to="bench")
                gevent.sleep(0)
            settle(sessions)
            per_delivery.append((time.process_time() - start)
                                / (args.broadcasts * args.members) * 1e6)
        per_delivery = per_delivery[1:]
        out["broadcast"] = {"us_per_delivery": round(statistics.median(per_delivery), 3),
                            "min": round(min(per_delivery), 3),
                            "max": round(max(per_delivery), 3)}

        frame = "42" + json.dumps(["echo", PAYLOAD], separators=(",", ":"))
        session = sessions[0]
        per_event = []
        for _ in range(args.rounds + 1):
            start = time.process_time()
            for _ in range(args.events):
                engine._receive(session, frame, polling=False)
                for _ in range(3):
                    gevent.sleep(0)
            settle([session])
            per_event.append((time.process_time() - start) / args.events * 1e6)
        per_event = per_event[1:]
        out["echo"] = {"us_per_event": round(statistics.median(per_event), 2),
                       "min": round(min(per_event), 2), "max": round(max(per_event), 2)}
    finally:
        for end in server_ends:
            end.close()
        try:
            received, _ = reader.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait(5)
            raise
    # every broadcast and echo reached the reader: at least their frames' bytes
    message = "42" + json.dumps(["bcast", PAYLOAD], separators=(",", ":"))
    echo = "42" + json.dumps(["echo", PAYLOAD], separators=(",", ":"))
    expected = (args.members * (args.rounds + 1) * args.broadcasts * (len(message) + 2)
                + (args.rounds + 1) * args.events * (len(echo) + 2))
    out["bytes_received"], out["bytes_expected_at_least"] = int(received), expected
    print(json.dumps(out))
    return 0 if int(received) >= expected else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
