"""A live Socket.IO client for tests, with the in-process test client's API.

:class:`LiveSocketIOClient` wraps python-socketio's ``Client`` (real WebSocket or
HTTP long-polling, over the network) and offers what
:class:`~flask_socketio.testing.SocketIOTestClient` offers: ``emit``, ``call``,
``send``, ``on``, ``receive``, ``get_received``, ``assert_received``,
``assert_nothing_received``, ``connect``/``disconnect``/``is_connected``, ``sid``,
``connect_error``, ``disconnect_reason``, a transcript and, given the server's
``SocketIO``, ``rooms()``. So one test body can run in-process and live.

What differs, because the network is real:

- every wait is in real seconds, bounded by ``timeout`` (default
  :data:`DEFAULT_TIMEOUT`);
- ``get_received`` and ``assert_nothing_received`` see what has *arrived*: make a
  round trip first (``client.call(...)``) when the test must know the server is
  done, since a server sends on one connection in order;
- ``rooms()`` reads the server's room manager, so it needs ``socketio=`` and is as
  fresh as what the server has processed.

python-socketio's ``Client`` is used through its public API, except in this module:
its Engine.IO client runs each message in a new thread, so events could be seen
out of order; here the reader thread delivers them one at a time, in order, and
client-side handlers run on one worker thread. Events are recorded (and may be
acknowledged later, by the test) instead of being answered at once.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import engineio
import engineio.packet
import engineio.payload
import socketio
from socketio import packet as sio_packet

from ..options import check_namespace
from . import hooks
from .client import CLIENT_DISCONNECT, SERVER_DISCONNECT
from .matchers import ANY
from .network import SeverableConnections
from .records import ReceivedEvent
from .state import (
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

__all__ = ["DEFAULT_TIMEOUT", "LiveSocketIOClient", "creation_listeners"]

#: Seconds a live client waits (for a connection, an ack, an event) unless told.
DEFAULT_TIMEOUT = 5.0

#: Callables told of each new live client (the pytest plugin collects a test's
#: clients here to print their transcripts when it fails). Nothing else keeps them.
creation_listeners: list[Callable[[LiveSocketIOClient], None]] = hooks.live_clients

_REASONS = {
    engineio.Client.reason.SERVER_DISCONNECT: SERVER_DISCONNECT,
    engineio.Client.reason.CLIENT_DISCONNECT: CLIENT_DISCONNECT,
}
_STOP = object()


class _InOrderEngineIOClient(engineio.Client):
    """python-engineio's client, delivering messages in order on its reader thread.

    Its ``disconnect()`` also first lets the writer send what is queued, then sends
    the CLOSE packet itself: python-engineio's writer, when between two requests,
    sees the new state and exits without sending them, so the server would keep
    the session (and a polling GET) open until its next ping.
    """

    ws: Any  # python-engineio's WebSocket (``None`` without one)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Every thread this client started, to join at close.
        self.threads: list[threading.Thread] = []
        self._is_close_sent = False
        #: Set by ``drop('ping timeout')``: the client goes silent (no PONG, nothing).
        self.is_silent = False

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        self._is_close_sent = False
        self.is_silent = False
        # The queue outlives a connection: a stop marker (None) left by the last
        # one's end would make the new writer exit at once.
        while self.queue is not None and not self.queue.empty():
            self.queue.get_nowait()
            self.queue.task_done()
        self.close_websocket()
        return super().connect(*args, **kwargs)

    def close_websocket(self) -> None:
        """Close the last connection's WebSocket: python-engineio leaves it open when
        the server closed the connection first (its reader just stops)."""
        if self.ws is not None and self.state == "disconnected":
            with contextlib.suppress(Exception):
                self.ws.shutdown()
            self.ws = None

    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False  # one at a time, in the order they arrived
        return super()._trigger_event(event, *args, **kwargs)

    def disconnect(self, abort: bool = False, reason: Any = None) -> None:
        in_reader = threading.current_thread() is self.read_loop_task
        if self.state == "connected" and reason != self.reason.SERVER_DISCONNECT and (
                in_reader or not abort):
            self._drain(self.request_timeout)
            self._send_close_now()
        # The reader cannot join itself: it ends on its own once the state changes.
        super().disconnect(abort=abort or in_reader, reason=reason)
        writer = self.write_loop_task
        if writer is not None and writer.is_alive():
            self.queue.put(None)  # an abort emptied the queue: let the writer end now

    def _drain(self, timeout: float) -> None:
        """Wait (bounded) until the writer has sent every queued packet, or has ended."""
        deadline = time.monotonic() + timeout
        pending = self.queue
        with pending.all_tasks_done:
            while (pending.unfinished_tasks and self._is_writing()
                   and (left := deadline - time.monotonic()) > 0):
                pending.all_tasks_done.wait(min(left, 0.05))

    def _is_writing(self) -> bool:
        writer = self.write_loop_task
        return writer is not None and writer.is_alive()

    def _send_close_now(self) -> None:
        close = engineio.packet.Packet(engineio.packet.CLOSE)
        try:
            if self.current_transport == "websocket":
                self.ws.send(close.encode())
            else:
                self._send_request("POST", self.base_url,
                                   body=engineio.payload.Payload(packets=[close]).encode(),
                                   headers={"Content-Type": "text/plain"},
                                   timeout=self.request_timeout)
        except Exception:  # noqa: BLE001 - the connection is going away anyway
            pass
        self._is_close_sent = True

    def _send_packet(self, pkt: Any) -> None:
        if self.is_silent or (pkt.packet_type == engineio.packet.CLOSE and self._is_close_sent):
            return
        super()._send_packet(pkt)

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any:
        thread = super().start_background_task(target, *args, **kwargs)
        self.threads.append(thread)
        return thread


def require_live_dependencies() -> Any:
    """Import what the live client needs (``requests``, ``websocket-client``), or say
    how to install them; returns the ``requests`` module."""
    try:
        import requests
        import websocket  # noqa: F401  (python-socketio's WebSocket transport)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"the live test client needs {exc.name!r}, which is not installed: "
            f"pip install 'flask-socketio-ng[testing]' (requests and websocket-client)",
            name=exc.name) from exc
    return requests


class _RecordingClient(socketio.Client):
    """python-socketio's client handing events to a :class:`LiveSocketIOClient`."""

    def __init__(self, owner: LiveSocketIOClient, **kwargs: Any) -> None:
        self._owner = owner
        super().__init__(**kwargs)

    def _engineio_client_class(self) -> Any:
        return _InOrderEngineIOClient

    def _handle_event(self, namespace: str | None, id: int | None, data: list[Any]) -> None:
        self._owner._received_event(namespace or "/", data[0], list(data[1:]), id)

    def connect_namespace(self, namespace: str, auth: Any) -> None:
        """Connect one more namespace on the open connection."""
        if namespace not in self.connection_namespaces:
            self.connection_namespaces.append(namespace)
        self._send_packet(self.packet_class(sio_packet.CONNECT, data=auth, namespace=namespace))

    def disconnect_namespace(self, namespace: str) -> None:
        """Leave one namespace, keeping the connection for the others."""
        self._send_packet(self.packet_class(sio_packet.DISCONNECT, namespace=namespace))
        self.namespaces.pop(namespace, None)
        if namespace in self.connection_namespaces:
            self.connection_namespaces.remove(namespace)

    def send_ack(self, namespace: str, ack_id: int, args: tuple[Any, ...]) -> None:
        self._send_packet(self.packet_class(sio_packet.ACK, namespace=namespace, id=ack_id,
                                            data=list(args)))


