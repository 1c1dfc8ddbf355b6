"""Where the test client's time goes: the production path it cannot skip, and the rest.

    python bench/testclient_floor.py

Ours only (the peer's totals come from testclient_bench.py). CPU µs per call
(``time.process_time``, fastest of 9 rounds, so other load on the machine matters
little), on the app of testclient_bench.py:

- the test client's three operations;
- the same ack and echo handed straight to python-socketio's
  ``_handle_eio_message`` with synchronous handlers: decode, protocol checks, dispatch,
  the Flask contexts, the handler, the encode of what it sends and the client's decode
  of it. No test client, no scheduler: the floor of any in-process client that runs
  the production code above the transport;
- its parts: one python-socketio packet encode and decode, Flask's request context
  push+pop for one event, one scheduler task, werkzeug's EnvironBuilder.

It uses private names (``_handle_eio_message``, the client's ``_acks``); a part that
no longer exists is reported as skipped.
"""

from __future__ import annotations

import secrets
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import socketio as socketio_module  # noqa: E402
import testclient_bench as tb  # noqa: E402
from flask.ctx import RequestContext  # noqa: E402
from socketio import packet  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402


def cpu_us(function, number: int = 3000) -> float:
    timer = timeit.Timer(function, timer=time.process_time)
    return min(timer.repeat(number=number, repeat=9)) / number * 1e6


def main() -> int:
    app, socketio = tb.make_app()
    client = socketio.test_client(app)
    server = socketio.server
    data = tb.PAYLOAD
    rows: list[tuple[str, float | None]] = []

    def add(name, function, number=3000):
        try:
            rows.append((name, cpu_us(function, number)))
        except Exception as exc:  # noqa: BLE001 - a part that changed is skipped, not fatal
            rows.append((f"{name} (skipped: {type(exc).__name__}: {exc})", None))

    def cycle():
        other = socketio.test_client(app)
        other.disconnect()

    add("test client: emit('echo') + get_received()",
        lambda: (client.emit("echo", data), client.get_received()))
    add("test client: emit('ack', callback=True)",
        lambda: client.emit("ack", data, callback=True))
    add("test client: test_client(app) + disconnect()", cycle, 1500)

    ack = packet.Packet(packet.EVENT, data=["ack", data], namespace="/", id=1).encode()
    echo = packet.Packet(packet.EVENT, data=["echo", data], namespace="/").encode()

    def direct_ack():
        server._handle_eio_message(client.eio_sid, ack)
        client._acks.clear()

    def direct_echo():
        server._handle_eio_message(client.eio_sid, echo)
        client._received.clear()

    async_handlers = server.async_handlers
    server.async_handlers = False
    try:
        add("production path only, echo (no test client, no scheduler)", direct_echo)
        add("production path only, ack (no test client, no scheduler)", direct_ack)
    finally:
        server.async_handlers = async_handlers

    engine = client.engine
    environ = client._socket.environ
    connect = packet.Packet(packet.CONNECT, namespace="/").encode()
    disconnect = packet.Packet(packet.DISCONNECT, namespace="/").encode()

    def bare_connection():  # the in-process engine and the server, no test client
        env = dict(environ)
        env.pop("flask_socketio.connection", None)
        socket = engine.open(env, lambda payload: packet.Packet(encoded_packet=payload),
                             lambda reason: None)
        socket.send(connect)
        scheduler.run_pending()
        socket.send(disconnect)
        socket.close()
        scheduler.run_pending()

    scheduler = client.scheduler
    add("engine + server only, connect + disconnect (no test client)", bare_connection, 1500)

    def direct_connection():  # the same, called straight: no scheduler task either
        env = dict(environ)
        env.pop("flask_socketio.connection", None)
        socket = engine.open(env, lambda payload: None, lambda reason: None)
        server._handle_eio_message(socket.sid, connect)
        server._handle_eio_message(socket.sid, disconnect)
        engine._closed(socket, "client disconnect")

    add("engine + server only, connect + disconnect, called straight (no task)",
        direct_connection, 1500)
    plain = socketio_module.Server(async_handlers=False)
    plain._send_packet = lambda eio_sid, pkt: pkt.encode()  # the reply encoded, not sent

    def plain_connection():  # python-socketio alone: no Flask, no engine, no checks
        sid = secrets.token_urlsafe(15)
        plain._handle_eio_connect(sid, {})
        plain._handle_eio_message(sid, connect)
        plain._handle_eio_message(sid, disconnect)
        plain._handle_eio_disconnect(sid, "client disconnect")

    add("  python-socketio's Server alone, connect + disconnect (any server's floor)",
        plain_connection, 1500)
    add("  python-socketio packet encode (event with the payload)",
        lambda: packet.Packet(packet.EVENT, data=["ack", data], namespace="/", id=1).encode())
    add("  python-socketio packet decode", lambda: packet.Packet(encoded_packet=ack))
    session = dict(client.session)

    def request_context():
        ctx = RequestContext(app, environ, session=session)
        ctx.push()
        ctx.pop()

    add("  Flask RequestContext(environ, session=) push + pop", request_context)
    try:
        from flask_socketio.context import _EventContext, _Route

        first = RequestContext(app, environ, session=session)
        first.push()
        first.pop()
        route = _Route(first)

        def event_context():
            ctx = _EventContext(app, environ, session=session, route=route)
            ctx.push()
            ctx.pop()

        add("  our per-event context (URL match reused) push + pop", event_context)
    except ImportError as exc:
        rows.append((f"  our per-event context (skipped: {exc})", None))
    scheduler = client.scheduler
    add("  one scheduler task started and run",
        lambda: (scheduler.start_background_task(lambda: None), scheduler.run_pending()))

    def build_environ():
        builder = EnvironBuilder("/socket.io/")
        builder.get_environ()
        builder.close()

    add("  werkzeug EnvironBuilder environ (the peer builds one per client)", build_environ)
    client.disconnect()
    width = max(len(name) for name, _ in rows)
    print(f"{'CPU µs':>8}  what")
    for name, value in rows:
        print(f"{'-' if value is None else f'{value:.1f}':>8}  {name:<{width}}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
