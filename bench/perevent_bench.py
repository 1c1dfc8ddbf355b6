"""CPU time of one event through our whole server stack, without the network.

    python bench/perevent_bench.py [--events 20000] [--rounds 5] [--pythonpath DIR]

A WebSocket session of the native engine gets a fake WebSocket (``send`` appends to a
list), then text frames are fed to the engine as its reader would
(``NativeEngine._receive``): ``42["echo",{...}]`` (the handler emits it back) and
``421["ack",{...}]`` (the handler returns it). Everything above the socket runs as in
production: Engine.IO packet parsing, python-socketio's decoding and dispatch (a task
per event), the Flask bridge, the handler, the emit, encoding, the engine's send.
The time is process CPU time (``time.process_time``), which other processes on the
machine disturb far less than wall time; the median of ``--rounds`` is printed, in
µs per event. ``--pythonpath DIR`` imports ``flask_socketio`` from DIR (to compare
with a copy of an earlier version); ``--only echo`` (or ``ack``) measures one kind.
Under ``valgrind --tool=callgrind`` (instruction counts, which other processes do
not disturb), the difference between two ``--events`` counts is the cost of the events.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

if "--pythonpath" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--pythonpath") + 1])

import argparse  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from flask import Flask  # noqa: E402

import flask_socketio  # noqa: E402
from flask_socketio import SocketIO, emit  # noqa: E402
from flask_socketio.engine.native import Session  # noqa: E402

PAYLOAD = {"text": "hello", "n": 42, "items": [1, 2, 3]}


class FakeWebSocket:
    """The native engine's WebSocket seam, writing to a list."""

    def __init__(self) -> None:
        self.sent: list = []

    def receive(self):
        return None

    def send_batch(self, messages) -> None:
        self.sent.extend(messages)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def settle() -> None:
    """Let the handler run and the session's writer write."""
    for _ in range(3):
        gevent.sleep(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pythonpath", default=None)
    parser.add_argument("--only", choices=("echo", "ack"), default=None,
                        help="measure one kind of event only")
    args = parser.parse_args()
    if not 1 <= args.events <= 1_000_000 or not 1 <= args.rounds <= 50:
        parser.error("--events 1..1000000, --rounds 1..50")

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    socketio = SocketIO(app, async_mode="gevent")

    @socketio.on("echo")
    def on_echo(data):
        emit("echo", data)

    @socketio.on("ack")
    def on_ack(data):
        return data

    engine = socketio.server.eio.network
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/socket.io/", "SCRIPT_NAME": "",
               "QUERY_STRING": "EIO=4&transport=websocket", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "127.0.0.1:5000", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr, "flask.app": app}
    sid = engine.generate_id()
    session = Session(engine, sid, environ, "websocket")
    engine.sessions[sid] = session
    ws = FakeWebSocket()
    session.attach_websocket(ws, [])
    engine._trigger("connect", sid, environ)
    engine._receive(session, "40", polling=False)
    settle()
    assert ws.sent and ws.sent[-1].startswith("40"), ws.sent

    frames = {"echo": "42" + json.dumps(["echo", PAYLOAD], separators=(",", ":")),
              "ack": "421" + json.dumps(["ack", PAYLOAD], separators=(",", ":"))}
    expected = {"echo": "42" + json.dumps(["echo", PAYLOAD], separators=(",", ":")),
                "ack": "431" + json.dumps([PAYLOAD], separators=(",", ":"))}
    out = {"flask_socketio": flask_socketio.__file__}
    for name, frame in frames.items():
        if args.only is not None and name != args.only:
            continue
        ws.sent.clear()
        engine._receive(session, frame, polling=False)
        settle()
        assert ws.sent == [expected[name]], (name, ws.sent)
        per_event = []
        for _ in range(args.rounds + 1):
            ws.sent.clear()
            # what exists before the round is not scanned by the collector again: a full
            # collection of the whole heap, due at a different event in each tree, would
            # swamp the difference between two trees (instruction counts above all)
            gc.collect()
            gc.freeze()
            start = time.process_time()
            for _ in range(args.events):
                engine._receive(session, frame, polling=False)
                settle()
            per_event.append((time.process_time() - start) / args.events * 1e6)
            assert len(ws.sent) == args.events
        per_event = per_event[1:]  # the first round warms up
        out[name] = {"us_per_event": round(statistics.median(per_event), 2),
                     "min": round(min(per_event), 2), "max": round(max(per_event), 2)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
