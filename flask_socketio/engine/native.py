"""Our Engine.IO v4 server for gevent: HTTP long-polling, WebSocket and the upgrade.

It implements the engine interface python-socketio's ``Server`` uses (see
:mod:`flask_socketio.engine.base`), so it sits where python-engineio's ``Server``
would. It follows the Engine.IO v4 specification: a protocol violation closes that
session; one GET and one POST at a time per polling session; sub-second ping
intervals advertised exactly.

Sending never blocks the sender. Emitting, broadcasting and pinging hand the message
to the session (:meth:`Session.enqueue`). A long-polling GET takes the whole queue
as its response. A WebSocket session has at most one write in flight: a message sent
while none is (our WebSocket, idle) is written at once by the sender, without
blocking (:meth:`WebSocket.send_now`); if the socket does not take it all, a writer
greenlet is spawned to finish it, and what is queued while that write is in flight
leaves, in order, in the next write, one system call (the discipline of the
reference server); the writer ends once the queue is empty. (Transports without
``send_now``, and TLS sockets, keep one writer greenlet, woken for each write.) The
queue is
bounded (``max_queued_bytes``): past it, volatile messages are dropped first, then
the session is closed with the reason :attr:`Reason.QUEUE_FULL`. A peer that has not
taken what was sent for ``ping_interval + ping_timeout`` is closed as a ping timeout.
The heartbeat only queues PINGs, and the disconnect handlers of the sessions it (or a
full queue) closes run in greenlets of their own.

The WebSocket seam
------------------
A WebSocket transport is any object with these four methods: ours,
:class:`flask_socketio.engine.websocket.WebSocket`, which the engine makes on the raw
socket the embedded server hands over (``environ['flask_socketio.socket']``), and
:class:`GeventWebSocket`, over the ``environ['wsgi.websocket']`` of other servers
(gevent-websocket's gunicorn worker, simple-websocket under gunicorn's own):

``receive() -> str | bytes | None``
    The next message (``str`` for text, ``bytes`` for binary), ``None`` once the peer
    closed. Called by the session's reader (the request's greenlet) only.
``send_batch(messages: list[str | bytes]) -> None``
    Send the messages in order (``str`` as text frames, ``bytes`` as binary frames),
    in one system call where possible; blocks until the bytes are handed to the
    kernel; raises (any ``Exception``) when the peer is gone. Called by the session's
    writer greenlet only, one call at a time.
``can_send_now: bool`` and ``send_now(messages) -> int | None`` (optional)
    With ``can_send_now`` true, the session writes a message sent while no write is
    in flight with ``send_now``: never blocks; ``None`` if it wrote nothing, else the
    bytes the socket did not take (``0``: all taken), kept by the transport and
    written first by the next ``send_batch`` (the session's writer calls it, with an
    empty batch if need be).
``close() -> None``
    Send a close frame (a polite end); the writer calls it after its last batch.
``abort() -> None``
    End the connection now (shut the socket down), so that a blocked ``receive`` or
    ``send_batch`` returns or raises at once. May be called from any greenlet.

Served by gevent's ``pywsgi``: :mod:`flask_socketio.serving` hands over the raw socket
(``environ['flask_socketio.socket']``), on which the engine speaks WebSocket itself
and notices a client hanging up on a pending poll.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import contextvars
import gzip
import heapq
import itertools
import json
import logging
import socket
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs

import engineio
import gevent
import gevent.event
import gevent.hub
import gevent.queue

from ..wsgi_types import StartResponse, WSGIEnvironment
from . import websocket
from .base import CancelBy, Reason, new_id
from .cors import CorsPolicy, own_origin

logger = logging.getLogger("flask_socketio.engine")


OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = "0123456"
SEPARATOR = "\x1e"
SOCKET_KEY = "flask_socketio.socket"
#: An Engine.IO event to run: the handler and its arguments.
PostedEvent = tuple[Callable[..., Any], tuple[Any, ...]]
_CANCELLED = object()

#: Default of ``max_queued_bytes``: what may wait to be sent to one client.
DEFAULT_MAX_QUEUED_BYTES = 10_000_000
#: Default of ``max_packets_per_post``: packets one long-polling POST may carry.
DEFAULT_MAX_PACKETS_PER_POST = 1000
#: Longest a polite WebSocket close may take before the socket is shut down.
CLOSE_GRACE = 5.0

#: Reasons for which a session's socket is shut down at once (nothing more is written).
_ABORTING = frozenset({Reason.PING_TIMEOUT, Reason.QUEUE_FULL, Reason.TRANSPORT_ERROR})

ERRORS = {
    "transport": (0, "Transport unknown"),
    "sid": (1, "Session ID unknown"),
    "method": (2, "Bad handshake method"),
    "request": (3, "Bad request"),
    "forbidden": (4, "Forbidden"),
    "version": (5, "Unsupported protocol version"),
}


class ProtocolError(Exception):
    """A client broke the Engine.IO protocol; its session is closed."""


class LeanGreenlet(gevent.Greenlet):  # type: ignore[type-arg]  # (not subscriptable at run time)
    """A gevent ``Greenlet`` that keeps no copy of its spawner's stack.

    gevent keeps the last ``spawning_stack_limit`` (10) frames of the spawner with
    every greenlet, for debugging output; a session's writer and worker (and each
    connection's greenlet of the embedded server) would hold about 1 KB each of it
    for the life of the connection.
    """

    spawning_stack_limit = 0


class GeventWebSocket:
    """The WebSocket seam (see the module's docstring) over gevent-websocket."""

    __slots__ = ("ws", "socket")

    def __init__(self, ws: Any, sock: Any = None) -> None:
        self.ws = ws
        handler = getattr(ws, "handler", None)
        self.socket = sock if sock is not None else getattr(handler, "socket", None)

    def receive(self) -> str | bytes | None:
        message = self.ws.receive()
        return bytes(message) if isinstance(message, bytearray) else message

    def send_batch(self, messages: list[str | bytes]) -> None:
        ws = self.ws
        if len(messages) == 1:
            message = messages[0]
            ws.send(message, binary=not isinstance(message, str))
            return
        # gevent-websocket writes each frame with ``raw_write``: collect the frames
        # (compressed or not, as the WebSocket makes them), then write them at once.
        write = ws.raw_write
        frames: list[bytes] = []
        ws.raw_write = frames.append
        try:
            for message in messages:
                ws.send(message, binary=not isinstance(message, str))
        finally:
            if ws.raw_write is not None:
                ws.raw_write = write
        if write is None:
            raise ConnectionError("the WebSocket is closed")
        write(b"".join(frames))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()

    def abort(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)


def websocket_transport(environ: WSGIEnvironment) -> Any:
    """The transport over another server's WebSocket (``wsgi.websocket``), if any."""
    ws = environ.get("wsgi.websocket")
    return None if ws is None else GeventWebSocket(ws, environ.get(SOCKET_KEY))


class _Volatile:
    """A queued message that may be dropped when the queue is full."""

    __slots__ = ("message",)

    def __init__(self, message: str | bytes) -> None:
        self.message = message


def _unwrap(batch: list[Any]) -> list[Any]:
    return [m.message if type(m) is _Volatile else m for m in batch]


class Session:
    """One Engine.IO session, on long-polling or (after the upgrade) on WebSocket."""

    __slots__ = ("engine", "sid", "environ", "transport", "session", "queue", "queued_bytes",
                 "volatile_count", "stalled_since", "poll", "is_posting", "posted_events",
                 "post_backlog", "ws", "is_direct", "written_turn", "writer", "writer_waiter",
                 "is_upgrading", "is_closed",
                 "awaiting_pong", "ping_sent_at", "worker", "task", "worker_waiter",
                 "__weakref__")

    def __init__(self, engine: NativeEngine, sid: str, environ: WSGIEnvironment,
                 transport: str) -> None:
        self.engine = engine
        self.sid = sid
        self.environ = environ
        self.transport = transport
        self.session: dict[str, Any] = {}
        #: Messages waiting to be sent: ``str`` (a text packet, type first) or
        #: ``bytes`` (a binary message), volatile ones wrapped in ``_Volatile``.
        self.queue: list[Any] = []
        #: Length of the queued messages and of the write in flight.
        self.queued_bytes = 0
        self.volatile_count = 0
        #: When the client began to owe us a read (a write in flight, or queued
        #: messages no poll has taken); 0 when it owes none.
        self.stalled_since = 0.0
        self.poll: gevent.event.AsyncResult[Any] | None = None
        self.is_posting = False
        #: Events of the POST being read, run together once it is read.
        self.posted_events: list[PostedEvent] | None = None
        #: The events of earlier POSTs still to run, while their greenlet runs them.
        self.post_backlog: collections.deque[PostedEvent] | None = None
        #: The WebSocket transport (see the module's docstring), once there is one.
        self.ws: Any = None
        #: The transport writes without blocking (``send_now``): no writer while idle.
        self.is_direct = False
        #: The engine's turn (:attr:`NativeEngine.turn`) of this session's last direct
        #: write: until the loop turns, the transport counts as busy, as a write in
        #: flight would (volatile messages are dropped, as the reference server does).
        self.written_turn = -1
        self.writer: gevent.Greenlet[..., Any] | None = None
        self.writer_waiter: Any = None
        self.is_upgrading = False
        self.is_closed = False
        self.awaiting_pong = False
        self.ping_sent_at = 0.0
        #: The greenlet that runs this session's event handlers (made at its first
        #: event), the task handed to it, and its waiter while it waits for one.
        self.worker: gevent.Greenlet[..., Any] | None = None
        self.task: PostedEvent | None = None
        self.worker_waiter: Any = None

    # -- running handlers ----------------------------------------------------------------

    def hand_to_worker(self, target: Callable[..., Any], args: tuple[Any, ...]) -> bool:
        """Run ``target(*args)`` in this session's worker greenlet, if it is free.

        Free means waiting for work: not running a handler (one that waits, say for
        a ``call()`` back to this client, keeps its worker) and with no task handed
        to it yet. Otherwise the caller spawns a greenlet, as for every event before.
        The worker is woken by a hub callback, as a spawned greenlet is started, so
        events start in the order they arrived either way; the reader greenlet never
        runs handlers, so a handler that waits never stalls this session's reads.
        """
        if self.task is not None:
            return False
        waiter = self.worker_waiter
        if waiter is not None:
            self.worker_waiter = None
            self.task = (target, args)
            gevent.get_hub().loop.run_callback(waiter.switch, None)
            return True
        if self.worker is None:
            self.task = (target, args)
            self.worker = LeanGreenlet.spawn(self._work)
            return True
        return False  # the worker is inside a handler

    def _work(self) -> None:
        """The worker: runs handed tasks one at a time, each in a fresh context (as a
        new greenlet would have); ends when the session is closed."""
        try:
            while True:
                task = self.task
                if task is None:
                    if self.is_closed:
                        return
                    waiter = self.worker_waiter = gevent.hub.Waiter()
                    waiter.get()
                    continue
                try:
                    contextvars.Context().run(task[0], *task[1])
                except Exception:
                    gevent.get_hub().handle_error(gevent.getcurrent(), *sys.exc_info())
                finally:
                    self.task = None
        finally:
            self.worker = None
            self.worker_waiter = None

    def stop_worker(self) -> None:
        """Let a waiting worker end (the session is closed)."""
        waiter = self.worker_waiter
        if waiter is not None:
            self.worker_waiter = None
            gevent.get_hub().loop.run_callback(waiter.switch, None)

    # -- sending -------------------------------------------------------------------------

    def send_text(self, packet: str, volatile: bool = False) -> None:
        """Queue one encoded text packet (type first)."""
        self.enqueue(packet, volatile)

    def send_message(self, data: str | bytes, volatile: bool = False) -> None:
        """Queue one MESSAGE: text, or binary (base64 in a polling response)."""
        self.enqueue(MESSAGE + data if isinstance(data, str) else bytes(data), volatile)

    def enqueue(self, message: str | bytes, volatile: bool = False,
                force: bool = False) -> None:
        """Queue ``message`` for the client; never blocks.

        Past ``max_queued_bytes`` a volatile message is dropped; otherwise the queued
        volatile messages are, and if that is not enough the session is closed
        (:attr:`Reason.QUEUE_FULL`). ``force`` queues past the limit (the packet
        that ends a session).
        """
        if self.is_closed:
            return
        size = len(message)
        if (self.queued_bytes + size > self.engine.max_queued_bytes and not force
                and not self._make_room(size, volatile)):
            return
        if self.writer is None and self.is_direct:  # an idle WebSocket: write it now
            self._send_now((message,), size)
            return
        self.queued_bytes += size
        waiter = self.writer_waiter
        if waiter is not None:  # an idle WebSocket writer: this message starts a write
            self.writer_waiter = None
            gevent.get_hub().loop.run_callback(waiter.switch, [message])
            return
        if volatile:
            self.volatile_count += 1
            self.queue.append(_Volatile(message))
        else:
            self.queue.append(message)
        if not self.stalled_since:
            self.stalled_since = time.monotonic()
        if self.poll is not None:
            self.poll.set(None)

    def _make_room(self, size: int, volatile: bool) -> bool:
        engine = self.engine
        if volatile:
            engine.volatile_dropped += 1
            engine.logger.debug("%s: queue full, a volatile message dropped", self.sid)
            return False
        if self.volatile_count:
            engine.volatile_dropped += self.volatile_count
            kept, dropped = [], 0
            for message in self.queue:
                if type(message) is _Volatile:
                    dropped += len(message.message)
                else:
                    kept.append(message)
            self.queue = kept
            self.queued_bytes -= dropped
            self.volatile_count = 0
            engine.logger.debug("%s: queue full, queued volatile messages dropped", self.sid)
            if self.queued_bytes + size <= engine.max_queued_bytes:
                return True
        engine.logger.warning(
            "Closing Engine.IO connection %s: more than max_queued_bytes (%d) waiting to "
            "be sent (the client does not read fast enough)", self.sid,
            engine.max_queued_bytes)
        engine.close(self, Reason.QUEUE_FULL, notify=None, handlers_apart=True)
        return False

    def is_writable(self) -> bool:
        """Would a message queued now leave at once? On WebSocket: the writer is idle
        (no write in flight); on long-polling: a poll waits, with nothing queued for
        it yet. Never while upgrading or closed (the reference server's ``writable``)."""
        if self.is_closed or self.is_upgrading:
            return False
        if self.ws is not None:
            if self.is_direct:
                return self.writer is None and self.written_turn != self.engine.turn
            return self.writer_waiter is not None
        return self.poll is not None and not self.queue

    def take_queue(self) -> list[str | bytes]:
        """Everything queued, for one write or one poll response."""
        batch, self.queue = self.queue, []
        if self.volatile_count:
            self.volatile_count = 0
            batch = _unwrap(batch)
        return batch

    def is_stalled(self, now: float) -> bool:
        """Has the client owed us a read for ``ping_interval + ping_timeout``?"""
        since = self.stalled_since
        return bool(since) and now - since > self.engine.ping_interval + self.engine.ping_timeout

    # -- the WebSocket writer ----------------------------------------------------------

    def attach_websocket(self, transport: Any, first: list[str | bytes]) -> None:
        """Send on ``transport`` from now on, ``first`` and what is queued first."""
        self.queued_bytes += sum(map(len, first))
        batch = first + self.take_queue()
        self.ws = transport
        self.is_direct = getattr(transport, "can_send_now", False) is True
        self.stalled_since = 0.0
        if not self.is_direct:
            self.writer = LeanGreenlet.spawn(self._write, transport, batch)
        elif batch:
            size = sum(map(len, batch))
            self.queued_bytes -= size
            self._send_now(batch, size)

    def _send_now(self, batch: Sequence[str | bytes], size: int) -> None:
        """Write ``batch`` (``size``: its length) at once, no write being in flight;
        what the socket does not take is left to a writer greenlet, spawned now."""
        try:
            unsent = self.ws.send_now(batch)
        except Exception:  # the peer went away (the sender must not run handlers)
            self.engine.close(self, Reason.TRANSPORT_ERROR, notify=None, handlers_apart=True)
            return
        if unsent == 0:
            engine = self.engine
            self.written_turn = engine.turn
            if not engine.is_turn_pending:
                engine.is_turn_pending = True
                gevent.get_hub().loop.run_callback(engine.next_turn)
            return
        self.queued_bytes += size
        self.stalled_since = time.monotonic()
        if unsent is None:  # nothing written (a frame of the connection's own in flight)
            self.writer = LeanGreenlet.spawn(self._write, self.ws, list(batch))
        else:  # the rest waits in the transport
            self.writer = LeanGreenlet.spawn(self._write, self.ws, [], size)

    def _write(self, transport: Any, batch: list[str | bytes] | None, unsent: int = 0) -> None:
        """The writer: one ``send_batch`` at a time, each with everything queued
        while the previous one was in flight (the first one after the ``unsent``
        bytes a direct write left, if any); a polite close once the session is closed
        and its queue sent. With a transport that writes directly it ends when the
        queue is empty; with others it waits for the next message."""
        try:
            while batch is not None:
                if batch or unsent:
                    size = sum(map(len, batch)) + unsent
                    if batch:
                        self.stalled_since = time.monotonic()
                    transport.send_batch(batch)
                    self.stalled_since = 0.0
                    self.queued_bytes -= size
                    unsent = 0
                    gevent.sleep(0)  # a turn of the loop: what is made meanwhile goes next
                if self.queue:
                    batch = self.take_queue()
                elif self.is_closed:
                    batch = None
                elif self.is_direct:
                    return  # idle: the next message is written at once, by its sender
                else:
                    waiter = self.writer_waiter = gevent.hub.Waiter()
                    batch = waiter.get()
        except Exception:  # the peer went away: the reader sees it too
            self.engine.close(self, Reason.TRANSPORT_ERROR, notify=None)
            transport.abort()
            return
        finally:
            self.writer = None
            self.writer_waiter = None
        transport.close()

    def end_websocket(self, abort: bool) -> None:
        """The session is closed: let the writer finish (or shut the socket down now
        if ``abort``); after ``CLOSE_GRACE`` seconds the socket is shut down anyway."""
        transport = self.ws
        if transport is None:
            return
        waiter = self.writer_waiter
        if waiter is not None:
            self.writer_waiter = None
            gevent.get_hub().loop.run_callback(waiter.switch, None)
        if abort:
            transport.abort()
            return
        if self.writer is None:  # (idle, writing directly) the polite close, apart
            self.writer = LeanGreenlet.spawn(self._write, transport, [])
        timer = gevent.get_hub().loop.timer(CLOSE_GRACE)

        def abort_late() -> None:
            timer.close()
            transport.abort()

        timer.start(abort_late)

    def wait_for_writer(self) -> None:
        """Block (the reader) until the writer is done, ``CLOSE_GRACE`` at most."""
        writer = self.writer
        if writer is not None and writer is not gevent.getcurrent():
            writer.join(CLOSE_GRACE)
            if not writer.dead:
                self.ws.abort()
                writer.join(1)


class NativeEngine:
    """An Engine.IO v4 server for gevent (options as python-engineio's ``Server``).

    Ours besides: ``max_queued_bytes``, what may wait to be sent to one client
    (:data:`DEFAULT_MAX_QUEUED_BYTES`), and ``max_packets_per_post``, the packets one
    long-polling POST may carry (:data:`DEFAULT_MAX_PACKETS_PER_POST`).
    """

    async_mode = "gevent"
    listeners_need_threads = False
    runs_service_tasks = True
    reason = Reason
    valid_transports = ("polling", "websocket")

    def __init__(self, async_mode: str | None = "gevent", ping_interval: Any = 25,
                 ping_timeout: float = 20, max_http_buffer_size: int = 1_000_000,
                 allow_upgrades: bool = True, http_compression: bool = True,
                 compression_threshold: int = 1024, cookie: Any = None,
                 cors_allowed_origins: Any = None, cors_credentials: bool = True,
                 logger: Any = False, json: Any = None, async_handlers: bool = True,
                 monitor_clients: bool | None = None, transports: Any = None,
                 max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
                 max_packets_per_post: int = DEFAULT_MAX_PACKETS_PER_POST,
                 websocket_compression: bool = False) -> None:
        if async_mode not in (None, "gevent"):
            raise ValueError(f"the native engine runs on gevent, not {async_mode!r}")
        for name, value in (("max_queued_bytes", max_queued_bytes),
                            ("max_packets_per_post", max_packets_per_post)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be an int >= 1, not {value!r}")
        if isinstance(ping_interval, tuple):
            self.ping_interval, self.ping_grace = float(ping_interval[0]), float(ping_interval[1])
        else:
            self.ping_interval, self.ping_grace = float(ping_interval), 0.0
        self.ping_timeout = float(ping_timeout)
        self.max_http_buffer_size = max_http_buffer_size
        self.max_queued_bytes = max_queued_bytes
        self.max_packets_per_post = max_packets_per_post
        self.allow_upgrades = allow_upgrades
        self.http_compression = http_compression
        self.compression_threshold = compression_threshold
        #: Accept permessage-deflate (messages from ``compression_threshold`` bytes up).
        self.websocket_compression = websocket_compression
        self.cookie = cookie
        self.cors_allowed_origins = cors_allowed_origins
        self.cors_credentials = cors_credentials
        self.cors = CorsPolicy(cors_allowed_origins, cors_credentials)
        #: Every origin may connect and credentials are off: the cookies of a
        #: cross-origin handshake are not given to the handlers.
        self.strips_cross_origin_cookies = (cors_allowed_origins == "*"
                                            and not cors_credentials)
        self.json = json
        self.async_handlers = async_handlers  # python-socketio sets False: it runs handlers
        self.monitor_clients = True if monitor_clients is None else monitor_clients
        #: python-engineio's name for ``monitor_clients``.
        self.start_service_task = self.monitor_clients
        if transports is None:
            transports = list(self.valid_transports)
        elif isinstance(transports, str):
            transports = [transports]
        self.transports = [t for t in transports if t in self.valid_transports]
        if not self.transports:
            raise ValueError("No valid transports provided")
        if logger not in (True, False):
            self.logger = logger
        else:
            self.logger = globals()["logger"]
        self.sessions: dict[str, Session] = {}
        #: Counts the turns of the loop in which a session wrote directly (a callback
        #: per such turn), for :meth:`Session.is_writable`.
        self.turn = 0
        self.is_turn_pending = False
        #: Volatile messages dropped, not sent: the transport was not writable, or
        #: the queue was full.
        self.volatile_dropped = 0
        #: The MESSAGE packet last sent and its queued form (see :meth:`send_packet`).
        self._last_packet: Any = None
        self._last_message: str | bytes = ""
        self.handlers: dict[str, Callable[..., Any]] = {}
        self._timers: list[tuple[float, int, str, str]] = []
        self._timer_sequence = itertools.count()
        self._heartbeat: gevent.Greenlet[..., Any] | None = None
        self._heartbeat_wakeup = gevent.event.Event()
        #: Polling sessions the server closed while no poll was pending: kept until
        #: their next poll, which gets the CLOSE packet (or for a poll interval).
        self._closing: dict[str, Session] = {}

    def next_turn(self) -> None:
        """The loop turned after direct writes: those sessions are writable again."""
        self.turn += 1
        self.is_turn_pending = False

    # -- the engine interface python-socketio uses --------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers[event] = handler
            return handler

        return register if handler is None else register(handler)

    def send(self, sid: str, data: str | bytes, volatile: bool = False) -> None:
        """Queue a MESSAGE for session ``sid``; a ``volatile`` one may be dropped
        when the client's queue is full (see ``max_queued_bytes``)."""
        session = self.sessions.get(sid)
        if session is None:
            self.logger.warning("Cannot send to sid %s", sid)
            return
        session.send_message(data, volatile)

    def send_volatile(self, sid: str, pkts: list[Any]) -> None:
        """Queue the MESSAGE packets ``pkts`` (one volatile Socket.IO packet) for
        session ``sid`` only if its transport is writable (:meth:`Session.is_writable`)
        and its queue can take them all; else drop them (:attr:`volatile_dropped`)."""
        session = self.sessions.get(sid)
        messages = [MESSAGE + pkt.data if isinstance(pkt.data, str) else bytes(pkt.data)
                    for pkt in pkts]
        if (session is None or not session.is_writable()
                or session.queued_bytes + sum(map(len, messages)) > self.max_queued_bytes):
            self.volatile_dropped += 1
            return
        for message in messages:
            session.enqueue(message)

    def send_packet(self, sid: str, pkt: Any, volatile: bool = False) -> None:
        if pkt.packet_type == engineio.packet.MESSAGE:
            session = self.sessions.get(sid)
            if session is None:
                self.logger.warning("Cannot send to sid %s", sid)
                return
            # A broadcast hands the same packet for every recipient: its message is
            # made once and the same object queued for each of them.
            if pkt is self._last_packet:
                message = self._last_message
            else:
                data = pkt.data
                message = MESSAGE + data if isinstance(data, str) else bytes(data)
                self._last_packet, self._last_message = pkt, message
            session.enqueue(message, volatile)
            return
        session = self.sessions.get(sid)
        if session is not None:
            session.send_text(str(pkt.packet_type) + (pkt.data or ""), volatile)

    def disconnect(self, sid: str | None = None) -> None:
        sessions = list(self.sessions.values()) if sid is None else [self.sessions.get(sid)]
        for session in sessions:
            if session is not None:
                self.close(session, Reason.SERVER_DISCONNECT, notify=CLOSE)

    def transport(self, sid: str) -> str:
        return self.sessions[sid].transport

    def get_session(self, sid: str) -> dict[str, Any]:
        return self.sessions[sid].session

    def save_session(self, sid: str, session: dict[str, Any]) -> None:
        self.sessions[sid].session = session

    #: A new session id (random, URL-safe, 20 characters).
    generate_id = staticmethod(new_id)

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> gevent.Greenlet[..., Any]:
        return gevent.spawn(target, *args, **kwargs)

    def run_event(self, sid: str, target: Callable[..., Any], *args: Any) -> None:
        """Run the handling of one event of session ``sid``: in the session's worker
        greenlet when it is free, saving a greenlet per event (see
        :meth:`Session.hand_to_worker`), else in a greenlet of its own. The events of
        one long-polling POST run one after the other, in one greenlet."""
        session = self.sessions.get(sid)
        if session is not None and session.posted_events is not None:
            session.posted_events.append((target, args))
        elif session is None or not session.hand_to_worker(target, args):
            LeanGreenlet.spawn(target, *args)

    def call_later(self, delay: float, target: Callable[..., Any], *args: Any) -> CancelBy:
        """Run ``target(*args)`` in a new greenlet after ``delay`` seconds; the result's
        ``cancel()`` prevents it. Until then only a libev timer exists (no greenlet)."""
        timer = gevent.get_hub().loop.timer(max(delay, 0.0))
        timer.start(_spawn_once, timer, target, args)  # no closure (one per connection)
        return CancelBy(timer.close)

    def report_failure(self, source: str, exc: BaseException) -> None:
        """Log an exception server code raised that no handler took."""
        logger.error("Unhandled exception in %s", source, exc_info=exc)

    def sleep(self, seconds: float = 0) -> None:
        gevent.sleep(seconds)

    def create_event(self, *args: Any, **kwargs: Any) -> gevent.event.Event:
        return gevent.event.Event()

    def create_queue(self, *args: Any, **kwargs: Any) -> gevent.queue.JoinableQueue[Any]:
        return gevent.queue.JoinableQueue(*args, **kwargs)

    def get_queue_empty_exception(self) -> type[Exception]:
        return gevent.queue.Empty

    def shutdown(self) -> None:
        self.disconnect()
        if self._heartbeat is not None:
            self._heartbeat.kill(block=False)
            self._heartbeat = None

    # -- HTTP --------------------------------------------------------------------------

    def handle_request(self, environ: WSGIEnvironment,
                       start_response: StartResponse) -> Iterable[bytes]:
        """The WSGI entry point for every Engine.IO request."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and not self.cors.allows(origin, environ):
            self.logger.info("%s is not an accepted origin", origin)
            return self._error(start_response, "forbidden", environ)
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            return self._respond(start_response, "200 OK", b"", environ,
                                 self.cors.preflight_headers(environ))
        query = _query(environ.get("QUERY_STRING", ""))
        transport = query.get("transport")
        if transport is None or transport not in self.transports:  # checked first, as
            # the reference server does
            return self._error(start_response, "transport", environ)
        if query.get("EIO") != "4":
            return self._error(start_response, "version", environ)
        sid = query.get("sid")
        if sid is None:
            if method != "GET":
                return self._error(start_response, "method", environ)
            return self._handshake(environ, start_response, transport)
        session = self.sessions.get(sid)
        if session is None:
            session = self._closing.get(sid)
            if session is None or transport != "polling":
                return self._error(start_response, "sid", environ)
            if method == "GET":  # its last poll: the CLOSE packet, then it is gone
                del self._closing[sid]
        if transport == "websocket":
            return self._upgrade(session, environ, start_response)
        if session.transport != "polling" or session.ws is not None:
            return self._error(start_response, "request", environ)
        if method == "GET":
            return self._poll(session, environ, start_response)
        if method == "POST":
            return self._post(session, environ, start_response)
        return self._error(start_response, "method", environ)

    def _handshake(self, environ: WSGIEnvironment, start_response: StartResponse,
                   transport: str) -> Iterable[bytes]:
        ws = None
        if transport == "websocket":
            ws = self._open_websocket(environ, start_response)
            if ws is None:
                return self._error(start_response, "request", environ)
            if isinstance(ws, list):  # a bad WebSocket handshake, answered
                return ws
        origin = environ.get("HTTP_ORIGIN")
        if (self.strips_cross_origin_cookies and origin is not None
                and "HTTP_COOKIE" in environ and origin != own_origin(environ)):
            # Any web page may connect: its visitors' cookies must not act for it.
            del environ["HTTP_COOKIE"]
        sid = self.generate_id()
        session = Session(self, sid, environ, transport)
        self.sessions[sid] = session
        upgrades = ["websocket"] if (transport == "polling" and self.allow_upgrades
                                     and "websocket" in self.transports) else []
        opening = OPEN + json.dumps({
            "sid": sid, "upgrades": upgrades,
            "pingInterval": int(self.ping_interval * 1000),
            "pingTimeout": int(self.ping_timeout * 1000),
            "maxPayload": self.max_http_buffer_size,
        }, separators=(",", ":"))
        try:
            accepted = self._trigger("connect", sid, environ)
        except Exception:
            self.logger.exception("connect handler error")
            accepted = False
        if accepted is False:
            self.sessions.pop(sid, None)
            session.is_closed = True
            if ws is not None:
                ws.close()
                return []
            return self._respond(start_response, "401 UNAUTHORIZED", b"Unauthorized", environ)
        self._schedule(self.ping_interval, sid, PING)
        if ws is not None:
            session.attach_websocket(ws, [opening])
            return self._read_websocket(session, ws)
        headers = self._cookie_headers(sid, environ)
        return self._respond(start_response, "200 OK", opening.encode(), environ, headers,
                             content_type="text/plain; charset=UTF-8")

    def _poll(self, session: Session, environ: WSGIEnvironment,
              start_response: Callable[..., Any]) -> Iterable[bytes]:
        if session.poll is not None:  # a second concurrent GET breaks the protocol
            self.close(session, Reason.TRANSPORT_ERROR, notify=CLOSE)
            return self._error(start_response, "request", environ)
        if not session.queue and not session.is_closed:
            waiter = session.poll = gevent.event.AsyncResult()
            watcher = self._watch_for_hangup(environ, waiter)
            try:
                result = waiter.get(timeout=self.ping_interval + self.ping_timeout)
            except gevent.Timeout:
                result = None
            finally:
                session.poll = None
                if watcher is not None:
                    watcher.stop()
            if result is _CANCELLED:
                self.close(session, Reason.TRANSPORT_CLOSE, notify=None)
                return []
        packets = session.take_queue()
        session.queued_bytes = 0
        session.stalled_since = 0.0
        if not packets and session.is_closed:
            packets = [CLOSE]
        body = SEPARATOR.join([packet if isinstance(packet, str)
                               else "b" + base64.b64encode(packet).decode("ascii")
                               for packet in packets]).encode()
        return self._respond(start_response, "200 OK", body, environ,
                             content_type="text/plain; charset=UTF-8")

    def _watch_for_hangup(self, environ: WSGIEnvironment,
                          waiter: gevent.event.AsyncResult[Any]) -> Any:
        """Tell ``waiter`` if the client hangs up on its pending poll."""
        sock = environ.get(SOCKET_KEY)
        if sock is None:
            return None
        watcher = gevent.get_hub().loop.io(sock.fileno(), 1)

        def readable() -> None:
            watcher.stop()
            try:
                data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if data == b"" and not waiter.ready():
                waiter.set(_CANCELLED)

        watcher.start(readable)
        return watcher

    def _post(self, session: Session, environ: WSGIEnvironment,
              start_response: Callable[..., Any]) -> Iterable[bytes]:
        if session.is_posting:
            self.close(session, Reason.TRANSPORT_ERROR, notify=CLOSE)
            return self._error(start_response, "request", environ)
        limit = self.max_http_buffer_size
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        if length > limit:
            self.close(session, Reason.TRANSPORT_ERROR, notify=CLOSE)
            return self._respond(start_response, "413 PAYLOAD TOO LARGE", b"Payload too large",
                                 environ)
        session.is_posting = True
        events = session.posted_events = []
        try:
            self._wait_for_backlog(session)
            body = self._read_body(environ, length if length >= 0 else limit + 1)
            if len(body) > limit:
                raise ProtocolError("payload too large")
            if body.count(b"\x1e") >= self.max_packets_per_post:
                raise ProtocolError(f"more than max_packets_per_post "
                                    f"({self.max_packets_per_post}) packets in one POST")
            for packet in body.decode("utf-8").split(SEPARATOR):
                self._receive(session, packet, polling=True)
        except (ProtocolError, UnicodeDecodeError) as exc:
            self.logger.info("closing %s: %s", session.sid, exc)
            self.close(session, Reason.TRANSPORT_ERROR, notify=CLOSE)
            return self._error(start_response, "request", environ)
        finally:
            session.is_posting = False
            session.posted_events = None
            if events:
                self._run_events(session, events)
        return self._respond(start_response, "200 OK", b"ok", environ,
                             content_type="text/html; charset=UTF-8")

    def _wait_for_backlog(self, session: Session) -> None:
        """Backpressure for a client that POSTs faster than its handlers run: while a
        POST's worth (``max_packets_per_post``) of its events still waits to run, its
        next POST is not read; one that has waited ``ping_interval + ping_timeout``
        closes the session."""
        deadline = time.monotonic() + self.ping_interval + self.ping_timeout
        while (session.post_backlog is not None
               and len(session.post_backlog) >= self.max_packets_per_post):
            if time.monotonic() > deadline:
                raise ProtocolError("the client's events did not run before its next POST")
            gevent.sleep(0.005)

    def _read_body(self, environ: WSGIEnvironment, size: int) -> bytes:
        """The request's body, read within ``ping_interval + ping_timeout`` (by then a
        polling session that has not sent its POST is closed anyway): a client that
        stops half way is cut off, its socket's reading side shut down, so that
        neither this read nor the server's own reading of the rest waits forever."""
        deadline = self.ping_interval + self.ping_timeout
        try:
            with gevent.Timeout(deadline):
                return environ["wsgi.input"].read(size)  # type: ignore[no-any-return]
        except gevent.Timeout:
            sock = environ.get(SOCKET_KEY)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)
            raise ProtocolError(f"the request body was not sent within {deadline:g} s"
                                ) from None

    @staticmethod
    def _run_events(session: Session, events: list[PostedEvent]) -> None:
        """Run the events of one POST in order, in one greenlet (the session's worker
        if it is free), each in a fresh context, yielding between them. The events of
        a POST that comes while those of an earlier one are still running go after
        them, in that greenlet: the client's next POST does not wait for its
        events, and must not overtake them."""
        if session.post_backlog is not None:
            session.post_backlog.extend(events)
            return
        if len(events) == 1:
            target, args = events[0]
        else:
            backlog = session.post_backlog = collections.deque(events)

            def target(*args: Any) -> None:
                try:
                    first = True
                    while backlog:
                        event_target, event_args = backlog.popleft()
                        if not first:
                            gevent.sleep(0)
                        first = False
                        try:
                            contextvars.Context().run(event_target, *event_args)
                        except Exception:
                            gevent.get_hub().handle_error(gevent.getcurrent(),
                                                          *sys.exc_info())
                finally:
                    session.post_backlog = None
            args = ()
        if not session.hand_to_worker(target, args):
            gevent.spawn(target, *args)

    # -- WebSocket ---------------------------------------------------------------------

    def _upgrade(self, session: Session, environ: WSGIEnvironment,
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        ws = self._open_websocket(environ, start_response)
        if ws is None:
            return self._error(start_response, "request", environ)
        if isinstance(ws, list):  # a bad WebSocket handshake, answered
            return ws
        if (session.transport != "polling" or session.is_upgrading or session.ws is not None
                or not self.allow_upgrades):
            ws.close()
            return []
        session.is_upgrading = True
        try:
            if self._receive_frame(ws) != PING + "probe":
                ws.close()
                return []
            ws.send_batch([PONG + "probe"])
            session.send_text(NOOP)  # ends the pending (or next) poll cleanly
            if self._receive_frame(ws) != UPGRADE:
                ws.close()
                return []
        except Exception:
            ws.close()
            return []
        finally:
            session.is_upgrading = False
        if session.is_closed:
            ws.close()
            return []
        session.queue = [packet for packet in session.queue if packet != NOOP]
        session.transport = "websocket"
        session.attach_websocket(ws, [])
        if session.poll is not None:
            session.poll.set(None)
        return self._read_websocket(session, ws)

    def _open_websocket(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        """The request's WebSocket transport: over another server's ``wsgi.websocket``,
        else ours on the raw socket (answering the handshake). A list is the response
        refusing a bad handshake; ``None``: no WebSocket can be had."""
        transport = websocket_transport(environ)
        if transport is not None:
            return transport
        sock = environ.get(SOCKET_KEY) or environ.get("gunicorn.socket")
        if sock is None:
            return None
        threshold = self.compression_threshold if self.websocket_compression else None
        return websocket.accept(environ, start_response, sock,
                                max_message_size=self.max_http_buffer_size,
                                compression_threshold=threshold)

    def _receive_frame(self, ws: Any) -> Any:
        with gevent.Timeout(self.ping_timeout + self.ping_interval):
            return ws.receive()

    def _read_websocket(self, session: Session, ws: Any) -> Iterator[bytes]:
        """The session's read loop, as the (empty) response iterable: the server runs
        it after the WSGI callable returned, so the connection's greenlet waits for
        frames without the middleware's frames on its stack (~1.6 KB a connection)."""
        reason = Reason.TRANSPORT_CLOSE
        try:
            while not session.is_closed:
                frame = ws.receive()
                if frame is None:
                    break
                if len(frame) > self.max_http_buffer_size:
                    raise ProtocolError("message too large")
                self._receive(session, frame, polling=False)
        except (ProtocolError, websocket.ProtocolViolation) as exc:
            self.logger.info("closing %s: %s", session.sid, exc)
            reason = Reason.TRANSPORT_ERROR
        except Exception:  # a broken socket
            reason = Reason.TRANSPORT_ERROR
        if not session.is_closed:
            self.close(session, reason, notify=None)
        session.wait_for_writer()
        yield from ()

    # -- packets -----------------------------------------------------------------------

    def _receive(self, session: Session, packet: str | bytes, polling: bool) -> None:
        if session.is_closed:
            return
        if isinstance(packet, (bytes, bytearray)):
            self._message(session, bytes(packet))
            return
        if not packet:
            raise ProtocolError("empty packet")
        kind, data = packet[0], packet[1:]
        if kind == MESSAGE:
            self._message(session, data)
        elif kind == "b" and polling:
            try:
                self._message(session, base64.b64decode(data, validate=True))
            except ValueError:
                raise ProtocolError("bad base64 packet") from None
        elif kind == PONG:
            if session.awaiting_pong:  # the next ping a ping interval after this pong
                session.awaiting_pong = False
                self._schedule(self.ping_interval, session.sid, PING)
        elif kind == PING:  # v3 clients ping; answering is harmless
            session.send_text(PONG + data)
        elif kind == CLOSE:
            self.close(session, Reason.CLIENT_DISCONNECT, notify=NOOP)
        elif kind == NOOP:
            pass
        else:
            raise ProtocolError(f"unexpected packet type {kind!r}")

    def _message(self, session: Session, data: str | bytes) -> None:
        try:
            self._trigger("message", session.sid, data)
        except Exception as exc:
            raise ProtocolError(f"the message handler failed: {exc!r}") from exc

    def close(self, session: Session, reason: str, notify: str | None,
              handlers_apart: bool = False) -> None:
        """End ``session``: ``notify`` is the last packet it gets (after what is
        queued). The disconnect handler runs now, or in a greenlet of its own with
        ``handlers_apart`` (for the heartbeat and for senders, which must not wait)."""
        if session.is_closed:
            return
        if notify is not None and session.ws is None:  # a WebSocket just closes
            if reason == Reason.SERVER_DISCONNECT and session.poll is None:
                self._keep_for_last_poll(session)
            session.enqueue(notify, force=True)
        session.is_closed = True
        self.sessions.pop(session.sid, None)
        session.stop_worker()
        if session.poll is not None:
            session.poll.set(None)
        session.end_websocket(abort=reason in _ABORTING)
        if handlers_apart:
            gevent.spawn(self._disconnected, session.sid, reason)
        else:
            self._disconnected(session.sid, reason)

    def _disconnected(self, sid: str, reason: str) -> None:
        try:
            self._trigger("disconnect", sid, reason)
        except Exception:
            self.logger.exception("disconnect handler error")

    def _keep_for_last_poll(self, session: Session) -> None:
        """Keep a polling session the server closes until its next poll (at most a
        ping interval and timeout), which gets a NOOP, if nothing else is due, and the
        CLOSE packet, as from the reference server; meanwhile a POST is answered and
        ignored."""
        if not session.queue:
            session.enqueue(NOOP, force=True)
        sid = session.sid
        self._closing[sid] = session
        timer = gevent.get_hub().loop.timer(self.ping_interval + self.ping_timeout)

        def forget() -> None:
            timer.close()
            self._closing.pop(sid, None)

        timer.start(forget)

    def _trigger(self, event: str, *args: Any) -> Any:
        handler = self.handlers.get(event)
        return handler(*args) if handler is not None else None

    # -- heartbeat ---------------------------------------------------------------------

    def _schedule(self, delay: float, sid: str, kind: str) -> None:
        if not self.monitor_clients:
            return
        heapq.heappush(self._timers, (time.monotonic() + delay, next(self._timer_sequence),
                                      sid, kind))
        if self._heartbeat is None or self._heartbeat.dead:
            self._heartbeat = gevent.spawn(self._run_heartbeat)
        self._heartbeat_wakeup.set()

    def _run_heartbeat(self) -> None:
        """Queue each session's PINGs and close the sessions that missed a PONG or
        stopped reading; never blocks on a socket, never runs a handler."""
        timers = self._timers
        while timers or self.sessions:
            now = time.monotonic()
            while timers and timers[0][0] <= now:
                _, _, sid, kind = heapq.heappop(timers)
                session = self.sessions.get(sid)
                if session is None or session.is_closed:
                    continue
                if kind == PING:
                    session.awaiting_pong = True
                    session.ping_sent_at = now
                    session.send_text(PING)
                    heapq.heappush(timers, (now + self.ping_timeout + self.ping_grace,
                                            next(self._timer_sequence), sid, PONG))
                elif session.is_stalled(now) or (
                        session.awaiting_pong
                        and now >= session.ping_sent_at + self.ping_timeout + self.ping_grace):
                    # (the PONG itself schedules the next ping, a ping interval later)
                    self.close(session, Reason.PING_TIMEOUT, notify=None, handlers_apart=True)
            self._heartbeat_wakeup.clear()
            wait = timers[0][0] - time.monotonic() if timers else None
            self._heartbeat_wakeup.wait(wait if wait is None or wait > 0 else 0)
        self._heartbeat = None

    # -- responses ---------------------------------------------------------------------

    def _cookie_headers(self, sid: str, environ: WSGIEnvironment) -> list[tuple[str, str]]:
        """The ``cookie`` option's ``Set-Cookie``: ``path=/``, ``SameSite=Lax`` and
        ``HttpOnly`` (and ``Secure`` over HTTPS) unless the option says otherwise."""
        cookie = self.cookie
        if not cookie:
            return []
        if isinstance(cookie, str):
            cookie = {"name": cookie}
        elif not isinstance(cookie, dict):
            cookie = {"name": "io"}
        given = {key: value for key, value in cookie.items() if key != "name"}
        defaults: dict[str, Any] = {"path": "/", "SameSite": "Lax", "HttpOnly": True}
        if _is_https(environ):
            defaults["Secure"] = True
        named = {key.lower() for key in given}
        options = {key: value for key, value in defaults.items() if key.lower() not in named}
        options.update(given)
        parts = [f"{cookie.get('name', 'io')}={sid}"]
        for key, value in options.items():
            if value is True:
                parts.append(key)
            elif value not in (None, False):
                parts.append(f"{key}={value}")
        return [("Set-Cookie", "; ".join(parts))]

    def _respond(self, start_response: Callable[..., Any], status: str, body: bytes,
                 environ: WSGIEnvironment, headers: list[tuple[str, str]] | None = None,
                 content_type: str = "text/plain; charset=UTF-8") -> list[bytes]:
        all_headers = [("Content-Type", content_type)]
        all_headers += self.cors.response_headers(environ)
        all_headers += headers or []
        if (self.http_compression and len(body) >= self.compression_threshold
                and status.startswith("200")):
            body, encoding = _compress(body, environ.get("HTTP_ACCEPT_ENCODING", ""))
            if encoding:
                all_headers.append(("Content-Encoding", encoding))
        all_headers.append(("Content-Length", str(len(body))))
        start_response(status, all_headers)
        return [body]

    def _error(self, start_response: Callable[..., Any], kind: str,
               environ: WSGIEnvironment) -> list[bytes]:
        code, message = ERRORS[kind]
        # 400 for a refused origin too, as python-engineio answers (Node says 403)
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            # a refused upgrade: the bare message, as the reference server answers
            return self._respond(start_response, "400 BAD REQUEST", message.encode(),
                                 environ, content_type="text/html")
        body = json.dumps({"code": code, "message": message}, separators=(",", ":")).encode()
        return self._respond(start_response, "400 BAD REQUEST", body, environ,
                             content_type="application/json")


def _spawn_once(timer: Any, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """A :meth:`NativeEngine.call_later` timer fired: it ends, ``target(*args)`` starts
    in a new greenlet."""
    timer.close()
    gevent.spawn(target, *args)


def _query(query_string: str) -> dict[str, str]:
    """Each parameter's first non-empty value: ``parse_qs(q)[name][0]``, without its
    cost when nothing is escaped (Engine.IO's own parameters never are)."""
    if "%" in query_string or "+" in query_string:
        return {name: values[0] for name, values in parse_qs(query_string).items()}
    values: dict[str, str] = {}
    for part in query_string.split("&"):
        name, equals, value = part.partition("=")
        if value and name not in values:
            values[name] = value
    return values


def _is_https(environ: WSGIEnvironment) -> bool:
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme", "http")
    return scheme.split(",")[0].strip().lower() in ("https", "wss")


def _compress(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    accepted = [part.split(";")[0].strip() for part in accept_encoding.split(",")]
    if "gzip" in accepted:
        return gzip.compress(body), "gzip"
    if "deflate" in accepted:
        return zlib.compress(body), "deflate"
    return body, None
