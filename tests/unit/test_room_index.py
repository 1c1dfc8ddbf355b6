"""The sid → rooms index of our managers (flask_socketio/room_index.py).

A differential property test runs random sequences of connects, joins, leaves,
``close_room`` and disconnects on python-socketio's plain managers and on ours, and
compares after every step what both hold (``rooms`` in its order, ``get_rooms``,
callbacks, pending states), every ``basic_leave_room`` call in order (what
python-socketio's admin instrumentation reports) and what our room observer
reports; the scale tests show a disconnect and ``get_rooms`` no longer cost the
number of connected clients.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_socketio.queues.memory import MemoryManager
from flask_socketio.room_index import RoomIndexMixin
from flask_socketio.room_observer import RoomManager, observable

from .test_upstream_contract_rooms import (
    NAMESPACES,
    ROOMS,
    PassingManager,
    _stub_server,
    run_differential,
)

rooms_st = st.one_of(st.sampled_from(ROOMS), st.tuples(st.just("sid"), st.integers(0, 9)))
operations = st.one_of(
    st.tuples(st.just("connect"), st.integers(0, 5), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("pre_connect"), st.integers(0, 5), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("finish_connect"), st.integers(0, 9), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("enter"), st.integers(0, 9), st.sampled_from(NAMESPACES), rooms_st),
    st.tuples(st.just("enter"), st.integers(0, 9), st.sampled_from(NAMESPACES), rooms_st),
    st.tuples(st.just("enter_eio"), st.integers(0, 9), st.sampled_from(NAMESPACES),
              st.one_of(st.none(), rooms_st), st.integers(0, 5)),
    st.tuples(st.just("leave"), st.integers(0, 9), st.sampled_from(NAMESPACES),
              st.one_of(st.none(), rooms_st)),
    st.tuples(st.just("leave"), st.integers(0, 9), st.sampled_from(NAMESPACES), rooms_st),
    st.tuples(st.just("close"), rooms_st, st.sampled_from(NAMESPACES)),
    st.tuples(st.just("pre_disconnect"), st.integers(0, 9), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("disconnect"), st.integers(0, 9), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("disconnect"), st.integers(0, 9), st.sampled_from(NAMESPACES)),
    st.tuples(st.just("ack"), st.integers(0, 9)),
    st.tuples(st.just("remote"), st.sampled_from(["enter_room", "leave_room", "close_room"]),
              st.integers(0, 9), st.sampled_from(NAMESPACES), rooms_st),
)


DIFFERENTIAL = settings(deadline=None, database=None, max_examples=300,
                        suppress_health_check=[HealthCheck.too_slow])


@DIFFERENTIAL
@given(st.lists(operations, max_size=60))
def test_our_manager_keeps_the_rooms_python_socketio_keeps(ops):
    run_differential(socketio.Manager, RoomManager, ops)


@settings(DIFFERENTIAL, max_examples=100)
@given(st.lists(operations, max_size=60))
def test_a_pubsub_manager_keeps_the_rooms_python_socketio_keeps(ops):
    run_differential(MemoryManager, observable(MemoryManager), ops)


@settings(DIFFERENTIAL, max_examples=100)
@given(st.lists(operations, max_size=60))
def test_an_index_calling_down_keeps_the_rooms_python_socketio_keeps(ops):
    """Below the index, a class overrides the room methods: the index calls down."""
    run_differential(PassingManager, observable(PassingManager), ops)


def test_each_case_the_brief_names():
    """The cases most likely to break an index, spelled out (the property test
    finds them too, by chance)."""
    ops: list[tuple[Any, ...]] = [
        ("pre_connect", 0, "/"),                # pending: in None and its own room
        ("enter", 0, "/", "a"),                 # a pending client joins
        ("finish_connect", 0, "/"),
        ("connect", 1, "/"),
        ("enter", 1, "/", "b"), ("enter", 0, "/", "b"),   # b made after 0's sid room
        ("enter", 0, "/", "a"),                 # twice
        ("leave", 0, "/", "c"),                 # not joined
        ("leave", 1, "/", "a"),                 # not in it
        ("enter", 0, "/", ("sid", 1)),          # another's sid room: refused
        ("close", ("sid", 0), "/"),             # a sid room: refused
        ("enter_eio", 0, "/x", None, 0),        # the None room with an eio_sid
        ("enter_eio", 0, "/x", "c", 0),
        ("close", "b", "/"),
        ("enter", 1, "/", "b"),                 # b made again: now after a
        ("connect", 3, "/"), ("disconnect", 2, "/"),
        ("enter", 1, "/", ("sid", 2)),          # a gone client's sid names a room
        ("pre_disconnect", 0, "/"),
        ("disconnect", 0, "/"), ("disconnect", 0, "/"),
        ("disconnect", 1, "/"), ("disconnect", 0, "/x"),
        ("connect", 4, "/x"),                   # sid 3, alone in /x
        ("leave", 3, "/x", None),               # the None room goes...
        ("enter_eio", 3, "/x", None, 4),        # ...and comes back after its sid room
        ("disconnect", 3, "/x"),                # leaves the sid room first
    ]
    run_differential(socketio.Manager, RoomManager, ops)
    run_differential(MemoryManager, observable(MemoryManager), ops)
    run_differential(PassingManager, observable(PassingManager), ops)


def test_leaves_follow_rooms_order_not_join_order():
    """A disconnect leaves rooms in the order they were made (python-socketio's scan
    of ``rooms[namespace]``), which is not the order the client joined them."""
    manager = RoomManager()
    manager.server = _stub_server()
    heard: list[Any] = []
    manager.room_listener = lambda eio_sid, sid, ns, room, joined: heard.append(
        (room, joined))
    early = manager.connect("e0", "/")
    manager.enter_room(early, "/", "old")
    sid = manager.connect("e1", "/")
    manager.enter_room(sid, "/", "new")     # made now
    manager.enter_room(sid, "/", "old")     # made before sid connected
    assert manager.get_rooms(sid, "/") == ["old", sid, "new"]
    heard.clear()
    manager.disconnect(sid, "/")
    assert heard == [("old", False), ("new", False)]
    assert manager._named_rooms["/"] == {early: "old"}


@pytest.mark.parametrize("base", [socketio.Manager, PassingManager],
                         ids=["mirroring", "calling-down"])
def test_the_observer_hears_the_leave_that_empties_the_namespace(base):
    """The last room of a namespace can be a named one (its client left the ``None``
    and sid rooms first): the index forgets the namespace, and the observer still
    hears the leave, as it hears every named-room join and leave, once."""
    manager = observable(base)()
    manager.server = _stub_server()
    heard: list[Any] = []
    manager.room_listener = lambda *report: heard.append(report)
    sid = manager.connect("e0", "/")
    manager.enter_room(sid, "/", "a")
    manager.enter_room(sid, "/", "a")        # in it already: not heard again
    manager.leave_room(sid, "/", None)
    manager.leave_room(sid, "/", sid)
    manager.leave_room(sid, "/", "a")
    manager.leave_room(sid, "/", "a")        # not in it: not heard
    assert heard == [("e0", sid, "/", "a", True), ("e0", sid, "/", "a", False)]
    assert manager.rooms == {} and manager._room_order == {} and manager._named_rooms == {}


def test_connects_and_disconnects_do_not_pass_through_the_room_observer():
    """The observer extends the index's named-room hooks rather than wrapping every
    join and leave: the ``None`` and sid rooms of a connect and a disconnect cost it
    nothing (bench/PROFILE.md, "Room members (bidict)")."""
    from flask_socketio.room_observer import RoomObserverMixin

    assert "basic_enter_room" not in vars(RoomObserverMixin)
    assert "basic_leave_room" not in vars(RoomObserverMixin)
    manager = RoomManager()
    manager.server = _stub_server()
    hooked: list[Any] = []
    manager._joined = lambda *args: hooked.append(("joined", *args))
    manager._left = lambda *args: hooked.append(("left", *args))
    sid = manager.connect("e0", "/")
    manager.disconnect(sid, "/")
    assert hooked == []


def test_a_client_in_its_own_rooms_only_has_no_entry_in_the_index():
    manager = RoomManager()
    manager.server = _stub_server()
    sids = [manager.connect(f"e{i}", "/") for i in range(3)]
    assert manager._named_rooms.get("/", {}) == {}
    manager.enter_room(sids[0], "/", "r")
    assert manager._named_rooms["/"] == {sids[0]: "r"}   # one room: no set
    manager.enter_room(sids[0], "/", "r")
    assert manager._named_rooms["/"] == {sids[0]: "r"}
    manager.enter_room(sids[0], "/", "s")
    assert manager._named_rooms["/"] == {sids[0]: {"r", "s"}}
    manager.leave_room(sids[0], "/", "r")
    assert manager._named_rooms["/"] == {sids[0]: "s"}
    manager.leave_room(sids[0], "/", "s")
    assert manager._named_rooms["/"] == {}
    for sid in sids:
        manager.disconnect(sid, "/")
    assert manager.rooms == {} and manager._room_order == {} and manager._named_rooms == {}


def test_the_index_is_below_every_mixin_of_every_manager_we_make():
    """Our mixins and python-socketio's admin instrumentation see the leaves of a
    disconnect through ``self.basic_leave_room``: the index sits just above the
    manager python-socketio gives (a pub/sub manager's too)."""
    from socketio.kombu_manager import KombuManager
    from socketio.redis_manager import RedisManager

    from flask_socketio.cluster.node import ClusterMixin
    from flask_socketio.room_observer import RoomObserverMixin

    for base in (socketio.Manager, RedisManager, KombuManager, MemoryManager):
        mro = observable(base).__mro__
        assert mro.index(RoomObserverMixin) < mro.index(ClusterMixin) \
            < mro.index(RoomIndexMixin) < mro.index(socketio.base_manager.BaseManager)
        if base is not socketio.Manager:
            assert mro.index(RoomIndexMixin) < mro.index(base)


def test_rooms_changed_behind_the_managers_back_fall_back_to_the_scan():
    manager = RoomManager()
    manager.server = _stub_server()
    sid = manager.connect("e0", "/")
    manager.enter_room(sid, "/", "a")
    manager._room_order["/"].pop("a")       # as if "a" had been made without us
    assert manager.get_rooms(sid, "/") == [sid, "a"]
    manager.disconnect(sid, "/")
    assert manager.rooms == {}


# -- scale ---------------------------------------------------------------------------


class CountingRooms(dict):  # type: ignore[type-arg]
    """A namespace's rooms that count the scans made of them."""

    scans = 0

    def copy(self) -> dict[Any, Any]:
        CountingRooms.scans += 1
        return dict(self)

    def items(self) -> Any:
        CountingRooms.scans += 1
        return super().items()

    def __iter__(self) -> Any:
        CountingRooms.scans += 1
        return super().__iter__()


def test_a_disconnect_and_get_rooms_scan_no_room_of_the_namespace():
    manager = RoomManager()
    manager.server = _stub_server()
    manager.rooms["/"] = CountingRooms()
    sids = [manager.connect(f"e{i}", "/") for i in range(200)]
    for i, sid in enumerate(sids):
        manager.enter_room(sid, "/", f"room{i % 7}")
    CountingRooms.scans = 0
    for i, sid in enumerate(sids[:100]):
        assert manager.get_rooms(sid, "/") == [sid, f"room{i % 7}"]
        manager.disconnect(sid, "/")
    assert CountingRooms.scans == 0
    # python-socketio's plain manager scans the namespace for each
    plain = socketio.Manager()
    plain.server = _stub_server()
    plain.rooms["/"] = CountingRooms()
    plain_sids = [plain.connect(f"e{i}", "/") for i in range(10)]
    for sid in plain_sids:
        plain.get_rooms(sid, "/")
        plain.disconnect(sid, "/")
    assert CountingRooms.scans >= 20


def _connect(manager: Any, eio_sids: Any, count: int) -> list[str]:
    """``count`` new clients, each in one named room of 10."""
    sids = [manager.connect(next(eio_sids), "/") for _ in range(count)]
    for i, sid in enumerate(sids):
        manager.enter_room(sid, "/", f"room{i % 10}")
    return sids


def _cpu_per_disconnect(manager_class: Any, clients: int, disconnects: int) -> float:
    """CPU seconds per disconnect with ``clients`` connected (each in one named room
    of 10), best of 5 rounds; each round disconnects and reconnects ``disconnects``
    clients (so the count stays put)."""
    best = float("inf")
    for _ in range(5):
        manager = manager_class()
        manager.server = _stub_server()
        eio_sids = (f"e{i}" for i in itertools.count())
        sids = _connect(manager, eio_sids, clients)
        spent = 0.0
        done = 0
        while done < disconnects:
            batch = sids[:min(clients, disconnects - done)]
            start = time.process_time()
            for sid in batch:
                manager.disconnect(sid, "/")
            spent += time.process_time() - start
            done += len(batch)
            sids = sids[len(batch):] + _connect(manager, eio_sids, len(batch))
        best = min(best, spent / disconnects)
    return best


@pytest.mark.parametrize("manager_class", [RoomManager], ids=["ours"])
def test_a_disconnect_costs_the_same_with_5000_clients_as_with_50(manager_class):
    """With the index, a disconnect among 5,000 clients costs what it does among 50
    (python-socketio's scan: ~50x more, see bench/PROFILE.md "Room index (rooms)")."""
    for _attempt in range(3):  # a shared machine: a busy moment gets a second chance
        small = _cpu_per_disconnect(manager_class, 50, 2000)
        large = _cpu_per_disconnect(manager_class, 5000, 2000)
        if large / small < 2.5:
            return
    raise AssertionError(f"5,000 clients: {large * 1e6:.1f} µs per disconnect, "
                         f"50 clients: {small * 1e6:.1f} µs ({large / small:.1f}x)")


def test_the_scale_test_tells_the_scan_apart():
    """The measure above does see python-socketio's O(clients) disconnect."""
    small = _cpu_per_disconnect(socketio.Manager, 50, 300)
    large = _cpu_per_disconnect(socketio.Manager, 5000, 300)
    assert large / small > 10
