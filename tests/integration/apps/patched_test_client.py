"""The in-process test client in a monkey-patched process (run as a subprocess).

``python -m tests.integration.apps.patched_test_client MODE ORDER``: MODE is ``none``,
``gevent`` (``monkey.patch_all()``) or ``eventlet`` (``eventlet.monkey_patch()``);
ORDER is ``before`` or ``after`` importing flask_socketio. Prints one JSON line of
what the test client saw; exits non-zero on any failure.
"""

from __future__ import annotations

import json
import sys


def patch(mode: str) -> None:
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    elif mode != "none":
        raise SystemExit(f"unknown mode {mode!r}")


def main(mode: str, order: str) -> dict:
    if order == "before":
        patch(mode)
    import flask_socketio  # noqa: F401 - imported before patching, for ORDER=after

    if order == "after":
        patch(mode)
    from flask import Flask, request

    from flask_socketio import SocketIO, emit
    from flask_socketio.testing.scheduler import current_scheduler

    app = Flask(__name__)
    socketio = SocketIO(app)
    ticks: list[float] = []

    def ticker() -> None:  # started by the "app factory", before any client
        for _ in range(3):
            socketio.sleep(1)
            ticks.append(current_scheduler().clock.now)

    socketio.start_background_task(ticker)

    @socketio.on("connect")
    def on_connect(auth):
        emit("welcome", {"auth": auth})

    @socketio.on("echo")
    def on_echo(data):
        emit("echo", data)
        return "ack:" + str(data)

    @socketio.on("later")
    def on_later(seconds):
        sid = request.sid

        def task():
            socketio.sleep(seconds)
            socketio.emit("done", seconds, to=sid)

        socketio.start_background_task(task)

    client = socketio.test_client(app, auth={"user": "u"})
    seen = {"connected": client.is_connected()}
    seen["welcome"] = client.receive("welcome").args
    seen["ack"] = client.emit("echo", 7, callback=True)
    seen["echo"] = client.receive("echo").args
    client.emit("later", 5)
    clock = current_scheduler().clock
    start = clock.now
    clock.advance(5)
    seen["done"] = client.receive("done").args
    seen["advanced"] = clock.now - start
    seen["ticks"] = ticks
    client.disconnect()
    seen["disconnected"] = not client.is_connected()
    return seen


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
