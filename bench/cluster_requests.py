"""How long the cluster's requests take: ``python bench/cluster_requests.py URL``.

Starts three nodes (``tests/integration/apps/node.py``) on the broker ``URL``
(``redis://127.0.0.1:6379/0``, ``amqp://guest:guest@127.0.0.1:5672//``), connects
``--clients`` clients spread over them, and times ``--rounds`` rounds of
``fetch_sockets()``, ``call_all()`` and ``server_side_call()`` asked of the first
node (each round from a client's event to its acknowledgement). Prints the median
and the 95th percentile of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.processes import Client, ProcessGroup  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=100)
    options = parser.parse_args()
    group = ProcessGroup()
    clients: list[Client] = []
    channel = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        nodes = group.nodes(3, options.url, channel)
        for index in range(options.clients):
            name = f"c{index}"
            clients.append(Client(nodes[index % 3].url, "websocket", name,
                                  auth={"name": name}, ordered=False,
                                  answers={"question": lambda *args, name=name: name}))
        deadline = time.monotonic() + 20
        while any(len(node.status()["nodes"]) != 3 for node in nodes):
            if time.monotonic() > deadline:
                raise SystemExit("the nodes did not find each other")
            time.sleep(0.1)
        asker = clients[0]
        calls = {"fetch_sockets": ("fetch", None, 5), "call_all": ("call_all", None, 10),
                 "server_side_call": ("server_call", "whoami", 5)}
        for label, args in calls.items():
            times = []
            for _ in range(options.rounds):
                started = time.perf_counter()
                result = asker.call(*args)
                times.append((time.perf_counter() - started) * 1000)
                assert "missing_nodes" not in result or not result["missing_nodes"], result
            times.sort()
            print(f"{label:17} {options.clients} clients on 3 nodes: median "
                  f"{statistics.median(times):.1f} ms, p95 "
                  f"{times[int(len(times) * 0.95) - 1]:.1f} ms ({options.rounds} rounds)")
    finally:
        for client in clients:
            client.close()
        group.stop_all()
        if options.url.startswith("amqp"):  # the channel's exchange stays otherwise
            import kombu

            with kombu.Connection(options.url, connect_timeout=5) as connection:
                kombu.Exchange(channel, type="fanout", channel=connection.channel()).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
