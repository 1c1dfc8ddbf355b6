"""What a disconnect and ``get_rooms`` cost with many clients connected: our room
manager (with its sid → rooms index, ``flask_socketio/room_index.py``) against
python-socketio's plain ``Manager`` (a scan of every room of the namespace) and our
manager as it was before (the same mixins without the index: "ours before").

    PYTHONPATH=$PWD python bench/rooms_bench.py [--clients 10,1000,10000] [--rounds 3]

Every client is in its own rooms (the ``None`` room and its sid room) and, with
``--named shared`` (the default), in one named room of ten shared ones. Measured, as
CPU time (``time.process_time``), best of ``--rounds`` rounds after a warm-up round,
the managers alternated round by round:

- ``disconnect``: µs per ``manager.disconnect(sid, "/")`` with N clients connected:
  batches of max(10, N/10) disconnects, each followed (untimed) by as many new
  connects, ``--ops`` disconnects per round;
- ``get_rooms``: µs per ``manager.get_rooms(sid, "/")``, over the N sids in turn;
- ``test client disconnect``: µs per ``client.disconnect()`` of our in-process test
  client with N clients connected (``--testclient``), the app's ``SocketIO`` on our
  room manager, on it without the index, or on python-socketio's
  (``client_manager=socketio.Manager()``: no room observer, no cluster mixins);
- ``memory``: bytes per connection the manager holds (``tracemalloc``, N =
  ``--memory`` clients connected to a fresh manager), in their own rooms only, in one
  of ten shared rooms, in a room of their own (``user:<i>``), in both.

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import time
import tracemalloc
from collections.abc import Callable, Iterator
from functools import partial
from types import SimpleNamespace
from typing import Any

import socketio

from flask_socketio.room_index import RoomIndexMixin
from flask_socketio.room_observer import RoomManager

#: Our room manager as it was before the index: the same mixins, python-socketio's scan.
ScanManager = type("ObservableManager", tuple(
    base for base in RoomManager.__bases__ if base is not RoomIndexMixin), {})

MANAGERS: dict[str, Callable[[], Any]] = {
    "ours": RoomManager, "ours before": ScanManager, "python-socketio": socketio.Manager}


def _manager(factory: Callable[[], Any]) -> Any:
    manager = factory()
    ids = itertools.count()
    manager.server = SimpleNamespace(eio=SimpleNamespace(generate_id=lambda: f"s{next(ids)}"),
                                     packet_class=socketio.packet.Packet)
    return manager


class Clients:
    """N clients connected to ``manager``, each in ``named`` rooms."""

    def __init__(self, manager: Any, clients: int, named: str) -> None:
        self.manager = manager
        self.named = named
        self.eio_sids: Iterator[str] = (f"e{i}" for i in itertools.count())
        self.serial = itertools.count()
        self.sids = self.connect(clients)

    def connect(self, count: int) -> list[str]:
        manager = self.manager
        sids = []
        for _ in range(count):
            sid = manager.connect(next(self.eio_sids), "/")
            n = next(self.serial)
            if self.named in ("shared", "two"):
                manager.enter_room(sid, "/", f"room{n % 10}")
            if self.named in ("own", "two"):
                manager.enter_room(sid, "/", f"user:{n}")
            sids.append(sid)
        return sids


def disconnect_cost(factory: Callable[[], Any], clients: int, ops: int, named: str) -> float:
    """CPU µs per disconnect with ``clients`` connected."""
    group = Clients(_manager(factory), clients, named)
    batch = min(clients, max(10, clients // 10))
    spent, done = 0.0, 0
    while done < ops:
        leaving, group.sids = group.sids[:batch], group.sids[batch:]
        disconnect = group.manager.disconnect
        start = time.process_time()
        for sid in leaving:
            disconnect(sid, "/")
        spent += time.process_time() - start
        done += len(leaving)
        group.sids += group.connect(len(leaving))
    return spent / done * 1e6


def get_rooms_cost(factory: Callable[[], Any], clients: int, ops: int, named: str) -> float:
    """CPU µs per ``get_rooms`` with ``clients`` connected."""
    group = Clients(_manager(factory), clients, named)
    get_rooms = group.manager.get_rooms
    sids = list(itertools.islice(itertools.cycle(group.sids), ops))
    start = time.process_time()
    for sid in sids:
        get_rooms(sid, "/")
    return (time.process_time() - start) / ops * 1e6


def testclient_disconnect_cost(which: str, clients: int, ops: int) -> float:
    """CPU µs per ``client.disconnect()`` of the test client with ``clients``
    connected (each joins one of ten rooms in its connect handler)."""
    from flask import Flask

    from flask_socketio import SocketIO, join_room

    app = Flask(__name__)
    socketio_ = SocketIO(app, client_manager=None if which == "ours" else MANAGERS[which]())
    serial = itertools.count()

    @socketio_.on("connect")
    def on_connect(auth: Any = None) -> None:
        join_room(f"room{next(serial) % 10}")

    group = [socketio_.test_client(app) for _ in range(clients)]
    batch = min(clients, max(10, clients // 10))
    spent, done = 0.0, 0
    while done < ops:
        leaving = group[:batch]
        start = time.process_time()
        for client in leaving:
            client.disconnect()
        spent += time.process_time() - start
        done += len(leaving)
        for client in leaving:
            client.connect()
        group = group[batch:] + leaving
    for client in group:
        client.disconnect()
    return spent / done * 1e6


def memory_per_connection(factory: Callable[[], Any], clients: int, named: str) -> float:
    """Bytes the manager holds per connected client (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        manager = _manager(factory)
        eio = [f"e{i}" for i in range(clients)]  # the eio sids: the engine's, not counted
        base = tracemalloc.get_traced_memory()[0]
        group = Clients(manager, 0, named)
        group.eio_sids = iter(eio)
        group.sids = group.connect(clients)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        # the sid strings are the engine's too (python-socketio's generate_id)
        sid_bytes = sum(sid.__sizeof__() for sid in group.sids)
        return (after - base - sid_bytes) / clients
    finally:
        tracemalloc.stop()


def best(rounds: int, measure: Callable[[str], float]) -> dict[str, float]:
    """Each manager's best of ``rounds`` (after one more, untimed), alternated round
    by round."""
    results: dict[str, list[float]] = {name: [] for name in MANAGERS}
    for round_ in range(rounds + 1):
        for name in MANAGERS:
            gc.collect()
            cost = measure(name)
            if round_:  # the first round warms up
                results[name].append(cost)
    return {name: min(values) for name, values in results.items()}


def _manager_cost(cost: Callable[..., float], clients: int, ops: int, named: str,
                  name: str) -> float:
    return cost(MANAGERS[name], clients, ops, named)


def _testclient_cost(clients: int, ops: int, name: str) -> float:
    return testclient_disconnect_cost(name, clients, ops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="10,1000,10000")
    parser.add_argument("--testclient", default="10,1000,5000",
                        help="client counts for the test client ('' for none)")
    parser.add_argument("--memory", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--named", choices=["none", "shared", "own", "two"], default="shared")
    args = parser.parse_args()
    rows = []
    for clients in [int(n) for n in args.clients.split(",") if n]:
        rows.append(("disconnect", clients, best(args.rounds, partial(
            _manager_cost, disconnect_cost, clients, args.ops, args.named))))
        rows.append(("get_rooms", clients, best(args.rounds, partial(
            _manager_cost, get_rooms_cost, clients, max(args.ops, 10000), args.named))))
    for clients in [int(n) for n in args.testclient.split(",") if n]:
        rows.append(("test client disconnect", clients, best(args.rounds, partial(
            _testclient_cost, clients, min(args.ops, 500)))))
    print(f"rooms per client: own + {args.named}; CPU µs per operation, best of "
          f"{args.rounds} rounds\n")
    print("| operation | clients | ours µs | ours before µs | python-socketio µs "
          "| before / ours | python-socketio / ours |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, clients, got in rows:
        ours, before, theirs = got["ours"], got["ours before"], got["python-socketio"]
        print(f"| {label} | {clients:,} | {ours:.2f} | {before:.2f} | {theirs:.2f} "
              f"| {before / ours:.1f}x | {theirs / ours:.1f}x |")
    if args.memory:
        print(f"\nbytes per connection held by the manager, {args.memory:,} clients "
              "(tracemalloc, sid strings not counted)\n")
        print("| rooms of each client | ours | ours before | python-socketio "
              "| extra (ours - before) |")
        print("|---|---:|---:|---:|---:|")
        for named, label in (("none", "its own only"), ("shared", "+ one of 10 shared rooms"),
                             ("own", "+ a room of its own (user:<i>)"),
                             ("two", "+ one of 10 shared rooms + a room of its own")):
            ours = memory_per_connection(RoomManager, args.memory, named)
            before = memory_per_connection(ScanManager, args.memory, named)
            theirs = memory_per_connection(socketio.Manager, args.memory, named)
            print(f"| {label} | {ours:.0f} | {before:.0f} | {theirs:.0f} "
                  f"| {ours - before:+.0f} |")


if __name__ == "__main__":
    main()
