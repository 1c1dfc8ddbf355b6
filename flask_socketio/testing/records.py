"""What a test client hands back: received events and session changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest.mock import ANY as ANY

__all__ = ["ANY", "ReceivedEvent", "SessionChange"]


class ReceivedEvent(dict[str, Any]):
    """One event the server sent to a test client.

    It is the dict Flask-SocketIO's ``get_received()`` returns (``name``, ``args``,
    ``namespace``; for ``'message'`` and ``'json'`` events ``args`` is the data
    itself), with attributes for the same fields and :meth:`ack` to answer an event
    that asked for an acknowledgement.
    """

    __slots__ = ("ack_id", "is_acked", "_responder")

    def __init__(self, name: str, args: Any, namespace: str, ack_id: int | None,
                 responder: Callable[[ReceivedEvent, tuple[Any, ...]], None]) -> None:
        self["name"], self["args"], self["namespace"] = name, args, namespace
        self.ack_id = ack_id
        self.is_acked = False
        self._responder = responder

    name = property(lambda self: self["name"])
    args = property(lambda self: self["args"])
    namespace = property(lambda self: self["namespace"])

    @property
    def wants_ack(self) -> bool:
        """Did the server ask for an acknowledgement (a callback or ``call()``)?"""
        return self.ack_id is not None

    def ack(self, *args: Any) -> None:
        """Acknowledge this event with ``args``, as a client callback would."""
        if self.ack_id is None:
            raise RuntimeError(f"event {self.name!r} did not ask for an acknowledgement")
        if self.is_acked:
            raise RuntimeError(f"event {self.name!r} (ack id {self.ack_id}) was already "
                               "acknowledged")
        self.is_acked = True
        self._responder(self, args)

    def __repr__(self) -> str:
        ack = f", ack_id={self.ack_id}" if self.ack_id is not None else ""
        return (f"ReceivedEvent({self.name!r}, args={self.args!r}, "
                f"namespace={self.namespace!r}{ack})")


@dataclass(frozen=True)
class SessionChange:
    """One key of a connection's session changed by a handler."""

    key: str
    old: Any
    new: Any
    #: The event whose handler made the change (``'connect'`` for the connect handler).
    event: str
    #: The namespace of that handler.
    namespace: str = "/"

    #: Marks a key that was absent (in ``old``) or removed (in ``new``).
    #: It survives copies (the recorded values are deep copies).
    MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>",
                                   "__copy__": lambda self: self,
                                   "__deepcopy__": lambda self, memo: self})()
