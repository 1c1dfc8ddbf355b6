"""Benchmark of the Socket.IO test client: ours against Flask-SocketIO 5.x's.

It imports ``flask_socketio`` from whatever environment runs it, so the same file,
unchanged, measures this project (``python bench/testclient_bench.py``) and the peer
(``bench/.venv-peer/bin/python -I bench/testclient_bench.py``). The app code is the
same for both. Four operations are timed with ``time.perf_counter``:

- ``echo``: ``client.emit('echo', data)`` + ``client.get_received()`` (the handler
  emits the data back, so one event is received per cycle);
- ``ack``: ``client.emit('ack', data, callback=True)`` (the handler returns the data);
- ``new_client``: ``socketio.test_client(app)`` alone (a new connected client; the
  round's clients are disconnected after the round, outside the timing);
- ``connect_disconnect``: ``socketio.test_client(app)`` + ``client.disconnect()``.

Each operation gets a warm-up, then ``--rounds`` rounds of ``--iterations`` calls
(all loops are bounded); the result is the median over rounds of the µs per call
(``time.perf_counter``), with the min and max, and the median CPU time per call of
this process (``time.process_time``, less sensitive to other load on the machine).
The JSON result goes to stdout (or ``--output``).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from importlib import metadata

from flask import Flask

import flask_socketio
from flask_socketio import SocketIO, emit

PAYLOAD = {"text": "hello", "n": 42, "items": [1, 2, 3]}


def make_app() -> tuple[Flask, SocketIO]:
    """The benchmarked app: the same code for both implementations."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    socketio = SocketIO(app)

    @socketio.on("echo")
    def on_echo(data):
        emit("echo", data)

    @socketio.on("ack")
    def on_ack(data):
        return data

    return app, socketio


def _time_rounds(operation, iterations: int, rounds: int, warmup: int,
                 after_round=lambda: None) -> dict:
    for _ in range(warmup):
        operation()
    after_round()
    per_call, cpu_per_call = [], []
    for _ in range(rounds):
        gc.collect()
        cpu_start = time.process_time()
        start = time.perf_counter()
        for _ in range(iterations):
            operation()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        per_call.append(elapsed / iterations * 1e6)
        cpu_per_call.append(cpu / iterations * 1e6)
        after_round()
    return {
        "us_per_op": round(statistics.median(per_call), 2),
        "us_min": round(min(per_call), 2),
        "us_max": round(max(per_call), 2),
        # CPU time of this process: what the wall time would be on an idle machine
        "cpu_us_per_op": round(statistics.median(cpu_per_call), 2),
        "iterations": iterations,
        "rounds": rounds,
    }


def bench_echo(app, socketio, iterations, rounds, warmup) -> dict:
    client = socketio.test_client(app)
    # Checked once, outside the timed loop: the cycle does what it says.
    client.emit("echo", PAYLOAD)
    received = client.get_received()
    assert [(r["name"], r["args"]) for r in received] == [("echo", [PAYLOAD])], received

    def cycle():
        client.emit("echo", PAYLOAD)
        client.get_received()

    result = _time_rounds(cycle, iterations, rounds, warmup)
    assert client.get_received() == []
    client.disconnect()
    return result


def bench_ack(app, socketio, iterations, rounds, warmup) -> dict:
    client = socketio.test_client(app)
    assert client.emit("ack", PAYLOAD, callback=True) == PAYLOAD

    def cycle():
        client.emit("ack", PAYLOAD, callback=True)

    result = _time_rounds(cycle, iterations, rounds, warmup)
    client.disconnect()
    return result


def bench_new_client(app, socketio, iterations, rounds, warmup) -> dict:
    clients = []

    def cycle():
        clients.append(socketio.test_client(app))

    def disconnect_all():
        assert all(client.is_connected() for client in clients)
        for client in clients:
            client.disconnect()
        clients.clear()

    return _time_rounds(cycle, iterations, rounds, warmup, disconnect_all)


def bench_connect_disconnect(app, socketio, iterations, rounds, warmup) -> dict:
    probe = socketio.test_client(app)
    assert probe.is_connected()
    probe.disconnect()
    assert not probe.is_connected()

    def cycle():
        client = socketio.test_client(app)
        client.disconnect()

    return _time_rounds(cycle, iterations, rounds, warmup)


BENCHMARKS = {
    "echo": ("emit('echo') + get_received()", bench_echo),
    "ack": ("emit('ack', callback=True)", bench_ack),
    "new_client": ("test_client(app)", bench_new_client),
    "connect_disconnect": ("test_client(app) + disconnect()", bench_connect_disconnect),
}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (median taken)")
    parser.add_argument("--warmup", type=int, default=300, help="untimed calls first")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append",
                        help="run only this operation (repeatable)")
    parser.add_argument("--output", help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)
    for name in ("iterations", "rounds"):
        if not 1 <= getattr(args, name) <= 1_000_000:
            parser.error(f"--{name} must be between 1 and 1000000")
    if not 0 <= args.warmup <= 1_000_000:
        parser.error("--warmup must be between 0 and 1000000")

    app, socketio = make_app()
    results = {}
    for name in args.only or list(BENCHMARKS):
        label, function = BENCHMARKS[name]
        result = function(app, socketio, args.iterations, args.rounds, args.warmup)
        results[name] = {"operation": label, **result}

    report = {
        "flask_socketio_file": flask_socketio.__file__,
        "flask_socketio_version": getattr(flask_socketio, "__version__", None),
        "distribution": sorted(set(
            metadata.packages_distributions().get("flask_socketio", []))),
        "versions": {name: _version(name) for name in (
            "flask-socketio", "flask-socketio-ng", "flask", "werkzeug", "python-socketio",
            "python-engineio")},
        "python": platform.python_version(),
        "executable": sys.executable,
        "results": results,
    }
    text = json.dumps(report, indent=2)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
