"""Connection state recovery, as Node's socket.io ``connectionStateRecovery`` does it.

With the ``connection_state_recovery`` option on, the server:

- sends a private session id (``pid``) in each CONNECT reply, ``{"sid": ..., "pid": ...}``;
- gives every event it emits without a callback (and not volatile) an *offset*, sent
  as the event's last argument, and keeps the event in a log for
  ``max_disconnection_duration`` seconds (at most ``max_packets`` of them);
- keeps the sid, rooms and per-connection data of a connection that ended for a
  network reason (transport close or error, ping timeout) for
  ``max_disconnection_duration`` seconds, under its ``pid``.

A client (socket.io-client >= 4.6, the test clients) that reconnects sends
``{"pid": ..., "offset": ...}`` in its CONNECT auth (the last offset it received);
the server then gives the connection its old sid, rooms and data back, replies with
the same ``pid``, and sends the logged events after that offset that the connection
would have received, in order, before anything else. ``request.recovered`` says so.
A session is restored once; an unknown or expired ``pid``, or an offset the log no
longer holds, gives a new session, as a first connection.

The log and the sessions live in the process. With a message queue, the process that
emits an event gives it its offset, which travels with the message, so every node
logs it under the same offset; with ``redis+streams://`` the kept sessions are in
Redis too (:class:`SharedSessions`), so a client recovers on any node; with the other
queues, on the node it was on.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import socketio

logger = logging.getLogger("flask_socketio")

#: The disconnect reasons after which a session is kept (socket.io's
#: ``RECOVERABLE_DISCONNECT_REASONS``, as python-socketio words them).
RECOVERABLE_REASONS = frozenset({"transport close", "transport error", "ping timeout"})

#: Default of ``max_disconnection_duration``, in seconds (socket.io's two minutes).
DEFAULT_MAX_DISCONNECTION_DURATION = 120.0
#: Default of ``max_packets``: events the log keeps at most.
DEFAULT_MAX_PACKETS = 10_000

_OPTION_NAMES = frozenset({"max_disconnection_duration", "skip_middlewares", "max_packets"})


@dataclass(frozen=True)
class RecoveryOptions:
    """The ``connection_state_recovery`` option, checked."""

    #: Seconds a disconnected session (and an emitted event) is kept.
    max_disconnection_duration: float = DEFAULT_MAX_DISCONNECTION_DURATION
    #: Skip the ``before_event`` hooks for the ``connect`` of a recovered connection.
    skip_middlewares: bool = True
    #: Events the log keeps at most (the oldest go first).
    max_packets: int = DEFAULT_MAX_PACKETS

    @classmethod
    def from_option(cls, value: Any) -> RecoveryOptions | None:
        """``None`` for ``None``/``False``; the defaults for ``True``; else a dict."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if not isinstance(value, dict):
            raise TypeError(f"connection_state_recovery must be True or a dict, not {value!r}")
        unknown = sorted(set(value) - _OPTION_NAMES)
        if unknown:
            raise TypeError(f"connection_state_recovery got unknown key(s) "
                            f"{', '.join(map(repr, unknown))}; known: "
                            f"{', '.join(sorted(_OPTION_NAMES))}")
        options = cls(**value)
        duration = options.max_disconnection_duration
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) \
                or not duration > 0:
            raise ValueError(f"max_disconnection_duration must be a number of seconds > 0, "
                             f"not {duration!r}")
        if type(options.max_packets) is not int or options.max_packets < 1:
            raise ValueError(f"max_packets must be an int >= 1, not {options.max_packets!r}")
        if not isinstance(options.skip_middlewares, bool):
            raise ValueError(f"skip_middlewares must be a bool, not "
                             f"{options.skip_middlewares!r}")
        return options


@dataclass
class KeptSession:
    """What a disconnected connection leaves to be recovered."""

    sid: str
    pid: str
    namespace: str
    rooms: list[Any]
    #: python-socketio's session of the namespace (``save_session``).
    data: Any
    #: The connection's managed Flask session (``manage_session=True``), if any.
    flask_session: Any
    disconnected_at: float
    #: The logged events it missed, filled in by :meth:`RecoveryStore.restore`.
    missed: list[Any] = field(default_factory=list)
    #: Kept in the shared sessions too (which then say whether it is still there).
    shared: bool = False


