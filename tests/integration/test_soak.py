"""A short soak (100 clients, 10 s, acked messages): nothing lost, no memory drift.

The full run (500 clients, 60 s) is ``python bench/soak.py``; see bench/README.md.
The server runs in a subprocess (bench/soak_server.py) so its RSS can be measured;
the clients are socket.io-client v4 under Node.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("bench_soak", SOAK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node for socket.io-client")
def test_100_clients_for_10_seconds_lose_nothing_and_hold_memory():
    soak = load_soak()
    report = soak.run_soak(clients=100, duration=10, warmup=2)
    print(report)
    assert report["sent"] > 1000, report
    assert report["lost"] == 0, report
    assert report["acked"] == report["sent"], report
    assert report["disconnects"] == 0 and report["connect_errors"] == 0, report
    assert report["server_alive"], report
    assert report["rss_drift"] < soak.MAX_RSS_DRIFT, report
