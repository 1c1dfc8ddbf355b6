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
  that order, and ``get_rooms`` lists them in it. This costs a dict entry and an
  int per room, the sid rooms included (bench/PROFILE.md, "Room index (rooms)").

``basic_disconnect`` is python-socketio's, with the scan replaced by the index: it
leaves the rooms, then forgets the connection's callbacks and pending states as
``BaseManager.basic_disconnect`` does. When no class between this one and
python-socketio's ``BaseManager`` overrides ``basic_enter_room`` and
``basic_leave_room`` (our managers, python-socketio's pub/sub ones), this class
does their work itself rather than call down and look again, which keeps a join and
a leave as cheap as before. ``tests/unit/test_upstream_contract_rooms.py`` compares
every step with python-socketio's own managers on random sequences and pins the code
of the methods mirrored; ``tests/unit/test_room_index.py`` does the comparison on
sequences hypothesis draws. Once a join of or a leave from a named room is done, this
class calls ``_joined`` or ``_left`` (hooks that keep the index, which the room observer
extends to report the join or leave); the ``None`` and sid rooms of a connect and a
disconnect call no hook. Should a room lack its stamp (``rooms`` changed behind
the manager's back), both lookups fall back to python-socketio's scan. The rooms it
makes hold their members in a :class:`~flask_socketio.room_members.RoomMembers`, the
``bidict`` python-socketio expects, cheaper to make, join and leave.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

from socketio.base_manager import BaseManager

from .room_members import RoomMembers

#: No rooms: what ``BaseManager.is_sid_room`` looks in when the namespace has none
#: (an unhashable room raises there, as it does in python-socketio's).
_NO_ROOMS: dict[Any, Any] = {}


class RoomIndexMixin:
    """A sid → rooms index over python-socketio's ``rooms``, for O(rooms of the
    connection) ``basic_disconnect`` and ``get_rooms``."""

    rooms: dict[str, Any]
    callbacks: dict[str, Any]
    pending_disconnect: dict[str, list[str]]

    #: Is python-socketio's ``BaseManager`` next for ``basic_enter_room`` and
    #: ``basic_leave_room`` (no class between overrides them)? Then this class does
    #: their work itself, saving a call down per join and leave (a third of a
    #: disconnect's CPU); otherwise it calls down and indexes what they did.
    _mirrors_upstream = False
    #: Is ``is_sid_room`` python-socketio's? Then a join asks it without the call.
    _stock_is_sid_room = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._mirrors_upstream = all(
            _next_definition(cls, name) is vars(BaseManager)[name]
            for name in ("basic_enter_room", "basic_leave_room"))
        cls._stock_is_sid_room = getattr(cls, "is_sid_room", None) is BaseManager.is_sid_room

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
        if not self._mirrors_upstream:
            return self._enter_through(sid, namespace, room, eio_sid)
        # python-socketio's BaseManager.basic_enter_room, stamping a room it makes
        rooms = self.rooms.get(namespace)
        if eio_sid is None and rooms is None:
            raise ValueError('sid is not connected to requested namespace')
        if sid != room:
            if self._stock_is_sid_room:  # BaseManager.is_sid_room, without the call
                is_sid_room = room in (rooms.get(None, _NO_ROOMS) if rooms is not None
                                       else _NO_ROOMS)
            else:
                is_sid_room = self.is_sid_room(namespace, room)  # type: ignore[attr-defined]
            if is_sid_room:
                raise ValueError('cannot enter a sid room')
        if rooms is None:
            rooms = self.rooms[namespace] = {}
        members = rooms.get(room)
        if members is None:
            members = rooms[room] = RoomMembers()
            order = self._room_order.get(namespace)
            if order is None:
                order = self._room_order[namespace] = {}
            order[room] = next(self._room_clock)
        if eio_sid is None:
            eio_sid = rooms[None][sid]
        if room is None or room == sid:
            members[sid] = eio_sid
            return
        new = sid not in members
        members[sid] = eio_sid
        self._joined(sid, namespace, room, eio_sid if new else None)

    def _enter_through(self, sid: str, namespace: str, room: Any, eio_sid: str | None) -> Any:
        """``basic_enter_room`` by the class below, indexing what it did."""
        rooms = self.rooms.get(namespace)
        try:
            members = rooms.get(room) if rooms is not None else None
            made = members is None
        except TypeError:  # unhashable: python-socketio raises
            members, made = None, False
        was_in = members is not None and sid in members
        try:
            result = super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        finally:
            # python-socketio makes the room before it can fail (an eio_sid to look
            # up, a duplicate value): stamp it whenever it is there now.
            if made and room in self.rooms.get(namespace, ()):
                self._room_order.setdefault(namespace, {})[room] = next(self._room_clock)
        if room is not None and room != sid:
            self._joined(sid, namespace, room,
                         None if was_in else self.rooms[namespace][room][sid])
        return result

    def _joined(self, sid: str, namespace: str, room: Any, eio_sid: str | None) -> None:
        """``sid`` is in the named ``room`` now; ``eio_sid`` is its connection's if it
        was not in the room before, ``None`` if it was (a hook: the room observer
        extends it)."""
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

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> Any:
        if not self._mirrors_upstream:
            return self._leave_through(sid, namespace, room)
        # python-socketio's BaseManager.basic_leave_room, unstamping a room it drops
        rooms = self.rooms.get(namespace)
        if rooms is None:
            return
        members = rooms.get(room)
        if members is None:
            return
        try:
            eio_sid = members.pop(sid)
        except KeyError:
            return
        if len(members) == 0:
            del rooms[room]
            if len(rooms) == 0:
                del self.rooms[namespace]
                self._forget(namespace)
            else:
                order = self._room_order.get(namespace)
                if order is not None:
                    order.pop(room, None)
        if room is not None and room != sid:
            self._left(sid, namespace, room, eio_sid)

    def _leave_through(self, sid: str, namespace: str, room: Any) -> Any:
        """``basic_leave_room`` by the class below, indexing what it did."""
        named = room is not None and room != sid
        eio_sid = None
        if named:
            # an unhashable room: python-socketio raises (or not) below
            with contextlib.suppress(TypeError):
                eio_sid = self.rooms.get(namespace, {}).get(room, {}).get(sid)
        result = super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        rooms = self.rooms.get(namespace)
        if rooms is None:
            self._forget(namespace)
        elif room not in rooms:
            order = self._room_order.get(namespace)
            if order is not None:
                order.pop(room, None)
        if named:
            self._left(sid, namespace, room, eio_sid)
        return result

    def _forget(self, namespace: str) -> None:
        """The namespace's last room went: so did every entry of its index."""
        self._room_order.pop(namespace, None)
        self._named_rooms.pop(namespace, None)

    def _left(self, sid: str, namespace: str, room: Any, eio_sid: str | None) -> None:
        """``sid`` is not in the named ``room`` now; ``eio_sid`` is its connection's
        if it was in the room before, ``None`` if it was not (a hook: the room
        observer extends it)."""
        named = self._named_rooms.get(namespace)
        joined = named.get(sid) if named is not None else None
        if joined is None:
            return
        if type(joined) is set:
            joined.discard(room)
            if len(joined) == 1:
                named[sid] = joined.pop()  # type: ignore[index]
        elif joined == room:
            del named[sid]  # type: ignore[union-attr]

    # -- reading it --------------------------------------------------------------------

    def _rooms_of(self, sid: str, namespace: str) -> list[Any] | None:
        """The rooms of ``sid`` (``None`` among them) in ``rooms[namespace]`` order;
        ``None`` when the index cannot tell (a room without its stamp)."""
        rooms = self.rooms.get(namespace)
        if rooms is None:
            return []
        everyone = rooms.get(None)
        connected = everyone is not None and sid in everyone
        own = rooms.get(sid)
        in_own = own is not None and sid in own
        named = self._named_rooms.get(namespace)
        joined = named.get(sid) if named is not None else None
        order = self._room_order.get(namespace)
        if order is None:
            return None if connected or in_own or joined is not None else []
        try:
            if joined is None:  # most clients: the None room and their own
                if connected and in_own:
                    return [None, sid] if order[None] < order[sid] else [sid, None]
                return [None] if connected else [sid] if in_own else []
            found: list[Any] = [None] if connected else []
            if in_own:
                found.append(sid)
            if type(joined) is set:
                found.extend(joined)
            else:
                found.append(joined)
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
        # the rest of python-socketio's BaseManager.basic_disconnect (5.17 has no
        # pending_connect: it connects in one step)
        if sid in self.callbacks:
            del self.callbacks[sid]
        pending_connect = getattr(self, "pending_connect", None)
        if pending_connect:
            pending = pending_connect.get(namespace)
            if pending is not None and sid in pending:
                pending.remove(sid)
                if not pending:
                    del pending_connect[namespace]
        pending = self.pending_disconnect.get(namespace)
        if pending is not None and sid in pending:
            pending.remove(sid)
            if not pending:
                del self.pending_disconnect[namespace]
        return None


def _next_definition(cls: type, name: str) -> Any:
    """What ``super()`` in :class:`RoomIndexMixin` finds for ``name`` in ``cls``."""
    mro = cls.__mro__
    for base in mro[mro.index(RoomIndexMixin) + 1:]:
        if name in vars(base):
            return vars(base)[name]
    return None