class SharedSessions(Protocol):
    """Kept sessions shared by the nodes of a cluster (a JSON-able dict per pid)."""

    def put(self, pid: str, record: dict[str, Any], ttl: float) -> None:
        """Keep ``record`` under ``pid`` for ``ttl`` seconds."""

    def take(self, pid: str) -> dict[str, Any] | None:
        """The record kept under ``pid``, removed; ``None`` if there is none."""


@dataclass(frozen=True)
class _Logged:
    seq: int
    offset: str
    namespace: str
    to: frozenset[str] | None
    skip: frozenset[str]
    #: The EVENT packet's data: ``[event, *args, offset]``.
    data: list[Any]
    emitted_at: float

    def reaches(self, rooms: list[Any]) -> bool:
        """Would a connection in ``rooms`` (its sid among them) have received it?
        (socket.io's ``shouldIncludePacket``)"""
        included = self.to is None or any(room in self.to for room in rooms)
        return included and not any(room in self.skip for room in rooms)


class RecoveryStore:
    """The event log and the kept sessions of one server (thread-safe)."""

    def __init__(self, options: RecoveryOptions, clock: Callable[[], float],
                 shared: SharedSessions | None = None) -> None:
        self.options = options
        self._clock = clock
        self.shared = shared
        self._lock = threading.Lock()
        #: Offsets this process gives are ``"<prefix>-<n>"``: the prefix is this
        #: store's, so they never collide with another process's.
        self._prefix = secrets.token_hex(4)
        self._numbers = itertools.count(1)
        self._seq = itertools.count(1)
        self._log: deque[_Logged] = deque()
        #: offset -> local position in the log, of the events logged here
        self._index: dict[str, int] = {}
        #: The offset and position of the last event trimmed off the log: a client
        #: that received it can still recover from what follows.
        self._trimmed: tuple[str, int] | None = None
        self._sessions: dict[str, KeptSession] = {}
        #: ``(sid, namespace)`` -> pid of the connections of this process.
        self._pids: dict[tuple[str, str], str] = {}
        #: ``(sid, namespace)`` of the connections that were recovered.
        self._recovered: set[tuple[str, str]] = set()
        #: ``(eio_sid, namespace)`` -> a session being restored (between the CONNECT
        #: packet and the connect handler), and the events to replay after the reply.
        self.restoring: dict[tuple[str, str], KeptSession] = {}
        self.replays: dict[tuple[str, str], list[Any]] = {}

    # -- the log -------------------------------------------------------------------------

    def new_offset(self) -> str:
        """A new offset of this process."""
        return f"{self._prefix}-{next(self._numbers)}"

    def log(self, namespace: str, to: Any, skip_sid: Any, data: list[Any],
            offset: str | None = None) -> str:
        """Log the EVENT data ``[event, *args]`` emitted to ``to`` (a room, a sid, a list
        of them, or ``None`` for everyone), skipping ``skip_sid``, under ``offset`` (a
        new one by default); return the offset (``data`` is the logged list, with the
        offset appended)."""
        if offset is None:
            offset = self.new_offset()
        now = self._clock()
        data.append(offset)
        with self._lock:
            seq = next(self._seq)
            self._log.append(_Logged(seq, offset, namespace, _room_set(to),
                                     _skip_set(skip_sid), data, now))
            self._index[offset] = seq
            self._trim(now)
        return offset

    def unlog(self, offset: str) -> None:
        """Take the event logged under ``offset`` off the log (it was not sent)."""
        with self._lock:
            seq = self._index.pop(offset, None)
            for index in range(len(self._log) - 1, -1, -1):
                if self._log[index].seq == seq:
                    del self._log[index]
                    return

    def is_offset(self, value: Any) -> bool:
        """Is ``value`` the offset of an event logged here?"""
        return isinstance(value, str) and (
            value in self._index or (self._trimmed is not None and value == self._trimmed[0]))

    def _position(self, offset: Any) -> int | None:
        """Where the event of ``offset`` is (was) in the log; ``None`` if unknown."""
        if not isinstance(offset, str):
            return None
        seq = self._index.get(offset)
        if seq is None and self._trimmed is not None and self._trimmed[0] == offset:
            seq = self._trimmed[1]
        return seq

    def _trim(self, now: float) -> None:
        threshold = now - self.options.max_disconnection_duration
        log = self._log
        while log and (len(log) > self.options.max_packets or log[0].emitted_at < threshold):
            gone = log.popleft()
            self._index.pop(gone.offset, None)
            self._trimmed = (gone.offset, gone.seq)
        sessions = self._sessions
        while sessions:
            pid, kept = next(iter(sessions.items()))
            if kept.disconnected_at >= threshold:
                break
            del sessions[pid]

    # -- sessions ------------------------------------------------------------------------

    def pid_for(self, sid: str, namespace: str) -> str:
        """The pid of connection ``sid`` on ``namespace`` (a new one the first time)."""
        with self._lock:
            pid = self._pids.get((sid, namespace))
            if pid is None:
                pid = self._pids[(sid, namespace)] = secrets.token_urlsafe(15)
            return pid

    def keep(self, sid: str, namespace: str, rooms: list[Any], data: Any,
             flask_session: Any) -> None:
        """Keep what connection ``sid`` on ``namespace`` had, under its pid (in the
        shared sessions too, when its data can be written as JSON)."""
        now = self._clock()
        with self._lock:
            pid = self._pids.get((sid, namespace))
            if pid is None:
                return
            self._sessions.pop(pid, None)
            kept = self._sessions[pid] = KeptSession(sid, pid, namespace, rooms, data,
                                                     flask_session, now)
            self._trim(now)
        if self.shared is not None:
            record = {"sid": sid, "namespace": namespace, "rooms": rooms, "data": data,
                      "flask_session": None if flask_session is None else dict(flask_session)}
            try:
                json.dumps(record)
            except (TypeError, ValueError) as exc:
                logger.warning("Connection state of %s kept on this node only: %s", sid, exc)
                return
            try:
                self.shared.put(pid, record, self.options.max_disconnection_duration)
            except Exception:
                logger.exception("Connection state of %s kept on this node only", kept.sid)
                return
            kept.shared = True

    def forget(self, sid: str, namespace: str) -> None:
        """Connection ``sid`` on ``namespace`` ended."""
        with self._lock:
            self._pids.pop((sid, namespace), None)
            self._recovered.discard((sid, namespace))

    def restore(self, namespace: str, pid: Any, offset: Any) -> KeptSession | None:
        """The session kept under ``pid`` for ``namespace``, with the events after
        ``offset`` that it would have received; ``None`` if there is none, it expired,
        or the log lost events after ``offset``. A session is restored once."""
        if not isinstance(pid, str) or not isinstance(offset, str):
            return None
        now = self._clock()
        with self._lock:
            self._trim(now)
            kept = self._sessions.pop(pid, None)
        if kept is not None:
            if kept.shared and self._shared_call(self.shared.take, pid) is None:  # type: ignore[union-attr]
                return None  # restored on another node, or expired
        elif self.shared is not None:
            kept = self._from_record(pid, self._shared_call(self.shared.take, pid), now)
        if kept is None or kept.namespace != namespace:
            return None
        with self._lock:
            seq = self._position(offset)
            if seq is None:
                return None  # unknown, or events after it were trimmed: not recoverable
            kept.missed = [entry.data for entry in self._log
                           if entry.seq > seq and entry.namespace == namespace
                           and entry.reaches(kept.rooms)]
            self._pids[(kept.sid, namespace)] = kept.pid
            self._recovered.add((kept.sid, namespace))
        return kept

    @staticmethod
    def _shared_call(method: Callable[[str], Any], pid: str) -> Any:
        try:
            return method(pid)
        except Exception:
            logger.exception("Shared connection state unreachable")
            return None

    @staticmethod
    def _from_record(pid: str, record: Any, now: float) -> KeptSession | None:
        if not isinstance(record, dict):
            return None
        try:
            return KeptSession(record["sid"], pid, record["namespace"], list(record["rooms"]),
                               record.get("data"), record.get("flask_session"), now)
        except (KeyError, TypeError):
            return None

    def was_recovered(self, sid: str | None, namespace: str) -> bool:
        """Was connection ``sid`` on ``namespace`` recovered?"""
        return (sid, namespace) in self._recovered

    @property
    def kept_sessions(self) -> int:
        """Disconnected sessions kept now."""
        return len(self._sessions)

    @property
    def logged_events(self) -> int:
        """Events in the log now."""
        return len(self._log)


