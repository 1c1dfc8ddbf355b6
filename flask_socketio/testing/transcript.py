"""A per-client log of everything that crossed the in-process transport, in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TranscriptEntry:
    """One thing that happened to a test client's connection.

    ``direction`` is ``'sent'`` (client to server), ``'received'`` (server to
    client) or ``'server'`` (a change on the server: a room joined or left, the
    session changed). ``kind`` is ``'connect'``, ``'connect_error'``,
    ``'disconnect'``, ``'event'``, ``'ack'``, ``'join'``, ``'leave'`` or ``'session'``.
    """

    direction: str
    kind: str
    namespace: str
    event: str | None = None
    args: Any = None
    ack_id: int | None = None

    def __str__(self) -> str:
        arrow = {"sent": "->", "received": "<-", "server": "**"}[self.direction]
        parts = [f"{arrow} {self.kind:<13} {self.namespace}"]
        if self.event is not None:
            parts.append(repr(self.event))
        if self.args is not None:
            parts.append(repr(self.args))
        if self.ack_id is not None:
            parts.append(f"(ack id {self.ack_id})")
        return " ".join(parts)


@dataclass
class Transcript:
    """The entries of one client, oldest first."""

    entries: list[TranscriptEntry] = field(default_factory=list)

    def add(self, direction: str, kind: str, namespace: str, event: str | None = None,
            args: Any = None, ack_id: int | None = None) -> None:
        self.entries.append(TranscriptEntry(direction, kind, namespace, event, args, ack_id))

    def of_kind(self, kind: str) -> list[TranscriptEntry]:
        return [entry for entry in self.entries if entry.kind == kind]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def format(self) -> str:
        return "\n".join(str(entry) for entry in self.entries) or "(nothing happened)"
