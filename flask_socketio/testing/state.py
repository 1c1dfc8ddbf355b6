"""What both test clients (in-process and live) know and how they are asserted on.

:class:`SocketIOTestClient` and :class:`LiveSocketIOClient` differ in how packets
travel; what they record about the connection (sids, refusals, disconnect reasons,
received events, client-side handlers) and how a test reads it is the same, here.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from types import FrameType
from typing import Any

from ..options import check_namespace
from .matchers import ANY, differences
from .records import ReceivedEvent

#: Stands for "any arguments" where a check of them is optional.
NO_CHECK: Any = type("NoCheck", (), {"__repr__": lambda self: "<any arguments>"})()


def resolve_namespace(namespace: Any) -> Any:
    """``None`` is ``'/'``, as in ``get_received()``; ``ANY`` means every namespace."""
    return ANY if namespace is ANY else check_namespace(namespace)


def is_match(record: ReceivedEvent, event: str | None, namespace: Any,
             expected: Any = NO_CHECK) -> bool:
    """Is ``record`` an ``event`` (any, for ``None``) on ``namespace`` whose arguments
    match ``expected``?"""
    return ((event is None or record.name == event)
            and (namespace is ANY or record.namespace == namespace)
            and (expected is NO_CHECK or expected == record.args))


#: The reason a client records when its Engine.IO session is closed under it.
TRANSPORT_CLOSE = "transport close"
#: What :meth:`drop` simulates: the reasons a server and socket.io-client give when
#: the network fails (the connection closed, went silent, or broke).
DROP_REASONS = (TRANSPORT_CLOSE, "ping timeout", "transport error")


def check_drop_reason(reason: str) -> None:
    if reason not in DROP_REASONS:
        raise ValueError(f"drop() reason must be one of {', '.join(map(repr, DROP_REASONS))}, "
                         f"not {reason!r}")


def raw_namespace(payload: str | bytes) -> str:
    """The namespace a raw Socket.IO packet names (``'/'`` when it names none)."""
    if isinstance(payload, str) and payload[1:2] == "/":
        return payload[1:].split(",", 1)[0]
    return "/"


def _where(namespace: Any) -> str:
    return " on any namespace" if namespace is ANY else f" on namespace {namespace!r}"


def expected_args(event: str, args: tuple[Any, ...]) -> Any:
    """What ``args`` of a received ``event`` look like (the data itself for
    ``'message'`` and ``'json'``, as Flask-SocketIO's test client shows them)."""
    return args[0] if event in ("message", "json") and len(args) == 1 else list(args)


#: Keywords of the server's ``emit`` that a test client's ``emit`` accepts and ignores,
#: as Flask-SocketIO's test client does (a test written from server code may pass them).
SERVER_EMIT_KEYWORDS = frozenset({"broadcast", "to", "room", "include_self", "skip_sid",
                                  "ignore_queue"})


class NoAckWarning(UserWarning):
    """A test client's ``emit(..., callback=True)`` got no acknowledgement and returned
    ``None``, as Flask-SocketIO's test client does (no handler for the event, say).

    Pass ``timeout=`` (or use ``call()``) to make a missing acknowledgement a
    ``TimeoutError`` instead.
    """


_TESTING_DIR = os.path.dirname(os.path.abspath(__file__))


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside this package (the test's line,
    whether it called ``emit()``, ``send()`` or another method that emits)."""
    level = 1
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and os.path.dirname(frame.f_code.co_filename) == _TESTING_DIR:
        level, frame = level + 1, frame.f_back
    return level


def warn_no_ack(event: str, namespace: str, wait: float, clock: str) -> None:
    """Say that ``event`` was not acknowledged and ``emit()`` returns ``None``."""
    warnings.warn(NoAckWarning(
        f"no handler acknowledged {event!r} on namespace {namespace!r} (nothing answered "
        f"within {wait:g}s, {clock}): emit() returns None, as Flask-SocketIO's test client "
        f"does; pass timeout= or use call() to make this a TimeoutError"),
        stacklevel=_caller_stacklevel())


def ignore_keywords(keywords: dict[str, Any]) -> None:
    """Accept the keywords Flask-SocketIO's test client ignores: the server's
    addressing keywords silently, any other with a :class:`UserWarning` naming it."""
    unknown = sorted(set(keywords) - SERVER_EMIT_KEYWORDS)
    if unknown:
        warnings.warn(f"the test client's emit() ignores the keyword(s) {', '.join(unknown)}",
                      UserWarning, stacklevel=3)


#: ``auth`` for a client's ``_connect``: the namespace's last one (``reconnect()``).
LAST_AUTH: Any = object()


class ClientState:
    """A test client's view of its connection and of what it received."""

    def __init__(self) -> None:
        self._namespaces: dict[str, str] = {}
        self._connect_errors: dict[str, Any] = {}
        self._disconnect_reasons: dict[str, str] = {}
        self._received: list[ReceivedEvent] = []
        self._handlers: dict[tuple[str, str], Callable[..., Any]] = {}
        #: The auth each namespace last connected with (reused to reconnect).
        self._auth: dict[str, Any] = {}
        #: ``auth`` given with ``connect=False``, for the first ``connect()``.
        self._deferred_auth: dict[str, Any] = {}
        self._query_string: str | None = None
        self._headers: dict[str, str] | None = None
        #: The namespaces connected when the last connection was lost.
        self._lost_namespaces: list[str] = []
        #: Every namespace connected at some time (``get_received()`` reads them).
        self._was_connected: dict[str, None] = {}

    def _connect_options(self, namespace: str, query_string: str | None,
                         headers: dict[str, str] | None, auth: Any) -> Any:
        """Keep a connect's ``query_string`` and ``headers`` for the sessions opened
        from now on; return the ``auth`` to send: the one given (``None``: none, as
        in Flask-SocketIO), the one deferred by ``connect=False``, or with
        :data:`LAST_AUTH` the namespace's last one."""
        if query_string is not None:
            self._query_string = query_string
        if headers is not None:
            self._headers = headers
        deferred = self._deferred_auth.pop(namespace, None)
        if auth is LAST_AUTH:
            return self._auth.get(namespace)
        if auth is None and deferred is not None:
            auth = deferred
        self._auth[namespace] = auth
        return auth

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
        """Emit ``event`` and return the acknowledgement (``emit(..., callback=True)``);
        ``TimeoutError`` if none comes within ``timeout`` (the client's default)."""
        wait = self.timeout if timeout is None else timeout  # type: ignore[attr-defined]
        return self.emit(event, *args, callback=True,  # type: ignore[attr-defined]
                         namespace=namespace, timeout=wait)

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

    def _take_received(self, namespace: Any) -> list[ReceivedEvent]:
        """What ``get_received(namespace)`` returns: the events received there, also
        after a disconnection (nothing is lost). On a namespace this client never
        connected (not tried, or refused), with nothing received there,
        ``RuntimeError('not connected ...')``, as Flask-SocketIO's test client."""
        taken = self._take_namespace(namespace)
        if (not taken and namespace is not ANY and namespace not in self._namespaces
                and namespace not in self._was_connected):
            error = self._connect_errors.get(namespace)
            detail = "" if error is None else f" (refused: {error!r})"
            raise RuntimeError(f"not connected to namespace {namespace!r}{detail}: it never "
                               f"was, so nothing can be received there")
        return taken

    def _note_connected(self, namespace: str, sid: str) -> None:
        self._namespaces[namespace] = sid
        self._was_connected[namespace] = None

    def _is_listening(self, namespace: Any) -> bool:
        """May more events come on ``namespace`` (or, for ``ANY``, on any)?"""
        return bool(self._namespaces) if namespace is ANY else namespace in self._namespaces

    def _matching(self, event: str | None, namespace: Any,
                  expected: Any = NO_CHECK) -> list[ReceivedEvent]:
        return [record for record in self._received
                if is_match(record, event, namespace, expected)]

    def _take(self, event: str | None, namespace: Any,
              expected: Any = NO_CHECK) -> ReceivedEvent | None:
        for index, record in enumerate(self._received):
            if is_match(record, event, namespace, expected):
                return self._received.pop(index)
        return None

    def _take_namespace(self, namespace: Any) -> list[ReceivedEvent]:
        received = self._received
        if namespace is ANY:
            self._received = []
            return received
        mine = [record for record in received if record["namespace"] == namespace]
        if len(mine) == len(received):  # the usual case: everything is on it
            self._received = []
        else:
            self._received = [record for record in received
                              if record["namespace"] != namespace]
        return mine

    def _refuted(self, event: str, args: tuple[Any, ...], namespace: Any) -> str | None:
        """Why ``refute_received(event, *args)`` fails, or ``None``."""
        expected = expected_args(event, args) if args else NO_CHECK
        found = self._matching(event, namespace, expected)
        if not found:
            return None
        what = f"{event!r}" if expected is NO_CHECK else f"{event!r} with {expected!r}"
        return (f"expected no {what}{_where(namespace)}, but received:\n"
                + "\n".join(f"  {record!r}" for record in found))

    def _nothing_matched(self, event: str | None, namespace: Any, expected: Any = NO_CHECK,
                         wait: float | None = None, with_state: bool = True) -> str:
        """What a failed wait or assertion tells: what was expected, the near misses
        with their differences, everything else unread, and the connection's state."""
        what = "an event" if event is None else f"event {event!r}"
        within = "" if wait is None else f" within {wait:g}s"
        lines = [f"expected {what}{_where(namespace)}{within}"
                 + ("" if expected is NO_CHECK else f" with arguments {expected!r}")]
        unread = list(self._received)
        near = [record for record in unread if is_match(record, event, namespace)]
        if near:
            label = "events" if event is None else repr(event)
            lines.append(f"but none of the {len(near)} {label} received matched:")
            for record in near:
                lines.append(f"  {record!r}")
                lines += [f"    {line}" for line in differences(expected, record.args)]
        others = [record for record in unread if record not in near]
        if others:
            lines.append("waiting to be read" if near else "but received only")
            lines += [f"  {record!r}" for record in others]
        elif not near:
            lines.append("but received nothing")
        state = self._connection_state(namespace) if with_state else ""
        if state:
            lines.append(state)
        return "\n".join(lines)

    def _connection_state(self, namespace: Any) -> str:
        if not self._namespaces:
            reasons = f" ({self._disconnect_reasons})" if self._disconnect_reasons else ""
            return f"the client is disconnected{reasons}"
        if namespace is not ANY and namespace not in self._namespaces:
            reason = self._disconnect_reasons.get(namespace)
            return f"namespace {namespace!r} is not connected" + (
                f" ({reason})" if reason else "")
        return ""

    def _fail_if_any(self, left: list[ReceivedEvent]) -> None:
        __tracebackhide__ = True
        if left:
            raise AssertionError("expected nothing, but received:\n" +
                                 "\n".join(f"  {record!r}" for record in left))

    def _require_namespace(self, namespace: str, doing: str) -> str:
        sid = self._namespaces.get(namespace)
        if sid is None:
            reason = self._disconnect_reasons.get(namespace)
            detail = f" (disconnected: {reason})" if reason else ""
            raise RuntimeError(f"cannot {doing}: not connected to namespace "
                               f"{namespace!r}{detail}")
        return sid