def _room_set(to: Any) -> frozenset[str] | None:
    if to is None:
        return None
    if isinstance(to, (list, tuple, set, frozenset)):
        return frozenset(to)
    return frozenset((to,))


def _skip_set(skip_sid: Any) -> frozenset[str]:
    if skip_sid is None:
        return frozenset()
    if isinstance(skip_sid, (list, tuple, set, frozenset)):
        return frozenset(each for each in skip_sid if each is not None)
    return frozenset((skip_sid,))


def split_auth(auth: Any) -> tuple[Any, Any, Any]:
    """``(auth without them, pid, offset)`` of a CONNECT packet's auth."""
    if not isinstance(auth, dict) or ("pid" not in auth and "offset" not in auth):
        return auth, None, None
    rest = {key: value for key, value in auth.items() if key not in ("pid", "offset")}
    return (rest or None), auth.get("pid"), auth.get("offset")


#: The sid python-socketio's manager is to give the connection being restored.
_reused_sid: ContextVar[str | None] = ContextVar("flask_socketio_reused_sid", default=None)


@contextlib.contextmanager
def reusing_sid(sid: str) -> Iterator[None]:
    """Within the block, the next sid generated (by the manager's ``pre_connect``,
    through ``eio.generate_id()``) is ``sid``."""
    token = _reused_sid.set(sid)
    try:
        yield
    finally:
        _reused_sid.reset(token)


