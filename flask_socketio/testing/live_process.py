"""The subprocess of ``LiveServer.from_import()``: a monkey-patched server on an inherited socket.

``python -m flask_socketio.testing.live_process --fd N --app pkg.module:name
[--options JSON] [--no-monkey-patch]``

Applies gevent's ``monkey.patch_all()`` first (unless told not to), imports the app
(``name`` is a Flask app or a factory returning the app or ``(app, socketio)``),
and serves it with the embedded gevent server on the listening socket whose file
descriptor it inherited. SIGTERM (or SIGINT) closes live sessions and stops it.
Everything goes to stderr, which the parent keeps as the server's log.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m flask_socketio.testing.live_process")
    parser.add_argument("--fd", type=int, required=True,
                        help="file descriptor of a bound, listening TCP socket")
    parser.add_argument("--app", required=True, help="pkg.module:name of the app or factory")
    parser.add_argument("--options", default="{}", help="run options, as a JSON object")
    parser.add_argument("--no-monkey-patch", action="store_true",
                        help="do not apply gevent's monkey.patch_all()")
    return parser.parse_args(argv)


def load_app(import_string: str) -> tuple[Any, Any]:
    """``(app, socketio)`` from ``"pkg.module:name"``."""
    import importlib

    import flask

    module_name, _, attribute = import_string.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{import_string!r} is not 'package.module:name'")
    target: Any = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(target, flask.Flask) and callable(target):
        target = target()
    if isinstance(target, tuple):
        app, socketio = target
    else:
        app, socketio = target, None
    if not isinstance(app, flask.Flask):
        raise TypeError(f"{import_string!r} gave {app!r}, not a Flask app")
    if socketio is None:
        socketio = app.extensions.get("socketio")
    if socketio is None:
        raise LookupError(f"the app of {import_string!r} has no SocketIO")
    return app, socketio


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if not arguments.no_monkey_patch:
        from gevent import monkey

        monkey.patch_all()
    import logging
    import signal
    import socket

    import gevent

    from ..serving import build_server

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    app, socketio = load_app(arguments.app)
    options = json.loads(arguments.options)
    options["environ"] = {"SERVER_NAME": "127.0.0.1", **options.get("environ", {})}
    options.setdefault("log_output", True)
    listener = socket.socket(fileno=arguments.fd)
    server = build_server(socketio, app, listener=listener, **options)

    def shut_down() -> None:
        engine = socketio.toolkit_seam().server.eio.network
        try:
            with gevent.Timeout(2, False):  # type: ignore[arg-type]
                engine.disconnect()
            engine.shutdown()
        finally:
            server.stop(timeout=1)

    for number in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(number, gevent.spawn, shut_down)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
