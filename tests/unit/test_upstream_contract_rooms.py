"""The contract with python-socketio that our room index relies on
(``flask_socketio.room_index``): a manager with the index keeps exactly what
python-socketio's own managers keep (every container of the manager, in order),
answers ``get_rooms`` alike, makes the same ``basic_leave_room`` calls in the same
order and fails alike, on seeded random sequences of connects, joins, leaves,
``close_room``, pub/sub messages and disconnects. ``basic_disconnect`` there is
python-socketio's with the scan of every room replaced by the index: if an upgrade
changes what python-socketio's does (a new piece of per-connection state forgotten
on disconnect, another order of leaves), this fails, naming the step.

``scripts/check-upstream.sh`` runs this against the newest releases (no hypothesis
there: the sequences come from ``random``); ``tests/unit/test_room_index.py`` runs
the same comparison on sequences hypothesis draws and shrinks.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import itertools
import random
import textwrap
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest
import socketio

from flask_socketio.queues.memory import MemoryManager
from flask_socketio.room_index import RoomIndexMixin
from flask_socketio.room_observer import RoomManager, observable

NAMESPACES = ("/", "/x")
#: Named rooms; ("sid", i) stands for the i-th sid seen (a sid room, or a room named
#: like another client's sid), None for the room of every connection.
ROOMS: list[Any] = ["a", "b", "c", 7]


def _stub_server() -> Any:
    ids = itertools.count()
    return SimpleNamespace(eio=SimpleNamespace(generate_id=lambda: f"s{next(ids)}"),
                           packet_class=socketio.packet.Packet)


class Recorded:
    """A manager, with its ``basic_enter_room``/``basic_leave_room`` calls wrapped on
    the instance (as python-socketio's admin instrumentation wraps them) to record
    every leave call and the named-room joins and leaves a room observer reports."""

    def __init__(self, manager: Any, observe: bool) -> None:
        self.manager = manager
        manager.server = _stub_server()
        self.leave_calls: list[tuple[Any, ...]] = []
        #: what the room observer reports (ours) or should report (python-socketio's)
        self.reports: list[tuple[Any, ...]] = []
        enter, leave = manager.basic_enter_room, manager.basic_leave_room

        def basic_enter_room(sid: str, namespace: str, room: Any, eio_sid: Any = None) -> Any:
            was_in = sid in manager.rooms.get(namespace, {}).get(room, ())
            result = enter(sid, namespace, room, eio_sid=eio_sid)
            if not observe and not was_in and room is not None and room != sid:
                self.reports.append((manager.rooms[namespace][room][sid], sid, namespace,
                                     room, True))
            return result

        def basic_leave_room(sid: str, namespace: str, room: Any) -> Any:
            self.leave_calls.append((sid, namespace, room))
            eio_sid = manager.rooms.get(namespace, {}).get(room, {}).get(sid)
            result = leave(sid, namespace, room)
            if not observe and eio_sid is not None and room is not None and room != sid:
                self.reports.append((eio_sid, sid, namespace, room, False))
            return result

        manager.basic_enter_room = basic_enter_room
        manager.basic_leave_room = basic_leave_room
        if observe:
            manager.room_listener = lambda *report: self.reports.append(report)

    def state(self, sids: list[str], names: list[str]) -> dict[str, Any]:
        """``names``: the attributes python-socketio's manager keeps (``rooms``,
        ``callbacks``, ``pending_connect``, ...), in their order, as plain lists."""
        manager = self.manager
        return {
            "attributes": {name: _plain(getattr(manager, name)) for name in names},
            "get_rooms": {(sid, namespace): manager.get_rooms(sid, namespace)
                          for sid in sids for namespace in (*NAMESPACES, "/none")},
            "leave_calls": self.leave_calls,
            "reports": self.reports,
        }


def _kept(manager: Any) -> list[str]:
    """The containers python-socketio's manager keeps on its instance."""
    return sorted(name for name, value in vars(manager).items()
                  if isinstance(value, (dict, list, set)) and not name.startswith("__"))


def _plain(value: Any) -> Any:
    """``value`` with its order, as lists (a bidict as its items, a counter as its
    repr, a callback as "callable")."""
    if isinstance(value, Mapping):
        return [(key, _plain(item)) for key, item in value.items()]
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(item) for item in value)
    if isinstance(value, itertools.count):
        return repr(value)
    if callable(value):
        return "callable"
    return value


