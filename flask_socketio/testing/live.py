"""A live server for tests: the embedded gevent server on a free port of 127.0.0.1.

:class:`LiveServer` runs the server that :meth:`SocketIO.run` runs (gevent's
``WSGIServer`` with gevent-websocket) so that real clients, over real WebSockets
and HTTP long-polling, can talk to the app under test.

By default it serves from a background **thread** of the test process, with a gevent
hub of its own and no monkey-patching. A thread, not a subprocess, because:

- the app object is served as it is: no import string, no second copy of the app
  built by a factory in another process, fixtures and test doubles apply;
- coverage sees the handlers run (``concurrency = ["gevent", "thread"]``);
- the test can look at server state (rooms, sessions, ``socketio.server``) and run
  code in the server with :meth:`LiveServer.call_in_server`;
- in-process test clients (``socketio.test_client``) and live clients share one
  server, so a test can mix them.

gevent's monkey-patching is process-wide and cannot be undone, so it must not leak
into the test process unasked: the thread mode does not patch, and blocking calls in
handlers (``time.sleep``, a blocking socket) stall that server's hub, not the test.
A test that needs a monkey-patched server runs it in a subprocess:
``LiveServer.from_import("pkg.module:create_app")`` launches
``python -m flask_socketio.testing.live_process``, which patches first, imports the
app, and serves on the listening socket it inherits by file descriptor.

Either way the port is never raced for: the socket is bound to ``127.0.0.1:0`` and
put in listening state here, in the caller, then handed to the server, so the port
is known and connectable before the server runs. :meth:`LiveServer.start` waits,
with a bound, until an Engine.IO handshake succeeds and fails fast if the server
dies; :meth:`LiveServer.stop` disconnects live sessions, stops the server, joins the
thread (or process) with a timeout, closes the socket and raises
:class:`LiveServerError` if anything was left behind. Server errors, tracebacks and
the access log go to :attr:`LiveServer.log`, which the pytest plugin attaches to
the report of a failing test.

.. code-block:: python

    with LiveServer(app) as server:
        client = server.client(transports=["polling"])
        assert client.call("echo", 1) == 1

Not for production: it binds 127.0.0.1 only and serves one app per instance.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..wsgi_types import StartResponse, WSGIEnvironment
from . import hooks

if TYPE_CHECKING:
    import flask

    from ..extension import SocketIO
    from .live_client import LiveSocketIOClient

__all__ = ["LiveServer", "LiveServerError", "ServerLog"]

#: Callables told of each new :class:`LiveServer` (the pytest plugin collects a
#: test's servers here to attach their logs when it fails). Nothing else keeps them.
creation_listeners: list[Callable[[LiveServer], None]] = hooks.live_servers

_HOST = "127.0.0.1"


class LiveServerError(RuntimeError):
    """The live server failed to start, failed while serving, or left something behind."""


class ServerLog:
    """What a live server wrote, in order: errors, tracebacks and the access log.

    A file-like object (``write``) that several threads may write to.
    """

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return self._buffer.write(text)

    def flush(self) -> None:
        """Nothing is buffered."""

    def getvalue(self) -> str:
        with self._lock:
            return self._buffer.getvalue()

    def __str__(self) -> str:
        return self.getvalue()


class _ThreadLogHandler(logging.Handler):
    """Copies the log records made in one thread (the server's) into a :class:`ServerLog`."""

    def __init__(self, log: ServerLog) -> None:
        super().__init__()
        self.log = log
        self.thread_id: int | None = None
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread_id:
            return
        try:
            self.log.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - a broken record must not kill the server
            self.handleError(record)


class LiveServer:
    """The app served live, on ``127.0.0.1`` and a port chosen by the system.

    :param app: the Flask app, with ``SocketIO`` attached.
    :param socketio: its ``SocketIO`` (default: ``app.extensions['socketio']``); its
        ``async_mode`` must be ``'gevent'`` (the default when gevent is installed).
    :param run_options: what :meth:`SocketIO.run` takes besides ``host`` and
        ``port`` (``debug``, ``certfile``, ``keyfile``, gevent ``WSGIServer``
        options). The access log always goes to :attr:`log`.

    ``start()`` and ``stop()``, or ``with LiveServer(app) as server:``. An instance
    serves once: make a new one to serve again.
    """

    #: Seconds :meth:`start` waits for the server to answer a handshake.
    start_timeout: float = 10.0
    #: Seconds :meth:`stop` waits for the server to end.
    stop_timeout: float = 10.0
    #: Seconds the server gives live sessions to close at :meth:`stop`.
    disconnect_timeout: float = 1.0

    def __init__(self, app: flask.Flask | None, socketio: SocketIO | None = None,
                 **run_options: Any) -> None:
        for name in ("host", "port", "listener"):
            if name in run_options:
                raise TypeError(f"LiveServer chooses {name!r} itself (127.0.0.1, a free port)")
        if app is not None and socketio is None:
            socketio = app.extensions.get("socketio")
            if socketio is None:
                raise LookupError("the Flask app has no SocketIO: call SocketIO(app) or "
                                  "socketio.init_app(app), or pass socketio=")
        self.app = app
        self.socketio = socketio
        self.run_options = run_options
        #: Names of the server greenlets :meth:`stop` had to kill (pending pings,
        #: idle connections, endless background tasks); informative, not an error.
        self.killed_greenlets: list[str] = []
        self._import_string: str | None = None
        self._monkey_patch = True
        self._env: dict[str, str] | None = None
        self._state = "new"
        self._socket: socket.socket | None = None
        self._port = 0
        self._log = ServerLog()
        self._clients: list[LiveSocketIOClient] = []
        self._environ_overrides: dict[str, dict[str, Any]] = {}
        self._runner: _ThreadRunner | _ProcessRunner | None = None
        for listener in creation_listeners:
            listener(self)

    @classmethod
    def from_import(cls, import_string: str, *, monkey_patch: bool = True,
                    env: dict[str, str] | None = None, **run_options: Any) -> LiveServer:
        """A live server running ``import_string`` in a subprocess.

        ``import_string`` is ``"package.module:name"``, where ``name`` is a Flask
        app, or a factory returning the app or ``(app, socketio)``. The subprocess
        (``python -m flask_socketio.testing.live_process``) applies gevent's
        ``monkey.patch_all()`` first unless ``monkey_patch=False``. ``env`` is added
        to its environment. ``run_options`` must be JSON-serializable.

        Use it when the app needs monkey-patching; otherwise prefer the thread mode,
        which coverage, fixtures and server-state assertions see.
        """
        json.dumps(run_options)  # fail here, not in the child
        server = cls(None, None, **run_options)
        server._import_string = import_string
        server._monkey_patch = monkey_patch
        server._env = env
        return server

    # -- state ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the live server has not been started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https`` with ``certfile``)."""
        scheme = "https" if self.run_options.get("certfile") else "http"
        return f"{scheme}://{_HOST}:{self.port}"

    @property
    def log(self) -> str:
        """Everything the server logged so far (errors, tracebacks, access log)."""
        if self._runner is not None:
            return self._runner.read_log()
        return self._log.getvalue()

    @property
    def is_running(self) -> bool:
        return self._state == "running" and self._runner is not None and self._runner.is_alive()

    @property
    def path(self) -> str:
        """Where Socket.IO is served (``'socket.io'`` unless the app says otherwise)."""
        return (self.socketio.path if self.socketio is not None else "socket.io").strip("/")

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> LiveServer:
        """Listen, start serving, and wait (bounded) until the server answers."""
        if self._state != "new":
            raise RuntimeError(f"this LiveServer was already started ({self._state}); "
                               "make a new one")
        self._state = "starting"
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind((_HOST, 0))
            listener.listen(128)
        except BaseException:
            listener.close()
            self._state = "stopped"
            raise
        self._socket = listener
        self._port = listener.getsockname()[1]
        try:
            if self._import_string is not None:
                self._runner = _ProcessRunner(self, listener)
            else:
                self._runner = _ThreadRunner(self, listener)
            self._runner.start()
            self._wait_ready()
        except BaseException:
            self._state = "running"
            with contextlib.suppress(LiveServerError):  # the first error says more
                self.stop()
            raise
        self._state = "running"
        return self

    def _wait_ready(self) -> None:
        runner = self._runner
        assert runner is not None
        deadline = time.monotonic() + self.start_timeout
        last_error: BaseException | None = None
        while (left := deadline - time.monotonic()) > 0:
            if not runner.is_alive():
                raise LiveServerError("the live server died while starting; its log:\n"
                                      + self.log)
            try:
                self._probe(min(left, 1.0))
                return
            except (OSError, http.client.HTTPException) as exc:
                last_error = exc
                time.sleep(0.02)
        raise LiveServerError(f"the live server did not answer a handshake within "
                              f"{self.start_timeout:g}s ({last_error!r}); its log:\n" + self.log)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.run_options.get("certfile"):
            import ssl

            return http.client.HTTPSConnection(_HOST, self.port, timeout=timeout,
                                               context=ssl._create_unverified_context())
        return http.client.HTTPConnection(_HOST, self.port, timeout=timeout)

    def _probe(self, timeout: float) -> None:
        """One Engine.IO handshake over polling, then close the session it opened.

        Any HTTP answer means the server serves (an app may refuse polling); a
        session that opened is closed at once so the probe leaves nothing behind.
        """
        base = f"/{self.path}/?EIO=4&transport=polling"
        connection = self._connection(timeout)
        try:
            connection.request("GET", base)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200 or not body.startswith(b"0{"):
                return
            sid = json.loads(body[1:].decode())["sid"]
            connection.request("POST", f"{base}&sid={sid}", body=b"1",
                               headers={"Content-Type": "text/plain;charset=UTF-8"})
            connection.getresponse().read()
        finally:
            connection.close()

    def stop(self) -> None:
        """Close its clients, stop the server, release the port; raise if anything is left.

        Safe to call twice.
        """
        if self._state in ("new", "stopped"):
            self._state = "stopped"
            return
        self._state = "stopping"
        problems: list[str] = []
        try:
            for client in self._clients:
                try:
                    client.close()
                except Exception as exc:  # noqa: BLE001 - reported below
                    problems.append(f"closing live client {client!r} failed: {exc!r}")
            if self._runner is not None:
                problems += self._runner.stop(self.stop_timeout)
        finally:
            if self._socket is not None:
                self._socket.close()
            self._state = "stopped"
        if problems:
            raise LiveServerError("the live server did not stop cleanly:\n- "
                                  + "\n- ".join(problems) + "\nits log:\n" + self.log)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, exc_type: Any, *exc_info: Any) -> None:
        if exc_type is None:
            self.stop()
            return
        with contextlib.suppress(LiveServerError):  # the test's own failure says more
            self.stop()

    # -- working with it -----------------------------------------------------------------

    def client(self, namespace: str | None = None, *,
               environ_overrides: dict[str, Any] | None = None,
               session: dict[str, Any] | None = None, **options: Any) -> LiveSocketIOClient:
        """A :class:`~flask_socketio.testing.LiveSocketIOClient` connected to this server.

        ``options`` are the client's (``transports=['polling']``, ``auth``,
        ``headers``, ``query_string``, ``timeout``, ``connect=False``...). The
        server closes it at :meth:`stop`. As for the in-process client (thread mode
        only):

        - ``environ_overrides``: WSGI environ keys set on every request of the
          client (``{"REMOTE_ADDR": "203.0.113.9"}``), which no real client could;
        - ``session``: a Flask session to start with, sent as the session cookie.
        """
        from .live_client import LiveSocketIOClient

        if self._state != "running":
            raise RuntimeError("the live server is not running")
        if (environ_overrides or session is not None) and not isinstance(self._runner,
                                                                         _ThreadRunner):
            raise RuntimeError("environ_overrides= and session= need a LiveServer in "
                               "thread mode (not from_import())")
        headers = dict(options.pop("headers", None) or {})
        if environ_overrides:
            token = uuid.uuid4().hex
            self._environ_overrides[token] = dict(environ_overrides)
            headers[ENVIRON_OVERRIDES_HEADER] = token
        if session is not None:
            headers["Cookie"] = _session_cookie(self.app, session)  # type: ignore[arg-type]
        options.setdefault("socketio", self.socketio)
        options.setdefault("path", self.path)
        live_client = LiveSocketIOClient(self.url, namespace, headers=headers or None,
                                         **options)
        self._clients.append(live_client)
        return live_client

    def call_in_server(self, function: Callable[..., Any], *args: Any,
                       timeout: float = 5.0, **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` in the server's hub; return its result.

        gevent objects (the server's queues, events, tasks) belong to the server's
        thread: to call ``socketio.call(...)``, start a background task or read
        state consistently from the test, do it here. Thread mode only.
        """
        if not isinstance(self._runner, _ThreadRunner) or not self.is_running:
            raise RuntimeError("call_in_server() needs a running LiveServer in thread mode")
        return self._runner.call(function, args, kwargs, timeout)

    def __repr__(self) -> str:
        where = f" {self.url}" if self._socket is not None else ""
        return f"<LiveServer{where} {self._state}>"


#: The header a live client sends to have its ``environ_overrides`` applied.
ENVIRON_OVERRIDES_HEADER = "X-Flask-SocketIO-Test-Environ"
_ENVIRON_OVERRIDES_KEY = "HTTP_" + ENVIRON_OVERRIDES_HEADER.upper().replace("-", "_")


class _EnvironOverrides:
    """WSGI middleware of a thread-mode LiveServer: applies a client's
    ``environ_overrides`` to each of its requests (named by its header)."""

    def __init__(self, application: Any, overrides: dict[str, dict[str, Any]]) -> None:
        self.application = application
        self.overrides = overrides

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        token = environ.pop(_ENVIRON_OVERRIDES_KEY, None)
        if token is not None:
            environ.update(self.overrides.get(token, {}))
        return self.application(environ, start_response)


def _session_cookie(app: flask.Flask, values: dict[str, Any]) -> str:
    """A ``Cookie`` header carrying a Flask session with ``values``."""
    http = app.test_client()
    try:
        with http.session_transaction() as flask_session:
            flask_session.update(values)
    except RuntimeError as exc:
        raise RuntimeError(f"cannot seed session=: {exc} (is SECRET_KEY set?)") from exc
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = http.get_cookie(name)
    if cookie is None:
        raise RuntimeError("cannot seed session=: the session interface set no cookie")
    return f"{name}={cookie.value}"


class _ThreadRunner:
    """Serves from a background thread with its own gevent hub (no monkey-patching)."""

    def __init__(self, server: LiveServer, listener: socket.socket) -> None:
        self.server = server
        self.listener = listener
        self.log = server._log
        self.thread: threading.Thread | None = None
        self.hub: Any = None
        self.embedded: Any = None
        self.failure: BaseException | None = None
        self.left_running: list[str] = []
        self._log_handler = _ThreadLogHandler(self.log)

    def start(self) -> None:
        from ..serving import build_server

        server = self.server
        assert server.app is not None and server.socketio is not None
        options = dict(server.run_options)
        options["environ"] = {"SERVER_NAME": _HOST, **options.get("environ", {})}
        options.setdefault("log_output", False)
        self.embedded = build_server(server.socketio, server.app, listener=self.listener,
                                     **options)
        logging.getLogger().addHandler(self._log_handler)
        self.thread = threading.Thread(target=self._serve, daemon=True,
                                       name=f"LiveServer-{server.port}")
        self.thread.start()
        deadline = time.monotonic() + server.start_timeout
        while not self.embedded.started.wait(0.05):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                break
        if self.embedded.started.is_set():
            # The access log: pywsgi writes it to ``log``; gevent-websocket's handler
            # logs it, and its warnings, to the server's ``logger``.
            wsgi_server = self.embedded.wsgi_server
            wsgi_server.application = _EnvironOverrides(wsgi_server.application,
                                                        server._environ_overrides)
            self.embedded.wsgi_server.log = self.log
            self.embedded.wsgi_server.logger = _stream_logger("flask_socketio.live.access",
                                                              self.log)

    def _serve(self) -> None:
        import gevent

        self._log_handler.thread_id = threading.get_ident()
        hub = self.hub = gevent.get_hub()
        # tracebacks of greenlets that failed (gevent only calls ``write``)
        hub.exception_stream = self.log  # type: ignore[assignment]
        try:
            self.embedded.serve_forever()
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.failure = exc
            self.log.write("the server failed:\n" + "".join(traceback.format_exception(exc)))
        finally:
            try:
                self._sweep(hub)
            finally:
                hub.destroy(destroy_loop=True)

    def _sweep(self, hub: Any) -> None:
        """Kill the greenlets left in the server's hub (pings, idle connections, tasks)."""
        import gc

        import gevent

        current = gevent.getcurrent()
        left = [glet for glet in gc.get_objects()
                if isinstance(glet, gevent.Greenlet) and glet is not current
                and glet.parent is hub and not glet.dead]
        if not left:
            return
        self.server.killed_greenlets += [_describe_greenlet(glet) for glet in left]
        gevent.killall(left, block=True, timeout=2)
        self.left_running = [_describe_greenlet(glet) for glet in left if not glet.dead]

    def _shutdown(self) -> None:
        """In the server's hub: close live sessions, stop the monitor, stop serving."""
        import gevent

        engine = self.server.socketio.toolkit_seam().server.eio.network  # type: ignore[union-attr]
        try:
            with gevent.Timeout(self.server.disconnect_timeout, False):  # type: ignore[arg-type]
                engine.disconnect()
            engine.shutdown()
        finally:
            self.embedded.wsgi_server.stop(timeout=1)

    def is_alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def call(self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             timeout: float) -> Any:
        import gevent

        results: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()

        def run() -> None:
            try:
                results.put((True, function(*args, **kwargs)))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                results.put((False, exc))

        self.hub.loop.run_callback_threadsafe(gevent.spawn, run)
        try:
            is_ok, value = results.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{function!r} did not return within {timeout:g}s in the "
                               "server") from None
        if not is_ok:
            raise value
        return value

    def stop(self, timeout: float) -> list[str]:
        import gevent

        problems: list[str] = []
        try:
            if self.is_alive() and self.hub is not None:
                self.hub.loop.run_callback_threadsafe(gevent.spawn, self._shutdown)
            if self.thread is not None:
                self.thread.join(timeout)
                if self.thread.is_alive():
                    problems.append(f"the server thread {self.thread.name} did not end "
                                    f"within {timeout:g}s")
        finally:
            logging.getLogger().removeHandler(self._log_handler)
        if self.failure is not None:
            problems.append(f"the server failed: {self.failure!r}")
        if self.left_running:
            problems.append("greenlets still running after being killed: "
                            + ", ".join(self.left_running))
        listening = self.embedded.wsgi_server if self.embedded is not None else None
        if listening is not None and not listening.closed:
            problems.append("the server's listening socket is still open")
        return problems

    def read_log(self) -> str:
        return self.log.getvalue()


def _stream_logger(name: str, stream: Any) -> logging.Logger:
    """A logger of its own (not in logging's registry) writing INFO and up to ``stream``."""
    stream_logger = logging.Logger(name, logging.INFO)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    stream_logger.addHandler(handler)
    stream_logger.propagate = False
    return stream_logger


def _describe_greenlet(glet: Any) -> str:
    target = getattr(glet, "_run", None)
    name = getattr(target, "__qualname__", None) or getattr(glet, "name", None) or repr(glet)
    return str(name)


class _ProcessRunner:
    """Serves from ``python -m flask_socketio.testing.live_process`` (monkey-patched)."""

    def __init__(self, server: LiveServer, listener: socket.socket) -> None:
        self.server = server
        self.listener = listener
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path: str | None = None
        self._final_log: str | None = None

    def start(self) -> None:
        server = self.server
        assert server._import_string is not None
        descriptor, self._log_path = tempfile.mkstemp(prefix="live-server-", suffix=".log")
        fd = self.listener.fileno()
        command = [sys.executable, "-m", "flask_socketio.testing.live_process",
                   "--fd", str(fd), "--app", server._import_string,
                   "--options", json.dumps(server.run_options)]
        if not server._monkey_patch:
            command.append("--no-monkey-patch")
        env = dict(os.environ)
        paths = [os.getcwd()] + [entry for entry in sys.path if entry]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(server._env or {})
        try:
            self.process = subprocess.Popen(command, pass_fds=(fd,), stdin=subprocess.DEVNULL,
                                            stdout=descriptor, stderr=subprocess.STDOUT,
                                            env=env)
        finally:
            os.close(descriptor)

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float) -> list[str]:
        problems: list[str] = []
        process = self.process
        try:
            if process is not None:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(timeout)
                    except subprocess.TimeoutExpired:
                        problems.append(f"the server process {process.pid} did not end within "
                                        f"{timeout:g}s of SIGTERM; killed")
                        process.kill()
                        process.wait(timeout)
                if process.returncode not in (0, -signal.SIGTERM):
                    problems.append(f"the server process exited with {process.returncode}")
        finally:
            self._final_log = self.read_log()
            if self._log_path is not None:
                os.unlink(self._log_path)
                self._log_path = None
        return problems

    def read_log(self) -> str:
        if self._final_log is not None:
            return self._final_log
        if self._log_path is None:
            return ""
        with open(self._log_path, encoding="utf-8", errors="replace") as file:
            return file.read()
