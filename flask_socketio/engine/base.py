"""The one interface python-socketio's ``Server`` uses to talk to its Engine.IO layer.

The network engines implement :class:`Engine` (ours, :mod:`.native`, and
python-engineio's, :mod:`.python_engineio`); :class:`~.router.EngineRouter` puts
them behind python-socketio's ``eio``. An :class:`AttachedEngine` (the test toolkit's
in-process engine, :mod:`flask_socketio.testing.inprocess`) can be attached beside
the network one: the router then sends each session's calls to the engine that
owns it. Nothing in the engine layer imports the test toolkit.
"""

from __future__ import annotations

import os
from binascii import b2a_base64
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import engineio

from ..wsgi_types import StartResponse, WSGIEnvironment


class Reason(engineio.Server.reason):
    """The disconnect reasons handlers receive: python-engineio's, and ours
    (``SocketIO.reason``)."""

    #: More than ``max_queued_bytes`` waited to be sent to the client (it does not
    #: read, or not as fast as the server sends); the native engine closed it.
    QUEUE_FULL = "queue full"


#: Random bytes per session id: 120 bits, 20 characters of URL-safe base64 (what
#: ``secrets.token_urlsafe(15)`` makes).
ID_BYTES = 15
#: Ids made per read of the operating system's randomness.
IDS_PER_READ = 64
_ID_CHARS = ID_BYTES * 4 // 3
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_ids: list[str] = []


def new_id() -> str:
    """A new session id: ``secrets.token_urlsafe(15)``'s kind (``os.urandom``'s bytes
    in URL-safe base64, no padding), with the operating system's randomness read
    for :data:`IDS_PER_READ` ids at a time. ``list.pop`` hands each id out once,
    whatever thread asks; a forked child forgets the parent's unused ids."""
    try:
        return _ids.pop()
    except IndexError:
        pass
    text = b2a_base64(os.urandom(ID_BYTES * IDS_PER_READ), newline=False).translate(
        _URLSAFE).decode("ascii")
    _ids.extend([text[start:start + _ID_CHARS]
                 for start in range(_ID_CHARS, len(text), _ID_CHARS)])
    return text[:_ID_CHARS]


os.register_at_fork(after_in_child=_ids.clear)


class Cancellable(Protocol):
    """A pending ``call_later``: ``cancel()`` prevents it (nothing if it already ran).
    Each engine returns its own timers' handles (the in-process engine its
    scheduler's timers), or a :class:`CancelBy`."""

    def cancel(self) -> None: ...


class CancelBy:
    """A :class:`Cancellable` whose ``cancel()`` is the function it was made with."""

    __slots__ = ("cancel",)

    def __init__(self, cancel: Callable[[], None]) -> None:
        self.cancel = cancel


class Engine(Protocol):
    """What python-socketio's ``Server`` calls on ``self.eio``."""

    async_mode: str

    #: Does a message queue's listener, which blocks on its broker's socket, need a
    #: real thread of its own on this engine? (True where the engine's tasks switch
    #: only at the engine's own waits; its deliveries then come from that thread.)
    listeners_need_threads: bool

    #: Does this engine run endless periodic service tasks (a message queue's
    #: publisher, a cluster node's heartbeat)? False where its clock only moves when
    #: told and must be able to run out of timers; publishes are then sent by their
    #: callers and nodes do not beat.
    runs_service_tasks: bool

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any: ...

    def send(self, sid: str, data: Any) -> None: ...

    def send_packet(self, sid: str, pkt: Any) -> None: ...

    def disconnect(self, sid: str | None = None) -> None: ...

    def transport(self, sid: str) -> str: ...

    def get_session(self, sid: str) -> dict[str, Any]: ...

    def save_session(self, sid: str, session: dict[str, Any]) -> None: ...

    def generate_id(self) -> str: ...

    def start_background_task(self, target: Callable[..., Any], *args: Any,
                              **kwargs: Any) -> Any: ...

    def sleep(self, seconds: float = 0) -> None: ...

    def create_event(self) -> Any: ...

    def create_queue(self, *args: Any, **kwargs: Any) -> Any: ...

    def get_queue_empty_exception(self) -> type[Exception]: ...

    def handle_request(self, environ: WSGIEnvironment,
                       start_response: StartResponse) -> Iterable[bytes]: ...

    def shutdown(self) -> None: ...

    def run_event(self, sid: str, target: Callable[..., Any], *args: Any) -> None:
        """Run the handling of one event of session ``sid``, concurrently with its reads."""

    def call_later(self, delay: float, target: Callable[..., Any], *args: Any) -> Cancellable:
        """Run ``target(*args)`` as a task after ``delay`` seconds on this engine's clock."""

    def report_failure(self, source: str, exc: BaseException) -> None:
        """An exception server code raised for one of this engine's sessions, that no
        handler took (``source`` says where): logged on the network."""

    #: Volatile messages it dropped (their session's transport was not ready).
    volatile_dropped: int

    def send_volatile(self, sid: str, pkts: list[Any]) -> None:
        """Send the packets of one volatile message if the session's transport is
        ready for them, else drop them (counted in :attr:`volatile_dropped`)."""


class AttachedEngine(Engine, Protocol):
    """An engine attached to the router beside the network one, owning its own
    sessions and (for the callers it serves) the async primitives and the clock."""

    def owns(self, sid: str) -> bool:
        """Is session ``sid`` one of this engine's?"""

    def serves_caller(self) -> bool:
        """Do the calling greenlet's tasks, sleeps and events run on this engine?"""

    def monotonic(self) -> float:
        """Seconds on this engine's clock."""
