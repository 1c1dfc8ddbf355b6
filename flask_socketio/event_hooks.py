"""Event middleware: hooks that run around every handler.

``@socketio.before_event`` hooks run before the handler of every event (``connect``
included), ``@socketio.after_event`` hooks after it, in the handler's Flask app and
request contexts. A before-hook refuses the event by raising :class:`EventRefused`.
See ``docs/middleware.rst`` for the order and the error semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

#: ``hook(event, args)``: ``args`` are the event's arguments (``(auth,)`` for connect).
BeforeHook = Callable[[str, tuple[Any, ...]], Any]
#: ``hook(event, args, result, error)``: what the handler returned (the
#: acknowledgement) and what it raised, if anything.
AfterHook = Callable[[str, tuple[Any, ...], Any, "BaseException | None"], Any]

_NO_ACK: Any = object()


class HookOwner(Protocol):
    """A class-based namespace: its own ``before_event``/``after_event`` methods,
    when its class overrides them (``None`` otherwise)."""

    def own_event_hooks(self) -> tuple[BeforeHook | None, AfterHook | None]: ...


class EventRefused(Exception):
    """Refuse the event being handled: raise it from a before-event hook (or a handler).

    The handler does not run (or stops). A client that asked for an acknowledgement
    gets ``ack`` (by default ``{"error": message}``); a refused ``connect`` gets a
    CONNECT_ERROR with ``message`` (and ``ack`` as its ``data`` when given). With
    ``disconnect=True`` the client is also disconnected from the namespace, after
    the acknowledgement has gone out. Error handlers never see it.

    :param message: why the event was refused.
    :param ack: what the client's acknowledgement callback receives.
    :param disconnect: disconnect the client from the namespace too.
    """

    def __init__(self, message: str = "event refused", ack: Any = _NO_ACK,
                 disconnect: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.has_custom_ack = ack is not _NO_ACK
        self.ack = ack if self.has_custom_ack else {"error": message}
        self.disconnect = disconnect


class HookChain:
    """The hooks that run around one namespace's handlers, in the order they run."""

    __slots__ = ("before", "after")

    def __init__(self, before: tuple[BeforeHook, ...], after: tuple[AfterHook, ...]) -> None:
        self.before = before
        self.after = after

    def with_owner(self, owner: HookOwner) -> HookChain:
        """This chain with a class-based namespace's own methods innermost."""
        own_before, own_after = owner.own_event_hooks()
        if own_before is None and own_after is None:
            return self  # the common case: no new chain per event
        before, after = self.before, self.after
        if own_before is not None:
            before = (*before, own_before)
        if own_after is not None:
            after = (own_after, *after)
        return HookChain(before, after)


_EMPTY = HookChain((), ())


class EventHooks:
    """The before- and after-event hooks of one ``SocketIO``, each with the namespace
    it serves (``None``: every namespace), in registration order."""

    def __init__(self, matches: Callable[[Any, str], bool],
                 on_change: Callable[[], None] | None = None) -> None:
        self.before: list[tuple[Any, BeforeHook]] = []
        self.after: list[tuple[Any, AfterHook]] = []
        self._matches = matches
        self._chains: dict[str, HookChain] = {}
        #: Called after a hook is added.
        self._on_change = on_change

    def add_before(self, hook: BeforeHook, namespace: Any) -> None:
        self.before.append((namespace, hook))
        self._changed()

    def add_after(self, hook: AfterHook, namespace: Any) -> None:
        self.after.append((namespace, hook))
        self._changed()

    def __bool__(self) -> bool:
        """Is any hook registered?"""
        return bool(self.before or self.after)

    def _changed(self) -> None:
        self._chains.clear()
        if self._on_change is not None:
            self._on_change()

    def chain(self, namespace: str, owner: HookOwner | None = None) -> HookChain | None:
        """The hooks for an event of ``namespace`` (handled by ``owner``, a class-based
        namespace, if given); ``None`` when there are none."""
        chain = self._chains.get(namespace)
        if chain is None:
            chain = self._chains[namespace] = self._build(namespace)
        if owner is not None:
            chain = chain.with_owner(owner)
        return chain if chain.before or chain.after else None

    def _build(self, namespace: str) -> HookChain:
        if not self.before and not self.after:
            return _EMPTY
        before = self._ordered(self.before, namespace)
        after = self._ordered(self.after, namespace)
        return HookChain(tuple(before), tuple(reversed(after)))

    def _ordered(self, hooks: list[tuple[Any, Any]], namespace: str) -> list[Any]:
        """Hooks of every namespace first, then those of ``namespace``."""
        every = [hook for served, hook in hooks if served is None]
        own = [hook for served, hook in hooks
               if served is not None and self._matches(served, namespace)]
        return every + own