class LiveSocketIOClient(ClientState):
    """A Socket.IO client over the network, with the in-process test client's API.

    :param url: the server, ``http://127.0.0.1:PORT`` (``LiveServer.url``).
    :param namespace: the namespace to connect first (``'/'``).
    :param socketio: the server's ``SocketIO``, to answer :meth:`rooms`.
    :param transports: ``['websocket']`` (default), ``['polling']``, or both
        (polling first, then the upgrade).
    :param path: where the server serves Socket.IO (``'socket.io'``).
    :param timeout: default seconds for every wait.
    :param serializer: ``'default'`` (JSON) or ``'msgpack'``, as the server's.
    :param connect: ``False`` makes the client without connecting: :meth:`connect`
        later.

    ``query_string`` and ``headers`` are used for every connection the client opens;
    each namespace keeps the ``auth`` it last connected with (see :meth:`reconnect`).

    A refused connection is not an exception: :meth:`is_connected` is ``False`` and
    :attr:`connect_error` holds what the server said. A server that cannot be
    reached, or refuses the Engine.IO handshake, raises ``ConnectionError``.
    """

    def __init__(self, url: str, namespace: str | None = None, *,
                 socketio: SocketIO | None = None, query_string: str | None = None,
                 headers: dict[str, str] | None = None, auth: Any = None,
                 transports: list[str] | tuple[str, ...] = ("websocket",),
                 path: str = "socket.io", timeout: float | None = None,
                 serializer: str = "default", connect: bool = True) -> None:
        super().__init__()
        requests = require_live_dependencies()

        self.url = url.rstrip("/")
        self.socketio = socketio
        self.transports = list(transports)
        self.path = path
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        #: Every packet in and out, as the in-process client's transcript.
        self.transcript = Transcript()
        self._condition = threading.Condition()
        self._send_lock = threading.Lock()
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._is_closed = False
        self._http = requests.Session()
        self._network = SeverableConnections(self._http)
        self._query_string = query_string
        self._headers = headers
        self._client = _RecordingClient(self, reconnection=False, handle_sigint=False,
                                        serializer=serializer, http_session=self._http,
                                        request_timeout=self.timeout)
        self._client.on("connect", self._on_connect, namespace="*")
        self._client.on("disconnect", self._on_disconnect, namespace="*")
        self._client.on("connect_error", self._on_connect_error, namespace="*")
        self._eio_sid: str | None = None
        for listener in creation_listeners:
            listener(self)
        if not connect:
            if auth is not None:
                self._deferred_auth[check_namespace(namespace)] = auth
            return
        try:
            self.connect(namespace, auth=auth)
        except BaseException:
            self.close()
            raise

    # -- connection ------------------------------------------------------------------

    def connect(self, namespace: str | None = None, query_string: str | None = None,
                headers: dict[str, str] | None = None, auth: Any = None) -> None:
        """Connect ``namespace``, opening the connection first if there is none.

        ``auth`` is what the connect handler gets (``None``: no auth, as in-process;
        :meth:`reconnect` reuses each namespace's last ``auth``); ``query_string``
        and ``headers`` replace the client's from the next connection on (a live
        connection keeps its handshake's; given while connected, they warn).
        """
        self._connect(namespace, query_string, headers, auth)

    def _connect(self, namespace: str | None, query_string: str | None,
                 headers: dict[str, str] | None, auth: Any) -> None:
        if self._is_closed:
            raise RuntimeError("this live client was closed; make a new one")
        namespace = check_namespace(namespace)
        auth = self._connect_options(namespace, query_string, headers, auth)
        with self._condition:
            self._connect_errors.pop(namespace, None)
            self._disconnect_reasons.pop(namespace, None)
        self.transcript.add("sent", "connect", namespace, args=auth)
        if self._client.eio.state == "connected":
            if query_string is not None or headers is not None:
                warnings.warn("a live connection keeps its handshake's query string and "
                              "headers: those given to connect() apply from the next "
                              "connection on (in-process they apply at once)", UserWarning,
                              stacklevel=3)
            with self._send_lock:
                self._client.connect_namespace(namespace, auth)
            self._wait(lambda: namespace in self._namespaces or namespace in self._connect_errors,
                       self.timeout)
            return
        self._network.restore()
        with self._condition:
            self._lost_namespaces = []
        query = self._query_string
        url = self.url + ("?" + query.lstrip("?") if query else "")
        try:
            self._client.connect(url, headers=dict(self._headers or {}), auth=auth,
                                 transports=self.transports, namespaces=[namespace],
                                 socketio_path=self.path, wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            if namespace not in self._client.failed_namespaces:  # no CONNECT_ERROR: no server
                raise ConnectionError(f"cannot connect to {self.url} over "
                                      f"{self.transports}: {exc}") from exc
        self._eio_sid = self._client.eio.sid or self._eio_sid

    def reconnect(self) -> None:
        """Open a new connection and connect the namespaces the last one had, each
        with its ``auth``, as socket.io-client does after a network failure."""
        if self._client.eio.state != "disconnected" or self._namespaces:
            raise RuntimeError("the client is still connected: drop() or disconnect() first")
        for namespace in list(self._lost_namespaces) or ["/"]:
            self._connect(namespace, None, None, LAST_AUTH)

    def drop(self, reason: str = TRANSPORT_CLOSE, timeout: float | None = None) -> None:
        """The network fails under the client; the server sees ``reason``.

        - ``'transport close'``: the TCP connections are shut down with no
          Engine.IO CLOSE (for long-polling, while a GET is pending);
        - ``'transport error'``: an undecodable Engine.IO packet is sent first;
        - ``'ping timeout'``: the client goes silent (answers no ping) until the
          server gives up, after its ``ping_interval`` + ``ping_timeout``.

        With ``socketio=`` (a :class:`LiveServer` in thread mode gives it), this
        waits, up to ``timeout`` (the client's, plus the ping delays), until the
        server has run its disconnect handlers, so the test can look at once.
        """
        check_drop_reason(reason)
        eio = self._client.eio
        if eio.state != "connected":
            raise RuntimeError("cannot drop: the client has no open connection")
        self.transcript.add("sent", "drop", "*", args=reason)
        sid = eio.sid
        with self._condition:
            self._lost_namespaces = list(self._namespaces)
            for namespace in self._namespaces:
                self._disconnect_reasons[namespace] = reason
            self._namespaces.clear()
            self._condition.notify_all()
        wait = self.timeout if timeout is None else timeout
        if reason == "ping timeout":
            eio.is_silent = True
            network = self._server_engine()
            wait += (getattr(network, "ping_interval", 25) + getattr(network, "ping_timeout", 20)
                     + getattr(network, "ping_grace", 0))
        else:
            if reason == "transport error":
                self._send_undecodable(eio)
            elif eio.current_transport == "polling":
                self._wait_for_pending_poll(sid, wait)
            self._network.sever([eio.ws.sock] if eio.ws is not None and eio.ws.sock else [])
        if self.socketio is not None:
            server = self.socketio.toolkit_seam().server
            deadline = time.monotonic() + wait
            while sid in server.environ and time.monotonic() < deadline:
                time.sleep(0.01)
            if sid in server.environ:
                raise TimeoutError(f"the server did not see the drop ({reason}) within "
                                   f"{wait:g}s")
        self._network.sever([eio.ws.sock] if eio.ws is not None and eio.ws.sock else [])
        if eio.state != "disconnected":
            eio.disconnect(abort=True)
        # the old connection's reader and writer end before a new one may start
        deadline = time.monotonic() + self.timeout
        for thread in eio.threads:
            if thread is not threading.current_thread():
                thread.join(max(deadline - time.monotonic(), 0))
        self._network.close_severed()

    def _send_undecodable(self, eio: Any) -> None:
        """An Engine.IO packet of an unknown type: the server closes with a
        transport error (after a WebSocket frame, or a POST, it has read)."""
        if eio.current_transport == "websocket":
            with self._send_lock:
                eio.ws.send("x")
        else:
            with contextlib.suppress(Exception):
                self._http.post(eio.base_url, data="x", timeout=self.timeout,
                                headers={"Content-Type": "text/plain"})

    def _wait_for_pending_poll(self, sid: str, timeout: float) -> None:
        """Until a long-polling GET is pending at the server (so that cutting it is
        seen as the transport closing), bounded by ``timeout``."""
        network = self._server_engine()
        sessions = getattr(network, "sessions", None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sessions is not None:
                session = sessions.get(sid)
                if session is None or getattr(session, "poll", None) is not None:
                    return
            elif self._network.in_flight.get("GET"):
                time.sleep(0.1)  # no view of the server: give the GET time to arrive
                return
            time.sleep(0.005)

    def send_raw(self, payload: str | bytes) -> None:
        """Send one Engine.IO message as it is: an encoded Socket.IO packet
        (``'2["echo",1]'``) or a binary attachment, unchecked, for protocol tests."""
        if not isinstance(payload, (str, bytes)):
            raise TypeError(f"send_raw() takes a str or bytes payload, not {payload!r}")
        if self._client.eio.state != "connected":
            raise RuntimeError("cannot send: the client has no open connection")
        self.transcript.add("sent", "raw", raw_namespace(payload), args=payload)
        with self._send_lock:
            self._client.eio.send(payload)

    def disconnect(self, namespace: str | None = None) -> None:
        """Disconnect ``namespace``; disconnecting the last one closes the connection."""
        namespace = check_namespace(namespace)
        if namespace not in self._namespaces:
            raise RuntimeError(f"not connected to namespace {namespace!r}")
        self.transcript.add("sent", "disconnect", namespace)
        with self._condition:
            del self._namespaces[namespace]
            self._disconnect_reasons[namespace] = CLIENT_DISCONNECT
        if self._namespaces:
            with self._send_lock:
                self._client.disconnect_namespace(namespace)
        else:
            self._client.disconnect()

    def close(self) -> None:
        """Disconnect everything, end the client's threads. Safe to call twice."""
        if self._is_closed:
            return
        self._is_closed = True
        try:
            with self._condition:
                for namespace in self._namespaces:
                    self._disconnect_reasons[namespace] = CLIENT_DISCONNECT
                self._namespaces.clear()
            self._client.shutdown()
            if self._client.eio.state != "disconnected":
                self._client.eio.disconnect(abort=True)
            self._client.eio.close_websocket()
        finally:
            deadline = time.monotonic() + self.timeout
            if self._worker is not None:
                self._jobs.put(_STOP)
                self._worker.join(max(deadline - time.monotonic(), 0))
            for thread in self._client.eio.threads:
                thread.join(max(deadline - time.monotonic(), 0))
            self._http.close()

    def __enter__(self) -> LiveSocketIOClient:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @property
    def threads(self) -> list[threading.Thread]:
        """The threads of this client that are still running."""
        running = [thread for thread in self._client.eio.threads if thread.is_alive()]
        if self._worker is not None and self._worker.is_alive():
            running.append(self._worker)
        return running

    @property
    def eio_sid(self) -> str | None:
        """The Engine.IO session id of the connection (the last one, once closed)."""
        return self._client.eio.sid or self._eio_sid

    @property
    def transport(self) -> str | None:
        """``'websocket'`` or ``'polling'``: what the connection uses now."""
        transport: str | None = self._client.eio.current_transport
        return transport

    def wait_disconnected(self, namespace: str | None = None,
                          timeout: float | None = None) -> str:
        """Wait until the server disconnects ``namespace``; return the reason."""
        namespace = check_namespace(namespace)
        wait = self.timeout if timeout is None else timeout
        if not self._wait(lambda: namespace not in self._namespaces, wait):
            raise TimeoutError(f"namespace {namespace!r} is still connected after {wait:g}s")
        return self._disconnect_reasons.get(namespace, TRANSPORT_CLOSE)

    # -- server-side state -----------------------------------------------------------

    def rooms(self, namespace: str | None = None) -> list[Any]:
        """The rooms the server has this client in (its own sid room included).

        Read from the server's room manager, so it needs ``socketio=`` and reflects
        the events the server has processed: round-trip first (``call``).
        """
        namespace = check_namespace(namespace)
        sid = self._require_namespace(namespace, "ask for rooms")
        if self.socketio is None:
            raise RuntimeError("rooms() needs the server's SocketIO: pass socketio= (the "
                               "server of LiveServer.from_import() is out of reach)")
        return list(self.socketio.toolkit_seam().server.manager.get_rooms(sid, namespace))

    # -- sending ---------------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: bool = False,
             namespace: str | None = None, timeout: float | None = None,
             **ignored: Any) -> Any:
        """Emit ``event`` with ``args``; with ``callback=True`` wait for and return the ack.

        The ack is one value, or a list for several (as in-process); when none comes,
        ``None`` with a :class:`NoAckWarning`, or ``TimeoutError`` with an explicit
        ``timeout``. Other keywords are ignored as by the in-process client's
        :meth:`emit`.
        """
        ignore_keywords(ignored)
        namespace = check_namespace(namespace)
        self._require_namespace(namespace, f"emit {event!r}")
        acked = threading.Event()
        ack: list[Any] = []

        def on_ack(*values: Any) -> None:
            ack.extend(values)
            self.transcript.add("received", "ack", namespace, args=list(values))
            acked.set()

        self.transcript.add("sent", "event", namespace, event, list(args))
        with self._send_lock:
            self._client.emit(event, data=tuple(args), namespace=namespace,
                              callback=on_ack if callback else None)
        if not callback:
            return None
        wait = self.timeout if timeout is None else timeout
        if not acked.wait(wait):
            if timeout is None:
                warn_no_ack(event, namespace, wait, "in real time")
                return None
            raise TimeoutError(f"the server did not acknowledge {event!r} on {namespace!r} "
                               f"within {wait:g}s")
        return ack[0] if len(ack) == 1 else ack

    # -- receiving -------------------------------------------------------------------

    def get_received(self, namespace: Any = None) -> list[ReceivedEvent]:
        """Return, and forget, every event received so far on ``namespace`` (``'/'``;
        ``ANY`` for every namespace); as in-process, ``RuntimeError`` on a namespace
        the client never connected."""
        with self._condition:
            return self._take_received(resolve_namespace(namespace))

    def clear(self) -> list[ReceivedEvent]:
        """Forget every event received so far, on every namespace; return them."""
        return self.get_received(ANY)

    def receive(self, event: str | None = None, namespace: Any = None,
                timeout: float | None = None) -> ReceivedEvent:
        """Return, and forget, the next ``event`` (any, for ``None``) on ``namespace``
        (``'/'``; ``ANY`` for every namespace).

        Waits up to ``timeout`` seconds (the client's default); ``TimeoutError``
        says nothing matched.
        """
        __tracebackhide__ = True
        namespace = resolve_namespace(namespace)
        wait = self.timeout if timeout is None else timeout
        record = self._receive(event, namespace, NO_CHECK, wait)
        if record is None:
            with self._condition:
                raise TimeoutError(self._nothing_matched(event, namespace, wait=wait))
        return record

    def assert_received(self, event: str, *args: Any, namespace: Any = None,
                        timeout: float | None = None) -> ReceivedEvent:
        """Assert an ``event`` with ``args`` arrives within ``timeout``; return it, and
        forget it. As in-process: the first *matching* event is taken, others stay."""
        __tracebackhide__ = True
        namespace = resolve_namespace(namespace)
        wait = self.timeout if timeout is None else timeout
        expected = expected_args(event, args)
        record = self._receive(event, namespace, expected, wait)
        if record is None:
            with self._condition:
                raise AssertionError(self._nothing_matched(event, namespace, expected, wait))
        return record

    def wait_for(self, event: str, *args: Any, count: int = 1, within: float | None = None,
                 namespace: Any = None) -> list[ReceivedEvent]:
        """Wait until ``count`` ``event`` events (with ``args``, if given; matchers
        allowed) have arrived on ``namespace``; return them, and forget them.

        Live it waits in real time, up to ``within`` seconds (the client's timeout by
        default); in-process the same call moves the virtual clock. ``TimeoutError``
        says how many arrived.
        """
        __tracebackhide__ = True
        check_count(count)
        namespace = resolve_namespace(namespace)
        expected = wanted_args(event, args)
        wait = self.timeout if within is None else within
        self._wait(lambda: has_arrived(self, event, namespace, expected, count), wait)
        with self._condition:
            return take_arrived(self, event, namespace, expected, count, wait, "real time")

    def refute_received(self, event: str, *args: Any, namespace: Any = None,
                        timeout: float | None = None) -> None:
        """Assert no ``event`` (with ``args``, if given: none means any arguments) has
        arrived unread on ``namespace``; with ``timeout``, none arrives in that many
        seconds either. Live, make a round trip first (``call``)."""
        __tracebackhide__ = True
        namespace = resolve_namespace(namespace)
        if timeout:
            self._wait(lambda: self._refuted(event, args, namespace) is not None, timeout)
        with self._condition:
            failure = self._refuted(event, args, namespace)
        if failure is not None:
            raise AssertionError(failure)

    def assert_nothing_received(self, namespace: Any = None) -> None:
        """Assert no event has arrived unread on ``namespace`` (``'/'``; ``ANY`` for
        every namespace). Live, "nothing" means nothing so far: make a round trip first.
        """
        __tracebackhide__ = True
        with self._condition:
            left = self._matching(None, resolve_namespace(namespace))
        self._fail_if_any(left)

    # -- internals -------------------------------------------------------------------

    def _receive(self, event: str | None, namespace: Any, expected: Any,
                 wait: float) -> ReceivedEvent | None:
        found: list[ReceivedEvent] = []

        def take() -> bool:
            record = self._take(event, namespace, expected)
            if record is not None:
                found.append(record)
            return bool(found) or not self._is_listening(namespace) and (
                namespace is ANY or namespace in self._disconnect_reasons)

        self._wait(take, wait)
        return found[0] if found else None

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._condition:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
            return True

    def _server_engine(self) -> Any:
        """The in-process server's network engine, if this client knows the server."""
        server = self.socketio.server if self.socketio is not None else None
        return getattr(getattr(server, "eio", None), "network", None)

    def _on_connect(self, namespace: str) -> None:
        sid = self._client.namespaces.get(namespace)
        self.transcript.add("received", "connect", namespace, args={"sid": sid})
        with self._condition:
            self._note_connected(namespace, sid)
            self._eio_sid = self._client.eio.sid
            self._condition.notify_all()

    def _on_connect_error(self, namespace: str, *data: Any) -> None:
        value = data[0] if len(data) == 1 else list(data)
        self.transcript.add("received", "connect_error", namespace, args=value)
        with self._condition:
            self._namespaces.pop(namespace, None)
            self._connect_errors[namespace] = value
            self._condition.notify_all()

    def _on_disconnect(self, namespace: str, reason: Any = None) -> None:
        self.transcript.add("received", "disconnect", namespace, args=reason)
        with self._condition:
            if namespace in self._namespaces:
                del self._namespaces[namespace]
                self._disconnect_reasons[namespace] = _REASONS.get(reason, TRANSPORT_CLOSE)
                if reason != engineio.Client.reason.CLIENT_DISCONNECT:
                    self._lost_namespaces.append(namespace)
            self._condition.notify_all()

    def _received_event(self, namespace: str, event: str, args: list[Any],
                        ack_id: int | None) -> None:
        self.transcript.add("received", "event", namespace, event, args, ack_id)
        shown: Any = args[0] if event in ("message", "json") and len(args) == 1 else args
        record = ReceivedEvent(event, shown, namespace, ack_id, self._respond)
        handler = self._handlers.get((namespace, event))
        handler_args = tuple(args)
        if handler is None:
            handler = self._handlers.get((namespace, "*"))
            handler_args = (event, *args)
        with self._condition:
            self._received.append(record)
            self._condition.notify_all()
        if handler is not None:
            self._start_worker()
            self._jobs.put((handler, handler_args, record))

    def _start_worker(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, daemon=True,
                                            name=f"LiveSocketIOClient-handlers-{id(self):x}")
            self._worker.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not _STOP:
            handler, args, record = job
            try:
                self._answer(record, handler(*args))
            except Exception as exc:  # noqa: BLE001 - shown in the transcript
                self.transcript.add("received", "handler_error", record.namespace,
                                    record.name, repr(exc))

    def _respond(self, record: ReceivedEvent, args: tuple[Any, ...]) -> None:
        if record.namespace not in self._namespaces:
            raise RuntimeError(f"cannot acknowledge {record.name!r}: not connected to "
                               f"namespace {record.namespace!r}")
        self.transcript.add("sent", "ack", record.namespace, args=list(args),
                            ack_id=record.ack_id)
        with self._send_lock:
            self._client.send_ack(record.namespace, record.ack_id, args)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (f"<LiveSocketIOClient {self.url} {self.transports} eio_sid={self.eio_sid} "
                f"namespaces={list(self._namespaces)}>")