def take_reused_sid() -> str | None:
    """The sid to reuse, once; ``None`` when none is set."""
    sid = _reused_sid.get()
    if sid is not None:
        _reused_sid.set(None)
    return sid


#: The offset of the emit being published and delivered by a message queue manager.
_queued_offset: ContextVar[str | None] = ContextVar("flask_socketio_queued_offset",
                                                    default=None)


class QueuedRecoveryMixin:
    """For client managers with a message queue: the process that emits an event gives
    it its offset, published with the message (``"offset"``), so that every node
    logs it under that offset and a client can recover on any of them. (python-socketio's
    managers ignore the extra key.)"""

    server: Any

    def emit(self, event: str, data: Any, namespace: str | None = None, room: Any = None,
             skip_sid: Any = None, callback: Any = None, to: Any = None,
             **kwargs: Any) -> Any:
        recovery = getattr(self.server, "recovery", None)
        if (recovery is None or callback is not None or kwargs.get("ignore_queue")
                or _is_volatile() or not isinstance(self, socketio.PubSubManager)):
            return super().emit(event, data, namespace=namespace, room=room,  # type: ignore[misc]
                                skip_sid=skip_sid, callback=callback, to=to, **kwargs)
        token = _queued_offset.set(recovery.new_offset())
        try:
            return super().emit(event, data, namespace=namespace, room=room,  # type: ignore[misc]
                                skip_sid=skip_sid, callback=callback, to=to, **kwargs)
        finally:
            _queued_offset.reset(token)

    def _publish(self, data: Any) -> Any:
        offset = _queued_offset.get()
        if offset is not None and isinstance(data, dict) and data.get("method") == "emit":
            data = {**data, "offset": offset}
        return super()._publish(data)  # type: ignore[misc]

    def _handle_emit(self, message: dict[str, Any]) -> Any:
        offset = message.get("offset")
        if not isinstance(offset, str):
            offset = _queued_offset.get()  # this process's emit, delivered here first
        if offset is None:
            return super()._handle_emit(message)  # type: ignore[misc]
        token = _queued_offset.set(offset)
        try:
            return super()._handle_emit(message)  # type: ignore[misc]
        finally:
            _queued_offset.reset(token)


class RecoveringManagerMixin:
    """Logs each event this process delivers to its clients (python-socketio's
    ``Manager.emit``, which every manager's local delivery goes through: mixed in just
    above it) and sends it with its offset."""

    server: Any

    def emit(self, event: str, data: Any, namespace: str, room: Any = None,
             skip_sid: Any = None, callback: Any = None, to: Any = None,
             **kwargs: Any) -> Any:
        recovery = getattr(self.server, "recovery", None)
        if recovery is not None and callback is None and not _is_volatile():
            if isinstance(data, tuple):
                args = list(data)
            elif data is not None:
                args = [data]
            else:
                args = []
            packet_data = [event, *args]
            given = _queued_offset.get()
            if given is not None:
                _queued_offset.set(None)  # one delivery per offset
            offset = recovery.log(namespace or "/", to if to is not None else room,
                                  skip_sid, packet_data, given)
            try:
                return super().emit(event, tuple(packet_data[1:]), namespace,  # type: ignore[misc]
                                    room=room, skip_sid=skip_sid, callback=callback, to=to,
                                    **kwargs)
            except BaseException:
                recovery.unlog(offset)  # not sent (not serializable, say): not replayed
                raise
        return super().emit(event, data, namespace, room=room,  # type: ignore[misc]
                            skip_sid=skip_sid, callback=callback, to=to, **kwargs)


def _is_volatile() -> bool:
    from .volatile import collecting

    return collecting() is not None