def check_index(manager: Any) -> None:
    """The index says what a scan of ``rooms`` says, and orders as ``rooms`` does."""
    named: dict[str, dict[str, set[Any]]] = {}
    for namespace, rooms in manager.rooms.items():
        order = manager._room_order[namespace]
        assert list(order) != [] and set(order) == set(rooms)
        stamps = [order[room] for room in rooms]
        assert stamps == sorted(stamps), "stamps out of rooms order"
        for room, members in rooms.items():
            for sid in members:
                if room is not None and room != sid:
                    named.setdefault(namespace, {}).setdefault(sid, set()).add(room)
    assert set(manager._room_order) == set(manager.rooms)
    kept = {ns: {sid: set(joined) if type(joined) is set else {joined}
                 for sid, joined in sids.items()}
            for ns, sids in manager._named_rooms.items() if sids}
    assert kept == named
    for sids in manager._named_rooms.values():  # one room: kept without a set
        assert all(type(joined) is not set or len(joined) > 1 for joined in sids.values())


def _pick(items: list[Any], index: int, default: Any) -> Any:
    return items[index % len(items)] if items else default


def _room(choice: Any, sids: list[str]) -> Any:
    if isinstance(choice, tuple):
        return _pick(sids, choice[1], "nobody")
    return choice


def apply(manager: Any, op: tuple[Any, ...], sids: list[str], pubsub: bool) -> Any:
    kind = op[0]
    if kind == "pre_connect" and not hasattr(manager, "pre_connect"):
        kind = "connect"  # python-socketio 5.17 connects in one step
    if kind in ("connect", "pre_connect"):
        method = manager.connect if kind == "connect" else manager.pre_connect
        sid = method(f"e{op[1]}", op[2])
        return sid
    if kind == "ack":
        return manager._generate_ack_id(_pick(sids, op[1], "nobody"), print)
    if kind == "close":
        return manager.close_room(_room(op[1], sids), op[2])
    if kind == "remote":  # a message from another node of a pub/sub cluster
        if not pubsub:
            return None
        method, sid, namespace, room = op[1], _pick(sids, op[2], "nobody"), op[3], \
            _room(op[4], sids)
        message = {"method": method, "sid": sid, "room": room, "namespace": namespace}
        return getattr(manager, "_handle_" + method)(message)
    sid, namespace = _pick(sids, op[1], "nobody"), op[2]
    if kind == "finish_connect":
        return manager.connect(sid, namespace)
    if kind == "enter":
        return manager.enter_room(sid, namespace, _room(op[3], sids))
    if kind == "enter_eio":
        return manager.basic_enter_room(sid, namespace, _room(op[3], sids),
                                        eio_sid=f"e{op[4]}")
    if kind == "leave":
        return manager.leave_room(sid, namespace, _room(op[3], sids))
    if kind == "pre_disconnect":
        return manager.pre_disconnect(sid, namespace)
    if kind == "disconnect":
        if pubsub:
            return manager.disconnect(sid, namespace, ignore_queue=True)
        return manager.disconnect(sid, namespace)
    raise AssertionError(op)


def _outcome(manager: Any, op: tuple[Any, ...], sids: list[str], pubsub: bool) -> Any:
    try:
        return ("ok", apply(manager, op, sids, pubsub))
    except Exception as exc:  # both must fail alike
        return ("raised", type(exc).__name__, str(exc))


def run_differential(plain_class: Any, ours_class: Any, ops: list[tuple[Any, ...]]) -> None:
    pubsub = issubclass(plain_class, socketio.PubSubManager)
    plain, ours = Recorded(plain_class(), observe=False), Recorded(ours_class(), observe=True)
    assert isinstance(ours.manager, RoomIndexMixin)
    sids: list[str] = []
    for step, op in enumerate(ops):
        expected = _outcome(plain.manager, op, sids, pubsub)
        got = _outcome(ours.manager, op, sids, pubsub)
        assert got == expected, f"step {step} {op}"
        if op[0] in ("connect", "pre_connect") and got[0] == "ok" and got[1] is not None \
                and got[1] not in sids:
            sids.append(got[1])
        names = _kept(plain.manager)
        assert "rooms" in names and "callbacks" in names
        assert ours.state(sids, names) == plain.state(sids, names), f"after step {step} {op}"
        check_index(ours.manager)


