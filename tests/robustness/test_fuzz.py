"""Fuzzing: random, mutated and hostile packets; the server and a bystander carry on.

Most inputs go through the in-process transport (fast); fewer over live WebSocket
and HTTP long-polling connections, on both network engines. After every batch a
well-behaved client on the same server still gets its echo, and no server code
raised (in-process, an exception in server code fails the bystander's next call).
``INPUTS`` counts what was sent; the last test checks the regular suite sends at
least 10,000. ``FUZZ_SCALE=N`` in the environment multiplies every example count
(``bench/fuzz_long.py`` runs this module that way).
"""

from __future__ import annotations

import contextlib
import os

import pytest
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_socketio.testing.live import LiveServer

from .raw import RawInProcessSocket, RawPolling, RawWebSocket, make_echo_app
from .strategies import (
    expand,
    msgpack_packets,
    polling_bodies,
    socketio_messages,
    websocket_frames,
)

#: Inputs sent, by path.
INPUTS: dict[str, int] = {}
#: Connections the server closed for a protocol violation, by path.
CLOSED: dict[str, int] = {}

#: Multiplies the example counts: 1 in the regular suite, more for the long run.
SCALE = max(1, int(os.environ.get("FUZZ_SCALE", "1")))

FUZZ = settings(deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

def count(path: str, inputs: int) -> None:
    INPUTS[path] = INPUTS.get(path, 0) + inputs


#: Hypothesis draws a few templates and a seed per example; ``expand`` makes the
#: mutants (hypothesis alone draws a few hundred inputs a second, too few).
seeds = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize("serializer", ["default", "msgpack"])
def test_fuzz_inprocess(serializer):
    app, socketio = make_echo_app(serializer=serializer, max_pending_bytes=2000)
    server = socketio.server
    bystander = socketio.test_client(app)
    examples, per_example = (250, 40) if serializer == "default" else (60, 30)
    examples *= SCALE

    messages_of = socketio_messages if serializer == "default" else msgpack_packets

    @settings(FUZZ, max_examples=examples)
    @given(first=st.sampled_from(["", "0", "0/chat,"]),
           templates=st.lists(messages_of, min_size=1, max_size=4), seed=seeds)
    def run(first, templates, seed):
        messages = expand(templates, seed, per_example)
        opened = []
        for message in messages:
            # a violation closes the connection: the next input gets a new one, so
            # that every input meets a server that still listens
            if not opened or opened[-1].is_closed:
                opened.append(RawInProcessSocket(app, socketio))
                if first:
                    opened[-1].send(first if serializer == "default"
                                    else _msgpack_connect(first))
            opened[-1].send(message)
        count(f"in-process {serializer}", len(messages))
        for raw in opened:
            raw.close()
            assert raw.sid not in server.environ
        assert bystander.emit("echo", "alive", callback=True) == "ok"
        bystander.assert_received("echo", "alive")

    run()
    CLOSED[f"in-process {serializer}"] = server.violation_count
    # nothing of the hostile clients is left on the server
    assert list(server.environ) == [bystander.eio_sid]
    assert server._binary_packet == {} and server._pending_bytes == {}
    assert server._connect_deadlines == {}
    for namespace in list(server.manager.get_namespaces()):
        participants = list(server.manager.get_participants(namespace, None))
        assert [eio for _, eio in participants] in ([], [bystander.eio_sid])
    bystander.close()


def _msgpack_connect(first: str) -> bytes:
    import msgpack

    return msgpack.dumps({"type": 0, "nsp": "/chat" if "chat" in first else "/"})


@pytest.fixture(params=["native", "engineio"])
def live(request):
    app, socketio = make_echo_app(engine=request.param, max_http_buffer_size=5000)
    with LiveServer(app) as server:
        bystander = server.client(transports=["websocket"])
        yield server, socketio, bystander, request.param
        bystander.close()


def test_fuzz_live_websocket(live):
    server, socketio, bystander, engine = live

    @settings(FUZZ, max_examples=50 * SCALE)
    @given(templates=st.lists(websocket_frames, min_size=1, max_size=3), seed=seeds)
    def run(templates, seed):
        frames = ["40"] + expand(templates, seed, 12)
        opened = [RawWebSocket(server.url, timeout=2)]
        try:
            for frame in frames:
                for _ in range(2):  # once more on a new connection if this one was closed
                    try:
                        if isinstance(frame, bytes):
                            opened[-1].send_binary(frame)
                        else:
                            opened[-1].send_text(frame)
                        break
                    except (websocket.WebSocketException, OSError):
                        opened.append(RawWebSocket(server.url, timeout=2))
                        opened[-1].send_text("40")
                count(f"live websocket {engine}", 1)
        finally:
            for raw in opened:
                raw.close()
        assert bystander.call("echo", "alive") == "ok"
        bystander.assert_received("echo", "alive")

    run()
    CLOSED[f"live websocket {engine}"] = socketio.server.violation_count
    assert bystander.is_connected()
    if engine == "native":
        assert "Traceback" not in server.log, server.log


def test_fuzz_live_polling(live):
    server, socketio, bystander, engine = live
    opened: list[str] = []

    # python-engineio answers some hostile POSTs only after the next poll (its close
    # waits for the queue to drain: see test_live_hygiene), so fewer examples there.
    @settings(FUZZ, max_examples=(30 if engine == "native" else 10) * SCALE)
    @given(templates=st.lists(polling_bodies, min_size=1, max_size=3), seed=seeds)
    def run(templates, seed):
        bodies = ["40"] + expand(templates, seed, 5)
        raw = RawPolling(server.url)
        opened.append(raw.sid)
        try:
            for body in bodies:
                with contextlib.suppress(Exception):
                    raw.post(body, timeout=1)
            count(f"live polling {engine}", len(bodies))
        finally:
            raw.close()
        assert bystander.call("echo", "alive") == "ok"
        bystander.assert_received("echo", "alive")

    run()
    CLOSED[f"live polling {engine}"] = socketio.server.violation_count
    assert bystander.is_connected()
    if engine == "native":
        assert "Traceback" not in server.log, server.log


def test_fuzzed_at_least_10000_inputs():
    """Runs last in this module: the regular suite fuzzes at least 10,000 inputs."""
    total = sum(INPUTS.values())
    print("fuzzed inputs:", INPUTS, "total", total)
    print("connections closed for a protocol violation:", CLOSED, "total",
          sum(CLOSED.values()))
    if len(INPUTS) < 6:
        pytest.skip("only part of the fuzz module ran")
    assert total >= 10_000, INPUTS
