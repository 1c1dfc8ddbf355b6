"""The one interface python-socketio's ``Server`` uses to talk to its Engine.IO layer.

python-engineio's ``Server`` implements it for the network; :class:`InProcessEngine`
implements it for tests. Both are siblings behind :class:`EngineRouter`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import engineio

from ..wsgi_types import WSGIEnvironment


class Reason(engineio.Server.reason):
    """The disconnect reasons handlers receive: python-engineio's, and ours
    (``SocketIO.reason``)."""

    #: More than ``max_queued_bytes`` waited to be sent to the client (it does not
    #: read, or not as fast as the server sends); the native engine closed it.
    QUEUE_FULL = "queue full"


class Cancellable:
    """A pending ``call_later``: ``cancel()`` prevents it (nothing if it already ran)."""

    __slots__ = ("cancel",)

    def __init__(self, cancel: Callable[[], None]) -> None:
        self.cancel = cancel


class Engine(Protocol):
    """What python-socketio's ``Server`` calls on ``self.eio``."""

    async_mode: str

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
                       start_response: Callable[..., Any]) -> Iterable[bytes]: ...

    def shutdown(self) -> None: ...

    # Optional (EngineRouter falls back to start_background_task without them):
    # ``run_event(sid, target, *args)`` runs the handling of one event of session
    # ``sid``; ``call_later(delay, target, *args) -> Cancellable`` runs ``target`` as a
    # task after ``delay`` seconds.
