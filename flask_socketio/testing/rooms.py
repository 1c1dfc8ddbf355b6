"""What test clients hear of their rooms: one listener on a server's room manager
(its ``room_listener``, see :mod:`flask_socketio.room_observer`) passing each join
and leave to the test client of the Engine.IO session concerned."""

from __future__ import annotations

from typing import Any

from .inprocess import InProcessEngine


class RoomListeners:
    """A room manager's ``room_listener``: tells the in-process client of the session
    (the :class:`~flask_socketio.testing.inprocess.InProcessEngine`'s socket's peer)."""

    def __init__(self, engine: InProcessEngine) -> None:
        self.engine = engine

    def __call__(self, eio_sid: str, sid: str, namespace: str, room: Any,
                 joined: bool) -> None:
        socket = self.engine.sockets.get(eio_sid)
        if socket is not None:
            socket.peer._record_room_change(sid, namespace, room, joined)


def listen_to_rooms(manager: Any, engine: InProcessEngine) -> None:
    """Have ``manager`` (a server's room manager) tell ``engine``'s clients of their
    joins and leaves, from now on (once per manager and engine)."""
    listeners = getattr(manager, "room_listener", None)
    if not isinstance(listeners, RoomListeners) or listeners.engine is not engine:
        manager.room_listener = RoomListeners(engine)
