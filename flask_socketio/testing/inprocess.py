"""The in-process Engine.IO transport: the network replaced by two queues.

A test client opens an :class:`InProcessSocket` and exchanges Engine.IO message
payloads (the strings and bytes python-socketio's packet encoder produces) with the
server. Everything above this layer is production code. Work runs on the thread's
:class:`~flask_socketio.testing.scheduler.Scheduler`, so tests are deterministic.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import engineio
import greenlet

from ..wsgi_types import StartResponse, WSGIEnvironment
from .scheduler import Scheduler, Task, Timer, current_scheduler

logger = logging.getLogger("flask_socketio.testing")
Reason = engineio.Server.reason

#: Where the engine puts a session's id in the environ of its handshake request
#: (:meth:`InProcessEngine.socket_for` reads it).
EIO_SID_KEY = "flask_socketio.testing.eio_sid"


class SocketPeer(Protocol):
    """The client side of an :class:`InProcessSocket` (a test client): what it is
    told of its session while the socket is open."""

    def _on_payload(self, payload: Any) -> None:
        """An Engine.IO message payload the server sent."""

    def _on_close(self, reason: str) -> None:
        """The session closed, for ``reason``."""

    def _record_room_change(self, sid: str, namespace: str, room: Any,
                            joined: bool) -> None:
        """The server made the connection join (or leave) a named room."""


class InProcessSocket:
    """One Engine.IO session between an in-process client and the server."""

    # What a new socket starts with (set on the instance when it changes).
    is_closed = False
    close_reason: str | None = None
    _reading = False
    #: The task reading ``_inbound`` while ``_reading``.
    _reader: Task | None = None
    #: The handling of the last event read, which the reader runs once it is done
    #: (see :meth:`take_event`).
    _handoff: tuple[Callable[..., Any], tuple[Any, ...]] | None = None
    #: While stalled the client reads nothing: what the server sends waits in
    #: ``_waiting`` (volatile messages are dropped instead), until :meth:`resume`.
    is_stalled = False
    _waiting: deque[Any] | tuple[()] = ()
    #: Deliveries may come from a message queue's listener thread too: made by the
    #: first :meth:`stall`, before ``is_stalled`` is set (so a thread that sees a
    #: socket stalled, or messages waiting, finds it).
    _stall_lock: threading.RLock | None = None

    def __init__(self, engine: InProcessEngine, sid: str, environ: WSGIEnvironment,
                 peer: SocketPeer) -> None:
        self.engine = engine
        self.sid = sid
        self.environ = environ
        self.session: dict[str, Any] = {}
        #: The client side, until the socket closes.
        self.peer = peer
        self._inbound: deque[Any] = deque()

    # client -> server ---------------------------------------------------------------

    def send(self, payload: str | bytes) -> None:
        """Hand one Engine.IO message payload from the client to the server."""
        if self.is_closed:
            raise ConnectionError(f"in-process socket {self.sid} is closed ({self.close_reason})")
        self._push(payload)

    def close(self) -> None:
        """Close from the client's side; the server sees a client disconnect.

        Behind what was sent before (a DISCONNECT, say): the reader already started
        for that reads this too, after it, in the same task."""
        if not self.is_closed:
            self._push(_CLOSE)

    def drop(self, reason: str) -> None:
        """The connection fails (``reason``: ``'transport close'``, ``'ping timeout'``,
        ``'transport error'``) after what was sent before has been read."""
        if not self.is_closed:
            self._push(_Drop(reason))

    def _push(self, item: Any) -> None:
        """Queue ``item`` for the server, starting a reader task unless one runs."""
        self._inbound.append(item)
        if not self._reading:
            self._reading = True
            self._reader = self.engine.scheduler.start_background_task(self._read)

    def take_event(self, target: Callable[..., Any], args: tuple[Any, ...]) -> bool:
        """Take the handling of an event this socket's reader just read, to run it in
        the reader's task once the reader is done, if that changes nothing: the reader
        is the caller, has nothing more to read and no other task is ready, so a task
        of the handling's own would be the next to run anyway. Saves a task per event."""
        reader = self._reader
        if (not self._reading or self._handoff is not None or self._inbound or reader is None
                or reader.greenlet is not greenlet.getcurrent()
                or self.engine.scheduler.has_ready()):
            return False
        self._handoff = (target, args)
        return True

    def _read(self) -> None:
        # Messages of one connection reach the server one at a time, in order, as
        # python-engineio's socket reader delivers them.
        engine = self.engine
        inbound = self._inbound
        on_message = None
        try:
            while inbound:
                payload = inbound.popleft()
                if payload is _CLOSE:
                    engine._closed(self, Reason.CLIENT_DISCONNECT)
                elif type(payload) is _Drop:
                    engine._closed(self, payload.reason)
                elif not self.is_closed:
                    try:
                        if on_message is None:
                            on_message = engine.handlers.get("message") or _no_handler
                        on_message(self.sid, payload)
                    except Exception as exc:
                        engine.scheduler.report_failure(f"in-process reader of {self.sid}",
                                                        exc)
        finally:
            self._reading = False
            handoff, self._handoff = self._handoff, None
            reader, self._reader = self._reader, None
        if handoff is not None and reader is not None:
            reader.run_instead(*handoff)  # the reader is done: it becomes the event's task

    # server -> client ---------------------------------------------------------------

    def deliver(self, payload: Any) -> None:
        if self.is_closed:
            return
        if self.is_stalled or self._waiting:
            assert self._stall_lock is not None and type(self._waiting) is deque
            with self._stall_lock:
                if self.is_stalled:
                    self._waiting.append(payload)
                    return
        self.peer._on_payload(payload)

    def is_writable(self) -> bool:
        """Would what the server sends now reach the client at once?"""
        return not self.is_closed and not self.is_stalled

    def stall(self) -> None:
        """The client stops reading, as over a congested network."""
        if self._stall_lock is None:
            self._stall_lock = threading.RLock()
            self._waiting = deque()
        self.is_stalled = True

    def resume(self) -> None:
        """The client reads again: what waited is delivered, in order (before what
        another thread delivers meanwhile)."""
        if self._stall_lock is None:  # never stalled
            return
        with self._stall_lock:
            self.is_stalled = False
            waiting = self._waiting
            assert type(waiting) is deque
            while waiting and not self.is_closed:
                self.peer._on_payload(waiting.popleft())

    def notify_closed(self, reason: str) -> None:
        peer = self.peer
        # A closed socket tells its client nothing more (deliver() and resume() check
        # is_closed): it lets go of it, so that a client and its socket make no
        # reference cycle once closed and are freed at once, without the cyclic GC.
        self.peer = _CLOSED_PEER
        peer._on_close(reason)


