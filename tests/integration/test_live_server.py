"""LiveServer: the real gevent server on a free port, its lifecycle, log and clean stop."""

from __future__ import annotations

import socket
import textwrap
import threading

import pytest
import requests
import websocket

from flask_socketio import SocketIO
from flask_socketio.testing import LiveServer, LiveServerError

from .live_app import create_app
from .support import wait_until

pytest_plugins = ["pytester"]


def is_listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_serves_the_app_on_a_free_port_of_loopback(app):
    with LiveServer(app) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        assert requests.get(server.url + "/", timeout=5).text == "live app"
        handshake = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5)
        assert handshake.status_code == 200 and handshake.text.startswith("0{")
        assert server.is_running


def test_stop_releases_the_port_the_thread_and_the_connections(app):
    server = LiveServer(app).start()
    port = server.port
    raw = websocket.create_connection(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                                      timeout=5)
    assert raw.recv().startswith("0{")
    threads = [thread for thread in threading.enumerate() if thread.name == f"LiveServer-{port}"]
    assert len(threads) == 1
    server.stop()
    assert not threads[0].is_alive()
    assert not server.is_running
    assert not is_listening(port)
    # the server closed the WebSocket it was serving: the peer sees the end
    raw.settimeout(5)
    try:
        while raw.recv():
            pass
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        pass
    finally:
        raw.shutdown()  # close() skips the socket once the peer has closed
    server.stop()  # twice is fine


def test_stop_disconnects_live_sessions_and_runs_their_disconnect_handlers():
    app, socketio = create_app()
    reasons = []
    socketio.on("disconnect")(lambda reason: reasons.append(reason))
    server = LiveServer(app).start()
    client = server.client()
    client.call("echo", 1)
    server.stop()
    assert reasons == [SocketIO.reason.CLIENT_DISCONNECT] or reasons == [
        SocketIO.reason.SERVER_DISCONNECT]
    assert not client.is_connected()
    assert client.threads == []


def test_an_instance_serves_once(app):
    server = LiveServer(app)
    with server, pytest.raises(RuntimeError, match="already started"):
        server.start()
    with pytest.raises(RuntimeError, match="already started"):
        server.start()
    with pytest.raises(RuntimeError, match="not running"):
        server.client()


def test_the_live_client_has_the_in_process_client_api():
    import inspect

    from flask_socketio.testing import LiveSocketIOClient, SocketIOTestClient

    for name in ("emit", "send", "call", "on", "receive", "get_received", "assert_received",
                 "assert_nothing_received", "connect", "disconnect", "close", "is_connected",
                 "sid", "get_sid", "eio_sid", "connect_error", "get_connect_error",
                 "disconnect_reason", "get_disconnect_reason", "rooms", "refute_received",
                 "clear", "drop", "reconnect", "send_raw"):
        assert hasattr(LiveSocketIOClient, name), name
        live, local = getattr(LiveSocketIOClient, name), getattr(SocketIOTestClient, name, None)
        if callable(live) and callable(local):
            local_parameters = list(inspect.signature(local).parameters)
            live_parameters = list(inspect.signature(live).parameters)
            assert live_parameters[:len(local_parameters)] == local_parameters, name


def test_host_and_port_are_not_options(app):
    with pytest.raises(TypeError, match="port"):
        LiveServer(app, port=5000)


def test_an_app_without_socketio_is_refused():
    from flask import Flask

    with pytest.raises(LookupError, match="no SocketIO"):
        LiveServer(Flask(__name__))


def test_a_server_that_cannot_start_fails_fast_and_cleans_up(app):
    server = LiveServer(app, spawn=-5)  # gevent's WSGIServer refuses a negative pool size
    with pytest.raises(LiveServerError, match="died while starting") as failure:
        server.start()
    assert "size must not be negative" in str(failure.value)  # the server's traceback
    assert not server.is_running


def test_a_non_gevent_async_mode_is_refused_before_listening():
    app, _ = create_app(async_mode="threading")
    with pytest.raises(RuntimeError, match="gevent"):
        LiveServer(app).start()


def test_log_has_the_access_log_and_handler_errors():
    app, socketio = create_app()

    @socketio.on("boom")
    def boom():
        raise ValueError("kaboom")

    with LiveServer(app) as server:
        client = server.client()
        client.emit("boom")
        client.call("echo", "after")  # the server handled boom before this ack
        requests.get(server.url + "/", timeout=5)
        wait_until(lambda: "kaboom" in server.log, 5, "the handler error in the log")
    assert '"GET / HTTP/1.1" 200' in server.log
    assert "ValueError: kaboom" in server.log


def test_endless_background_tasks_are_killed_at_stop():
    app, socketio = create_app()

    def forever():
        while True:
            socketio.sleep(0.01)

    @socketio.on("start_forever")
    def start_forever():
        socketio.start_background_task(forever)
        return True

    with LiveServer(app) as server:
        assert server.client().call("start_forever") is True
    assert any("forever" in name for name in server.killed_greenlets)


