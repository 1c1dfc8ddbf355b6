"""What both test clients (in-process and live) know and how they are asserted on.

:class:`SocketIOTestClient` and :class:`LiveSocketIOClient` differ in how packets
travel; what they record about the connection (sids, refusals, disconnect reasons,
received events, client-side handlers) and how a test reads it is the same, here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..options import check_namespace
from .records import ReceivedEvent


def expected_args(event: str, args: tuple) -> Any:
    """What ``args`` of a received ``event`` look like (the data itself for
    ``'message'`` and ``'json'``, as Flask-SocketIO's test client shows them)."""
    return args[0] if event in ("message", "json") and len(args) == 1 else list(args)


#: Keywords of the server's ``emit`` that a test client's ``emit`` accepts and ignores,
#: as Flask-SocketIO's test client does (a test written from server code may pass them).
SERVER_EMIT_KEYWORDS = frozenset({"broadcast", "to", "room", "include_self", "skip_sid",
                                  "ignore_queue"})


def ignore_keywords(keywords: dict[str, Any]) -> None:
    """Accept the keywords Flask-SocketIO's test client ignores: the server's
    addressing keywords silently, any other with a :class:`UserWarning` naming it."""
    unknown = sorted(set(keywords) - SERVER_EMIT_KEYWORDS)
    if unknown:
        warnings.warn(f"the test client's emit() ignores the keyword(s) {', '.join(unknown)}",
                      UserWarning, stacklevel=3)


class ClientState:
    """A test client's view of its connection and of what it received."""

    def __init__(self) -> None:
        self._namespaces: dict[str, str] = {}
        self._connect_errors: dict[str, Any] = {}
        self._disconnect_reasons: dict[str, str] = {}
        self._received: list[ReceivedEvent] = []
        self._handlers: dict[tuple[str, str], Callable[..., Any]] = {}

    def is_connected(self, namespace: str | None = None) -> bool:
        """Is ``namespace`` (``'/'`` by default) connected?"""
        return check_namespace(namespace) in self._namespaces

    @property
    def sid(self) -> str | None:
        """The Socket.IO sid of the default namespace (``None`` if not connected)."""
        return self._namespaces.get("/")

    def get_sid(self, namespace: str | None = None) -> str | None:
        """The Socket.IO sid of ``namespace`` (``None`` if not connected)."""
        return self._namespaces.get(check_namespace(namespace))

    @property
    def connect_error(self) -> Any:
        """What the server refused the default namespace with (CONNECT_ERROR data)."""
        return self._connect_errors.get("/")

    def get_connect_error(self, namespace: str | None = None) -> Any:
        """What the server refused ``namespace`` with, or ``None``."""
        return self._connect_errors.get(check_namespace(namespace))

    @property
    def disconnect_reason(self) -> str | None:
        """Why the default namespace was disconnected, or ``None`` if it was not."""
        return self._disconnect_reasons.get("/")

    def get_disconnect_reason(self, namespace: str | None = None) -> str | None:
        """Why ``namespace`` was disconnected, or ``None``."""
        return self._disconnect_reasons.get(check_namespace(namespace))

    def on(self, event: str, handler: Callable[..., Any] | None = None,
           namespace: str | None = None) -> Any:
        """Register a client-side handler; its return value answers acks and ``call()``.

        ``'*'`` catches every event (the handler gets the event name first). Usable
        as a decorator: ``@client.on('ping')``.
        """
        namespace = check_namespace(namespace)

        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self._handlers[(namespace, event)] = handler
            return handler

        return register if handler is None else register(handler)

    def call(self, event: str, *args: Any, namespace: str | None = None,
             timeout: float | None = None) -> Any:
        """Emit ``event`` and return the acknowledgement (``emit(..., callback=True)``)."""
        return self.emit(event, *args, callback=True,  # type: ignore[attr-defined]
                         namespace=namespace, timeout=timeout)

    def send(self, data: Any, json: bool = False, callback: bool = False,
             namespace: str | None = None) -> Any:
        """Send a ``'message'`` (``'json'`` with ``json=True``) event."""
        return self.emit("json" if json else "message", data,  # type: ignore[attr-defined]
                         callback=callback, namespace=namespace)

    def _answer(self, record: ReceivedEvent, result: Any) -> None:
        """Acknowledge ``record`` with a client handler's return value (a tuple is
        several arguments), unless the handler acknowledged it itself."""
        if record.wants_ack and not record.is_acked:
            record.is_acked = True
            args = () if result is None else result if isinstance(result, tuple) else (result,)
            self._respond(record, args)  # type: ignore[attr-defined]

    def _check_received(self, record: ReceivedEvent, event: str, args: tuple) -> None:
        expected = expected_args(event, args)
        if record.args != expected:
            raise AssertionError(f"received {event!r} with arguments\n  {record.args!r}\n"
                                 f"expected\n  {expected!r}")

    def _unread(self, namespace: str | None) -> list[ReceivedEvent]:
        return [r for r in self._received if namespace is None or r.namespace == namespace]

    def _fail_if_any(self, left: list[ReceivedEvent]) -> None:
        if left:
            raise AssertionError("expected nothing, but received:\n" +
                                 "\n".join(f"  {record!r}" for record in left))

    def _take(self, event: str | None, namespace: str | None) -> ReceivedEvent | None:
        for index, record in enumerate(self._received):
            if (event is None or record.name == event) and (
                    namespace is None or record.namespace == namespace):
                return self._received.pop(index)
        return None

    def _require_namespace(self, namespace: str, doing: str) -> str:
        sid = self._namespaces.get(namespace)
        if sid is None:
            reason = self._disconnect_reasons.get(namespace)
            detail = f" (disconnected: {reason})" if reason else ""
            raise RuntimeError(f"cannot {doing}: not connected to namespace "
                               f"{namespace!r}{detail}")
        return sid