def random_ops(rng: random.Random, count: int) -> list[tuple[Any, ...]]:
    """``count`` operations for :func:`apply`, as ``test_room_index``'s strategy
    draws them."""
    namespaces = list(NAMESPACES)

    def room() -> Any:
        return rng.choice(ROOMS) if rng.random() < 0.6 else ("sid", rng.randrange(10))

    def some(kind: str) -> tuple[Any, ...]:
        sid, namespace = rng.randrange(10), rng.choice(namespaces)
        if kind in ("connect", "pre_connect"):
            return (kind, rng.randrange(6), namespace)
        if kind in ("finish_connect", "pre_disconnect", "disconnect"):
            return (kind, sid, namespace)
        if kind == "enter":
            return (kind, sid, namespace, room())
        if kind == "enter_eio":
            return (kind, sid, namespace, None if rng.random() < 0.3 else room(),
                    rng.randrange(6))
        if kind == "leave":
            return (kind, sid, namespace, None if rng.random() < 0.1 else room())
        if kind == "close":
            return (kind, room(), namespace)
        if kind == "ack":
            return (kind, sid)
        return (kind, rng.choice(["enter_room", "leave_room", "close_room"]), sid,
                namespace, room())

    kinds = ["connect", "connect", "pre_connect", "finish_connect", "enter", "enter",
             "enter", "enter_eio", "leave", "leave", "close", "pre_disconnect",
             "disconnect", "disconnect", "ack", "remote"]
    return [some(rng.choice(kinds)) for _ in range(count)]


class PassingManager(socketio.Manager):
    """A manager whose room methods pass on to python-socketio's: our index then
    calls down to them rather than doing their work (``_mirrors_upstream``)."""

    def basic_enter_room(self, sid: str, namespace: str, room: Any,
                         eio_sid: str | None = None) -> Any:
        return super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> Any:
        return super().basic_leave_room(sid, namespace, room)


def test_our_managers_do_the_work_of_python_socketios_room_methods_when_they_can():
    assert RoomManager._mirrors_upstream and observable(MemoryManager)._mirrors_upstream
    assert not observable(PassingManager)._mirrors_upstream
    assert RoomManager._stock_is_sid_room and not observable(OwnSidRooms)._stock_is_sid_room


class OwnSidRooms(socketio.Manager):
    """A manager that says which rooms are sid rooms its own way: every "7"."""

    def is_sid_room(self, namespace: str, room: Any) -> bool:
        return room == 7 or bool(super().is_sid_room(namespace, room))


@pytest.mark.parametrize("plain_class",
                         [socketio.Manager, MemoryManager, PassingManager, OwnSidRooms],
                         ids=["Manager", "pubsub", "calling-down", "own-is_sid_room"])
def test_our_managers_keep_the_rooms_python_socketio_keeps(plain_class):
    ours_class = RoomManager if plain_class is socketio.Manager else observable(plain_class)
    for seed in range(150):
        rng = random.Random(seed)
        ops = random_ops(rng, rng.randrange(10, 80))
        try:
            run_differential(plain_class, ours_class, ops)
        except AssertionError as exc:
            raise AssertionError(f"seed {seed}: {exc}") from exc


#: The code of the python-socketio methods ``room_index.py`` does the work of (their
#: AST without docstring, hashed), in the releases whose code it was written against:
#: 5.17.0 (``basic_disconnect`` without ``pending_connect``) and 5.18.1.
MIRRORED = {
    "basic_enter_room": {"e508356757a87a5f"},
    "basic_leave_room": {"ec4a9598ddb4864c"},
    "basic_disconnect": {"b061fd4dcc0ebffd", "cf1ef60e8554ec00"},
    "get_rooms": {"734ee83757653546"},
    "is_sid_room": {"9fe42603527ce035"},
}


def _fingerprint(function: Any) -> str:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        tree.body[0].body = body[1:]  # type: ignore[attr-defined]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(MIRRORED))
def test_the_python_socketio_code_the_index_mirrors_is_unchanged(name):
    """If this fails, python-socketio changed a method whose work
    ``flask_socketio/room_index.py`` does itself: read the new code, bring
    ``RoomIndexMixin`` in line (the differential above should show where), then add
    the new fingerprint here."""
    got = _fingerprint(getattr(socketio.base_manager.BaseManager, name))
    assert got in MIRRORED[name], (
        f"python-socketio's BaseManager.{name} changed (fingerprint {got}): "
        f"flask_socketio/room_index.py mirrors it")
