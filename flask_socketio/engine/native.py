"""Our Engine.IO v4 server for gevent: HTTP long-polling, WebSocket and the upgrade.

It implements the engine interface python-socketio's ``Server`` uses (see
:mod:`flask_socketio.engine.base`), so it sits where python-engineio's ``Server``
would. It follows the Engine.IO v4 specification: a protocol violation closes that
session; one GET and one POST at a time per polling session; pings from a single
heartbeat greenlet; sub-second ping intervals advertised exactly.

Served by gevent's ``pywsgi``: :mod:`flask_socketio.serving` hands over the raw socket
(``environ['flask_socketio.socket']``), on which the engine speaks WebSocket itself
(:mod:`flask_socketio.engine.websocket`) and notices a client hanging up on a poll.
Under other servers, a ``environ['wsgi.websocket']`` they provide (gevent-websocket's
gunicorn worker, simple-websocket under gunicorn's own) is used instead.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import gzip
import heapq
import itertools
import json
import logging
import secrets
import sys
import time
import zlib
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import engineio
import gevent
import gevent.event
import gevent.hub
import gevent.lock
import gevent.queue

from . import websocket
from .base import Cancellable
from .cors import CorsPolicy

Reason = engineio.Server.reason
logger = logging.getLogger("flask_socketio.engine")

OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = "0123456"
SEPARATOR = "\x1e"
SOCKET_KEY = "flask_socketio.socket"
_CANCELLED = object()

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


class Session:
    """One Engine.IO session, on long-polling or (after the upgrade) on WebSocket."""

    __slots__ = ("engine", "sid", "environ", "transport", "session", "outbox", "poll",
                 "is_posting", "ws", "ws_lock", "is_upgrading", "is_closed",
                 "awaiting_pong", "ping_sent_at", "worker", "task", "worker_waiter",
                 "__weakref__")

    def __init__(self, engine: NativeEngine, sid: str, environ: dict, transport: str) -> None:
        self.engine = engine
        self.sid = sid
        self.environ = environ
        self.transport = transport
        self.session: dict = {}
        self.outbox: list[str] = []
        self.poll: gevent.event.AsyncResult | None = None
        self.is_posting = False
        self.ws: Any = None
        self.ws_lock = gevent.lock.Semaphore()
        self.is_upgrading = False
        self.is_closed = False
        self.awaiting_pong = False
        self.ping_sent_at = 0.0
        #: The greenlet that runs this session's event handlers (made at its first
        #: event), the task handed to it, and its waiter while it waits for one.
        self.worker: gevent.Greenlet | None = None
        self.task: tuple[Callable[..., Any], tuple] | None = None
        self.worker_waiter: Any = None

    def hand_to_worker(self, target: Callable[..., Any], args: tuple) -> bool:
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
            self.worker = gevent.spawn(self._work)
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

    def send_text(self, packet: str) -> None:
        """Send one encoded text packet on whichever transport the session uses."""
        if self.is_closed:
            return
        if self.ws is not None:
            self._ws_send(packet, binary=False)
        else:
            self.outbox.append(packet)
            if self.poll is not None:
                self.poll.set(None)

    def send_message(self, data: str | bytes) -> None:
        if isinstance(data, str):
            self.send_text(MESSAGE + data)
        elif self.ws is not None and not self.is_closed:
            self._ws_send(data, binary=True)
        else:
            self.send_text("b" + base64.b64encode(data).decode("ascii"))

    def _ws_send(self, data: str | bytes, binary: bool) -> None:
        try:
            with self.ws_lock:
                self.ws.send(data, binary=binary)
        except Exception:  # the peer went away: the reader sees it and closes
            self.engine.close(self, Reason.TRANSPORT_ERROR, notify=None)


class NativeEngine:
    """An Engine.IO v4 server for gevent (options as python-engineio's ``Server``)."""

    async_mode = "gevent"
    reason = Reason
    valid_transports = ("polling", "websocket")

    def __init__(self, async_mode: str | None = "gevent", ping_interval: Any = 25,
                 ping_timeout: float = 20, max_http_buffer_size: int = 1_000_000,
                 allow_upgrades: bool = True, http_compression: bool = True,
                 compression_threshold: int = 1024, cookie: Any = None,
                 cors_allowed_origins: Any = None, cors_credentials: bool = True,
                 logger: Any = False, json: Any = None, async_handlers: bool = True,
                 monitor_clients: bool | None = None, transports: Any = None,
                 websocket_compression: bool = False) -> None:
        if async_mode not in (None, "gevent"):
            raise ValueError(f"the native engine runs on gevent, not {async_mode!r}")
        if isinstance(ping_interval, tuple):
            self.ping_interval, self.ping_grace = float(ping_interval[0]), float(ping_interval[1])
        else:
            self.ping_interval, self.ping_grace = float(ping_interval), 0.0
        self.ping_timeout = float(ping_timeout)
        self.max_http_buffer_size = max_http_buffer_size
        self.allow_upgrades = allow_upgrades
        self.http_compression = http_compression
        self.compression_threshold = compression_threshold
        #: Accept permessage-deflate (messages from ``compression_threshold`` bytes up).
        self.websocket_compression = websocket_compression
        self.cookie = cookie
        self.cors_allowed_origins = cors_allowed_origins
        self.cors_credentials = cors_credentials
        self.cors = CorsPolicy(cors_allowed_origins, cors_credentials)
        self.json = json
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
        self.handlers: dict[str, Callable[..., Any]] = {}
        self._timers: list[tuple[float, int, str, str]] = []
        self._timer_sequence = itertools.count()
        self._heartbeat: gevent.Greenlet | None = None
        self._heartbeat_wakeup = gevent.event.Event()

    # -- the engine interface python-socketio uses --------------------------------------

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers[event] = handler
            return handler

        return register if handler is None else register(handler)

    def send(self, sid: str, data: str | bytes) -> None:
        session = self.sessions.get(sid)
        if session is None:
            self.logger.warning("Cannot send to sid %s", sid)
            return
        session.send_message(data)

    def send_packet(self, sid: str, pkt: Any) -> None:
        if pkt.packet_type == engineio.packet.MESSAGE:
            self.send(sid, pkt.data)
            return
        session = self.sessions.get(sid)
        if session is not None:
            session.send_text(str(pkt.packet_type) + (pkt.data or ""))

    def disconnect(self, sid: str | None = None) -> None:
        sessions = list(self.sessions.values()) if sid is None else [self.sessions.get(sid)]
        for session in sessions:
            if session is not None:
                self.close(session, Reason.SERVER_DISCONNECT, notify=CLOSE)

    def transport(self, sid: str) -> str:
        return self.sessions[sid].transport

    def get_session(self, sid: str) -> dict:
        return self.sessions[sid].session

    def save_session(self, sid: str, session: dict) -> None:
        self.sessions[sid].session = session

    def generate_id(self) -> str:
        return secrets.token_urlsafe(15)

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> gevent.Greenlet:
        return gevent.spawn(target, *args, **kwargs)

    def run_event(self, sid: str, target: Callable[..., Any], *args: Any) -> None:
        """Run the handling of one event of session ``sid``: in the session's worker
        greenlet when it is free, saving a greenlet per event (see
        :meth:`Session.hand_to_worker`), else in a greenlet of its own."""
        session = self.sessions.get(sid)
        if session is None or not session.hand_to_worker(target, args):
            gevent.spawn(target, *args)

    def call_later(self, delay: float, target: Callable[..., Any], *args: Any) -> Any:
        """Run ``target(*args)`` in a new greenlet after ``delay`` seconds; the result's
        ``cancel()`` prevents it. Until then only a libev timer exists (no greenlet)."""
        timer = gevent.get_hub().loop.timer(max(delay, 0.0))

        def fire() -> None:
            timer.close()
            gevent.spawn(target, *args)

        timer.start(fire)
        return Cancellable(timer.close)

    def sleep(self, seconds: float = 0) -> None:
        gevent.sleep(seconds)

    def create_event(self, *args: Any, **kwargs: Any) -> gevent.event.Event:
        return gevent.event.Event()

    def create_queue(self, *args: Any, **kwargs: Any) -> gevent.queue.JoinableQueue:
        return gevent.queue.JoinableQueue(*args, **kwargs)

    def get_queue_empty_exception(self) -> type[Exception]:
        return gevent.queue.Empty

    def shutdown(self) -> None:
        self.disconnect()
        if self._heartbeat is not None:
            self._heartbeat.kill(block=False)
            self._heartbeat = None

    # -- HTTP --------------------------------------------------------------------------

    def handle_request(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI entry point for every Engine.IO request."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and not self.cors.allows(origin, environ):
            self.logger.info("%s is not an accepted origin", origin)
            return self._error(start_response, "forbidden", environ)
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            return self._respond(start_response, "200 OK", b"", environ,
                                 self.cors.preflight_headers(environ))
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if query.get("EIO", [None])[0] != "4":
            return self._error(start_response, "version", environ)
        transport = query.get("transport", [None])[0]
        if transport not in self.transports:
            return self._error(start_response, "transport", environ)
        sid = query.get("sid", [None])[0]
        if sid is None:
            if method != "GET":
                return self._error(start_response, "method", environ)
            return self._handshake(environ, start_response, transport)
        session = self.sessions.get(sid)
        if session is None:
            return self._error(start_response, "sid", environ)
        if transport == "websocket":
            return self._upgrade(session, environ, start_response)
        if session.transport != "polling" or session.ws is not None:
            return self._error(start_response, "request", environ)
        if method == "GET":
            return self._poll(session, environ, start_response)
        if method == "POST":
            return self._post(session, environ, start_response)
        return self._error(start_response, "method", environ)

    def _handshake(self, environ: dict, start_response: Callable[..., Any],
                   transport: str) -> Iterable[bytes]:
        ws = None
        if transport == "websocket":
            ws = self._open_websocket(environ, start_response)
            if ws is None:
                return self._error(start_response, "request", environ)
            if isinstance(ws, list):  # a bad WebSocket handshake, answered
                return ws
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
            session.ws = ws
            session.send_text(opening)
            return self._read_websocket(session, ws)
        headers = self._cookie_headers(sid)
        return self._respond(start_response, "200 OK", opening.encode(), environ, headers,
                             content_type="text/plain; charset=UTF-8")

    def _poll(self, session: Session, environ: dict,
              start_response: Callable[..., Any]) -> Iterable[bytes]:
        if session.poll is not None:  # a second concurrent GET breaks the protocol
            self.close(session, Reason.TRANSPORT_ERROR, notify=CLOSE)
            return self._error(start_response, "request", environ)
        if not session.outbox and not session.is_closed:
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
        packets, session.outbox = session.outbox, []
        if not packets and session.is_closed:
            packets = [CLOSE]
        body = SEPARATOR.join(packets).encode()
        return self._respond(start_response, "200 OK", body, environ,
                             content_type="text/plain; charset=UTF-8")

    def _watch_for_hangup(self, environ: dict, waiter: gevent.event.AsyncResult) -> Any:
        """Tell ``waiter`` if the client hangs up on its pending poll."""
        sock = environ.get(SOCKET_KEY)
        if sock is None:
            return None
        watcher = gevent.get_hub().loop.io(sock.fileno(), 1)

        def readable() -> None:
            watcher.stop()
            try:
                import socket as socket_module

                data = sock.recv(1, socket_module.MSG_PEEK | socket_module.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if data == b"" and not waiter.ready():
                waiter.set(_CANCELLED)

        watcher.start(readable)
        return watcher

    def _post(self, session: Session, environ: dict,
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
        try:
            body = environ["wsgi.input"].read(length if length >= 0 else limit + 1)
            if len(body) > limit:
                raise ProtocolError("payload too large")
            for packet in body.decode("utf-8").split(SEPARATOR):
                self._receive(session, packet, polling=True)
        except (ProtocolError, UnicodeDecodeError) as exc:
            self.logger.info("closing %s: %s", session.sid, exc)
            self.close(session, Reason.TRANSPORT_ERROR, notify=CLOSE)
            return self._error(start_response, "request", environ)
        finally:
            session.is_posting = False
        return self._respond(start_response, "200 OK", b"ok", environ,
                             content_type="text/html; charset=UTF-8")

    # -- WebSocket ---------------------------------------------------------------------

    def _upgrade(self, session: Session, environ: dict,
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
            ws.send(PONG + "probe")
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
        pending = [packet for packet in session.outbox if packet != NOOP]
        session.outbox = []
        session.ws = ws
        session.transport = "websocket"
        if session.poll is not None:
            session.poll.set(None)
        for packet in pending:
            if packet.startswith("b"):
                session.send_message(base64.b64decode(packet[1:]))
            else:
                session.send_text(packet)
        return self._read_websocket(session, ws)

    def _open_websocket(self, environ: dict, start_response: Callable[..., Any]) -> Any:
        """The request's WebSocket: another server's (``wsgi.websocket``), else ours on
        the raw socket (answering the handshake); a list is the response refusing a
        bad handshake, ``None`` means no WebSocket can be had."""
        ws = environ.get("wsgi.websocket")
        if ws is not None:
            return ws
        sock = environ.get(SOCKET_KEY)
        if sock is None:
            return None
        threshold = self.compression_threshold if self.websocket_compression else None
        return websocket.accept(environ, start_response, sock,
                                max_message_size=self.max_http_buffer_size,
                                compression_threshold=threshold)

    def _receive_frame(self, ws: Any) -> Any:
        with gevent.Timeout(self.ping_timeout + self.ping_interval):
            return ws.receive()

    def _read_websocket(self, session: Session, ws: Any) -> Iterable[bytes]:
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
        with contextlib.suppress(Exception):
            ws.close()
        return []

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
            session.awaiting_pong = False
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

    def close(self, session: Session, reason: str, notify: str | None) -> None:
        """End ``session``: ``notify`` is what a pending poll or the WebSocket gets."""
        if session.is_closed:
            return
        if notify is not None:
            session.send_text(notify)
        session.is_closed = True
        self.sessions.pop(session.sid, None)
        session.stop_worker()
        if session.poll is not None:
            session.poll.set(None)
        if session.ws is not None:
            with contextlib.suppress(Exception):
                session.ws.close()
        try:
            self._trigger("disconnect", session.sid, reason)
        except Exception:
            self.logger.exception("disconnect handler error")

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
                elif session.awaiting_pong:
                    self.close(session, Reason.PING_TIMEOUT, notify=None)
                else:
                    due = max(now, session.ping_sent_at + self.ping_interval)
                    heapq.heappush(timers, (due, next(self._timer_sequence), sid, PING))
            self._heartbeat_wakeup.clear()
            wait = timers[0][0] - time.monotonic() if timers else None
            self._heartbeat_wakeup.wait(wait if wait is None or wait > 0 else 0)
        self._heartbeat = None

    # -- responses ---------------------------------------------------------------------

    def _cookie_headers(self, sid: str) -> list[tuple[str, str]]:
        cookie = self.cookie
        if not cookie:
            return []
        if isinstance(cookie, str):
            cookie = {"name": cookie}
        options = {"path": "/", "SameSite": "Lax", **{k: v for k, v in cookie.items()
                                                       if k != "name"}}
        parts = [f"{cookie['name']}={sid}"]
        for key, value in options.items():
            if value is True:
                parts.append(key)
            elif value not in (None, False):
                parts.append(f"{key}={value}")
        return [("Set-Cookie", "; ".join(parts))]

    def _respond(self, start_response: Callable[..., Any], status: str, body: bytes,
                 environ: dict, headers: list[tuple[str, str]] | None = None,
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
               environ: dict) -> list[bytes]:
        code, message = ERRORS[kind]
        body = json.dumps({"code": code, "message": message}).encode()
        # 400 for a refused origin too, as python-engineio answers (Node says 403)
        return self._respond(start_response, "400 BAD REQUEST", body, environ,
                             content_type="application/json")


def _compress(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    accepted = [part.split(";")[0].strip() for part in accept_encoding.split(",")]
    if "gzip" in accepted:
        return gzip.compress(body), "gzip"
    if "deflate" in accepted:
        return zlib.compress(body), "deflate"
    return body, None