def test_call_in_server_runs_in_the_server_and_returns(app):
    socketio = app.extensions["socketio"]
    with LiveServer(app) as server:
        client = server.client()
        client.on("question", lambda question: question * 2)
        assert server.call_in_server(socketio.call, "question", "ab", to=client.sid,
                                     timeout=5) == "abab"
        assert server.call_in_server(threading.current_thread) is not threading.current_thread()
        with pytest.raises(ZeroDivisionError):
            server.call_in_server(lambda: 1 / 0)


def test_in_process_and_live_clients_share_the_server(app):
    """The router delivers across threads: test thread to live clients and back."""
    socketio = app.extensions["socketio"]
    with LiveServer(app) as server:
        live = server.client()
        local = socketio.test_client(app)
        try:
            assert live.call("join", "both") == ["both"]
            assert local.emit("join", "both", callback=True) == ["both"]
            # an in-process handler (test thread) emits to a room with a live member
            local.emit("say", "both", "from in-process")
            for member in (live, local):
                member.assert_received("said", {"room": "both", "text": "from in-process",
                                                "from": local.sid})
            # a live handler (server thread) emits to a room with an in-process member
            live.emit("say", "both", "from live")
            assert local.receive("said", timeout=5).args == [
                {"room": "both", "text": "from live", "from": live.sid}]
            # the test thread emits to everyone
            socketio.emit("news", "for all")
            live.assert_received("news", "for all")
            local.assert_received("news", "for all")
        finally:
            local.close()


def test_live_client_emit_ignores_the_servers_addressing_keywords(app):
    # As the in-process client (and Flask-SocketIO's test client): broadcast=True etc.
    # are accepted and ignored, an unknown keyword is ignored with a warning.
    with LiveServer(app) as server:
        client = server.client()
        assert client.call("join", "room") == ["room"]
        client.emit("say", "room", "hi", broadcast=True, include_self=False)
        assert client.receive("said", timeout=5).args[0]["text"] == "hi"
        with pytest.warns(UserWarning, match="ignores the keyword.*colback"):
            client.emit("say", "room", "again", colback=True)
        assert client.receive("said", timeout=5).args[0]["text"] == "again"


def test_from_import_serves_a_monkey_patched_subprocess():
    server = LiveServer.from_import("tests.integration.live_app:create_app")
    with server:
        client = server.client()
        assert client.call("is_monkey_patched") is True
        assert client.call("echo", "from a subprocess") == "from a subprocess"
        with pytest.raises(RuntimeError, match="SocketIO"):
            client.rooms()  # the server's state is in another process
    assert "Serving Flask-SocketIO app" in server.log
    assert not is_listening(server.port)


def test_from_import_of_a_broken_target_fails_fast():
    server = LiveServer.from_import("tests.integration.no_such_module:create_app")
    with pytest.raises(LiveServerError, match="died while starting") as failure:
        server.start()
    assert "ModuleNotFoundError" in str(failure.value)


def test_the_thread_mode_does_not_monkey_patch(app):
    with LiveServer(app) as server:
        assert server.client().call("is_monkey_patched") is False


PLUGIN_TEST = textwrap.dedent('''
    import pytest
    from tests.integration.live_app import create_app


    @pytest.fixture
    def app():
        return create_app()[0]


    def test_live_passes(socketio_server):
        client = socketio_server.client(transports=["polling"])
        assert client.call("echo", 7) == 7


    def test_live_fails(socketio_server):
        client = socketio_server.client()
        client.call("echo", "visible in the transcript")
        assert socketio_server.url == "nowhere"
''')


def test_the_fixture_and_the_log_of_a_failing_test(pytester, monkeypatch):
    from .support import ROOT

    monkeypatch.syspath_prepend(str(ROOT))
    pytester.makepyfile(test_live=PLUGIN_TEST)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "socketio live server 1 <LiveServer http://127.0.0.1:" in output
    assert '"GET /socket.io/?EIO=4&transport=polling HTTP/1.1" 200' in output
    assert "socketio transcript: live client 1" in output
    assert "'visible in the transcript'" in output


def test_kept_alive_requests_are_not_delayed_by_nagle():
    """Headers and body go out in two sends: without TCP_NODELAY each response waited
    40 ms for the client's delayed ACK (every long-poll GET and POST)."""
    import statistics
    import time

    from flask import request

    app, _ = create_app()

    @app.route("/nodelay")
    def nodelay():
        sock = request.environ["flask_socketio.socket"]
        return str(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    with LiveServer(app) as server, requests.Session() as http:
        assert http.get(server.url + "/nodelay", timeout=5).text != "0"
        durations = []
        for _ in range(9):
            started = time.perf_counter()
            http.get(server.url + "/", timeout=5)
            durations.append(time.perf_counter() - started)
        assert statistics.median(durations) < 0.03, durations
