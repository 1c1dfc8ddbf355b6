"""User handlers as registration sees them: what they take is learnt once, up front."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .dynamic_namespaces import is_pattern

#: Events python-socketio reserves; a ``'*'`` handler never receives them.
RESERVED_EVENTS = ("connect", "disconnect")


def accepts_positional(function: Callable[..., Any], count: int) -> bool:
    """Can ``function`` be called with ``count`` positional arguments?"""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: assume it can
        return True
    positional = 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            return True
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= count


class HandlerSpec:
    """A handler, the event and namespace it serves, and how python-socketio calls it.

    python-socketio prepends the event name for a ``'*'`` event handler and the
    namespace for a ``'*'`` namespace handler. The user's function gets the event
    name (``'*'`` event only) and then the event's arguments, as Flask-SocketIO
    calls it; the namespace is in ``request.namespace``. A connect handler is given
    ``auth`` and a disconnect handler ``reason`` only if it takes one more argument;
    this is decided here, once, never by calling and catching ``TypeError``.
    """

    __slots__ = ("function", "event", "namespace", "leading", "takes_extra", "on_error",
                 "owner", "namespace_in_args")

    def __init__(self, function: Callable[..., Any], event: str, namespace: str,
                 on_error: Callable[[Exception], Any] | None = None,
                 owner: Any = None) -> None:
        self.function = function
        self.event = event
        self.namespace = namespace
        #: The class-based namespace whose method this is (its event hooks run too).
        self.owner = owner
        #: Called with an exception no error handler took (a class-based namespace's
        #: ``error()`` method); its return value is the handler's result.
        self.on_error = on_error
        #: Is the namespace python-socketio's first argument (a ``'*'`` or pattern
        #: namespace handler)?
        self.namespace_in_args = namespace == "*" or is_pattern(namespace)
        self.leading = (event == "*") + self.namespace_in_args
        self.takes_extra = False
        if event in RESERVED_EVENTS:
            self.takes_extra = accepts_positional(function, 1)

    def split(self, args: tuple[Any, ...]) -> tuple[str, str, str, tuple[Any, ...]]:
        """``(event, namespace, sid, user_args)`` from python-socketio's arguments."""
        leading = args[:self.leading]
        sid = args[self.leading]
        rest = args[self.leading + 1:]
        event = leading[0] if self.event == "*" else self.event
        namespace = leading[-1] if self.namespace_in_args else self.namespace
        if self.event == "connect":  # rest is (environ, auth)
            rest = rest[1:2] if self.takes_extra else ()
        elif self.event == "disconnect":  # rest is (reason,)
            rest = rest[:1] if self.takes_extra else ()
        if self.event == "*":
            rest = (event, *rest)
        return event, namespace, sid, rest
