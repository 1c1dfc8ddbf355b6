"""The in-process Socket.IO test client.

It speaks the Socket.IO protocol with python-socketio's own packet classes over the
in-process Engine.IO transport, so a test runs the real server code above the
network: packet encoding (JSON or msgpack), namespaces, rooms, acks, the Flask
bridge and the user's handlers. Nothing is patched; any number of clients coexist.
"""

from __future__ import annotations

import copy
import logging
import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable
from io import BytesIO
from typing import TYPE_CHECKING, Any

import flask
from socketio import packet as sio_packet
from werkzeug.test import EnvironBuilder

from ..context import ENGINE_KEY, SAVED_SESSION_KEY
from ..options import check_namespace
from ..packets import Packet as FastPacket
from ..packets import binary_hint
from ..textcodec import DEFAULT_JSON, decode_control, decode_text, encode_text
from ..wsgi_types import WSGIEnvironment
from . import hooks
from .inprocess import InProcessEngine, InProcessSocket, in_process_engine
from .matchers import ANY
from .records import ReceivedEvent, SessionChange
from .rooms import listen_to_rooms
from .state import (
    DROP_REASONS,
    LAST_AUTH,
    NO_CHECK,
    TRANSPORT_CLOSE,
    ClientState,
    check_drop_reason,
    expected_args,
    ignore_keywords,
    raw_namespace,
    resolve_namespace,
    warn_no_ack,
)
from .transcript import Transcript
from .waiting import check_count, has_arrived, take_arrived, wanted_args

if TYPE_CHECKING:
    from ..extension import SocketIO

logger = logging.getLogger("flask_socketio.testing")

#: The reason a client records when the server disconnects a namespace.
SERVER_DISCONNECT = "io server disconnect"
#: The reason a client records when it disconnects itself.
CLIENT_DISCONNECT = "io client disconnect"

#: Receive timeout (seconds) when a test does not give one; the pytest ini option
#: ``socketio_receive_timeout`` changes it.
DEFAULT_TIMEOUT = 1.0 if hooks.receive_timeout is None else hooks.receive_timeout

#: Callables told of each new client (the pytest plugin collects a test's clients
#: here to print their transcripts when it fails). Nothing else keeps clients.
creation_listeners: list[Callable[[SocketIOTestClient], None]] = hooks.test_clients


def _cookies_into(flask_test_client: Any, environ: WSGIEnvironment) -> None:
    """Copy a Flask test client's cookies into ``environ``.

    Werkzeug's ``Client`` has no public way to do this; ``_add_cookies_to_wsgi``
    is what it uses for its own requests. Kept here, in one place, and tested.
    """
    flask_test_client._add_cookies_to_wsgi(environ)


def _handshake_environ(path: str, query_string: str, headers: Any) -> dict[str, Any]:
    """The WSGI environ of a handshake request, as werkzeug's ``EnvironBuilder`` makes it.

    Building one costs more than the rest of a connection; for the usual headers (none,
    or a dict of strings) the build is done once and copied, with the two values that
    must be new each time: an empty input stream and the current ``sys.stderr``.
    """
    if not headers:
        key: Any = (path, query_string)
    elif type(headers) is dict and all(type(value) is str for value in headers.values()):
        key = (path, query_string, tuple(headers.items()))
    else:
        return _build_environ(path, query_string, headers)
    template = _environ_templates.get(key)
    if template is None:
        if len(_environ_templates) >= _MAX_ENVIRON_TEMPLATES:
            _environ_templates.clear()
        template = _environ_templates[key] = _build_environ(path, query_string,
                                                            headers or None)
    environ = template.copy()
    environ["wsgi.input"] = BytesIO()
    environ["wsgi.errors"] = sys.stderr
    return environ


#: Handshake environs built, by path, query string and headers (never handed out:
#: each request gets a copy).
_environ_templates: dict[Any, dict[str, Any]] = {}
_MAX_ENVIRON_TEMPLATES = 32


def _build_environ(path: str, query_string: str, headers: Any) -> dict[str, Any]:
    builder = EnvironBuilder(path, query_string=query_string, headers=headers)
    try:
        return builder.get_environ()
    finally:
        builder.close()


#: Makes a client's queue of deliveries from other threads (rare: one lock for all).
_FOREIGN_QUEUE_LOCK = threading.Lock()

