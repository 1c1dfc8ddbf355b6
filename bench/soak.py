"""Soak: hold N clients for a while, each sending acked messages; nothing may be lost.

    python bench/soak.py                       # 500 clients, 60 s (about 70 s)
    python bench/soak.py --clients 100 --duration 10 --engine engineio

The server (``bench/soak_server.py``: our SocketIO on the embedded gevent server,
monkey-patched) runs in a subprocess so that its RSS can be read; the clients are
socket.io-client v4 in Node (``bench/soak_client.mjs``, from ``node_modules``). Prints
one JSON report: sent, acked, lost (must be 0), disconnects, and the server's RSS after
the warm-up and at the end, with the drift (must stay under 10%). Exit status 1 if
either bound is broken. Traffic goes to 127.0.0.1 only; every process is bounded in
time and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

#: The bounds the soak must keep.
MAX_LOST = 0
MAX_RSS_DRIFT = 0.10


def run_soak(clients: int = 500, duration: float = 60, warmup: float = 3,
             interval_ms: int = 20, engine: str | None = None) -> dict[str, Any]:
    """Run one soak; return the client's report plus the server's exit details."""
    command = [sys.executable, str(BENCH / "soak_server.py")]
    if engine:
        command += ["--engine", engine]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        port_line = _read_line(server, timeout=20)
        url = f"http://127.0.0.1:{int(port_line)}"
        budget = duration + warmup + 120
        client = subprocess.run(
            ["node", str(BENCH / "soak_client.mjs"), "--url", url, "--pid", str(server.pid),
             "--clients", str(clients), "--duration", str(duration), "--warmup", str(warmup),
             "--interval", str(interval_ms)],
            cwd=ROOT, capture_output=True, text=True, timeout=budget)
        if client.returncode != 0:
            raise RuntimeError(f"soak client failed ({client.returncode}): {client.stderr}")
        report = json.loads(client.stdout.strip().splitlines()[-1])
        report["engine"] = engine or "native"
        report["server_alive"] = server.poll() is None
        return report
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        for stream in (server.stdout, server.stderr):
            if stream is not None:
                stream.close()


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    """The first stdout line of ``process``, waited for at most ``timeout`` seconds."""
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        if not selector.select(timeout):
            raise RuntimeError("the soak server did not start in time")
        line = process.stdout.readline()
    finally:
        selector.close()
    if not line:
        raise RuntimeError(f"the soak server died: {process.stderr.read()}")
    return line


def is_within_bounds(report: dict[str, Any]) -> bool:
    return (report["lost"] <= MAX_LOST and report["disconnects"] == 0
            and report["rss_drift"] < MAX_RSS_DRIFT and report["server_alive"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--interval-ms", type=int, default=20,
                        help="pause of each client between two messages")
    parser.add_argument("--engine", choices=["native", "engineio"], default=None)
    options = parser.parse_args()
    os.environ.setdefault("NODE_OPTIONS", "--max-old-space-size=1024")
    report = run_soak(options.clients, options.duration, options.warmup,
                      options.interval_ms, options.engine)
    print(json.dumps(report, indent=2))
    return 0 if is_within_bounds(report) else 1


if __name__ == "__main__":
    sys.exit(main())
