"""What test clients hear of their rooms: one listener on a server's room manager
(its ``room_listener``, see :mod:`flask_socketio.room_observer`) passing each join
and leave to the test client of the Engine.IO session concerned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: ``listener(sid, namespace, room, joined)``: a client's view of a join or leave.
ClientRoomListener = Callable[[str, str, Any, bool], None]


class RoomListeners:
    """A room manager's ``room_listener``: the test clients' listeners by Engine.IO sid."""

    def __init__(self) -> None:
        self.by_session: dict[str, ClientRoomListener] = {}

    def __call__(self, eio_sid: str, sid: str, namespace: str, room: Any,
                 joined: bool) -> None:
        listener = self.by_session.get(eio_sid)
        if listener is not None:
            listener(sid, namespace, room, joined)


def room_listeners(manager: Any) -> RoomListeners:
    """The :class:`RoomListeners` of ``manager`` (a server's room manager), installed
    on first use."""
    listeners = getattr(manager, "room_listener", None)
    if not isinstance(listeners, RoomListeners):
        listeners = manager.room_listener = RoomListeners()
    return listeners
