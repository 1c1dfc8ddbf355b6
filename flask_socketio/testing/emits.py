"""A recorder of every emit a server makes, to assert on broadcasts with no client.

It listens at the server's client manager (see :mod:`flask_socketio.emit_observer`),
the one point every emit passes: from handlers, HTTP routes, background tasks,
``socketio.emit``/``send``/``call``, and emits of other processes arriving through a
message queue (``memory://`` or a real broker).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from ..emit_observer import EmittedEvent
from .matchers import ANY, differences
from .state import resolve_namespace

if TYPE_CHECKING:
    from ..extension import SocketIO

__all__ = ["EmitRecorder", "EmittedEvent", "capture_emits"]

_UNSET: Any = type("Unset", (), {"__repr__": lambda self: "<any>"})()


class EmitRecorder:
    """Records the emits of one ``SocketIO`` while started (a context manager).

    :param socketio: the server whose emits to record.

    ``emits`` is the list of :class:`EmittedEvent`, oldest first; it stays readable
    after :meth:`stop`. Nothing is consumed by the assertions.
    """

    def __init__(self, socketio: SocketIO) -> None:
        self.socketio = socketio
        self.emits: list[EmittedEvent] = []
        self._manager: Any = None
        self._condition = threading.Condition()
        self._thread = threading.get_ident()
        self._has_emits_from_other_threads = False

    def start(self) -> EmitRecorder:
        """Start recording (again, after :meth:`stop`)."""
        if self._manager is not None:
            raise RuntimeError("this recorder is already recording")
        manager = self.socketio.toolkit_seam().server.manager
        if not hasattr(manager, "add_emit_listener"):
            raise TypeError(f"the client manager {type(manager).__name__} does not report "
                            "emits: the recorder needs a manager made by flask_socketio "
                            "(no client_manager= option)")
        manager.add_emit_listener(self._record)
        self._manager = manager
        return self

    def stop(self) -> None:
        """Stop recording; what was recorded stays. Safe to call twice."""
        if self._manager is not None:
            self._manager.remove_emit_listener(self._record)
            self._manager = None

    def __enter__(self) -> EmitRecorder:
        return self if self._manager is not None else self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget what was recorded so far."""
        with self._condition:
            self.emits.clear()

    def __iter__(self) -> Any:
        return iter(list(self.emits))

    def __len__(self) -> int:
        return len(self.emits)

    # -- finding and asserting ----------------------------------------------------------

    def matching(self, event: str, *args: Any, to: Any = _UNSET, namespace: Any = None
                 ) -> list[EmittedEvent]:
        """The recorded emits of ``event`` on ``namespace`` (``'/'``; ``ANY`` for all),
        to ``to`` if given (``None``: to the whole namespace), with ``args`` if given."""
        self._run_pending()
        return self._matching(event, args, to, resolve_namespace(namespace),
                              check_args=bool(args))

    def assert_emitted(self, event: str, *args: Any, to: Any = _UNSET, namespace: Any = None,
                       count: int | None = None, timeout: float = 0) -> list[EmittedEvent]:
        """Assert ``event`` was emitted with ``args`` (matchers allowed; none means no
        arguments) on ``namespace`` (``'/'``; ``ANY`` for any), to ``to`` if given;
        ``count`` times exactly if given, else at least once. Returns the matches.

        In-process, pending server work runs first and the answer is exact;
        ``timeout`` moves the virtual clock, up to that many seconds, until the emits
        are made (as ``wait_for`` does). Emits made by other threads (a live server,
        a broker's listener) are waited for in real time, ``timeout`` seconds.
        """
        __tracebackhide__ = True
        namespace = resolve_namespace(namespace)
        wanted = 1 if count is None else count

        def found() -> list[EmittedEvent]:
            self._run_pending()
            return self._matching(event, args, to, namespace, check_args=True)

        matches = found()
        scheduler = self._test_scheduler()
        if len(matches) < wanted and timeout and scheduler is not None:
            scheduler.run_until(lambda: len(found()) >= wanted, timeout)
            matches = found()
        deadline = time.monotonic() + timeout
        while len(matches) < wanted and self._may_come_from_other_threads(scheduler) and (
                left := deadline - time.monotonic()) > 0:
            with self._condition:
                self._condition.wait(min(left, 0.05))
            matches = found()
        if (count is None and matches) or len(matches) == count:
            return matches
        raise AssertionError(self._describe_failure(event, list(args), to, namespace, count,
                                                    matches))

    def assert_not_emitted(self, event: str, *args: Any, to: Any = _UNSET,
                           namespace: Any = None) -> None:
        """Assert ``event`` was not emitted on ``namespace`` (``'/'``; ``ANY``), to ``to``
        if given, with ``args`` if given (none means any arguments). Live, "not" means
        not so far: make a round trip first."""
        __tracebackhide__ = True
        found = self.matching(event, *args, to=to, namespace=namespace)
        if found:
            raise AssertionError(f"expected no emit of {event!r}, but found:\n"
                                 + "\n".join(f"  {_describe(emit)}" for emit in found))

    # -- internals ----------------------------------------------------------------------

    def _record(self, notice: EmittedEvent) -> None:
        if threading.get_ident() != self._thread:
            self._has_emits_from_other_threads = True
        with self._condition:
            self.emits.append(notice)
            self._condition.notify_all()

    def _matching(self, event: str, args: tuple[Any, ...], to: Any, namespace: Any,
                  check_args: bool) -> list[EmittedEvent]:
        expected = list(args)
        with self._condition:
            return [emit for emit in self.emits
                    if emit.event == event
                    and (namespace is ANY or emit.namespace == namespace)
                    and (to is _UNSET or emit.to == to)
                    and (not check_args or expected == emit.args)]

    def _test_scheduler(self) -> Any:
        """The in-process scheduler the caller drives for this server, or ``None``."""
        router = getattr(self.socketio.server, "eio", None)
        if router is None or not router.runs_on_attached_engine():
            return None
        return router.attached.scheduler

    def _may_come_from_other_threads(self, scheduler: Any) -> bool:
        router = getattr(self.socketio.server, "eio", None)
        return (scheduler is None or self._has_emits_from_other_threads
                or bool(getattr(router, "external_listeners", False)))

    def _run_pending(self) -> None:
        """Run the in-process work pending for this server, if this thread drives it."""
        server = self.socketio.server
        router = getattr(server, "eio", None)
        if router is not None and router.runs_on_attached_engine():
            router.attached.scheduler.run_pending()

    def _describe_failure(self, event: str, expected: list[Any], to: Any, namespace: Any,
                          count: int | None, matches: list[EmittedEvent]) -> str:
        where = "any namespace" if namespace is ANY else f"namespace {namespace!r}"
        target = "" if to is _UNSET else f" to {to!r}"
        times = "" if count is None else f" {count} time(s)"
        lines = [f"expected {event!r}{target} on {where} with arguments {expected!r}"
                 f" emitted{times}"]
        if count is not None and matches:
            lines.append(f"but it was emitted {len(matches)} time(s):")
            lines += [f"  {_describe(emit)}" for emit in matches]
            return "\n".join(lines)
        with self._condition:
            emits = list(self.emits)
        near = [emit for emit in emits if emit.event == event]
        if near:
            lines.append(f"but no emit of {event!r} matched:")
            for emit in near:
                lines.append(f"  {_describe(emit)}")
                lines += [f"    {line}" for line in _emit_differences(emit, expected, to,
                                                                      namespace)]
        others = [emit for emit in emits if emit.event != event]
        if others:
            lines.append("other emits" if near else "but the server emitted only")
            lines += [f"  {_describe(emit)}" for emit in others]
        elif not near:
            lines.append("but the server emitted nothing")
        return "\n".join(lines)


def _emit_differences(emit: EmittedEvent, expected: list[Any], to: Any,
                      namespace: Any) -> list[str]:
    lines = []
    if namespace is not ANY and emit.namespace != namespace:
        lines.append(f"namespace: expected {namespace!r}, got {emit.namespace!r}")
    if to is not _UNSET and emit.to != to:
        lines.append(f"to: expected {to!r}, got {emit.to!r}")
    return lines + differences(expected, emit.args)


def _describe(emit: EmittedEvent) -> str:
    parts = [f"{emit.event!r} args={emit.args!r} namespace={emit.namespace!r} to={emit.to!r}"]
    if emit.skip_sid is not None:
        parts.append(f"skip_sid={emit.skip_sid!r}")
    if emit.callback:
        parts.append("callback")
    parts.append(f"reached={list(emit.sids)!r}")
    if emit.from_queue:
        parts.append("(from the queue)")
    return " ".join(parts)


def capture_emits(socketio: SocketIO) -> EmitRecorder:
    """Record the emits of ``socketio``: ``with capture_emits(socketio) as emits:``.

    The recording stops at the end of the block; ``emits.emits`` stays readable.
    """
    return EmitRecorder(socketio).start()
