"""Volatile emits: sent now if the client's transport is ready for them, else dropped.

``emit(..., volatile=True)`` runs python-socketio's emit inside :func:`volatile_emit`:
the Engine.IO packets it makes for each client (a binary event makes several) are
collected instead of sent, then handed to the engine as one group per client
(``send_volatile``), which sends the whole group or drops it and counts the drop.
Never queued: a client whose transport has a write in flight (on long-polling: no
poll waiting), that is upgrading or closed, or whose queue could not take the group
without passing its bound, loses it. Through a message queue the flag travels with
the emit (:class:`VolatileQueueMixin`), so other processes honour it too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

#: Per emit in progress: the Engine.IO packets collected for each client's eio sid.
_collecting: ContextVar[dict[str, list[Any]] | None] = ContextVar(
    "flask_socketio_volatile", default=None)


def collecting() -> dict[str, list[Any]] | None:
    """The packets of the volatile emit in progress, by eio sid; ``None`` outside one."""
    return _collecting.get()


@contextlib.contextmanager
def volatile_emit(server: Any) -> Iterator[None]:
    """Collect what the emits in the block send, then hand it to
    ``server.send_volatile(eio_sid, packets)``, one group per client."""
    groups: dict[str, list[Any]] = {}
    token = _collecting.set(groups)
    try:
        yield
    finally:
        _collecting.reset(token)
    for eio_sid, packets in groups.items():
        server.send_volatile(eio_sid, packets)


class VolatileQueueMixin:
    """For client managers with a message queue: a volatile emit is published with
    ``"volatile": True``, and such an emit arriving from another process is delivered
    as a volatile one. (python-socketio's managers ignore the extra key.)"""

    server: Any

    def _publish(self, data: Any) -> Any:
        if collecting() is not None and isinstance(data, dict) and data.get("method") == "emit":
            data = {**data, "volatile": True}
        return super()._publish(data)  # type: ignore[misc]

    def _handle_emit(self, message: dict[str, Any]) -> Any:
        if message.get("volatile") and collecting() is None:
            with volatile_emit(self.server):
                return super()._handle_emit(message)  # type: ignore[misc]
        return super()._handle_emit(message)  # type: ignore[misc]
