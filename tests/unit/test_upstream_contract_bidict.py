"""The contract with bidict that a room's members rely on
(``flask_socketio.room_members.RoomMembers``): a ``RoomMembers`` is a ``bidict`` that
does the common operations on bidict's two backing dicts itself, so it must behave
exactly as a plain ``bidict`` does and leave those dicts exactly as bidict's own
methods leave them.

Seeded random sequences of sets (new, duplicate key, duplicate value, both),
deletes, pops, ``put``/``forceput``, updates, reads through ``inverse`` and writes
through it, copies, pickles and comparisons run on a ``bidict`` and a
``RoomMembers`` side by side; after every step both gave the same result (or raised
the same exception) and hold the same backing dicts, in the same order.
``scripts/check-upstream.sh`` runs this against the newest releases.
"""

from __future__ import annotations

import copy
import pickle
import random
from typing import Any

import bidict
import pytest
import socketio

from flask_socketio.room_members import RoomMembers
from flask_socketio.room_observer import RoomManager

KEYS: list[Any] = ["s0", "s1", "s2", "s3", 4, 4.0]
VALUES: list[Any] = ["e0", "e1", "e2", "e3", 5, 5.0]


def _shape(value: Any) -> Any:
    """A result as comparable data: a bidict as its class's bidict-ness and items."""
    if isinstance(value, bidict.BidictBase):
        return ("bidict", list(value.items()))
    if isinstance(value, (list, tuple)):
        return [_shape(item) for item in value]
    return value


def _backing(members: Any) -> Any:
    """The two backing dicts, as python-socketio reads them, with their order."""
    fwdm, invm = members._fwdm, members._invm
    return (type(fwdm), list(fwdm.items()), type(invm), list(invm.items()))


def _operation(rng: random.Random) -> tuple[Any, ...]:
    key, val = rng.choice(KEYS), rng.choice(VALUES)
    if rng.random() < 0.03:
        key = ["unhashable"]
    if rng.random() < 0.03:
        val = ["unhashable"]
    kind = rng.choice(["set", "set", "set", "set", "del", "del", "pop", "pop_default",
                       "put", "forceput", "update", "forceupdate", "contains", "get",
                       "get_default", "getitem", "inv_set", "inv_del", "inv_get",
                       "inv_contains", "inv_pop", "len", "eq", "copy", "pickle", "or",
                       "popitem", "clear", "iter", "values"])
    return (kind, key, val, rng.choice(KEYS), rng.choice(VALUES))


def apply(members: Any, op: tuple[Any, ...]) -> Any:
    kind, key, val, key2, val2 = op
    if kind == "set":
        members[key] = val
        return None
    if kind == "del":
        del members[key]
        return None
    if kind == "pop":
        return members.pop(key)
    if kind == "pop_default":
        return members.pop(key, "default")
    if kind == "put":
        return members.put(key, val)
    if kind == "forceput":
        return members.forceput(key, val)
    if kind == "update":
        return members.update([(key, val), (key2, val2)])
    if kind == "forceupdate":
        return members.forceupdate({key: val, key2: val2})
    if kind == "contains":
        return key in members
    if kind == "get":
        return members.get(key)
    if kind == "get_default":
        return members.get(key, "default")
    if kind == "getitem":
        return members[key]
    if kind == "inv_set":
        members.inverse[val] = key
        return None
    if kind == "inv_del":
        del members.inverse[val]
        return None
    if kind == "inv_get":
        return members.inverse.get(val)
    if kind == "inv_contains":
        return val in members.inverse
    if kind == "inv_pop":
        return members.inverse.pop(val, None)
    if kind == "len":
        return len(members)
    if kind == "eq":
        return (members == bidict.bidict({key: val}), members == dict(members),
                members != {})
    if kind == "copy":
        return [members.copy(), copy.copy(members), copy.deepcopy(members)]
    if kind == "pickle":
        return pickle.loads(pickle.dumps(members))
    if kind == "or":
        return members | {key2: val2}
    if kind == "popitem":
        return members.popitem()
    if kind == "clear":
        return members.clear()
    if kind == "iter":
        return (list(members), list(members.keys()), list(members.items()))
    if kind == "values":
        return (list(members.values()), list(members.inverse))
    raise AssertionError(op)


def _outcome(members: Any, op: tuple[Any, ...]) -> Any:
    try:
        return ("ok", _shape(apply(members, op)))
    except Exception as exc:  # both must fail alike
        return ("raised", type(exc).__name__, str(exc))


@pytest.mark.parametrize("seed", range(200))
def test_room_members_behave_as_a_bidict(seed):
    rng = random.Random(seed)
    start = rng.choice([(), [("s0", "e0")], {"s1": "e1", "s2": "e2"}])
    plain, ours = bidict.bidict(start), RoomMembers(start)
    for step in range(rng.randrange(20, 120)):
        op = _operation(rng)
        expected, got = _outcome(plain, op), _outcome(ours, op)
        assert got == expected, f"seed {seed} step {step} {op}"
        assert _backing(ours) == _backing(plain), f"seed {seed} step {step} {op}"
        assert _backing(ours.inverse) == _backing(plain.inverse)
        assert ours == plain and plain == ours and list(ours.items()) == list(plain.items())


def test_room_members_are_bidicts_made_as_bidict_makes_them():
    made, plain = RoomMembers(), bidict.bidict()
    assert isinstance(made, bidict.bidict) and made == plain
    # the constructor without items sets what bidict's sets, and nothing else
    assert vars(made) == vars(plain) == {"_fwdm": {}, "_invm": {}}
    assert all(type(value) is dict for value in (*vars(made).values(), *vars(plain).values()))
    assert type(made.inverse) is RoomMembers and made.inverse.inverse is made
    for start in ([("a", 1)], {"a": 1}, bidict.bidict(a=1)):
        assert _backing(RoomMembers(start)) == _backing(bidict.bidict(start))
    assert _backing(RoomMembers(a=1)) == _backing(bidict.bidict(a=1))
    with pytest.raises(bidict.ValueDuplicationError):
        RoomMembers([("a", 1), ("b", 1)])
    with pytest.raises(TypeError):
        RoomMembers(3)


def test_a_duplicate_value_raises_as_bidicts_does_which_pre_connect_relies_on():
    members = RoomMembers()
    members["s0"] = "e0"
    with pytest.raises(bidict.ValueDuplicationError) as raised:
        members["s1"] = "e0"
    assert raised.value.args == ("e0",)
    assert _backing(members) == (dict, [("s0", "e0")], dict, [("e0", "s0")])
    with pytest.raises(bidict.KeyAndValueDuplicationError):
        members.update({"s2": "e2"})
        members["s2"] = "e0"
    # python-socketio's pre_connect: a connection already in the namespace
    manager = RoomManager()
    manager.set_server(socketio.Server(async_mode="threading"))
    assert manager.pre_connect("e0", "/") is not None
    assert manager.pre_connect("e0", "/") is None


def test_our_managers_make_their_rooms_room_members():
    manager = RoomManager()
    manager.set_server(socketio.Server(async_mode="threading"))
    sid = manager.connect("e0", "/")
    manager.enter_room(sid, "/", "chat")
    rooms = manager.rooms["/"]
    assert [type(rooms[room]) for room in (None, sid, "chat")] == [RoomMembers] * 3
    assert manager.sid_from_eio_sid("e0", "/") == sid
    assert list(manager.get_participants("/", "chat")) == [(sid, "e0")]
    manager.disconnect(sid, "/")
    assert manager.rooms == {}