class SocketIOTestClient(ClientState):
    """A Socket.IO client that talks to a ``SocketIO`` server in the same process.

    Made by :meth:`SocketIO.test_client`, connected to ``namespace`` (``'/'`` by
    default). Flask-SocketIO's test client API (``emit``, ``send``,
    ``get_received``, ``connect``, ``disconnect``, ``is_connected``, ``eio_sid``)
    works the same; the rest is described in the Testing chapter.

    :param raise_server_exceptions: re-raise, in the test, exceptions that server
        handlers raised and no error handler took (default). ``False`` logs them,
        to test error handlers and logging.
    :param timeout: seconds :meth:`receive` waits for events delivered from other
        threads (message queue listeners); in-process work itself never waits.
    :param environ_overrides: WSGI environ keys of the handshake request to set
        (``{"REMOTE_ADDR": "203.0.113.9"}``), as Flask's test client takes them.
    :param session: a Flask session to start with (seeded through the session
        cookie, as a browser that logged in would bring it; needs ``SECRET_KEY``).
    :param connect: ``False`` makes the client without connecting it: call
        :meth:`connect` later.

    ``query_string``, ``headers``, ``environ_overrides`` and ``session`` are used for
    every Engine.IO session the client opens (after :meth:`drop`, say); each
    namespace keeps the ``auth`` it last connected with.
    """

    # Slots: what the state of both clients (ClientState) adds keeps the instance's
    # dict small enough for CPython's fast shared-key attributes (at most 30 keys;
    # one more and every attribute of every client goes through a real dict). A
    # client still takes any other attribute (a test's own) in its dict.
    __slots__ = ("app", "socketio", "_seam", "server", "engine", "flask_test_client",
                 "raise_server_exceptions", "timeout", "transcript", "_session_changes",
                 "eio_sid", "_socket", "_packet_class", "_acks", "_last_ack_id",
                 "_binary_packet", "_foreign", "_has_foreign_producers", "_is_closed",
                 "_environ_overrides", "_pids", "_offsets",
                 "_recovered")

    def __init__(self, app: flask.Flask, socketio: SocketIO, namespace: str | None = None,
                 query_string: str | None = None, headers: dict[str, str] | None = None,
                 auth: Any = None, flask_test_client: Any = None, *,
                 raise_server_exceptions: bool = True, timeout: float | None = None,
                 environ_overrides: dict[str, Any] | None = None,
                 session: dict[str, Any] | None = None, connect: bool = True) -> None:
        ClientState.__init__(self)
        self.app = app
        self.socketio = socketio
        #: What this client uses of the extension (:mod:`flask_socketio.toolkit_seam`).
        self._seam = seam = socketio.toolkit_seam()
        server = self.server = seam.server
        self.engine = in_process_engine(server.eio)
        seam.observe_sessions(_session_observer_of)
        self.flask_test_client = flask_test_client
        self.raise_server_exceptions = raise_server_exceptions
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        #: Every packet in and out, rooms joined and left, session changes.
        self.transcript = Transcript()
        self._session_changes: list[SessionChange] | None = None
        self.eio_sid: str | None = None
        self._socket: InProcessSocket | None = None
        self._packet_class = server.packet_class
        self._acks: dict[tuple[str, int], list[Any]] = {}
        self._last_ack_id = 0
        self._binary_packet: Any = None
        #: Deliveries from other threads (made by the first: see :meth:`_foreign_queue`).
        self._foreign: queue.SimpleQueue[Any] | None = None
        self._has_foreign_producers = False
        self._is_closed = False
        self._query_string = query_string
        self._headers = headers
        #: The environ keys to set in each handshake request.
        self._environ_overrides = dict(environ_overrides) if environ_overrides else None
        #: Connection state recovery, per namespace: the server's pid, the offset of
        #: the last event received, and whether the last connect was a recovery.
        self._pids: dict[str, str] = {}
        self._offsets: dict[str, str] = {}
        self._recovered: dict[str, bool] = {}
        if session is not None:
            self._seed_session(session)
        for listener in creation_listeners:
            listener(self)
        if connect:
            self._connect(namespace, None, None, auth)
        elif auth is not None:  # the first connect() uses it
            self._deferred_auth[check_namespace(namespace)] = auth

    def _seed_session(self, values: dict[str, Any]) -> None:
        http = self.flask_test_client
        if http is None:
            http = self.flask_test_client = self.app.test_client()
        try:
            with http.session_transaction() as flask_session:
                flask_session.update(values)
        except RuntimeError as exc:
            raise RuntimeError(f"cannot seed session=: {exc} (is SECRET_KEY set?)") from exc

    @property
    def session_changes(self) -> list[SessionChange]:
        """Each change a handler made to this connection's session, in order (the
        same list each time: a test may clear it)."""
        changes = self._session_changes
        if changes is None:
            changes = self._session_changes = []
        return changes

    @property
    def scheduler(self) -> Any:
        """The in-process scheduler this client's work runs on (the current test's)."""
        return self.engine.scheduler

    # -- connection ----------------------------------------------------------------------

    def connect(self, namespace: str | None = None, query_string: str | None = None,
                headers: dict[str, str] | None = None, auth: Any = None) -> None:
        """Connect ``namespace``, opening the Engine.IO session first if there is none.

        A refused connection is not an exception: :meth:`is_connected` is ``False``
        and :attr:`connect_error` holds what the server said. Connecting a namespace
        that is already connected does nothing, as with socket.io-client. ``auth``
        is what the connect handler gets (``None``: no auth, as in Flask-SocketIO;
        :meth:`reconnect` reuses each namespace's last ``auth``).

        ``query_string`` and ``headers``, when given, replace the client's: the
        open session's handshake request (so ``request`` shows them to this connect
        handler and to every later event, of every namespace, as with
        Flask-SocketIO's test client) and the sessions it opens from now on. The
        rest of the connection (its managed session, say) stays.
        """
        self._connect(namespace, query_string, headers, auth)

    def _connect(self, namespace: str | None, query_string: str | None,
                 headers: dict[str, str] | None, auth: Any) -> None:
        if self._is_closed:
            raise RuntimeError("this test client was closed; make a new one")
        namespace = check_namespace(namespace)
        if namespace in self._namespaces:
            return
        auth = self._connect_options(namespace, query_string, headers, auth)
        socket = self._socket
        if socket is None or socket.is_closed:
            self._open(self._query_string, self._headers)
        elif query_string is not None or headers is not None:
            self._replace_request()
        if self._connect_errors:
            self._connect_errors.pop(namespace, None)
        if self._disconnect_reasons:
            self._disconnect_reasons.pop(namespace, None)
        if self._pids:
            auth = self._with_recovery(namespace, auth)
        if auth is None:
            self._send_bare(sio_packet.CONNECT, "connect", namespace)
        else:
            self._send(sio_packet.CONNECT, namespace, auth)
        self._sync()  # (the reader started for the CONNECT runs it)

    def _with_recovery(self, namespace: str, auth: Any) -> Any:
        """``auth`` with the namespace's pid and last offset, as socket.io-client
        sends them once the server gave a pid (connection state recovery)."""
        pid = self._pids.get(namespace)
        if pid is None or not (auth is None or isinstance(auth, dict)):
            return auth
        state = {"pid": pid}
        if namespace in self._offsets:
            state["offset"] = self._offsets[namespace]
        return {**state, **(auth or {})}

    def is_recovered(self, namespace: str | None = None) -> bool:
        """Did the server recover ``namespace``'s connection state at its last connect
        (the same pid again: its sid, rooms and data back, missed events replayed)?
        As socket.io-client's ``socket.recovered``."""
        return self._recovered.get(check_namespace(namespace), False)

    def reconnect(self) -> None:
        """Open a new Engine.IO session and connect the namespaces the last one had,
        each with its ``auth``, as socket.io-client does after a network failure."""
        if self._socket is not None and not self._socket.is_closed:
            raise RuntimeError("the client is still connected: drop() or disconnect() first")
        for namespace in self._lost_namespaces or ["/"]:
            self._connect(namespace, None, None, LAST_AUTH)

    def drop(self, reason: str = TRANSPORT_CLOSE) -> None:
        """The network fails under the client: the server sees ``reason``.

        ``reason`` is ``'transport close'`` (the connection closed),
        ``'ping timeout'`` (it went silent) or ``'transport error'``; the
        server's disconnect handlers run with it, and :attr:`disconnect_reason`
        says it. What the client sent before still reaches the server first.
        Reconnect with :meth:`reconnect` (or :meth:`connect`).
        """
        check_drop_reason(reason)
        if self._socket is None or self._socket.is_closed:
            raise RuntimeError("cannot drop: the client has no open connection")
        self.transcript.add("sent", "drop", "*", args=reason)
        self._socket.drop(reason)
        self._sync()

    def stall(self) -> _Stall:
        """Stop reading, as a client on a congested network would, until
        :meth:`resume` (or the end of ``with client.stall():``).

        Meanwhile the server sees the client's transport as not ready: volatile
        emits to it are dropped (and counted in ``socketio.stats``); everything else
        waits and arrives, in order, when it resumes. The client can still send.
        """
        if self._socket is None or self._socket.is_closed:
            raise RuntimeError("cannot stall: the client has no open connection")
        if self._socket.is_stalled:
            raise RuntimeError("the client is already stalled")
        self._socket.stall()
        return _Stall(self)

    def resume(self) -> None:
        """Read again after :meth:`stall`: what the server sent meanwhile arrives."""
        if self._socket is None or not self._socket.is_stalled:
            raise RuntimeError("the client is not stalled")
        self._socket.resume()
        self._sync()

    def send_raw(self, payload: str | bytes) -> None:
        """Send one Engine.IO message as it is: an encoded Socket.IO packet
        (``'2["echo",1]'``, ``'2/chat,["echo"]'``) or a binary attachment, unchecked,
        to test how the server takes malformed or unusual packets."""
        if not isinstance(payload, (str, bytes)):
            raise TypeError(f"send_raw() takes a str or bytes payload, not {payload!r}")
        if self._socket is None or self._socket.is_closed:
            raise RuntimeError("cannot send: the client has no open connection")
        self.transcript.add("sent", "raw", raw_namespace(payload), args=payload)
        self._socket.send(payload)
        self._sync()

    def _handshake_request(self, query_string: str | None,
                           headers: dict[str, str] | None) -> WSGIEnvironment:
        """The environ of a handshake request with ``query_string`` and ``headers``."""
        path = "/" + self._seam.path.strip("/")  # as Flask-SocketIO's test client
        environ = _handshake_environ(path, (query_string or "").lstrip("?"), headers)
        environ["flask.app"] = self.app
        environ[ENGINE_KEY] = self.engine
        if self.flask_test_client is not None:
            _cookies_into(self.flask_test_client, environ)
        overrides = self._environ_overrides
        if overrides:
            environ.update(overrides)
        return environ

    def _replace_request(self) -> None:
        """Make the open session's environ that of a new handshake request with the
        client's query string and headers, in place: the server, the Flask bridge and
        the managed session keep the same dict. Flask-SocketIO's test client does the
        same at each ``connect()`` (with a new dict, which loses the rest)."""
        assert self._socket is not None
        environ = self._socket.environ
        for key in [key for key in environ
                    if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")]:
            del environ[key]
        environ.update(self._handshake_request(self._query_string, self._headers))
        self._seam.request_replaced(environ)  # the Host may have changed

    def _open(self, query_string: str | None, headers: dict[str, str] | None) -> None:
        environ = self._handshake_request(query_string, headers)
        socket = self._socket = self.engine.open(environ, self)
        self.eio_sid = socket.sid
        self._binary_packet = None
        listen_to_rooms(self.server.manager, self.engine)

    def disconnect(self, namespace: str | None = None) -> None:
        """Disconnect ``namespace``; the server runs its disconnect handler.

        Disconnecting the last namespace closes the Engine.IO session.
        """
        namespace = check_namespace(namespace)
        if namespace not in self._namespaces:
            raise RuntimeError(f"not connected to namespace {namespace!r}")
        self._send_bare(sio_packet.DISCONNECT, "disconnect", namespace)
        namespaces = self._namespaces
        del namespaces[namespace]
        self._disconnect_reasons[namespace] = CLIENT_DISCONNECT
        if not namespaces and self._socket is not None:
            # the session closes right behind the DISCONNECT: the reader task started
            # for the DISCONNECT reads both, in order (see InProcessSocket.close)
            self._socket.close()
        self._sync()

    def close(self) -> None:
        """Disconnect everything and close the session. Safe to call twice."""
        if self._is_closed:
            return
        try:
            for namespace in list(self._namespaces):
                self._send_bare(sio_packet.DISCONNECT, "disconnect", namespace)
                self._disconnect_reasons[namespace] = CLIENT_DISCONNECT
            self._namespaces.clear()
            if self._socket is not None and not self._socket.is_closed:
                self._socket.close()
            self._sync()
        finally:
            self._is_closed = True

    def __enter__(self) -> SocketIOTestClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- server-side state -----------------------------------------------------------------

    def rooms(self, namespace: str | None = None) -> list[Any]:
        """The rooms the server has this client in (its own sid room included)."""
        namespace = check_namespace(namespace)
        sid = self._require_namespace(namespace, "ask for rooms")
        self._sync()
        return list(self.server.manager.get_rooms(sid, namespace))

    @property
    def session(self) -> Any:
        """The session the handlers of this connection see."""
        self._sync()
        if self._socket is None:
            raise RuntimeError("the client has no connection")
        if self._seam.manages_session():
            return self._socket.environ.get(SAVED_SESSION_KEY)
        with self.app.request_context(self._socket.environ):
            return flask.session._get_current_object()  # type: ignore[attr-defined]

    # -- sending -----------------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: bool = False,
             namespace: str | None = None, timeout: float | None = None,
             **ignored: Any) -> Any:
        """Emit ``event`` to the server and run what it causes.

        With ``callback=True``, return the server's acknowledgement: one value, or a
        list for several; waiting for it moves the in-process clock up to
        ``timeout`` (the client's default), as a blocked client would wait live.
        When none comes, ``None`` with a :class:`NoAckWarning`, as Flask-SocketIO's
        test client returns ``None``; with an explicit ``timeout``, ``TimeoutError``.

        Other keywords are accepted and ignored, as Flask-SocketIO's test client
        does: the server's addressing keywords (``broadcast``, ``to``, ``room``,
        ``include_self``, ``skip_sid``, ``ignore_queue``) silently, since a client
        cannot address other clients; any other one with a :class:`UserWarning`.
        """
        if ignored:
            ignore_keywords(ignored)
        namespace = "/" if namespace is None else check_namespace(namespace)
        if namespace not in self._namespaces:
            self._require_namespace(namespace, f"emit {event!r}")
        ack_id = None
        if callback:
            ack_id = self._last_ack_id = self._last_ack_id + 1
        self._send(sio_packet.EVENT, namespace, data=[event, *args], ack_id=ack_id,
                   event=event)
        self._sync()
        if ack_id is None:
            return None
        key = (namespace, ack_id)
        wait = self.timeout if timeout is None else timeout
        if key not in self._acks:
            self.scheduler.run_until(lambda: key in self._acks, wait)
            self._raise_failures()
        if key not in self._acks:
            if timeout is None:
                warn_no_ack(event, namespace, wait, "in-process clock")
                return None
            raise TimeoutError(f"the server did not acknowledge {event!r} on {namespace!r} "
                               f"within {wait:g}s (in-process clock)")
        ack = self._acks.pop(key)
        return ack[0] if len(ack) == 1 else ack

    # -- receiving ---------------------------------------------------------------------

    def get_received(self, namespace: Any = None) -> list[ReceivedEvent]:
        """Return, and forget, every event received on ``namespace`` (``'/'``;
        ``ANY`` for every namespace).

        Events that arrived before a disconnection are still returned (``[]`` once
        read). On a namespace the client never connected (not tried, or refused),
        ``RuntimeError('not connected ...')``, as Flask-SocketIO's test client."""
        self._sync()
        return self._take_received(resolve_namespace(namespace))

    def clear(self) -> list[ReceivedEvent]:
        """Forget every event received so far, on every namespace (the connect-time
        ones, say); return them."""
        return self.get_received(ANY)

    def receive(self, event: str | None = None, namespace: Any = None,
                timeout: float | None = None) -> ReceivedEvent:
        """Return, and forget, the next received ``event`` (any, for ``None``) on
        ``namespace`` (``'/'``; ``ANY`` for every namespace).

        Pending server work runs first, so in-process the answer is exact;
        ``TimeoutError`` says nothing matched. Events that arrived before a
        disconnect are still returned; once they are read, waiting on a disconnected
        namespace is a ``RuntimeError``, at once.
        """
        __tracebackhide__ = True
        namespace = resolve_namespace(namespace)
        record = self._receive(event, namespace, NO_CHECK, timeout)
        if record is None:
            raise TimeoutError(self._nothing_matched(event, namespace))
        return record

    def assert_received(self, event: str, *args: Any, namespace: Any = None,
                        timeout: float | None = None) -> ReceivedEvent:
        """Assert an ``event`` with ``args`` was received; return it, and forget it.

        The first *matching* event is taken; others stay to be read. ``args`` may
        hold matchers (``ANY``, ``Partial``, ``Match``, ``Regex``); no ``args``
        means an event without arguments. The failure shows, key by key, how the
        events of that name differ, and what else is waiting.
        """
        __tracebackhide__ = True
        namespace = resolve_namespace(namespace)
        expected = expected_args(event, args)
        record = self._receive(event, namespace, expected, timeout)
        if record is None:
            raise AssertionError(self._nothing_matched(event, namespace, expected))
        return record

    def refute_received(self, event: str, *args: Any, namespace: Any = None,
                        timeout: float | None = None) -> None:
        """Assert no ``event`` (with ``args``, if given: none means any arguments) is
        waiting to be read on ``namespace``. Pending server work runs first;
        ``timeout`` also lets the virtual clock move that far (stopping at the first
        such event), and watches that long for deliveries from other threads."""
        __tracebackhide__ = True
        namespace = resolve_namespace(namespace)
        self._sync()
        if timeout:
            def arrived() -> bool:
                self._sync()
                return self._refuted(event, args, namespace) is not None

            if not arrived():
                self.scheduler.run_until(arrived, timeout)
            if not arrived() and self._may_get_foreign(timeout):
                self._drain_foreign(timeout, until=arrived)
        failure = self._refuted(event, args, namespace)
        if failure is not None:
            raise AssertionError(failure)

    def assert_nothing_received(self, namespace: Any = None) -> None:
        """Assert no event is waiting to be read on ``namespace`` (``'/'``; ``ANY``
        for every namespace)."""
        __tracebackhide__ = True
        self._sync()
        self._fail_if_any(self._matching(None, resolve_namespace(namespace)))

    def wait_for(self, event: str, *args: Any, count: int = 1, within: float | None = None,
                 namespace: Any = None) -> list[ReceivedEvent]:
        """Wait until ``count`` ``event`` events (with ``args``, if given; matchers
        allowed) have arrived on ``namespace``; return them, and forget them.

        In-process the wait moves the virtual clock, up to ``within`` seconds (the
        client's timeout by default), and stops as soon as they are there; live it
        waits in real time. So one test body runs both ways. ``TimeoutError`` says
        how many arrived.
        """
        __tracebackhide__ = True
        check_count(count)
        namespace = resolve_namespace(namespace)
        expected = wanted_args(event, args)
        wait = self.timeout if within is None else within

        def arrived() -> bool:
            self._sync()
            return has_arrived(self, event, namespace, expected, count)

        if not arrived():
            self.scheduler.run_until(arrived, wait)
            if not arrived() and self._may_get_foreign(wait):
                self._drain_foreign(wait, until=arrived)
        return take_arrived(self, event, namespace, expected, count, wait,
                            "in-process clock")

    def _receive(self, event: str | None, namespace: Any, expected: Any,
                 timeout: float | None) -> ReceivedEvent | None:
        self._sync()
        record = self._take(event, namespace, expected)
        if record is None and not self._is_listening(namespace):
            raise RuntimeError(f"cannot wait: not connected: "
                               f"{self._connection_state(namespace)}\n"
                               + self._nothing_matched(event, namespace, expected,
                                                       with_state=False))
        if record is None and timeout:
            # A wait on the in-process clock: the events that the server's timers
            # and sleeping tasks bring within ``timeout`` virtual seconds.
            found: list[ReceivedEvent] = []

            def arrived() -> bool:
                self._sync()
                taken = self._take(event, namespace, expected)
                if taken is not None:
                    found.append(taken)
                return bool(found)

            self.scheduler.run_until(arrived, timeout)
            record = found[0] if found else None
        if record is None and self._may_get_foreign(timeout):
            record = self._wait_foreign(event, namespace, expected,
                                        self.timeout if timeout is None else timeout)
        return record

    def _may_get_foreign(self, timeout: float | None) -> bool:
        """Can events still come from other threads (a queue listener, a live server
        sharing this server, a thread of the test that emits), so that a wait must be
        in real time too? Without an explicit ``timeout``, only once some did."""
        router = self.server.eio
        if self._has_foreign_producers or router.external_listeners:
            return True
        if not timeout:
            return False
        current = threading.current_thread()
        return router.serves_network() or any(
            thread is not current and not thread.daemon for thread in threading.enumerate())

    def _wait_foreign(self, event: str | None, namespace: Any, expected: Any,
                      timeout: float) -> ReceivedEvent | None:
        found: list[ReceivedEvent] = []

        def taken() -> bool:
            record = self._take(event, namespace, expected)
            if record is not None:
                found.append(record)
            return bool(found)

        self._drain_foreign(timeout, taken)
        return found[0] if found else None

    def _drain_foreign(self, timeout: float, until: Callable[[], bool] | None = None) -> None:
        """Take deliveries from other threads for ``timeout`` seconds (or until
        ``until()`` holds)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                payload = self._foreign_queue().get(timeout=left)
            except queue.Empty:
                break
            self._on_payload(payload)
            self._sync()
            if until is not None and until():
                return

    def _foreign_queue(self) -> queue.SimpleQueue[Any]:
        """The queue of deliveries from other threads, made on first use (most clients
        never get one), once even when two threads ask at the same time."""
        foreign = self._foreign
        if foreign is None:
            with _FOREIGN_QUEUE_LOCK:
                foreign = self._foreign
                if foreign is None:
                    foreign = self._foreign = queue.SimpleQueue()
        return foreign

    # -- the protocol --------------------------------------------------------------------

    def _send(self, packet_type: int, namespace: str, data: Any = None,
              ack_id: int | None = None, event: str | None = None) -> None:
        packet_class = self._packet_class
        encoded: Any = None
        if packet_class is FastPacket and FastPacket.json is DEFAULT_JSON:
            # what the server's packet class encodes text with; JSON refuses bytes, so
            # a payload that encodes has none (the others go the packet class's way)
            try:
                encoded = encode_text(packet_type, namespace, ack_id, data)
            except Exception:
                encoded = None
        if encoded is None:
            encoded = self._encode(packet_class, packet_type, namespace, data, ack_id, event)
        kind = _KINDS.get(packet_type, "event")
        args = data[1:] if kind == "event" and data is not None else data
        self.transcript.add("sent", kind, namespace, event, args, ack_id)
        socket = self._socket
        assert socket is not None
        if type(encoded) is list:  # a binary packet and its attachments
            for part in encoded:
                socket.send(part)
        else:
            socket.send(encoded)

    def _send_bare(self, packet_type: int, kind: str, namespace: str) -> None:
        """``_send`` of a packet without data or ack id (CONNECT without auth,
        DISCONNECT), shorter: its encoding is the packet type and the namespace (none
        for '/'), made once."""
        if self._packet_class is not FastPacket or FastPacket.json is not DEFAULT_JSON:
            self._send(packet_type, namespace)
            return
        encoded = _bare_packet(packet_type, namespace)
        self.transcript.add("sent", kind, namespace)
        socket = self._socket
        assert socket is not None
        socket.send(encoded)

    @staticmethod
    def _encode(packet_class: Any, packet_type: int, namespace: str, data: Any,
                ack_id: int | None, event: str | None) -> Any:
        try:
            # FastPacket encodes a text EVENT or ACK at once and finds binary data itself
            binary = None if packet_class is FastPacket else binary_hint(packet_class, data)
            pkt = packet_class(packet_type, data=data, namespace=namespace, id=ack_id,
                               binary=binary)
            encoded = pkt.encode()
        except (TypeError, ValueError, OverflowError) as exc:  # msgpack: ints over 64 bits
            doing = "acknowledge" if packet_type == sio_packet.ACK else "send"
            raise TypeError(f"cannot {doing} {event or 'packet'!r}: its payload is not "
                            f"serializable ({exc})") from exc
        return encoded

    def _on_payload(self, payload: Any) -> None:
        if not self.engine.scheduler.owns():  # a live server's thread, a queue listener
            foreign = self._foreign_queue()
            self._has_foreign_producers = True
            foreign.put(payload)
            return
        if self._binary_packet is not None:
            if self._binary_packet.add_attachment(payload):
                pkt, self._binary_packet = self._binary_packet, None
                self._dispatch(pkt)
            return
        pkt = None
        if (type(payload) is str and self._packet_class is FastPacket
                and FastPacket.json is DEFAULT_JSON):
            # a text EVENT or ACK with the server's fast decoder; CONNECT and the like too
            if payload[:1] in _CONTROL_TYPES:
                pkt = decode_control(payload)
            else:
                pkt = decode_text(payload)
        if pkt is None:
            pkt = self._packet_class(encoded_packet=payload)
        if pkt.attachment_count:
            self._binary_packet = pkt
            return
        self._dispatch(pkt)

    def _on_close(self, reason: str) -> None:
        namespaces = self._namespaces
        if namespaces or self._lost_namespaces:
            self._lost_namespaces = list(namespaces)
        if namespaces:
            for namespace in namespaces:
                self._disconnect_reasons[namespace] = (
                    SERVER_DISCONNECT if reason == "server disconnect"
                    else reason if reason in DROP_REASONS else TRANSPORT_CLOSE)
                self.transcript.add("received", "disconnect", namespace, args=reason)
            namespaces.clear()

    def _dispatch(self, pkt: Any) -> None:
        namespace = pkt.namespace or "/"
        kind = pkt.packet_type
        if kind == sio_packet.EVENT or kind == sio_packet.BINARY_EVENT:
            self._received_event(namespace, pkt.data[0], pkt.data[1:], pkt.id)
        elif kind == sio_packet.ACK or kind == sio_packet.BINARY_ACK:
            self._acks[(namespace, pkt.id)] = pkt.data
            self.transcript.add("received", "ack", namespace, args=pkt.data, ack_id=pkt.id)
        elif kind == sio_packet.CONNECT:
            data = pkt.data
            self._note_connected(namespace, data["sid"])
            pid = data.get("pid")
            pids = self._pids
            self._recovered[namespace] = pid is not None and pids.get(namespace) == pid
            if pid is None:
                if pids:
                    pids.pop(namespace, None)
            else:
                pids[namespace] = pid
            self.transcript.add("received", "connect", namespace, args=data)
        elif kind == sio_packet.CONNECT_ERROR:
            self._namespaces.pop(namespace, None)
            self._connect_errors[namespace] = pkt.data
            self.transcript.add("received", "connect_error", namespace, args=pkt.data)
            if not self._namespaces and self._socket is not None:
                # as socket.io-client does: no namespace left, so the session closes
                self._socket.close()
        elif kind == sio_packet.DISCONNECT:
            self._namespaces.pop(namespace, None)
            self._disconnect_reasons[namespace] = SERVER_DISCONNECT
            self.transcript.add("received", "disconnect", namespace, args=pkt.data)
            if not self._namespaces and self._socket is not None:
                self._socket.close()

    def _received_event(self, namespace: str, event: str, args: list[Any],
                        ack_id: int | None) -> None:
        recovery = self.server.recovery
        if (recovery is not None and args and namespace in self._pids
                and recovery.is_offset(args[-1])):
            # the offset of connection state recovery: kept for the reconnect, not
            # shown (a real client's handler gets it as a last argument)
            self._offsets[namespace] = args[-1]
            args = args[:-1]
        self.transcript.add("received", "event", namespace, event, args, ack_id)
        shown: Any = args[0] if event in ("message", "json") and len(args) == 1 else args
        record = ReceivedEvent(event, shown, namespace, ack_id, self._respond)
        self._received.append(record)
        if not self._handlers:
            return
        handler = self._handlers.get((namespace, event))
        handler_args = tuple(args)
        if handler is None:
            handler = self._handlers.get((namespace, "*"))
            handler_args = (event, *args)
        if handler is not None:
            self.scheduler.start_background_task(self._run_handler, handler, handler_args,
                                                 record)

    def _run_handler(self, handler: Callable[..., Any], args: tuple[Any, ...],
                     record: ReceivedEvent) -> None:
        self._answer(record, handler(*args))

    def _respond(self, record: ReceivedEvent, args: tuple[Any, ...]) -> None:
        try:
            if record.namespace not in self._namespaces:
                raise RuntimeError(f"cannot acknowledge {record.name!r}: not connected to "
                                   f"namespace {record.namespace!r}")
            self._send(sio_packet.ACK, record.namespace, data=list(args),
                       ack_id=record.ack_id, event=record.name)
        except (RuntimeError, TypeError):
            record.is_acked = False  # nothing was sent: the event may still be answered
            raise
        if not self.scheduler.is_task():
            self._sync()

    def _record_session_change(self, event: str, namespace: str, before: dict[str, Any],
                               after: dict[str, Any]) -> None:
        missing = SessionChange.MISSING
        for key in sorted(set(before) | set(after), key=str):
            old, new = before.get(key, missing), after.get(key, missing)
            if old != new:
                change = SessionChange(key, copy.deepcopy(old), copy.deepcopy(new), event,
                                       namespace)
                self.session_changes.append(change)
                self.transcript.add("server", "session", namespace, event, (key, old, new))

    def _record_room_change(self, sid: str, namespace: str, room: Any, joined: bool) -> None:
        self.transcript.add("server", "join" if joined else "leave", namespace, args=room)

    def _sync(self) -> None:
        """Run pending in-process work, take deliveries from other threads, raise errors."""
        if self._has_foreign_producers:  # set before any is put, once the queue is made
            foreign = self._foreign_queue()
            while True:
                try:
                    payload = foreign.get_nowait()
                except queue.Empty:
                    break
                self._on_payload(payload)
        scheduler = self.engine.scheduler
        scheduler.run_pending()
        if scheduler.failures:
            self._raise_failures()

    def _raise_failures(self) -> None:
        failures = self.scheduler.pop_failures()
        if not failures:
            return
        if not self.raise_server_exceptions:
            for source, exc in failures:
                logger.error("exception in %s", source, exc_info=exc)
            return
        for source, exc in failures[1:]:
            logger.error("further exception in %s", source, exc_info=exc)
        raise failures[0][1]

    def __repr__(self) -> str:
        return f"<SocketIOTestClient eio_sid={self.eio_sid} namespaces={list(self._namespaces)}>"


#: The first character of a text CONNECT, DISCONNECT or CONNECT_ERROR packet (what
#: :func:`decode_control` reads; the rest, :func:`decode_text`).
_CONTROL_TYPES = frozenset("014")

#: Packets without data or ack id (CONNECT without auth, DISCONNECT) by packet type and
#: namespace: their text encoding, as :func:`encode_text` makes it.
_BARE_PACKETS: dict[tuple[int, str], str] = {}
_MAX_BARE_PACKETS = 256


def _bare_packet(packet_type: int, namespace: str) -> str:
    """The text encoding of a packet without data or ack id: the packet type and the
    namespace (none for '/'), as :func:`encode_text` makes it, made once."""
    encoded = _BARE_PACKETS.get((packet_type, namespace))
    if encoded is None:
        encoded = encode_text(packet_type, namespace, None, None)
        if len(_BARE_PACKETS) < _MAX_BARE_PACKETS:
            _BARE_PACKETS[(packet_type, namespace)] = encoded
    return encoded

_KINDS = {
    sio_packet.CONNECT: "connect",
    sio_packet.DISCONNECT: "disconnect",
    sio_packet.EVENT: "event",
    sio_packet.ACK: "ack",
    sio_packet.CONNECT_ERROR: "connect_error",
    sio_packet.BINARY_EVENT: "event",
    sio_packet.BINARY_ACK: "ack",
}


def _session_observer_of(environ: WSGIEnvironment) -> Callable[[str, str, Any, Any], None] | None:
    """The session observer of the connection of ``environ``: its test client's, if it
    is an open in-process session (asked by the Flask bridge when it first makes the
    connection's state: most connections never need one)."""
    engine = environ.get(ENGINE_KEY)
    socket = engine.socket_for(environ) if isinstance(engine, InProcessEngine) else None
    client = socket.peer if socket is not None else None
    return _session_observer(client) if isinstance(client, SocketIOTestClient) else None


def _session_observer(client: SocketIOTestClient) -> Callable[[str, str, Any, Any], None]:
    """``client``'s session observer for the server's connection state: it holds the
    client weakly, so that the connection's environ (which the client's socket holds)
    makes no reference cycle with the client, and a client is freed at once when the
    test lets go of it, without the cyclic GC."""
    ref = weakref.ref(client)

    def observe(event: str, namespace: str, before: Any, after: Any) -> None:
        live = ref()
        if live is not None:
            live._record_session_change(event, namespace, before, after)

    return observe


class _Stall:
    """What :meth:`SocketIOTestClient.stall` returns: ``with`` resumes at the end."""

    __slots__ = ("client",)

    def __init__(self, client: SocketIOTestClient) -> None:
        self.client = client

    def __enter__(self) -> SocketIOTestClient:
        return self.client

    def __exit__(self, *exc_info: Any) -> None:
        socket = self.client._socket
        if socket is not None and socket.is_stalled:
            self.client.resume()
