"""A per-client log of everything that crossed the in-process transport, in order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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


class Transcript:
    """The entries of one client, oldest first.

    :meth:`add` only keeps the fields (it runs for every packet of every test); the
    :class:`TranscriptEntry` objects are made when the entries are first read.
    """

    __slots__ = ("_entries", "_pending")

    def __init__(self, entries: list[TranscriptEntry] | None = None) -> None:
        #: The entries read so far: made when first read (most transcripts never are).
        self._entries = entries
        self._pending: list[tuple[Any, ...]] = []

    def add(self, direction: str, kind: str, namespace: str, event: str | None = None,
            args: Any = None, ack_id: int | None = None) -> None:
        self._pending.append((direction, kind, namespace, event, args, ack_id))

    @property
    def entries(self) -> list[TranscriptEntry]:
        """Every entry so far (the same list each time: a test may clear it)."""
        entries = self._entries
        if entries is None:
            entries = self._entries = []
        if self._pending:
            pending, self._pending = self._pending, []
            entries.extend(TranscriptEntry(*fields) for fields in pending)
        return entries

    def of_kind(self, kind: str) -> list[TranscriptEntry]:
        return [entry for entry in self.entries if entry.kind == kind]

    def __iter__(self) -> Iterator[TranscriptEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self._entries or ()) + len(self._pending)

    def __repr__(self) -> str:
        return f"Transcript(entries={self.entries!r})"

    def format(self) -> str:
        return "\n".join(str(entry) for entry in self.entries) or "(nothing happened)"
