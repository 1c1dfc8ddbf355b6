"""Values that match more than one value, for assertions on what a server sent.

A matcher stands where a value is expected, at any depth, beside :data:`ANY`::

    client.assert_received("joined", Partial({"room": "lobby"}))
    socketio_emits.assert_emitted("score", Match(lambda points: points > 0))
    client.assert_received("welcome", Regex(r"hello, \\w+"))

They work with plain ``==`` too (``[Partial({"a": 1})] == [{"a": 1, "b": 2}]``).
:func:`differences` says, key by key, where a value and an expectation part.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any
from unittest.mock import ANY

__all__ = ["ANY", "Match", "Partial", "Regex", "differences"]


class Matcher(ABC):
    """A value equal to every value it matches (subclasses say which)."""

    @abstractmethod
    def matches(self, value: Any) -> bool:
        """Does ``value`` match?"""

    def __eq__(self, other: object) -> bool:
        return self.matches(other)

    def __ne__(self, other: object) -> bool:
        return not self.matches(other)

    __hash__ = None  # type: ignore[assignment]


class Partial(Matcher):
    """A dict that has at least these keys with these values (more keys are fine).

    Values may be matchers themselves: ``Partial({"user": Partial({"id": 7})})``.
    """

    def __init__(self, fields: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        self.fields = {**(fields or {}), **more}

    def matches(self, value: Any) -> bool:
        return isinstance(value, Mapping) and all(
            key in value and expected == value[key] for key, expected in self.fields.items())

    def __repr__(self) -> str:
        return f"Partial({self.fields!r})"


class Match(Matcher):
    """A value for which ``predicate(value)`` is true (an exception counts as false)."""

    def __init__(self, predicate: Callable[[Any], Any], description: str | None = None) -> None:
        if not callable(predicate):
            raise TypeError(f"Match() takes a function, not {predicate!r} (for a pattern, "
                            "use Regex())")
        self.predicate = predicate
        self.description = description or getattr(predicate, "__name__", repr(predicate))

    def matches(self, value: Any) -> bool:
        try:
            return bool(self.predicate(value))
        except Exception:  # noqa: BLE001 - a predicate that cannot judge says no
            return False

    def __repr__(self) -> str:
        return f"Match({self.description})"


class Regex(Matcher):
    """A string that matches ``pattern`` from start to end (``re.fullmatch``).

    ``Regex(r"room-\\d+")`` matches ``"room-12"``, not ``"my room-12"``; write
    ``r".*room-\\d+.*"`` to match anywhere.
    """

    def __init__(self, pattern: str | re.Pattern[str], flags: int = 0) -> None:
        self.pattern = re.compile(pattern, flags) if isinstance(pattern, str) else pattern

    def matches(self, value: Any) -> bool:
        return isinstance(value, str) and self.pattern.fullmatch(value) is not None

    def __repr__(self) -> str:
        return f"Regex({self.pattern.pattern!r})"


def differences(expected: Any, actual: Any, path: str = "args") -> list[str]:
    """Where ``actual`` departs from ``expected``, one line per key or item."""
    if expected is ANY or expected == actual:
        return []
    if isinstance(expected, Partial):
        if not isinstance(actual, Mapping):
            return [f"{path}: expected a dict with keys {sorted(expected.fields)!r}, "
                    f"got {actual!r}"]
        return _dict_differences(expected.fields, actual, path, exact=False)
    if isinstance(expected, Matcher):
        return [f"{path}: {actual!r} does not match {expected!r}"]
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return _dict_differences(expected, actual, path, exact=True)
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        lines = []
        if len(expected) != len(actual):
            lines.append(f"{path}: expected {len(expected)} items, got {len(actual)}")
        for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
            lines += differences(want, got, f"{path}[{index}]")
        return lines
    return [f"{path}: expected {expected!r}, got {actual!r}"]


def _dict_differences(expected: Mapping[Any, Any], actual: Mapping[Any, Any], path: str,
                      exact: bool) -> list[str]:
    lines = []
    for key, want in expected.items():
        where = f"{path}[{key!r}]"
        if key not in actual:
            lines.append(f"{where}: missing (expected {want!r})")
        else:
            lines += differences(want, actual[key], where)
    if exact:
        lines += [f"{path}[{key!r}]: unexpected (got {value!r})"
                  for key, value in actual.items() if key not in expected]
    return lines
