"""Room bookkeeping that can tell a listener who joined and left which room.

python-socketio's managers keep the rooms; every join and leave, including those
of ``close_room`` and of a disconnect, passes through ``basic_enter_room`` and
``basic_leave_room``, where the room index
(:class:`~flask_socketio.room_index.RoomIndexMixin`) calls its hooks for the named
rooms. :func:`observable` makes a manager class whose hooks report those joins and
leaves to an optional listener (the test client's transcript); with no listener it
costs one attribute check per named-room join or leave, and nothing for the
``None`` and sid rooms of a connect and a disconnect. It mixes in
:class:`~flask_socketio.emit_observer.EmitObserverMixin` too, which reports emits,
and :class:`~flask_socketio.recovery.RecoveringManagerMixin` (just above
python-socketio's ``Manager``), which logs deliveries for connection state recovery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import socketio

from .cluster.node import ClusterMixin
from .emit_observer import EmitObserverMixin
from .recovery import QueuedRecoveryMixin, RecoveringManagerMixin
from .room_index import RoomIndexMixin
from .volatile import VolatileQueueMixin

#: ``listener(eio_sid, sid, namespace, room, joined)``
RoomListener = Callable[[str, str, str, Any, bool], None]

_classes: dict[type, type] = {}


class RoomObserverMixin:
    """Reports named-room joins and leaves to ``room_listener``.

    It extends the room index's hooks (:class:`~flask_socketio.room_index.RoomIndexMixin`
    calls ``_joined`` and ``_left`` for the rooms other than the ``None`` room and a
    connection's own, once the join or leave is done) rather than wrapping
    ``basic_enter_room`` and ``basic_leave_room``: a connect and a disconnect, which
    join and leave only those two rooms, do not pass through it."""

    room_listener: RoomListener | None = None

    def _joined(self, sid: str, namespace: str, room: Any, eio_sid: str | None) -> None:
        super()._joined(sid, namespace, room, eio_sid)  # type: ignore[misc]
        listener = self.room_listener
        if listener is not None and eio_sid is not None:
            listener(eio_sid, sid, namespace, room, True)

    def _left(self, sid: str, namespace: str, room: Any, eio_sid: str | None) -> None:
        super()._left(sid, namespace, room, eio_sid)  # type: ignore[misc]
        listener = self.room_listener
        if listener is not None and eio_sid is not None:
            listener(eio_sid, sid, namespace, room, False)


def observable(manager_class: type) -> type:
    """``manager_class`` with :class:`RoomObserverMixin` and
    :class:`~flask_socketio.emit_observer.EmitObserverMixin` and
    :class:`~flask_socketio.volatile.VolatileQueueMixin` mixed in, and the cluster
    operations (:class:`~flask_socketio.cluster.node.ClusterMixin`); made once
    per class. :class:`~flask_socketio.room_index.RoomIndexMixin` goes below them
    all: it keeps the sid → rooms index that makes a disconnect and ``get_rooms``
    cost the connection's rooms rather than the server's."""
    if issubclass(manager_class, RoomObserverMixin):
        return manager_class
    cls = _classes.get(manager_class)
    if cls is None:
        # RecoveringManager goes just above python-socketio's Manager: every local
        # delivery (a pub/sub manager's too) passes through it.
        local = (RecoveringManager,) if manager_class is socketio.Manager \
            else (manager_class, RecoveringManager)
        cls = _classes[manager_class] = type(
            "Observable" + manager_class.__name__,
            (RoomObserverMixin, EmitObserverMixin, VolatileQueueMixin, QueuedRecoveryMixin,
             ClusterMixin, RoomIndexMixin, *local), {})
    return cls


class RecoveringManager(RecoveringManagerMixin, socketio.Manager):
    """python-socketio's in-memory manager, logging deliveries for connection state
    recovery (see :mod:`flask_socketio.recovery`)."""


#: The default in-memory manager, observable.
RoomManager = observable(socketio.Manager)
