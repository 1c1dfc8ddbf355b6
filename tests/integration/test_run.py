"""``socketio.run()`` and ``stop()``: the embedded gevent server, debugger included.

The server runs in a thread of the test process (its own gevent hub, no
monkey-patching), on port 0.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import requests
import socketio as python_socketio
from flask import Flask

from flask_socketio import SocketIO, emit


def start(socketio, app, **options):
    thread = threading.Thread(target=socketio.run, args=(app,),
                              kwargs={"port": 0, **options}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while socketio._runner is None:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    assert socketio._runner.started.wait(5), "the server did not start listening"
    return thread, f"http://127.0.0.1:{socketio._runner.port}"


def stop(socketio, thread):
    socketio.stop()
    thread.join(5)
    assert not thread.is_alive(), "socketio.run() did not return after stop()"
    assert socketio._runner is None


def make_app():
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent")

    @app.route("/")
    def index():
        return "home"

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    @socketio.on("echo")
    def echo(data):
        emit("echo", data)

    return app, socketio


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_run_serves_http_and_socketio_until_stopped(transport):
    app, socketio = make_app()
    thread, url = start(socketio, app, use_reloader=False)
    try:
        assert requests.get(url + "/", timeout=5).text == "home"
        with python_socketio.SimpleClient() as client:
            client.connect(url, transports=[transport], wait_timeout=5)
            client.emit("echo", {"n": 1})
            assert client.receive(timeout=5) == ["echo", {"n": 1}]
    finally:
        stop(socketio, thread)
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/", timeout=2)


def test_debug_mode_serves_the_werkzeug_debugger():
    app, socketio = make_app()
    thread, url = start(socketio, app, debug=True, use_reloader=False)
    try:
        response = requests.get(url + "/boom", timeout=5)
        assert response.status_code == 500
        assert "Werkzeug Debugger" in response.text
    finally:
        stop(socketio, thread)
        app.debug = False


def test_stop_without_run_is_an_error():
    _, socketio = make_app()
    with pytest.raises(RuntimeError, match="not running"):
        socketio.stop()


def test_run_needs_gevent_async_mode():
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="threading")
    with pytest.raises(RuntimeError, match="async_mode"):
        socketio.run(app, port=0)


APP_SOURCE = '''
from flask import Flask
from flask_socketio import SocketIO

app = Flask(__name__)
socketio = SocketIO(app)


@app.route("/")
def index():
    return "VERSION"


if __name__ == "__main__":
    socketio.run(app, port=0, debug=True,
                 reloader_options={"reloader_type": "stat", "interval": 0.1})
'''


def _lines(process):
    """The process's stderr lines, read by a thread so that waits stay bounded."""
    import queue

    lines = queue.Queue()

    def pump():
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _next_url(lines, deadline):
    import queue
    import re

    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        match = re.search(r"Serving Flask-SocketIO app on (http://\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError("the server never said where it serves")


def test_debug_mode_reloader_restarts_on_source_change(tmp_path):
    import subprocess
    import sys

    source = tmp_path / "reloading_app.py"
    source.write_text(APP_SOURCE.replace("VERSION", "one"))
    process = subprocess.Popen([sys.executable, str(source)], stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        lines = _lines(process)
        deadline = time.monotonic() + 20
        url = _next_url(lines, deadline)
        assert requests.get(url, timeout=5).text == "one"
        source.write_text(APP_SOURCE.replace("VERSION", "two"))
        # The stat reloader notices changes after its first scan; under load that scan
        # can come late, so keep moving the file's mtime forward until it restarts.
        url = None
        for attempt in range(1, 30):
            try:
                url = _next_url(lines, min(deadline, time.monotonic() + 0.5))
                break
            except AssertionError:
                stamp = time.time() + attempt
                os.utime(source, (stamp, stamp))
        assert url is not None, "the reloader never restarted the server"
        # A later mtime bump can make the new server restart once more (its first scan
        # came before the bump): a refused request then waits for the next one's URL.
        while True:
            try:
                text = requests.get(url, timeout=5).text
                break
            except requests.ConnectionError:
                url = _next_url(lines, deadline)
        assert text == "two"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        process.stderr.close()


def test_log_output_prints_each_request(caplog):
    import logging

    app, socketio = make_app()
    with caplog.at_level(logging.INFO, logger="flask_socketio.access"):
        thread, url = start(socketio, app, log_output=True)
        try:
            assert requests.get(url + "/", timeout=5).text == "home"
            with python_socketio.SimpleClient() as client:
                client.connect(url, transports=["polling"], wait_timeout=5)
        finally:
            stop(socketio, thread)
    lines = [record.getMessage() for record in caplog.records
             if record.name == "flask_socketio.access"]
    assert any('"GET / HTTP/1.1" 200' in line for line in lines), lines
    assert any("/socket.io/" in line for line in lines), lines


def test_without_log_output_nothing_is_logged(caplog):
    import logging

    app, socketio = make_app()
    with caplog.at_level(logging.DEBUG):
        thread, url = start(socketio, app)
        try:
            assert requests.get(url + "/", timeout=5).text == "home"
        finally:
            stop(socketio, thread)
    assert not [r for r in caplog.records if r.name.startswith("flask_socketio")
                and "GET / HTTP" in r.getMessage()]


def test_run_refuses_an_unknown_keyword_and_names_the_close_one():
    app, socketio = make_app()
    errors: list[Exception] = []

    def serve():
        try:
            socketio.run(app, port=0, prot=5080)
        except TypeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():
        socketio.stop()
        pytest.fail("socketio.run() accepted 'prot' and started serving")
    assert len(errors) == 1
    assert "'prot'" in str(errors[0]) and "did you mean 'port'?" in str(errors[0])
    assert socketio._runner is None


def test_run_on_a_busy_port_ends_with_one_line_naming_the_port(tmp_path):
    import socket
    import subprocess
    import sys

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    script = tmp_path / "busy.py"
    script.write_text(
        "from flask import Flask\n"
        "from flask_socketio import SocketIO\n"
        "app = Flask(__name__)\n"
        "socketio = SocketIO(app, async_mode='gevent')\n"
        f"socketio.run(app, port={port})\n")
    try:
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    finally:
        busy.close()
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"Cannot serve on http://127.0.0.1:{port}: the port is in use by "
                     f"another program. Stop it, or pick another port: "
                     f"socketio.run(app, port=...)."]
