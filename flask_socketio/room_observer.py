"""Room bookkeeping that can tell a listener who joined and left which room.

python-socketio's managers keep the rooms; every join and leave, including those
of ``close_room`` and of a disconnect, passes through ``basic_enter_room`` and
``basic_leave_room``. :func:`observable` makes a manager class that reports them
to an optional listener (the test client's transcript); with no listener it costs
one attribute check. It mixes in
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
    """Reports named-room joins and leaves to ``room_listener``."""

    room_listener: RoomListener | None = None
    rooms: dict[str, Any]

    def basic_enter_room(self, sid: str, namespace: str, room: Any,
                         eio_sid: str | None = None) -> Any:
        listener = self.room_listener
        if listener is None or room is None or room == sid:
            return super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        was_in = sid in self.rooms.get(namespace, {}).get(room, ())
        result = super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        if not was_in:
            listener(self.rooms[namespace][room][sid], sid, namespace, room, True)
        return result

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> Any:
        listener = self.room_listener
        if listener is None or room is None or room == sid:
            return super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        eio_sid = self.rooms.get(namespace, {}).get(room, {}).get(sid)
        result = super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        if eio_sid is not None:
            listener(eio_sid, sid, namespace, room, False)
        return result


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
