"""The rooms of each connection, without a scan of every room.

python-socketio's managers keep ``rooms[namespace][room][sid] = eio_sid`` and
nothing else, so ``basic_disconnect`` and ``get_rooms`` find a connection's rooms by
testing every room of the namespace; since every connection has its own sid room,
each costs O(connections), and disconnecting N clients costs O(N²).
:class:`RoomIndexMixin` keeps, beside python-socketio's ``rooms`` (which stays the
one truth that emits read), a reverse index kept by ``basic_enter_room`` and
``basic_leave_room`` (every join and leave goes through them: ``enter_room``,
``leave_room``, ``close_room``, a disconnect, a pub/sub manager's messages, a
recovered connection's rooms), so that both cost O(rooms of that connection).

The index holds, per namespace:

- ``_named_rooms[sid]``: the rooms of ``sid`` other than the ``None`` room (every
  connection's) and its own sid room: nothing for a client in its own rooms only,
  the room itself for a client in one, a set for more. Its ``None`` and sid rooms
  are looked up in ``rooms`` directly (two dict lookups).
- ``_room_order[room]``: when each room of the namespace was made (a counter),
  so that a connection's rooms come out in the order python-socketio's scan gives
  them, the iteration order of ``rooms[namespace]`` (a room is added to that dict
  when made and removed when emptied): ``basic_disconnect`` leaves them, and the
  room observer and python-socketio's admin instrumentation report the leaves, in
  that order, and ``get_rooms`` lists them in it. This costs one int per room,
  the sid rooms included (measured in bench/PROFILE.md, "Room index (rooms)").

``basic_disconnect`` is python-socketio's, with the scan replaced by the index: it
leaves the rooms, then forgets the connection's callbacks and pending states as
``BaseManager.basic_disconnect`` does (``tests/unit/test_room_index.py`` compares
every step with python-socketio's plain ``Manager`` on random sequences, and
``tests/unit/test_upstream_contract.py`` pins the upstream methods this mirrors).
Should a room lack its stamp (``rooms`` changed behind the manager's back), both
methods fall back to python-socketio's scan.
"""

from __future__ import annotations

import itertools
from typing import Any


class RoomIndexMixin:
    """A sid → rooms index over python-socketio's ``rooms``, for O(rooms of the
    connection) ``basic_disconnect`` and ``get_rooms``."""

    rooms: dict[str, Any]
    callbacks: dict[str, Any]
    pending_connect: dict[str, list[str]]
    pending_disconnect: dict[str, list[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: ``{namespace: {room: stamp}}``: each room's making, in ``rooms`` order.
        self._room_order: dict[str, dict[Any, int]] = {}
        #: ``{namespace: {sid: room or {room, ...}}}``: rooms other than ``None`` and
        #: the sid's; a client in one such room keeps it without a set.
        self._named_rooms: dict[str, dict[str, Any]] = {}
        self._room_clock = itertools.count()

    # -- keeping the index -------------------------------------------------------------

    def basic_enter_room(self, sid: str, namespace: str, room: Any,
                         eio_sid: str | None = None) -> Any:
        rooms = self.rooms.get(namespace)
        try:
            made = rooms is None or room not in rooms
        except TypeError:  # unhashable: python-socketio raises
            made = False
        try:
            result = super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        finally:
            # python-socketio makes the room before it can fail (an eio_sid to look
            # up, a duplicate value): stamp it whenever it is there now.
            if made and room in self.rooms.get(namespace, ()):
                self._room_order.setdefault(namespace, {})[room] = next(self._room_clock)
        if room is not None and room != sid:
            named = self._named_rooms.get(namespace)
            if named is None:
                named = self._named_rooms[namespace] = {}
            joined = named.get(sid)
            if joined is None:
                named[sid] = room  # one room: itself, no set
            elif type(joined) is set:  # a room is hashable: never a set
                joined.add(room)
            elif joined != room:
                named[sid] = {joined, room}
        return result

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> Any:
        result = super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self.rooms.get(namespace)
        if rooms is None:  # the namespace's last room went: so did every entry
            self._room_order.pop(namespace, None)
            self._named_rooms.pop(namespace, None)
            return result
        if room not in rooms:
            order = self._room_order.get(namespace)
            if order is not None:
                order.pop(room, None)
        if room is not None and room != sid:
            named = self._named_rooms.get(namespace)
            joined = named.get(sid) if named is not None else None
            if joined is None:
                pass
            elif type(joined) is set:
                joined.discard(room)
                if len(joined) == 1:
                    named[sid] = joined.pop()  # type: ignore[index]
            elif joined == room:
                del named[sid]  # type: ignore[union-attr]
        return result

    # -- reading it --------------------------------------------------------------------

    def _rooms_of(self, sid: str, namespace: str) -> list[Any] | None:
        """The rooms of ``sid`` (``None`` among them) in ``rooms[namespace]`` order;
        ``None`` when the index cannot tell (a room without its stamp)."""
        rooms = self.rooms.get(namespace)
        if rooms is None:
            return []
        found: list[Any] = []
        everyone = rooms.get(None)
        if everyone is not None and sid in everyone:
            found.append(None)
        own = rooms.get(sid)
        if own is not None and sid in own:
            found.append(sid)
        named = self._named_rooms.get(namespace)
        if named is not None:
            joined = named.get(sid)
            if joined is not None:
                if type(joined) is set:
                    found.extend(joined)
                else:
                    found.append(joined)
        if len(found) > 1:
            order = self._room_order.get(namespace)
            if order is None:
                return None
            try:
                found.sort(key=order.__getitem__)
            except KeyError:
                return None
        return found

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        """Return the rooms a client is in."""
        found = self._rooms_of(sid, namespace)
        if found is None:
            return super().get_rooms(sid, namespace)  # type: ignore[misc,no-any-return]
        return [room for room in found if room is not None]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> Any:
        if namespace not in self.rooms:
            return None
        found = self._rooms_of(sid, namespace)
        if found is None:
            return super().basic_disconnect(sid, namespace, **kwargs)  # type: ignore[misc]
        for room in found:
            self.basic_leave_room(sid, namespace, room)
        # the rest of python-socketio's BaseManager.basic_disconnect
        if sid in self.callbacks:
            del self.callbacks[sid]
        pending = self.pending_connect.get(namespace)
        if pending is not None and sid in pending:
            pending.remove(sid)
            if not pending:
                del self.pending_connect[namespace]
        pending = self.pending_disconnect.get(namespace)
        if pending is not None and sid in pending:
            pending.remove(sid)
            if not pending:
                del self.pending_disconnect[namespace]
        return None
