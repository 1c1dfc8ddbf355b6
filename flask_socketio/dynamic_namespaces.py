"""Dynamic namespaces: namespaces named by a pattern, connectable on demand.

A pattern is a compiled regular expression (searched, as Node's socket.io does: anchor
it with ``^`` and ``$``) or a callable ``predicate(name) -> bool``. The ``namespaces``
option may be one, or a list mixing them with names; handlers and class-based
namespaces registered on a pattern serve every namespace it matches. See
``docs/dynamic_namespaces.rst``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger("flask_socketio")

_RESERVED_EVENTS = ("connect", "disconnect")
#: What :meth:`DynamicNamespaces.trigger` returns when no pattern handles the event.
NOT_FOUND: Any = object()


def is_pattern(namespace: Any) -> bool:
    """Is ``namespace`` a pattern (a compiled regex or a predicate), not a name?"""
    return isinstance(namespace, re.Pattern) or (
        callable(namespace) and not isinstance(namespace, (str, bytes)))


def matches(pattern: Any, namespace: str) -> bool:
    """Does the name or pattern ``pattern`` take ``namespace``? A predicate that
    raises takes nothing (and is logged)."""
    if isinstance(pattern, str):
        return pattern == namespace
    if isinstance(pattern, re.Pattern):
        return pattern.search(namespace) is not None
    try:
        return bool(pattern(namespace))
    except Exception:
        logger.exception("namespace predicate %r failed for %r", pattern, namespace)
        return False


def split_namespaces(option: Any) -> tuple[Any, list[Any]]:
    """The ``namespaces`` option as ``(what python-socketio takes, patterns)``."""
    if is_pattern(option):
        return ["/"], [option]
    if option is None or isinstance(option, str):
        return option, []
    names = [each for each in option if not is_pattern(each)]
    patterns = [each for each in option if is_pattern(each)]
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"namespaces must hold names, compiled regexes or callables, "
                             f"not {name!r}")
    return names or ["/"], patterns


class NamespaceNames(list[Any]):
    """python-socketio's ``namespaces`` list, which also takes every namespace a
    dynamic pattern matches (python-socketio asks ``namespace in namespaces``)."""

    def __init__(self, names: Iterable[str], dynamic: DynamicNamespaces) -> None:
        super().__init__(names)
        self.dynamic = dynamic

    def __contains__(self, namespace: object) -> bool:
        return list.__contains__(self, namespace) or (
            isinstance(namespace, str) and self.dynamic.accepts(namespace))


class DynamicNamespaces:
    """The patterns of one server, and the handlers registered on them."""

    def __init__(self, patterns: Iterable[Any] = ()) -> None:
        #: Patterns of the ``namespaces`` option.
        self.patterns: list[Any] = list(patterns)
        #: ``(pattern, event, handler)`` in registration order.
        self.handlers: list[tuple[Any, str, Callable[..., Any]]] = []
        #: ``(pattern, namespace_handler)`` of class-based namespaces.
        self.namespace_handlers: list[tuple[Any, Any]] = []

    @property
    def is_used(self) -> bool:
        return bool(self.patterns or self.handlers or self.namespace_handlers)

    def add_handler(self, pattern: Any, event: str, handler: Callable[..., Any]) -> None:
        self.handlers = [entry for entry in self.handlers
                         if not (entry[0] is pattern and entry[1] == event)]
        self.handlers.append((pattern, event, handler))

    def add_namespace_handler(self, pattern: Any, namespace_handler: Any) -> None:
        self.namespace_handlers = [entry for entry in self.namespace_handlers
                                   if entry[0] is not pattern]
        self.namespace_handlers.append((pattern, namespace_handler))

    def accepts(self, namespace: str) -> bool:
        """May a client connect ``namespace`` because a pattern matches it?"""
        return any(matches(pattern, namespace) for pattern in self._every_pattern())

    def _every_pattern(self) -> Iterable[Any]:
        yield from self.patterns
        for pattern, _, _ in self.handlers:
            yield pattern
        for pattern, _ in self.namespace_handlers:
            yield pattern

    def namespace_handler_for(self, namespace: str) -> Any:
        """The first class-based namespace whose pattern matches, if any."""
        for pattern, namespace_handler in self.namespace_handlers:
            if matches(pattern, namespace):
                return namespace_handler
        return None

    def trigger(self, event: str, namespace: str, args: tuple[Any, ...]) -> Any:
        """Call the handler of ``event`` for ``namespace``, as python-socketio calls a
        ``'*'`` namespace handler (the namespace first; for a ``'*'`` event handler,
        the event before it); :data:`NOT_FOUND` if no pattern handles it."""
        catch_all = None
        for pattern, handled, handler in self.handlers:
            if handled == event and matches(pattern, namespace):
                return handler(namespace, *args)
            if (catch_all is None and handled == "*" and event not in _RESERVED_EVENTS
                    and matches(pattern, namespace)):
                catch_all = handler
        if catch_all is not None:
            return catch_all(event, namespace, *args)
        namespace_handler = self.namespace_handler_for(namespace)
        if namespace_handler is not None:
            return namespace_handler.trigger_event(event, namespace, *args)
        return NOT_FOUND