_CLOSE = object()


def _no_handler(*args: Any) -> None:
    """What an engine event without a handler triggers."""


class _ClosedPeer:
    """A closed socket's peer: told nothing (a socket delivers nothing once closed)."""

    def _on_payload(self, payload: Any) -> None:
        pass

    def _on_close(self, reason: str) -> None:
        pass

    def _record_room_change(self, sid: str, namespace: str, room: Any,
                            joined: bool) -> None:
        pass


_CLOSED_PEER = _ClosedPeer()


class _Drop:
    """In the inbound queue: the connection fails here, for ``reason``."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class InProcessEngine:
    """Engine.IO for in-process clients, behind python-socketio's ``Server``."""

    async_mode = "inprocess"
    #: The scheduler switches only at its own waits: a broker's listener, blocking on
    #: a socket, gets a thread (its deliveries reach clients through their inboxes).
    listeners_need_threads = True
    #: The virtual clock must be able to run out of timers: no endless service tasks.
    runs_service_tasks = False

    def __init__(self, id_factory: Callable[[], str],
                 scheduler: Scheduler | None = None) -> None:
        self._scheduler = scheduler or current_scheduler()
        self.sockets: dict[str, InProcessSocket] = {}
        self.handlers: dict[str, Callable[..., Any]] = {}
        #: Volatile messages dropped: their client was stalled.
        self.volatile_dropped = 0
        self._generate_id = id_factory

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler this engine's work runs on: once a test's scheduler is retired,
        the next one of the same test code (so nothing carries over between tests)."""
        scheduler = self._scheduler
        if scheduler.retired:
            scheduler = self._scheduler = current_scheduler()
        return scheduler

    def report_failure(self, source: str, exc: BaseException) -> None:
        """Keep a server exception for the current test to see (its scheduler's)."""
        self.scheduler.report_failure(source, exc)

    def owns(self, sid: str) -> bool:
        return sid in self.sockets

    def serves_caller(self) -> bool:
        return self.scheduler_for_caller() is not None

    def run_event(self, sid: str, target: Callable[..., Any], *args: Any) -> None:
        socket = self.sockets.get(sid)
        if socket is None or not socket.take_event(target, args):
            self.scheduler.start_background_task(target, *args)

    def scheduler_for_caller(self) -> Scheduler | None:
        """This engine's scheduler if the calling greenlet runs on it (the test's code
        or one of its tasks), else ``None`` (a live server's thread, a gevent greenlet)."""
        scheduler = self._scheduler
        if scheduler.retired:
            if greenlet.getcurrent() is not scheduler.home:
                return None
            scheduler = self.scheduler
        return scheduler if scheduler.owns() else None

    # the client's side --------------------------------------------------------------

    def open(self, environ: WSGIEnvironment, peer: SocketPeer) -> InProcessSocket:
        """Open an Engine.IO session for ``peer``, as a handshake with ``environ``
        would."""
        sid = self._generate_id()
        socket = InProcessSocket(self, sid, environ, peer)
        environ[EIO_SID_KEY] = sid
        self.sockets[sid] = socket
        if self._trigger("connect", sid, environ) is False:
            del self.sockets[sid]
            socket.is_closed = True
            socket.close_reason = "refused"
            raise ConnectionRefusedError("the Engine.IO connect handler refused the connection")
        return socket

    def socket_for(self, environ: WSGIEnvironment) -> InProcessSocket | None:
        """The open session whose handshake request ``environ`` is, if any."""
        sid = environ.get(EIO_SID_KEY)
        return self.sockets.get(sid) if sid is not None else None

    def _closed(self, socket: InProcessSocket, reason: str) -> None:
        if socket.is_closed:
            return
        socket.is_closed = True
        socket.close_reason = reason
        try:
            self._trigger("disconnect", socket.sid, reason)
        finally:
            self.sockets.pop(socket.sid, None)
            socket.notify_closed(reason)

    def _trigger(self, event: str, *args: Any) -> Any:
        handler = self.handlers.get(event)
        return handler(*args) if handler is not None else None

    # the engine interface -----------------------------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers[event] = handler
            return handler

        return register if handler is None else register(handler)

    def send(self, sid: str, data: Any) -> None:
        self._scheduler.note_progress()
        socket = self.sockets.get(sid)
        if socket is None:
            logger.warning("Cannot send to in-process sid %s", sid)
            return
        socket.deliver(data)

    def send_packet(self, sid: str, pkt: Any) -> None:
        self.send(sid, pkt.data)

    def send_volatile(self, sid: str, pkts: list[Any]) -> None:
        """Deliver ``pkts`` (one volatile message) unless the client is stalled or
        gone; then they are dropped and counted in :attr:`volatile_dropped`."""
        socket = self.sockets.get(sid)
        if socket is None or not socket.is_writable():
            self.volatile_dropped += 1
            return
        for pkt in pkts:
            socket.deliver(pkt.data)

    def disconnect(self, sid: str | None = None) -> None:
        sids = list(self.sockets) if sid is None else [sid]
        for each in sids:
            socket = self.sockets.get(each)
            if socket is not None:
                self._closed(socket, Reason.SERVER_DISCONNECT)

    def transport(self, sid: str) -> str:
        return "websocket"

    def get_session(self, sid: str) -> dict[str, Any]:
        return self.sockets[sid].session

    def save_session(self, sid: str, session: dict[str, Any]) -> None:
        self.sockets[sid].session = session

    def generate_id(self) -> str:
        return self._generate_id()

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any:
        return self.scheduler.start_background_task(target, *args, **kwargs)

    def call_later(self, delay: float, target: Callable[..., Any], *args: Any) -> Timer:
        """Run ``target(*args)`` as a task after ``delay`` seconds of the virtual clock;
        the timer's ``cancel()`` prevents it."""
        return self.scheduler.arm(delay, target, args, True)

    def sleep(self, seconds: float = 0) -> None:
        self.scheduler.sleep(seconds)

    def monotonic(self) -> float:
        """Now, on the virtual clock."""
        return self.scheduler.clock.now

    def create_event(self) -> Any:
        return self.scheduler.create_event()

    def create_queue(self, *args: Any, **kwargs: Any) -> Any:
        return self.scheduler.create_queue()

    def get_queue_empty_exception(self) -> type[Exception]:
        return queue.Empty

    def handle_request(self, environ: WSGIEnvironment,
                       start_response: StartResponse) -> Iterable[bytes]:
        raise RuntimeError("the in-process engine serves no HTTP requests")

    def shutdown(self) -> None:
        self.disconnect()


def in_process_engine(router: Any) -> InProcessEngine:
    """The in-process engine attached to ``router`` (a server's ``eio``), attached on
    first use: the server is then under test."""
    engine = router.attached
    if engine is None:
        engine = router.attach(InProcessEngine(router.network.generate_id))
    if not isinstance(engine, InProcessEngine):
        raise TypeError(f"the server has another engine attached: {engine!r}")
    return engine
